//! Maintenance of a Mailbox server in no DAG (`[[server]]` without `dag`,
//! `downtime = "announced"`: `plan::validate::downtime`). Its databases
//! have no other copy, so there is nothing to move, no cluster node to
//! pause and no activation to block: it leaves service with its databases,
//! downtime the plan acknowledged. What remains of Microsoft's maintenance
//! procedure (Microsoft Learn, "Exchange Server maintenance mode" / the
//! DAG procedure of "Install Cumulative Updates" without its DAG steps —
//! StartDagServerMaintenance.ps1 is for DAG members only): drain
//! HubTransport (`Set-ServerComponentState -Component HubTransport -State
//! Draining -Requester Maintenance`, then restart MSExchangeTransport),
//! `Redirect-Message` the queued mail to another Mailbox server where the
//! plan has one in service, wait for the queues, then `ServerWideOffline`
//! Inactive. Exit is the DAG member's `exit-maintenance`, which undoes only
//! what cu-roll journaled (here: no cluster or activation change), and
//! health is the DAG member's. `enter-maintenance` hands a server in no
//! DAG to [`enter`]; it must not send any DAG or cluster cmdlet.

use crate::exchange::act;
use crate::exchange::observe::{self, read_server_facts};
use crate::exchange::{same, HealthTestsObs, Operation, Placement, Template};
use crate::journal::Change;
use crate::plan::Server;
use crate::ps::Arg;
use crate::runbook::{PlannedCommand, StepContext, StepError, StepOutcome};

use super::enter_maintenance::{enter_actions, EnterAction, EnterInputs};
use super::undo::left_on;

/// Health outside a DAG: the DAG member's `HEALTH_TESTS` without
/// `Test-ReplicationHealth`, which checks a DAG's replication (cluster
/// service, Active Manager, copy redundancy: Microsoft Learn,
/// Test-ReplicationHealth, "checks all aspects of replication and replay
/// … for a specific Mailbox server in a database availability group").
/// What it answers on a server in no DAG is UNVERIFIED (no capture), so it
/// is not sent; Test-ServiceHealth, Test-MAPIConnectivity and the copy,
/// component and build checks are the member's. Same JSON shape.
const HEALTH_TESTS: Template = Template {
    placement: Placement::ExchangeSession,
    text: r#"$server = {{server}}
$serviceHealth = @(Test-ServiceHealth -Server $server | ForEach-Object {
    [pscustomobject]@{ Role = $_.Role; RequiredServicesRunning = $_.RequiredServicesRunning; ServicesNotRunning = @($_.ServicesNotRunning) }
})
$mapi = @(Test-MAPIConnectivity -Server $server | ForEach-Object {
    [pscustomobject]@{ Database = [string]$_.Database; Result = $_.Result.ToString(); Error = $_.Error }
})
[pscustomobject]@{
    ServiceHealth = $serviceHealth
    MapiConnectivity = $mapi
    ReplicationHealth = @()
} | ConvertTo-Json -Depth 4 -Compress
"#,
};

/// The health tests of a server in no DAG.
pub fn run_health_tests(server: &str) -> Operation {
    HEALTH_TESTS.render(
        "health tests (in no DAG: no Test-ReplicationHealth)",
        &[("server", Arg::Str(server))],
    )
}

/// What `health` observes of a server in no DAG.
pub fn health_tests(ctx: &StepContext<'_>) -> Result<HealthTestsObs, StepError> {
    ctx.query(&run_health_tests(&ctx.server.name))
}

/// The enter actions that apply outside a DAG, in runbook order.
fn applies(a: EnterAction) -> bool {
    matches!(
        a,
        EnterAction::DrainHubTransport
            | EnterAction::RestartTransport
            | EnterAction::DrainUmCallRouter
            | EnterAction::RedirectMessages
    )
}

/// The other Mailbox servers of the plan: where queued mail may go.
fn others<'p>(plan_servers: &'p [Server], server: &Server) -> Vec<&'p Server> {
    plan_servers
        .iter()
        .filter(|s| !s.name.eq_ignore_ascii_case(&server.name))
        .collect()
}

/// `redirect_to` from the plan, else the first other Mailbox server of the
/// plan that is in service (ServerWideOffline and HubTransport Active);
/// `None` when there is none: the queues then drain by delivery alone.
fn redirect_target(ctx: &mut StepContext<'_>) -> Result<Option<String>, StepError> {
    if let Some(t) = &ctx.server.redirect_to {
        return Ok(Some(t.clone()));
    }
    for other in others(&ctx.plan.servers, ctx.server) {
        let Ok(s) = observe::exchange_state(&ctx.exchange, other) else {
            continue;
        };
        let active = |name| s.component(name).is_none_or(|c| same(&c.state, "Active"));
        if active("ServerWideOffline") && active("HubTransport") {
            return Ok(Some(other.fqdn.clone()));
        }
    }
    ctx.events.observed(format!(
        "no other Mailbox server of the plan is in service to take {}'s queued mail: it is delivered or waits in the queue",
        ctx.server.name
    ))?;
    Ok(None)
}

/// `enter-maintenance` for a server in no DAG.
pub fn enter(ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
    let build = ctx.build()?;
    let state = ctx.exchange_state()?;
    let is_2016 = build.major == 15 && build.minor == 1;
    let mut made: Vec<Change> = Vec::new();
    for a in enter_actions(&state, &ctx.prior_changes, is_2016)
        .into_iter()
        .filter(|a| applies(*a))
    {
        if a == EnterAction::RedirectMessages {
            // As for a DAG member: once Get-Queue answers after the
            // transport restart, retried within timeouts.drain (review
            // real-exchange.md #5).
            if let Some(target) = redirect_target(ctx)? {
                super::enter_maintenance::redirect_when_ready_to(ctx, &mut made, |_| {
                    Ok(target.clone())
                })?;
            }
            continue;
        }
        let inputs = EnterInputs {
            policy_before: Some(&state.activation_policy),
            redirect_to: "",
        };
        ctx.act(&a.action(&ctx.server.name, &inputs), &mut made)?;
    }
    let state = drain_and_go_offline(ctx, &mut made)?;
    let offline: Vec<String> = state
        .copies
        .iter()
        .map(|c| c.database_name.clone())
        .collect();
    let detail = format!(
        "{} is out of service (in no DAG, downtime announced in the plan: {} offline until it is back)",
        ctx.server.name,
        if offline.is_empty() {
            "no database".to_string()
        } else {
            offline.join(", ")
        }
    );
    Ok(if made.is_empty() {
        StepOutcome::AlreadyDone { detail }
    } else {
        StepOutcome::Done { detail }
    })
}

/// The dry run of [`enter`].
pub fn enter_scripts(plan_servers: &[Server], server: &Server) -> Vec<PlannedCommand> {
    let others = others(plan_servers, server);
    let redirect_to = server
        .redirect_to
        .clone()
        .or_else(|| others.first().map(|p| p.fqdn.clone()))
        .unwrap_or_else(|| "<another Mailbox server's FQDN>".into());
    let inputs = EnterInputs {
        policy_before: None,
        redirect_to: &redirect_to,
    };
    let mut out = vec![PlannedCommand::ps(
        "first: read the build (Exchange 2016 also drains UMCallRouter)",
        &read_server_facts(),
    )];
    out.extend(PlannedCommand::exchange_state(
        "first, and at every poll while waiting: observe components, copies and queues (in no DAG: no cluster node)",
        &server.name,
    ));
    for a in EnterAction::ALL.into_iter().filter(|a| applies(*a)) {
        let when = match a {
            EnterAction::RedirectMessages => format!("if messages are queued and no redirect was made yet, and another Mailbox server of the plan is in service (the plan's redirect_to, else the first; here {redirect_to})"),
            EnterAction::DrainHubTransport => "if HubTransport is not yet held by requester Maintenance".into(),
            EnterAction::RestartTransport => "on the server itself, right after the drain (the change takes effect on restart)".into(),
            _ => "Exchange 2016 only, if UMCallRouter is not yet held by requester Maintenance".into(),
        };
        out.push(PlannedCommand::ps(
            when,
            &a.action(&server.name, &inputs).op,
        ));
    }
    out.push(PlannedCommand::ps(
        "after the queues are empty, if ServerWideOffline is not yet held by Maintenance: the server and its databases leave service (downtime announced)",
        &act::server_wide_offline(&server.name).op,
    ));
    out
}

/// The end of taking a server with no DAG peers out of service (an Edge
/// or a standalone server): its queues drained, then ServerWideOffline
/// held by requester Maintenance, and both it and HubTransport verified.
/// Returns the state it verified.
pub(super) fn drain_and_go_offline(
    ctx: &mut StepContext<'_>,
    made: &mut Vec<Change>,
) -> Result<crate::exchange::ExchangeState, StepError> {
    super::enter_maintenance::wait_drained(ctx, made)?;
    if !ctx
        .exchange_state()?
        .held_by_maintenance("ServerWideOffline")
    {
        ctx.act(&act::server_wide_offline(&ctx.server.name), made)?;
    }
    let state = ctx.exchange_state()?;
    let problems: Vec<String> = ["ServerWideOffline", "HubTransport"]
        .into_iter()
        .filter(|c| !state.held_by_maintenance(c))
        .map(|c| format!("{c} is not held by requester Maintenance"))
        .collect();
    if !problems.is_empty() {
        return Err(StepError::failed(format!(
            "{} did not verify as out of service: {}. {}",
            ctx.server.name,
            problems.join("; "),
            left_on(ctx, made)
        )));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_dag_or_cluster_action_is_taken_outside_a_dag() {
        let kept: Vec<EnterAction> = EnterAction::ALL
            .into_iter()
            .filter(|a| applies(*a))
            .collect();
        assert_eq!(
            kept,
            vec![
                EnterAction::DrainHubTransport,
                EnterAction::RestartTransport,
                EnterAction::DrainUmCallRouter,
                EnterAction::RedirectMessages
            ]
        );
        let mut server = super::super::testkit::lab_plan().servers[0].clone();
        server.dag = None;
        let text: String = enter_scripts(std::slice::from_ref(&server), &server)
            .iter()
            .map(|c| format!("{:?}\n", c.command))
            .collect();
        // (The state observation reads the activation properties; nothing
        // here sets them.)
        for dag_only in [
            "Suspend-ClusterNode",
            "Move-ClusterGroup",
            "Set-MailboxServer",
            "Move-ActiveMailboxDatabase",
        ] {
            assert!(!text.contains(dag_only), "{dag_only} in:\n{text}");
        }
        assert!(text.contains("ServerWideOffline"), "{text}");
    }
}
