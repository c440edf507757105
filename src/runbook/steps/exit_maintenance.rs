//! `exit-maintenance` (runbook §4): undo what cu-roll itself set, in the
//! runbook's order, each only where the observation says it still holds;
//! resume copies left suspended; clear components a setup left Inactive
//! under requester `Functional` (and say so). Maintenance cu-roll found in
//! place and did not set is reported, never cleared: the journal
//! (`prior_changes`) is what tells the two apart.

use crate::exchange::ExchangeState;
use crate::journal::Change;
use crate::plan::{Plan, Server};
use crate::preflight::ResolvedTarget;
use crate::ps::{Arg, Script};
use crate::runbook::scripts as t;
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::common::{
    act, all_changes, eq, held_by_maintenance, observe_state, ps, server_script,
    transport_restart_pending, Outstanding, FUNCTIONAL, MAINTENANCE, TRANSPORT_SERVICE,
};

pub struct ExitMaintenance;

/// Components inactive by design on-premises (exchange-facts.md §5).
pub const INACTIVE_BY_DESIGN: [&str; 2] = ["ForwardSyncDaemon", "ProvisioningRps"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitAction {
    ServerWideOnline,
    UmCallRouterActive,
    ResumeClusterNode,
    RestorePolicy(String),
    MoveNowOff,
    ResumeCopy(String),
    HubTransportActive,
    RestartTransport,
    ClearFunctional(String),
}

/// What to do, in runbook §4 order, and what to report instead of doing.
pub fn exit_actions(state: &ExchangeState, prior: &[Change]) -> (Vec<ExitAction>, Vec<String>) {
    use ExitAction::*;
    let own = Outstanding::of(prior);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let ours_and_held =
        |c: &str| own.holds_component(c, MAINTENANCE) && held_by_maintenance(state, c);
    if ours_and_held("ServerWideOffline") {
        out.push(ServerWideOnline);
    }
    if ours_and_held("UMCallRouter") {
        out.push(UmCallRouterActive);
    }
    let paused = state
        .cluster_node_state
        .as_deref()
        .is_some_and(|s| eq(s, "Paused"));
    if paused && own.node_suspended {
        out.push(ResumeClusterNode);
    } else if paused {
        notes.push("the cluster node is Paused, but not by cu-roll: left Paused (Resume-ClusterNode when its owner is done)".into());
    }
    match &own.policy_restore {
        Some(p) if !eq(p, &state.activation_policy) => out.push(RestorePolicy(p.clone())),
        Some(_) => {}
        None if !eq(&state.activation_policy, "Unrestricted") => notes.push(format!(
            "activation policy is {}, not set by cu-roll: left as found",
            state.activation_policy
        )),
        None => {}
    }
    if state.activation_disabled_and_move_now && own.move_now {
        out.push(MoveNowOff);
    } else if state.activation_disabled_and_move_now {
        notes.push(
            "DatabaseCopyActivationDisabledAndMoveNow is $true, not set by cu-roll: left as found"
                .into(),
        );
    }
    for copy in &state.copies {
        if eq(&copy.status, "Suspended") || eq(&copy.status, "FailedAndSuspended") {
            out.push(ResumeCopy(copy.name.clone()));
        }
    }
    if ours_and_held("HubTransport") {
        out.extend([HubTransportActive, RestartTransport]);
    } else if transport_restart_pending(prior, "Active") {
        out.push(RestartTransport);
    }
    for comp in &state.components {
        if INACTIVE_BY_DESIGN.iter().any(|x| eq(x, &comp.component)) {
            continue;
        }
        let holders = comp.holding_requesters();
        if holders.iter().any(|h| eq(h, FUNCTIONAL)) {
            out.push(ClearFunctional(comp.component.clone()));
        }
        for h in holders {
            if eq(&h, FUNCTIONAL) {
                continue;
            }
            if eq(&h, MAINTENANCE) && own.holds_component(&comp.component, MAINTENANCE) {
                continue;
            }
            notes.push(format!(
                "{} is held {} by requester {h}, not by cu-roll: left as found (Set-ServerComponentState -Identity <server> -Component {} -State Active -Requester {h} clears it)",
                comp.component,
                comp.requester_state(&h).unwrap_or("Inactive"),
                comp.component
            ));
        }
    }
    (out, notes)
}

/// What verification finds wrong (runbook §4.8): components not Active
/// (but those inactive by design), the policy not what cu-roll restores,
/// MoveNow on, the node not Up.
pub fn verify_problems(state: &ExchangeState, prior: &[Change]) -> Vec<String> {
    let mut out: Vec<String> = state
        .components
        .iter()
        .filter(|c| {
            !INACTIVE_BY_DESIGN.iter().any(|x| eq(x, &c.component)) && !eq(&c.state, "Active")
        })
        .map(|c| {
            let who = c.holding_requesters();
            if who.is_empty() {
                format!("component {} is {}", c.component, c.state)
            } else {
                format!(
                    "component {} is {} (held by {})",
                    c.component,
                    c.state,
                    who.join(", ")
                )
            }
        })
        .collect();
    if let Some(p) = Outstanding::of(prior).policy_restore {
        if !eq(&p, &state.activation_policy) {
            out.push(format!(
                "activation policy is {}, not {p} as before",
                state.activation_policy
            ));
        }
    }
    if state.activation_disabled_and_move_now {
        out.push("DatabaseCopyActivationDisabledAndMoveNow is $true".into());
    }
    if let Some(node) = state.cluster_node_state.as_deref() {
        if !eq(node, "Up") {
            out.push(format!("cluster node is {node}, not Up"));
        }
    }
    out
}

fn script_for(action: &ExitAction, server: &Server) -> Script {
    use ExitAction::*;
    match action {
        ServerWideOnline => {
            server_script("ServerWideOffline Active", t::SERVER_WIDE_ONLINE, server)
        }
        UmCallRouterActive => {
            server_script("UMCallRouter Active", t::UM_CALL_ROUTER_ACTIVE, server)
        }
        ResumeClusterNode => server_script("Resume-ClusterNode", t::RESUME_CLUSTER_NODE, server),
        RestorePolicy(p) => Script::render(
            "activation policy back to what it was",
            t::SET_ACTIVATION_POLICY,
            &[("server", Arg::Str(&server.name)), ("policy", Arg::Str(p))],
        ),
        MoveNowOff => server_script(
            "DatabaseCopyActivationDisabledAndMoveNow $false",
            t::MOVE_NOW_OFF,
            server,
        ),
        ResumeCopy(copy) => Script::render(
            "Resume-MailboxDatabaseCopy",
            t::RESUME_COPY,
            &[("copy", Arg::Str(copy))],
        ),
        HubTransportActive => server_script(
            "HubTransport Active and transport restart",
            t::HUB_TRANSPORT_ACTIVE,
            server,
        ),
        RestartTransport => Script::render(
            "restart MSExchangeTransport (a HubTransport change takes effect on restart)",
            t::RESTART_TRANSPORT,
            &[],
        ),
        ClearFunctional(c) => Script::render(
            "clear a component left Inactive under requester Functional",
            t::CLEAR_FUNCTIONAL,
            &[
                ("server", Arg::Str(&server.name)),
                ("component", Arg::Str(c)),
            ],
        ),
    }
}

fn changes_for(action: &ExitAction, state: &ExchangeState) -> Vec<Change> {
    use ExitAction::*;
    let comp = |c: &str, r: &str| Change::ComponentState {
        component: c.into(),
        state: "Active".into(),
        requester: r.into(),
    };
    match action {
        ServerWideOnline => vec![comp("ServerWideOffline", MAINTENANCE)],
        UmCallRouterActive => vec![comp("UMCallRouter", MAINTENANCE)],
        ResumeClusterNode => vec![Change::ClusterNodeResumed],
        RestorePolicy(p) => vec![Change::ActivationPolicy {
            policy: p.clone(),
            from: Some(state.activation_policy.clone()),
        }],
        MoveNowOff => vec![Change::ActivationDisabledAndMoveNow { value: false }],
        ResumeCopy(c) => vec![Change::DatabaseCopyResumed { copy: c.clone() }],
        HubTransportActive => vec![
            comp("HubTransport", MAINTENANCE),
            Change::ServiceRestarted {
                service: TRANSPORT_SERVICE.into(),
            },
        ],
        RestartTransport => vec![Change::ServiceRestarted {
            service: TRANSPORT_SERVICE.into(),
        }],
        ClearFunctional(c) => vec![comp(c, FUNCTIONAL)],
    }
}

impl Step for ExitMaintenance {
    fn id(&self) -> StepId {
        StepId::ExitMaintenance
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let state = observe_state(ctx)?;
        let (actions, notes) = exit_actions(&state, &ctx.prior_changes);
        for note in &notes {
            ctx.events.observed(note.clone())?;
        }
        let mut made = Vec::new();
        let mut copy_failures = Vec::new();
        let mut cleared = Vec::new();
        let restarted_with_hub = actions.contains(&ExitAction::HubTransportActive);
        for action in &actions {
            if *action == ExitAction::RestartTransport && restarted_with_hub {
                continue; // HUB_TRANSPORT_ACTIVE restarts it itself.
            }
            let script = script_for(action, ctx.server);
            let result = act(ctx, &mut made, &script, changes_for(action, &state));
            match (action, result) {
                // One copy that will not resume (FailedAndSuspended needs a
                // reseed) must not keep transport down: go on, fail at the end.
                (ExitAction::ResumeCopy(copy), Err(e)) => {
                    copy_failures.push(format!("{copy}: {e}"))
                }
                (_, Err(e)) => {
                    return Err(super::common::with_context(
                        e,
                        &Outstanding::of(&all_changes(ctx, &made)).describe(&ctx.server.name),
                    ))
                }
                (ExitAction::ClearFunctional(c), Ok(())) => {
                    ctx.events.observed(format!(
                        "{c} was left Inactive under requester Functional (what a failed or interrupted setup leaves): set Active"
                    ))?;
                    cleared.push(c.clone());
                }
                (_, Ok(())) => {}
            }
        }
        let state = observe_state(ctx)?;
        let all = all_changes(ctx, &made);
        let mut problems = verify_problems(&state, &all);
        problems.extend(copy_failures.iter().map(|f| {
            format!("copy {f} (a FailedAndSuspended copy may need Update-MailboxDatabaseCopy to reseed)")
        }));
        if !problems.is_empty() {
            let mut msg = format!(
                "{} is not fully back in service: {}",
                ctx.server.name,
                problems.join("; ")
            );
            if !notes.is_empty() {
                msg.push_str(&format!(". Found and left as is: {}", notes.join("; ")));
            }
            msg.push_str(&format!(
                ". {}",
                Outstanding::of(&all).describe(&ctx.server.name)
            ));
            return Err(StepError::failed(msg));
        }
        let mut detail = format!(
            "{} back in service: components Active, activation {}, node Up",
            ctx.server.name, state.activation_policy
        );
        if !cleared.is_empty() {
            detail.push_str(&format!(
                "; cleared requester Functional on {} (left by setup)",
                cleared.join(", ")
            ));
        }
        Ok(if actions.is_empty() {
            StepOutcome::AlreadyDone { detail }
        } else {
            StepOutcome::Done { detail }
        })
    }

    fn scripts(
        &self,
        _plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        use ExitAction::*;
        let copy = format!("DB01\\{}", server.name);
        vec![
            ps("first, and again to verify: components, policy, node, copies", crate::exchange::exchange_state_script(server)),
            ps("if cu-roll set ServerWideOffline Inactive and it still is", script_for(&ServerWideOnline, server)),
            ps("Exchange 2016: if cu-roll set UMCallRouter Draining and it still is", script_for(&UmCallRouterActive, server)),
            ps("if cu-roll paused the cluster node and it is still Paused", script_for(&ResumeClusterNode, server)),
            ps("if cu-roll changed the activation policy: back to the journaled one (here Unrestricted)", script_for(&RestorePolicy("Unrestricted".into()), server)),
            ps("if cu-roll set DatabaseCopyActivationDisabledAndMoveNow and it is still $true", script_for(&MoveNowOff, server)),
            ps(format!("for each copy on the server that is Suspended or FailedAndSuspended (e.g. {copy})"), script_for(&ResumeCopy(copy.clone()), server)),
            ps("if cu-roll drained HubTransport and it still is", script_for(&HubTransportActive, server)),
            ps("if cu-roll set HubTransport Active earlier but the restart did not follow", script_for(&RestartTransport, server)),
            ps("for each component held Inactive by requester Functional (e.g. ServerWideOffline after a failed setup)", script_for(&ClearFunctional("ServerWideOffline".into()), server)),
        ]
    }
}
