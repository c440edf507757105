//! The runbook of an Edge Transport server (`[[server]] role = "edge"`:
//! `plan::validate::edge`; docs/rollout.md, "Edge Transport servers", has
//! each step's source). The steps are the Mailbox server's, and these
//! parts differ: every Exchange cmdlet about the Edge server runs on it in
//! its local Exchange shell (`exchange::run`), the installer's task runs
//! as its local administrator (`installer::account_for_run`), `backup-config`
//! also saves `EdgeTransport.exe.config`, and here:
//!
//! - **enter**: drain HubTransport (`Set-ServerComponentState -Requester
//!   Maintenance`), restart MSExchangeTransport, wait for the queues, then
//!   `ServerWideOffline` Inactive — the Mailbox procedure without anything
//!   a Mailbox server has (copies, cluster, activation, UM) and without
//!   `Redirect-Message` (UNVERIFIED on Edge: its queues drain by delivery).
//! - **health**: every component Active (those inactive by design aside),
//!   Get-Queue answering, the target build, the installer's services
//!   back, and `Test-EdgeSynchronization -TargetServer` run from a Mailbox
//!   server of the plan reporting `SyncStatus` `Normal` (Microsoft Learn,
//!   Test-EdgeSynchronization; which other values are healthy is
//!   UNVERIFIED, so only `Normal` passes). No Test-ServiceHealth or
//!   Test-MAPIConnectivity: whether the first answers on Edge is
//!   UNVERIFIED, and an Edge server has no database.
//! - **gate** (before it leaves service, [`gate_refusals`]): with another
//!   Edge server in the plan, one subscribed to the same AD site
//!   (`Get-EdgeSubscription`) must be in service, so mail keeps flowing;
//!   with none, the plan announced the downtime.
//!
//! Steps call in here when `Server::is_edge`; nothing here sends a DAG,
//! cluster or Mailbox cmdlet.

use crate::exchange::observe::edge::{edge_subscriptions, test_edge_sync, EdgeSyncObs};
use crate::exchange::observe::{read_server_facts, read_service_set, ServiceSetObs};
use crate::exchange::{act, query_list, same, ExchangeState, Reach};
use crate::journal::Change;
use crate::plan::{Plan, Server};
use crate::runbook::{PlannedCommand, StepContext, StepError, StepOutcome};

use super::enter_maintenance::{enter_actions, EnterAction, EnterInputs};
use super::exit_maintenance::INACTIVE_BY_DESIGN;

/// A dry-run line for an operation sent about an Edge server: an
/// `ExchangeSession` one as sent there (the local Exchange shell), the
/// others as `PlannedCommand::ps` shows them.
fn planned(when: impl Into<String>, op: &crate::exchange::Operation) -> PlannedCommand {
    if op.placement == crate::exchange::Placement::ExchangeSession {
        PlannedCommand {
            when: when.into(),
            command: crate::runbook::PlannedText::PowerShell(op.edge_shell_script()),
        }
    } else {
        PlannedCommand::ps(when, op)
    }
}

/// The enter actions that apply on an Edge server, in runbook order.
fn applies(a: EnterAction) -> bool {
    matches!(
        a,
        EnterAction::DrainHubTransport | EnterAction::RestartTransport
    )
}

/// `enter-maintenance` for an Edge server.
pub fn enter(ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
    let state = ctx.exchange_state()?;
    let mut made: Vec<Change> = Vec::new();
    let inputs = EnterInputs {
        policy_before: None,
        redirect_to: "",
    };
    for a in enter_actions(&state, &ctx.prior_changes, false)
        .into_iter()
        .filter(|a| applies(*a))
    {
        ctx.act(&a.action(&ctx.server.name, &inputs), &mut made)?;
    }
    super::standalone::drain_and_go_offline(ctx, &mut made)?;
    let detail = format!(
        "{} (Edge Transport) is out of service, its queues drained",
        ctx.server.name
    );
    Ok(if made.is_empty() {
        StepOutcome::AlreadyDone { detail }
    } else {
        StepOutcome::Done { detail }
    })
}

/// The dry run of [`enter`].
pub fn enter_scripts(server: &Server) -> Vec<PlannedCommand> {
    let inputs = EnterInputs {
        policy_before: None,
        redirect_to: "",
    };
    let mut out = vec![planned(
        "first, and at every poll while waiting: observe components and queues in the Edge server's local Exchange shell",
        &crate::exchange::observe::edge::read_edge_state(&server.name),
    )];
    for a in EnterAction::ALL.into_iter().filter(|a| applies(*a)) {
        let when = match a {
            EnterAction::DrainHubTransport => {
                "if HubTransport is not yet held by requester Maintenance (local Exchange shell)"
            }
            _ => "on the server itself, right after the drain (the change takes effect on restart)",
        };
        out.push(planned(when, &a.action(&server.name, &inputs).op));
    }
    out.push(planned(
        "after the queues are empty, if ServerWideOffline is not yet held by Maintenance",
        &act::server_wide_offline(&server.name).op,
    ));
    out
}

/// The dry run of `exit-maintenance` on an Edge server: the Mailbox
/// server's, with the Edge state read and only the actions an Edge server
/// can need (its components, the transport restart).
pub fn exit_scripts(server: &Server) -> Vec<PlannedCommand> {
    use super::exit_maintenance::ExitAction;
    let mut out = vec![
        planned(
            "first: the role keys (an unfinished setup keeps the server out of service)",
            &read_server_facts(),
        ),
        planned(
            "then: the services an installer disables, and its Service*.xml files",
            &read_service_set(),
        ),
        planned(
            "then, and again to verify: components and queues in the Edge server's local Exchange shell",
            &crate::exchange::observe::edge::read_edge_state(&server.name),
        ),
    ];
    out.extend(
        ExitAction::samples(&server.name)
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    ExitAction::ServerWideOnline
                        | ExitAction::HubTransportActive
                        | ExitAction::RestartTransport
                        | ExitAction::ClearFunctional(_)
                )
            })
            .map(|a| planned(a.when(), &a.action(&server.name).op)),
    );
    out
}

/// The Mailbox server of the plan that Edge cmdlets of the Mailbox side
/// (`Get-EdgeSubscription`, `Test-EdgeSynchronization`) are run about: the
/// first one; its Exchange peer runs them (`Reach::peer_for`).
pub fn mailbox_side(plan: &Plan) -> Option<&Server> {
    plan.servers.iter().find(|s| !s.is_edge())
}

/// What `Test-EdgeSynchronization` says is wrong with `edge`'s
/// subscription; empty = `Normal`.
pub fn sync_problems(edge: &str, results: &[EdgeSyncObs]) -> Vec<String> {
    let mine: Vec<&EdgeSyncObs> = results.iter().filter(|r| same(&r.name, edge)).collect();
    if mine.is_empty() {
        return vec![format!(
            "Test-EdgeSynchronization reported nothing for {edge}: is it subscribed (Get-EdgeSubscription)?"
        )];
    }
    mine.iter()
        .filter(|r| !same(&r.sync_status, "Normal"))
        .map(|r| {
            format!(
                "Test-EdgeSynchronization: {edge} SyncStatus is {}, not Normal",
                if r.sync_status.is_empty() {
                    "empty"
                } else {
                    &r.sync_status
                }
            )
        })
        .collect()
}

/// The checks of [`health`] that need no Mailbox server.
pub fn local_problems(
    state: &ExchangeState,
    build: crate::catalog::ExchangeBuild,
    target: crate::catalog::ExchangeBuild,
    services: &ServiceSetObs,
) -> Vec<String> {
    let mut out: Vec<String> = state
        .components
        .iter()
        .filter(|c| {
            !INACTIVE_BY_DESIGN.iter().any(|x| same(x, &c.component)) && !same(&c.state, "Active")
        })
        .map(|c| format!("component {} is {}", c.component, c.state))
        .collect();
    if let Some(e) = &state.queues_error {
        out.push(format!("Get-Queue does not answer: {e}"));
    }
    if build != target {
        out.push(format!("build is {build}, not the target {target}"));
    }
    out.extend(super::health::service_problems(services));
    out
}

/// `health` for an Edge server: waits up to `timeouts.health` for every
/// check to pass, then names the failing ones.
pub fn health(ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
    let target = ctx.target.build();
    let Some(mailbox) = mailbox_side(ctx.plan).cloned() else {
        return Err(StepError::failed(format!(
            "{}: Test-EdgeSynchronization runs on a Mailbox server, and the plan lists none",
            ctx.server.name
        )));
    };
    super::health::wait_healthy(
        ctx,
        "waiting for the Edge server's health checks to pass",
        "The Edge server is back in service but not healthy; the rollout stops here. Fix these, then run cu-roll again",
        |ctx| {
            let state = ctx.exchange_state()?;
            let build = ctx.build()?;
            let services: ServiceSetObs = ctx.query(&read_service_set())?;
            let mut p = local_problems(&state, build, target, &services);
            let sync: Vec<EdgeSyncObs> =
                query_list(&ctx.exchange, &mailbox, &test_edge_sync(&ctx.server.name))?;
            p.extend(sync_problems(&ctx.server.name, &sync));
            Ok(p)
        },
    )?;
    Ok(StepOutcome::Done {
        detail: format!(
            "{} healthy at {target}, its Edge subscription synchronised",
            ctx.server.name
        ),
    })
}

/// The dry run of [`health`].
pub fn health_scripts(server: &Server) -> Vec<PlannedCommand> {
    let when = "at every poll until healthy";
    vec![
        planned(
            when,
            &crate::exchange::observe::edge::read_edge_state(&server.name),
        ),
        planned(when, &read_server_facts()),
        planned(when, &read_service_set()),
        PlannedCommand::ps(
            format!("{when}, in an Exchange remote session on a Mailbox server of the plan"),
            &test_edge_sync(&server.name),
        ),
    ]
}

/// Why `edge` must not leave service now; empty = it may. With no other
/// Edge server in the plan, none (the plan announced the downtime:
/// `plan::validate::edge`). Otherwise another Edge server of the plan
/// subscribed to the same AD site as `edge` must be in service
/// (ServerWideOffline and HubTransport Active, Get-Queue answering).
pub fn gate_refusals(reach: &Reach<'_>, plan: &Plan, edge: &Server) -> Vec<String> {
    let others: Vec<&Server> = plan
        .edge_servers()
        .filter(|s| !s.name.eq_ignore_ascii_case(&edge.name))
        .collect();
    if others.is_empty() {
        return Vec::new();
    }
    let Some(mailbox) = mailbox_side(plan) else {
        return vec![format!(
            "Get-EdgeSubscription runs on a Mailbox server, and the plan lists none: cannot tell which Edge server serves {}'s AD site",
            edge.name
        )];
    };
    let subs = match edge_subscriptions(reach, mailbox) {
        Ok(s) => s,
        Err(e) => return vec![format!("cannot read the Edge subscriptions: {e}")],
    };
    let site_of = |name: &str| {
        subs.iter()
            .find(|s| same(&s.name, name))
            .map(|s| s.site.clone())
    };
    let Some(site) = site_of(&edge.name) else {
        return vec![format!(
            "{} has no Edge subscription (Get-EdgeSubscription): subscribe it before cu-roll rolls it",
            edge.name
        )];
    };
    let mut why = Vec::new();
    for other in others {
        if site_of(&other.name).as_deref() != Some(site.as_str()) {
            why.push(format!("{} is not subscribed to site {site}", other.name));
            continue;
        }
        match crate::exchange::exchange_state(reach, other) {
            Ok(s) if in_service(&s) => return Vec::new(),
            Ok(_) => why.push(format!("{} is not in service", other.name)),
            Err(e) => why.push(format!("{} cannot be read: {e}", other.name)),
        }
    }
    vec![format!(
        "no other Edge server subscribed to site {site} is in service to carry its mail while {} is out ({})",
        edge.name,
        why.join("; ")
    )]
}

/// An Edge server carrying mail: ServerWideOffline and HubTransport
/// Active, its queues readable.
fn in_service(s: &ExchangeState) -> bool {
    let active = |name| s.component(name).is_none_or(|c| same(&c.state, "Active"));
    active("ServerWideOffline") && active("HubTransport") && s.queues_error.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_normal_sync_passes_and_a_missing_subscription_is_named() {
        let obs = |name: &str, status: &str| EdgeSyncObs {
            name: name.into(),
            sync_status: status.into(),
        };
        assert!(sync_problems("EDGE01", &[obs("EDGE01", "Normal")]).is_empty());
        let p = sync_problems("EDGE01", &[obs("EDGE01", "Failed")]);
        assert_eq!(
            p,
            vec!["Test-EdgeSynchronization: EDGE01 SyncStatus is Failed, not Normal"]
        );
        let p = sync_problems("EDGE01", &[obs("EDGE02", "Normal")]);
        assert!(p[0].contains("reported nothing for EDGE01"), "{p:?}");
    }

    #[test]
    fn nothing_of_a_mailbox_server_is_sent_to_an_edge_server() {
        let server = Server {
            name: "EDGE01".into(),
            fqdn: "edge01.contoso.local".into(),
            dag: None,
            redirect_to: None,
            address: None,
            port: None,
            edge: Some(crate::plan::EdgeAccount {
                user: "EDGE01\\Administrator".into(),
                secret: crate::plan::SecretSource::Env("P".into()),
            }),
        };
        let text: String = enter_scripts(&server)
            .iter()
            .chain(health_scripts(&server).iter())
            .chain(exit_scripts(&server).iter())
            .map(|c| format!("{:?}\n", c.command))
            .collect();
        for mailbox_only in [
            "Suspend-ClusterNode",
            "Set-MailboxServer",
            "Get-MailboxServer",
            "Get-MailboxDatabaseCopyStatus",
            "Redirect-Message",
            "Test-MAPIConnectivity",
            "UMCallRouter",
            "Resume-ClusterNode",
        ] {
            assert!(!text.contains(mailbox_only), "{mailbox_only} in:\n{text}");
        }
        assert!(text.contains("ServerWideOffline"), "{text}");
        assert!(
            text.contains("Test-EdgeSynchronization -TargetServer 'EDGE01'"),
            "{text}"
        );
    }
}
