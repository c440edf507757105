//! `enter-maintenance` (runbook §2): drain transport, hand queued mail to a
//! healthy peer, pause the cluster node, move the PAM and every active copy
//! off and block activation, wait until nothing is mounted here and the
//! queues are empty, then take the whole server offline and verify all of
//! it. Each action is sent only when the observation says it is not yet
//! done; what was already so before cu-roll is reported, never claimed.
//! The actions are the `exchange::act` operations in [`EnterAction::ALL`]'s
//! order: `run` sends those [`enter_actions`] keeps, the dry run lists all.
//! The waits for the redirect, the moves and the drain are in `waits`.

use crate::exchange::act::{self, Action, ClusterGroupMove, CORE_CLUSTER_GROUP};
use crate::exchange::observe::{self, read_server_facts};
use crate::exchange::{same, ExchangeState, MAINTENANCE};
use crate::journal::{Baseline, Change};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::undo::{baseline_of, left_on, transport_restart_pending, Outstanding};

mod waits;

use waits::{redirect_when_ready, wait_copies_moved};
pub(super) use waits::{redirect_when_ready_to, wait_drained};

pub struct EnterMaintenance;

/// One runbook §2 action before the waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterAction {
    DrainHubTransport,
    RestartTransport,
    DrainUmCallRouter,
    RedirectMessages,
    SuspendClusterNode,
    /// Observes the core cluster group and moves it only when this server
    /// owns it, so it is sent every time.
    MoveClusterGroupOff,
    MoveNowOn,
    BlockActivation,
}

/// What the actions are built from besides the server's name.
pub struct EnterInputs<'a> {
    /// The activation policy before (journaled with `BlockActivation`, so
    /// exit-maintenance restores it); `None` in a dry run.
    pub policy_before: Option<&'a str>,
    /// Where queued mail goes (`RedirectMessages`).
    pub redirect_to: &'a str,
}

impl EnterAction {
    /// Runbook order. The PAM moves last, once no copy is mounted here:
    /// Microsoft's StartDagServerMaintenance.ps1 (DagCommonLibrary.ps1
    /// `Move-CriticalMailboxResources`) moves the databases first and only
    /// then the Primary Active Manager, so Active Manager does not change
    /// role while it moves them (review real-exchange.md #13). The node is
    /// paused by then, so it is never chosen as the new owner.
    pub const ALL: [EnterAction; 8] = [
        EnterAction::DrainHubTransport,
        EnterAction::RestartTransport,
        EnterAction::DrainUmCallRouter,
        EnterAction::RedirectMessages,
        EnterAction::SuspendClusterNode,
        EnterAction::MoveNowOn,
        EnterAction::BlockActivation,
        EnterAction::MoveClusterGroupOff,
    ];

    /// Whether the first observation says this is still to do. `prior`
    /// are cu-roll's earlier changes here (a redirect is not observable,
    /// so it is taken from the journal; a transport restart is owed when
    /// cu-roll's HubTransport change was not followed by one).
    fn needed(self, state: &ExchangeState, prior: &[Change], is_2016: bool) -> bool {
        use EnterAction::*;
        match self {
            DrainHubTransport => !state.held_by_maintenance("HubTransport"),
            // Right after cu-roll's own drain (DrainHubTransport needed), or
            // owed from an earlier run that crashed between the two.
            RestartTransport => {
                !state.held_by_maintenance("HubTransport")
                    || transport_restart_pending(prior, "Draining")
            }
            DrainUmCallRouter => is_2016 && !state.held_by_maintenance("UMCallRouter"),
            // Always, as manage-dags does (not only when the pre-drain
            // observation saw mail: Get-Queue may not have answered then).
            RedirectMessages => !prior
                .iter()
                .any(|c| matches!(c, Change::MessagesRedirected { .. })),
            SuspendClusterNode => !state.node_paused(),
            MoveClusterGroupOff => true,
            MoveNowOn => !state.activation_disabled_and_move_now,
            BlockActivation => !same(&state.activation_policy, "Blocked"),
        }
    }

    /// The operation, total over the actions.
    pub fn action(self, server: &str, inputs: &EnterInputs<'_>) -> Action {
        use EnterAction::*;
        match self {
            DrainHubTransport => act::drain_hub_transport(server),
            RestartTransport => act::restart_transport(),
            DrainUmCallRouter => act::drain_um_call_router(server),
            RedirectMessages => act::redirect_messages(server, inputs.redirect_to),
            SuspendClusterNode => act::suspend_cluster_node(server),
            MoveClusterGroupOff => act::move_cluster_group_off(server),
            MoveNowOn => act::move_now_on(server),
            BlockActivation => act::block_activation(server, inputs.policy_before),
        }
    }

    /// When it is sent, as the dry run says it.
    fn when(self, redirect_to: &str) -> String {
        use EnterAction::*;
        match self {
            DrainHubTransport => "if HubTransport is not yet held by requester Maintenance".into(),
            RestartTransport => "on the server itself, right after the drain (the change takes effect on restart), or if cu-roll drained HubTransport earlier but the restart did not follow (a crash between them)".into(),
            DrainUmCallRouter => "Exchange 2016 only, if UMCallRouter is not yet held by requester Maintenance".into(),
            RedirectMessages => format!("if no redirect was made yet, once Get-Queue answers on the server again (transport's bootloader is ready), retried until it succeeds within timeouts.drain (to the plan's redirect_to, else the first member in service; here {redirect_to})"),
            SuspendClusterNode => "if the cluster node is not Paused".into(),
            MoveClusterGroupOff => "once no copy is mounted here (StartDagServerMaintenance.ps1 moves the PAM after the databases): if this server owns Cluster Group (it is the PAM), move the group to another node (undo by hand, if wanted once the server is back: Move-ClusterGroup -Name 'Cluster Group' -Node <node>)".into(),
            MoveNowOn => "if DatabaseCopyActivationDisabledAndMoveNow is not yet $true".into(),
            BlockActivation => "if the activation policy is not Blocked (the old policy is journaled)".into(),
        }
    }
}

/// What is still to do, from the first observation, in runbook order.
pub fn enter_actions(state: &ExchangeState, prior: &[Change], is_2016: bool) -> Vec<EnterAction> {
    EnterAction::ALL
        .into_iter()
        .filter(|a| a.needed(state, prior, is_2016))
        .collect()
}

/// Maintenance found in place that cu-roll did not set: reported, and
/// left for the admin (exit-maintenance undoes only cu-roll's changes).
/// With the server's baseline, what differs from it is cu-roll's own.
pub fn preexisting(
    state: &ExchangeState,
    prior: &[Change],
    before: Option<&Baseline>,
) -> Vec<String> {
    let own = Outstanding::owned(prior, before, state);
    let mut out = Vec::new();
    for c in ["HubTransport", "UMCallRouter", "ServerWideOffline"] {
        if state.held_by_maintenance(c) && !own.holds_component(c, MAINTENANCE) {
            out.push(format!(
                "{c} was already held non-Active by requester Maintenance before cu-roll (left as found)"
            ));
        }
    }
    if state.node_paused() && !own.node_suspended {
        out.push("the cluster node was already Paused before cu-roll (it will not be resumed by cu-roll)".into());
    }
    if same(&state.activation_policy, "Blocked") && own.policy_restore.is_none() {
        out.push("activation policy was already Blocked before cu-roll (it will not be changed back by cu-roll)".into());
    }
    if state.activation_disabled_and_move_now && !own.move_now {
        out.push(
            "DatabaseCopyActivationDisabledAndMoveNow was already $true before cu-roll".into(),
        );
    }
    out
}

/// The journal entry for a move of the core group off `server`, `None`
/// when the server did not own it (nothing moved), an error when it owned
/// it and still does (the move went nowhere). Node names compare without
/// case: the cluster reports them lower-case.
pub fn cluster_group_change(server: &str, m: &ClusterGroupMove) -> Result<Option<Change>, String> {
    if !same(&m.from, server) {
        return Ok(None);
    }
    if m.to.trim().is_empty() || same(&m.to, server) {
        return Err(format!(
            "{CORE_CLUSTER_GROUP} (the Primary Active Manager) is still owned by {server} after Move-ClusterGroup"
        ));
    }
    Ok(Some(Change::ClusterGroupMoved {
        group: CORE_CLUSTER_GROUP.into(),
        from: m.from.clone(),
        to: m.to.clone(),
    }))
}

/// Verification of the PAM: `owner` is the core group's owner node.
pub fn pam_problem(server: &str, owner: &str) -> Option<String> {
    same(owner, server).then(|| {
        format!("{server} still owns {CORE_CLUSTER_GROUP} (it is the Primary Active Manager)")
    })
}

/// What verification finds wrong once maintenance should be complete
/// (runbook §2.10): every component Inactive but Monitoring and
/// RecoveryActionsEnabled, policy Blocked, node Paused.
pub fn verify_problems(state: &ExchangeState) -> Vec<String> {
    let mut out: Vec<String> = state
        .components
        .iter()
        .filter(|c| {
            !same(&c.component, "Monitoring")
                && !same(&c.component, "RecoveryActionsEnabled")
                && !same(&c.state, "Inactive")
        })
        .map(|c| format!("component {} is {}", c.component, c.state))
        .collect();
    if !same(&state.activation_policy, "Blocked") {
        out.push(format!(
            "activation policy is {}, not Blocked",
            state.activation_policy
        ));
    }
    let node = state.cluster_node_state.as_deref().unwrap_or("unknown");
    if !same(node, "Paused") {
        out.push(format!("cluster node is {node}, not Paused"));
    }
    out
}

/// Copies on the server still Mounted (active here).
pub fn mounted_copies(state: &ExchangeState) -> Vec<String> {
    state
        .copies
        .iter()
        .filter(|c| same(&c.status, "Mounted"))
        .map(|c| c.database_name.clone())
        .collect()
}

/// `redirect_to` from the plan, else the first peer that answers, is Up
/// and is not itself in maintenance.
fn redirect_target(ctx: &mut StepContext<'_>) -> Result<String, StepError> {
    if let Some(t) = &ctx.server.redirect_to {
        return Ok(t.clone());
    }
    let mut refused = Vec::new();
    for peer in ctx.peers.clone() {
        match observe::exchange_state(&ctx.exchange, peer) {
            Ok(s) => {
                let up = s
                    .cluster_node_state
                    .as_deref()
                    .is_none_or(|n| same(n, "Up"));
                let active = |name| s.component(name).is_none_or(|c| same(&c.state, "Active"));
                if up && active("ServerWideOffline") && active("HubTransport") {
                    return Ok(peer.fqdn.clone());
                }
                refused.push(format!("{} is down or in maintenance", peer.name));
            }
            Err(e) => refused.push(format!("{}: {e}", peer.name)),
        }
    }
    Err(StepError::failed(format!(
        "no healthy member of {}'s DAG can take its queued mail ({}); set redirect_to for {} in the plan, or bring a member back, then run cu-roll again",
        ctx.server.name,
        if refused.is_empty() { "it has no other members".into() } else { refused.join("; ") },
        ctx.server.name
    )))
}

/// Sends `MOVE_CLUSTER_GROUP_OFF` and journals a move; true when it moved.
fn move_pam_off(
    ctx: &mut StepContext<'_>,
    action: &Action,
    made: &mut Vec<Change>,
) -> Result<bool, StepError> {
    ctx.events.progress(action.op.script.purpose);
    let m: ClusterGroupMove = ctx.query(&action.op)?;
    match cluster_group_change(&ctx.server.name, &m) {
        Ok(None) => Ok(false),
        Ok(Some(change)) => {
            ctx.events.changed(change.clone())?;
            made.push(change);
            Ok(true)
        }
        Err(e) => Err(StepError::failed(format!(
            "{e}: no other node could take it (are the other members Up?). {}",
            left_on(ctx, made)
        ))),
    }
}

/// Sends the §2.1–2.7 actions still needed; true when any changed something.
fn act_before_waiting(
    ctx: &mut StepContext<'_>,
    state: &ExchangeState,
    is_2016: bool,
    made: &mut Vec<Change>,
) -> Result<bool, StepError> {
    let mut sent = false;
    for a in enter_actions(state, &ctx.prior_changes, is_2016) {
        if a == EnterAction::RedirectMessages {
            redirect_when_ready(ctx, made)?;
            sent = true;
            continue;
        }
        let inputs = EnterInputs {
            policy_before: Some(&state.activation_policy),
            redirect_to: "",
        };
        if a == EnterAction::MoveClusterGroupOff {
            // After the copies have left (`run`).
            continue;
        }
        ctx.act(&a.action(&ctx.server.name, &inputs), made)?;
        sent = true;
    }
    Ok(sent)
}

/// Runbook §2.10: every check of `verify_problems` and the PAM; the owner
/// of the core cluster group when all pass.
fn verify(ctx: &StepContext<'_>, made: &[Change]) -> Result<String, StepError> {
    let mut problems = verify_problems(&ctx.exchange_state()?);
    let owner = observe::cluster_group_owner(&ctx.exchange, ctx.server)?;
    problems.extend(pam_problem(&ctx.server.name, &owner));
    if !problems.is_empty() {
        return Err(StepError::failed(format!(
            "{} did not verify as in maintenance: {}. {}",
            ctx.server.name,
            problems.join("; "),
            left_on(ctx, made)
        )));
    }
    Ok(owner)
}

impl Step for EnterMaintenance {
    fn id(&self) -> StepId {
        StepId::EnterMaintenance
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        if ctx.server.is_edge() {
            return super::edge::enter(ctx);
        }
        // In no DAG (downtime announced in the plan): no moves, no cluster.
        if ctx.server.dag.is_none() {
            return super::standalone::enter(ctx);
        }
        let build = ctx.build()?;
        let state = ctx.exchange_state()?;
        // The baseline: what the server looked like before cu-roll's
        // maintenance, journaled with the first intent. Only a first
        // observation that follows no change of cu-roll's here is one.
        if ctx.observed_before.is_none() && Outstanding::of(&ctx.prior_changes).is_empty() {
            ctx.observed_before = Some(baseline_of(&state));
        }
        for note in preexisting(&state, &ctx.prior_changes, ctx.observed_before.as_ref()) {
            ctx.events.observed(note)?;
        }
        let mut made = Vec::new();
        // Exchange 2016 (15.1) has the UMCallRouter component to drain.
        let is_2016 = build.major == 15 && build.minor == 1;
        let mut sent = act_before_waiting(ctx, &state, is_2016, &mut made)?;
        sent |= wait_copies_moved(ctx, &made)?;
        sent |= move_pam_off(
            ctx,
            &act::move_cluster_group_off(&ctx.server.name),
            &mut made,
        )?;
        wait_drained(ctx, &made)?;
        super::shadow::flush(ctx)?;
        if is_2016 {
            super::enter_maintenance_um::wait_um_calls_ended(ctx)?;
        }
        // Runbook §2.9.
        if !ctx
            .exchange_state()?
            .held_by_maintenance("ServerWideOffline")
        {
            ctx.act(&act::server_wide_offline(&ctx.server.name), &mut made)?;
            sent = true;
        }
        let owner = verify(ctx, &made)?;
        // Review operator-experience.md message 22: say which stay Active.
        let detail = format!(
            "{} in maintenance: all components Inactive except Monitoring and RecoveryActionsEnabled (left Active, as Microsoft's runbook does), activation Blocked, node Paused, {CORE_CLUSTER_GROUP} (PAM) on {owner}, no copy mounted, queues empty",
            ctx.server.name
        );
        Ok(if sent {
            StepOutcome::Done { detail }
        } else {
            StepOutcome::AlreadyDone { detail }
        })
    }

    /// The same actions `run` sends, every one, with the reads around them.
    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        if server.is_edge() {
            return super::edge::enter_scripts(server);
        }
        if server.dag.is_none() {
            return super::standalone::enter_scripts(&plan.servers, server);
        }
        let redirect_to = server
            .redirect_to
            .clone()
            .or_else(|| peers.first().map(|p| p.fqdn.clone()))
            .unwrap_or_else(|| "<a healthy member's FQDN>".into());
        let inputs = EnterInputs {
            policy_before: None,
            redirect_to: &redirect_to,
        };
        let mut out = vec![PlannedCommand::ps(
            "first: read the build (Exchange 2016 also drains UMCallRouter)",
            &read_server_facts(),
        )];
        out.extend(PlannedCommand::exchange_state("first, and at every poll while waiting: observe components, policy, node, copies and queues", &server.name));
        for a in EnterAction::ALL {
            if a == EnterAction::RedirectMessages && server.redirect_to.is_none() {
                out.extend(peers.iter().flat_map(|p| PlannedCommand::exchange_state(
                    format!("if messages are queued and no redirect was made yet: is {} healthy enough to take them?", p.name),
                    &p.name,
                )));
            }
            out.push(PlannedCommand::ps(
                a.when(&redirect_to),
                &a.action(&server.name, &inputs).op,
            ));
        }
        out.extend([PlannedCommand::ps(
            "once, if copies are still Mounted here after half of timeouts.move_databases",
            &act::move_active_databases(&server.name).op,
        )]);
        let names: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
        if !names.is_empty() {
            out.push(PlannedCommand::ps("after the queues are drained (ExchangeDsc's discard heartbeat, not Microsoft's procedure): on every other member, in one call", &act::shadow_heartbeat(&names, &server.fqdn).op));
            out.push(PlannedCommand::ps("then at every poll for up to 2 minutes: shadow copies the other members still hold, in one call (what remains is reported, not fatal)", &observe::read_shadow_messages(&names, &server.fqdn)));
        }
        out.push(super::enter_maintenance_um::planned(&server.name));
        out.extend([
            PlannedCommand::ps("after no copy is mounted and the queues are empty, if ServerWideOffline is not yet held by Maintenance", &act::server_wide_offline(&server.name).op),
            PlannedCommand::ps("verification: this server must no longer own Cluster Group", &observe::read_cluster_group_owner()),
        ]);
        out
    }
}
