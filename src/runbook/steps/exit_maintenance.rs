//! `exit-maintenance` (runbook §4): undo what cu-roll itself set, in the
//! runbook's order, each only where the observation says it still holds;
//! resume copies that became suspended while cu-roll had the server (a copy
//! suspended before, per the journaled baseline, is reported, never
//! resumed: review real-exchange.md #16); clear components a setup left Inactive
//! under requester `Functional` (and say so), but only once setup is
//! verified complete: the role keys show no unfinished upgrade and the last
//! setup cu-roll ran ended with exit 0 (the setup step has checked its
//! success line). Otherwise those markers are what says the server is
//! broken: the step fails before it changes anything, and the server stays
//! out of service. Maintenance cu-roll found in
//! place and did not set is reported, never cleared: the journal
//! (`prior_changes`) is what tells the two apart. The actions are
//! `exchange::act` operations; the dry run lists one of each kind, built
//! by the same `ExitAction::action`. First of all, the services an
//! installer disables are checked and, where cu-roll's own installer left
//! them Disabled, repaired (`services`).

use crate::exchange::act::{self, Action};
use crate::exchange::observe::read_server_facts;
use crate::exchange::{same, ExchangeState, FUNCTIONAL, MAINTENANCE};
use crate::journal::{Baseline, Change};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::undo::{frontend_restart_pending, left_on, transport_restart_pending, Outstanding};

pub struct ExitMaintenance;

/// Components inactive by design on-premises (exchange-facts.md §5).
pub const INACTIVE_BY_DESIGN: [&str; 2] = ["ForwardSyncDaemon", "ProvisioningRps"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitAction {
    ServerWideOnline,
    UmCallRouterActive,
    ResumeClusterNode,
    /// Back to `policy` (journaled before maintenance); `from` is the
    /// policy found now.
    RestorePolicy {
        policy: String,
        from: String,
    },
    MoveNowOff,
    /// A copy suspended since cu-roll took the server out;
    /// `replication_only` keeps an activation suspension found before (a
    /// lagged copy's guard).
    ResumeCopy {
        copy: String,
        replication_only: bool,
    },
    HubTransportActive,
    RestartTransport,
    /// Right after [`ExitAction::RestartTransport`]: the front end started
    /// at boot while ServerWideOffline was Inactive (review
    /// real-exchange.md #15).
    RestartFrontEndTransport,
    ClearFunctional(String),
}

/// What to do, in runbook §4 order, and what to report instead of doing.
/// `before` is the server's baseline: what differs from it is cu-roll's own
/// maintenance even when a change record is missing.
pub fn exit_actions(
    state: &ExchangeState,
    prior: &[Change],
    before: Option<&Baseline>,
) -> (Vec<ExitAction>, Vec<String>) {
    use ExitAction::*;
    let own = Outstanding::owned(prior, before, state);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let ours_and_held =
        |c: &str| own.holds_component(c, MAINTENANCE) && state.held_by_maintenance(c);
    if ours_and_held("ServerWideOffline") {
        out.push(ServerWideOnline);
    }
    // Components setup left Inactive under requester Functional, right
    // after ServerWideOffline: otherwise transport restarts below while
    // ServerWideOffline is still effectively Inactive (review
    // real-exchange.md #15). Only reached once setup is verified complete
    // (`setup_unverified`, checked before any action).
    for comp in &state.components {
        if INACTIVE_BY_DESIGN.iter().any(|x| same(x, &comp.component)) {
            continue;
        }
        let holders = comp.holding_requesters();
        if holders.iter().any(|h| same(h, FUNCTIONAL)) {
            out.push(ClearFunctional(comp.component.clone()));
        }
        for h in holders {
            if same(&h, FUNCTIONAL) {
                continue;
            }
            if same(&h, MAINTENANCE) && own.holds_component(&comp.component, MAINTENANCE) {
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
    if ours_and_held("UMCallRouter") {
        out.push(UmCallRouterActive);
    }
    let paused = state.node_paused();
    if paused && own.node_suspended {
        out.push(ResumeClusterNode);
    } else if paused {
        notes.push("the cluster node is Paused, but not by cu-roll: left Paused (Resume-ClusterNode when its owner is done)".into());
    }
    match &own.policy_restore {
        Some(p) if !same(p, &state.activation_policy) => out.push(RestorePolicy {
            policy: p.clone(),
            from: state.activation_policy.clone(),
        }),
        Some(_) => {}
        // Empty: an Edge server, which has no activation policy.
        None if !state.activation_policy.is_empty()
            && !same(&state.activation_policy, "Unrestricted") =>
        {
            notes.push(format!(
                "activation policy is {}, not set by cu-roll: left as found",
                state.activation_policy
            ))
        }
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
        if !(same(&copy.status, "Suspended") || same(&copy.status, "FailedAndSuspended")) {
            continue;
        }
        match before {
            Some(b) if !b.copy_suspended(&copy.name) => out.push(ResumeCopy {
                copy: copy.name.clone(),
                replication_only: b.copy_activation_suspended(&copy.name) || copy.lagged(),
            }),
            Some(_) => notes.push(format!(
                "copy {} is {}, as it was before cu-roll's maintenance: left as found (Resume-MailboxDatabaseCopy -Identity {} resumes it; -ReplicationOnly keeps it blocked for activation)",
                copy.name, copy.status, copy.name
            )),
            None => notes.push(format!(
                "copy {} is {}, and cu-roll has no record of how it was before its maintenance: left as found (Resume-MailboxDatabaseCopy -Identity {} resumes it)",
                copy.name, copy.status, copy.name
            )),
        }
    }
    // The restart (on the server itself) follows the change in the session.
    if ours_and_held("HubTransport") {
        out.push(HubTransportActive);
        out.push(RestartTransport);
        out.push(RestartFrontEndTransport);
    } else if transport_restart_pending(prior, "Active")
        // cu-roll's drain is the journal's last word on HubTransport, yet
        // the server shows it Active: set Active by a run that stopped
        // before it recorded the change (a restore is never adopted from
        // an intent: progress_state.rs), so the restart that makes it take
        // effect may not have followed.
        || own.holds_component("HubTransport", MAINTENANCE)
    {
        out.push(RestartTransport);
        out.push(RestartFrontEndTransport);
    } else if frontend_restart_pending(prior) {
        // A run stopped between the two restarts.
        out.push(RestartFrontEndTransport);
    }
    (out, notes)
}

/// What verification finds wrong (runbook §4.8): components not Active
/// (but those inactive by design), the policy not what cu-roll restores,
/// MoveNow on, the node not Up; with the baseline, every value recorded
/// before maintenance.
pub fn verify_problems(
    state: &ExchangeState,
    prior: &[Change],
    before: Option<&Baseline>,
) -> Vec<String> {
    let mut out: Vec<String> = state
        .components
        .iter()
        .filter(|c| {
            !INACTIVE_BY_DESIGN.iter().any(|x| same(x, &c.component)) && !same(&c.state, "Active")
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
    // The value recorded before maintenance (the baseline), else the one
    // journaled with cu-roll's own policy change.
    let restore = before
        .map(|b| b.activation_policy.clone())
        .or(Outstanding::of(prior).policy_restore);
    if let Some(p) = restore {
        if !same(&p, &state.activation_policy) {
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
        if !same(node, "Up") {
            out.push(format!("cluster node is {node}, not Up"));
        }
    }
    out
}

impl ExitAction {
    /// The operation, total over the actions.
    pub fn action(&self, server: &str) -> Action {
        use ExitAction::*;
        match self {
            ServerWideOnline => act::server_wide_online(server),
            UmCallRouterActive => act::um_call_router_active(server),
            ResumeClusterNode => act::resume_cluster_node(server),
            RestorePolicy { policy, from } => act::restore_activation_policy(server, policy, from),
            MoveNowOff => act::move_now_off(server),
            ResumeCopy {
                copy,
                replication_only,
            } => act::resume_copy(copy, *replication_only),
            HubTransportActive => act::hub_transport_active(server),
            RestartTransport => act::restart_transport(),
            RestartFrontEndTransport => act::transport_exit::restart_frontend_transport(),
            ClearFunctional(c) => act::clear_functional(server, c),
        }
    }

    /// When it is sent, as the dry run says it.
    pub(super) fn when(&self) -> String {
        use ExitAction::*;
        match self {
            ServerWideOnline => "if cu-roll set ServerWideOffline Inactive and it still is".into(),
            UmCallRouterActive => "Exchange 2016: if cu-roll set UMCallRouter Draining and it still is".into(),
            ResumeClusterNode => "if cu-roll paused the cluster node and it is still Paused".into(),
            RestorePolicy { policy, .. } => format!("if cu-roll changed the activation policy: back to the journaled one (here {policy})"),
            MoveNowOff => "if cu-roll set DatabaseCopyActivationDisabledAndMoveNow and it is still $true".into(),
            ResumeCopy { copy, replication_only: false } => format!("for each copy on the server that is Suspended or FailedAndSuspended now and was not before cu-roll's maintenance (the journaled baseline; e.g. {copy})"),
            ResumeCopy { copy, replication_only: true } => format!("the same, for a lagged copy or one activation-suspended before: replication only, activation stays suspended (e.g. {copy})"),
            HubTransportActive => "if cu-roll drained HubTransport and it still is".into(),
            RestartTransport => "on the server itself, right after HubTransport Active (the change takes effect on restart), or if cu-roll set it Active earlier but the restart did not follow".into(),
            RestartFrontEndTransport => "on the server itself, after the transport restart (or alone, when a run stopped between the two): MSExchangeFrontEndTransport started at boot while the server was offline (community procedures restart it too; Microsoft's restarts only MSExchangeTransport)".into(),
            ClearFunctional(c) => format!("for each component held Inactive by requester Functional (e.g. {c} after a failed setup)"),
        }
    }

    /// One action of each kind, in the order `exit_actions` gives them,
    /// with sample values: what the dry run lists for `server`.
    pub(super) fn samples(server: &str) -> Vec<ExitAction> {
        use ExitAction::*;
        vec![
            ServerWideOnline,
            ClearFunctional("ServerWideOffline".into()),
            UmCallRouterActive,
            ResumeClusterNode,
            RestorePolicy {
                policy: "Unrestricted".into(),
                from: "Blocked".into(),
            },
            MoveNowOff,
            ResumeCopy {
                copy: format!("DB01\\{server}"),
                replication_only: false,
            },
            ResumeCopy {
                copy: format!("DB02\\{server}"),
                replication_only: true,
            },
            HubTransportActive,
            RestartTransport,
            RestartFrontEndTransport,
        ]
    }
}

/// Sends `actions` in order. A copy that will not resume (FailedAndSuspended
/// needs a reseed) must not keep transport down: it is collected in the
/// first list and the rest goes on; any other failure stops the step.
/// The second list holds the components cleared of requester Functional.
fn send_all(
    ctx: &mut StepContext<'_>,
    actions: &[ExitAction],
    made: &mut Vec<Change>,
) -> Result<(Vec<String>, Vec<String>), StepError> {
    let mut copy_failures = Vec::new();
    let mut cleared = Vec::new();
    for a in actions {
        match (a, ctx.act(&a.action(&ctx.server.name), made)) {
            (ExitAction::ResumeCopy { copy, .. }, Err(e)) => {
                copy_failures.push(format!("{copy}: {e}"))
            }
            (_, Err(e)) => return Err(e.with_context(&left_on(ctx, made))),
            (ExitAction::ClearFunctional(c), Ok(())) => {
                ctx.events.observed(format!(
                    "{c} was left Inactive under requester Functional (what a failed or interrupted setup leaves): set Active"
                ))?;
                cleared.push(c.clone());
            }
            (_, Ok(())) => {}
        }
    }
    Ok((copy_failures, cleared))
}

/// Why setup does not count as verified complete, if it does not: an
/// unfinished upgrade in the role keys (`facts`), or a last setup run of
/// cu-roll's (`InstallerFinished` for `setup`) that ended non-zero.
pub fn setup_unverified(facts: &crate::exchange::ServerFacts, prior: &[Change]) -> Option<String> {
    if let Some(why) = facts.setup_incomplete() {
        return Some(format!(
            "{} ({why})",
            crate::preflight::checks::PREVIOUS_UPGRADE_INCOMPLETE
        ));
    }
    let last = prior.iter().rev().find_map(|c| match c {
        Change::InstallerFinished { step, exit_code } if step == StepId::Setup.id() => {
            Some(*exit_code)
        }
        _ => None,
    });
    match last {
        Some(code) if code != 0 => Some(format!(
            "the last setup cu-roll ran ended with exit code {code} and none has succeeded since"
        )),
        _ => None,
    }
}

impl Step for ExitMaintenance {
    fn id(&self) -> StepId {
        StepId::ExitMaintenance
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let facts = ctx.server_facts()?;
        if let Some(why) = setup_unverified(&facts, &ctx.prior_changes) {
            return Err(StepError::failed(format!(
                "{} stays out of service: {why}. The components setup holds Inactive under requester Functional say the server is not fit for service, so cu-roll neither clears them nor resumes the server. Run cu-roll again: its setup step runs setup /Mode:Upgrade again first. {}",
                ctx.server.name,
                left_on(ctx, &[])
            )));
        }
        // The services an installer disables, before anything else: a
        // server with Exchange or its Windows dependencies Disabled is not
        // back (review real-exchange.md #6; policy in `services`).
        let mut made = Vec::new();
        let repaired = super::services::check_and_repair(ctx, true, &mut made)
            .map_err(|e| e.with_context(&left_on(ctx, &made)))?;
        let state = ctx.exchange_state()?;
        let before = ctx.observed_before.clone();
        let (mut actions, notes) = exit_actions(&state, &ctx.prior_changes, before.as_ref());
        if ctx.server.is_edge() {
            // An Edge server has no front-end transport service.
            actions.retain(|a| *a != ExitAction::RestartFrontEndTransport);
        }
        for note in &notes {
            ctx.events.observed(note.clone())?;
        }
        let (copy_failures, cleared) = send_all(ctx, &actions, &mut made)?;
        let resumed_queue = if ctx.server.is_edge() {
            None
        } else {
            super::exit_maintenance_transport::submission_queue(ctx, &made)?
        };
        let state = ctx.exchange_state()?;
        let mut problems = verify_problems(&state, &ctx.all_changes(&made), before.as_ref());
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
            msg.push_str(&format!(". {}", left_on(ctx, &made)));
            return Err(StepError::failed(msg));
        }
        let mut detail = if ctx.server.is_edge() {
            format!("{} back in service: components Active", ctx.server.name)
        } else {
            format!(
                "{} back in service: components Active, activation {}, node Up",
                ctx.server.name, state.activation_policy
            )
        };
        if !repaired.is_empty() {
            detail.push_str(&format!(
                "; set {} back to Automatic and started them (left Disabled by an installer)",
                repaired.join(", ")
            ));
        }
        if !cleared.is_empty() {
            detail.push_str(&format!(
                "; cleared requester Functional on {} (left by setup)",
                cleared.join(", ")
            ));
        }
        if let Some(note) = &resumed_queue {
            detail.push_str(&format!("; {note}"));
        }
        Ok(
            if actions.is_empty() && repaired.is_empty() && resumed_queue.is_none() {
                StepOutcome::AlreadyDone { detail }
            } else {
                StepOutcome::Done { detail }
            },
        )
    }

    /// Every kind of action `run` sends, built the same way.
    fn scripts(
        &self,
        _plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        if server.is_edge() {
            return super::edge::exit_scripts(server);
        }
        let mut out = vec![
            PlannedCommand::ps(
                "first: the role keys (an unfinished setup keeps the server out of service)",
                &read_server_facts(),
            ),
            PlannedCommand::ps(
                "then: the services an installer disables, and its Service*.xml files",
                &crate::exchange::observe::read_service_set(),
            ),
            PlannedCommand::ps(
                "for each of them left Disabled after cu-roll's own installer (journaled first; e.g. RemoteRegistry)",
                &act::set_service_start_type("RemoteRegistry", "Disabled", "Automatic").op,
            ),
        ];
        out.extend(PlannedCommand::exchange_state(
            "then, and again to verify: components, policy, node, copies",
            &server.name,
        ));
        out.extend(
            ExitAction::samples(&server.name)
                .iter()
                .map(|a| PlannedCommand::ps(a.when(), &a.action(&server.name).op)),
        );
        out.push(PlannedCommand::ps(
            "last: the Submission queue, resumed if Suspended (waits up to 5 minutes for Get-Queue to answer after the restart)",
            &act::transport_exit::resume_submission_queue(&server.name).op,
        ));
        out
    }
}
