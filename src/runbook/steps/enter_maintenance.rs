//! `enter-maintenance` (runbook §2): drain transport, hand queued mail to a
//! healthy peer, pause the cluster node, move every active copy off and
//! block activation, wait until nothing is mounted here and the queues are
//! empty, then take the whole server offline and verify all of it.
//! Each action is sent only when the observation says it is not yet done;
//! what was already so before cu-roll is reported, never claimed.

use crate::exchange::{self, ExchangeState, MoveResultObs};
use crate::journal::Change;
use crate::plan::{Plan, Server};
use crate::preflight::ResolvedTarget;
use crate::ps::{Arg, Script};
use crate::runbook::scripts as t;
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::common::{
    act, all_changes, build_of, eq, held_by_maintenance, is_exchange_2016, observe_facts,
    observe_state, ps, server_script, transport_restart_pending, with_context, Outstanding,
    MAINTENANCE, TRANSPORT_SERVICE,
};

pub struct EnterMaintenance;

/// One runbook §2 action, in runbook order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterAction {
    DrainHubTransport,
    RestartTransport,
    DrainUmCallRouter,
    RedirectMessages,
    SuspendClusterNode,
    MoveNowOn,
    BlockActivation,
}

/// What is still to do, from the first observation. `prior` are cu-roll's
/// earlier changes on this server (a redirect is not observable, so it is
/// taken from the journal; a transport restart is owed when cu-roll's
/// HubTransport change was not followed by one).
pub fn enter_actions(state: &ExchangeState, prior: &[Change], is_2016: bool) -> Vec<EnterAction> {
    use EnterAction::*;
    let mut out = Vec::new();
    if !held_by_maintenance(state, "HubTransport") {
        out.extend([DrainHubTransport, RestartTransport]);
    } else if transport_restart_pending(prior, "Draining") {
        out.push(RestartTransport);
    }
    if is_2016 && !held_by_maintenance(state, "UMCallRouter") {
        out.push(DrainUmCallRouter);
    }
    let redirected = prior
        .iter()
        .any(|c| matches!(c, Change::MessagesRedirected { .. }));
    if !redirected && state.queued_messages() > 0 {
        out.push(RedirectMessages);
    }
    if !state
        .cluster_node_state
        .as_deref()
        .is_some_and(|s| eq(s, "Paused"))
    {
        out.push(SuspendClusterNode);
    }
    if !state.activation_disabled_and_move_now {
        out.push(MoveNowOn);
    }
    if !eq(&state.activation_policy, "Blocked") {
        out.push(BlockActivation);
    }
    out
}

/// Maintenance found in place that cu-roll did not set: reported, and
/// left for the admin (exit-maintenance undoes only cu-roll's changes).
pub fn preexisting(state: &ExchangeState, prior: &[Change]) -> Vec<String> {
    let own = Outstanding::of(prior);
    let mut out = Vec::new();
    for c in ["HubTransport", "UMCallRouter", "ServerWideOffline"] {
        if held_by_maintenance(state, c) && !own.holds_component(c, MAINTENANCE) {
            out.push(format!(
                "{c} was already held non-Active by requester Maintenance before cu-roll (left as found)"
            ));
        }
    }
    if state
        .cluster_node_state
        .as_deref()
        .is_some_and(|s| eq(s, "Paused"))
        && !own.node_suspended
    {
        out.push("the cluster node was already Paused before cu-roll (it will not be resumed by cu-roll)".into());
    }
    if eq(&state.activation_policy, "Blocked") && own.policy_restore.is_none() {
        out.push("activation policy was already Blocked before cu-roll (it will not be changed back by cu-roll)".into());
    }
    if state.activation_disabled_and_move_now && !own.move_now {
        out.push(
            "DatabaseCopyActivationDisabledAndMoveNow was already $true before cu-roll".into(),
        );
    }
    out
}

/// What `MOVE_CLUSTER_GROUP_OFF` printed: the core group's owner before,
/// and after (the same node when it did not own it, so nothing moved).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterGroupMove {
    pub from: String,
    pub to: String,
}

/// The group whose owner is the Primary Active Manager.
pub const CORE_CLUSTER_GROUP: &str = "Cluster Group";

/// The journal entry for a move of the core group off `server`, `None`
/// when the server did not own it (nothing moved), an error when it owned
/// it and still does (the move went nowhere). Node names compare without
/// case: the cluster reports them lower-case.
pub fn cluster_group_change(server: &str, m: &ClusterGroupMove) -> Result<Option<Change>, String> {
    if !eq(&m.from, server) {
        return Ok(None);
    }
    if m.to.trim().is_empty() || eq(&m.to, server) {
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
    eq(owner, server).then(|| {
        format!("{server} still owns {CORE_CLUSTER_GROUP} (it is the Primary Active Manager)")
    })
}

fn move_cluster_group_script(server: &Server) -> Script {
    server_script(
        "Cluster Group (the PAM) off this server, if it owns it",
        t::MOVE_CLUSTER_GROUP_OFF,
        server,
    )
}

fn cluster_group_owner_script() -> Script {
    Script::render(
        "which node owns Cluster Group (the PAM)",
        t::CLUSTER_GROUP_OWNER,
        &[],
    )
}

/// Sends `MOVE_CLUSTER_GROUP_OFF` and journals a move; true when it moved.
fn move_pam_off(ctx: &mut StepContext<'_>, made: &mut Vec<Change>) -> Result<bool, StepError> {
    let script = move_cluster_group_script(ctx.server);
    ctx.events.progress(script.purpose);
    let m: ClusterGroupMove = exchange::query(ctx.exec, ctx.server, &script)?;
    match cluster_group_change(&ctx.server.name, &m) {
        Ok(None) => Ok(false),
        Ok(Some(change)) => {
            ctx.events.changed(change.clone())?;
            made.push(change);
            Ok(true)
        }
        Err(e) => Err(StepError::failed(format!(
            "{e}: no other node could take it (are the other members Up?). {}",
            Outstanding::of(&all_changes(ctx, made)).describe(&ctx.server.name)
        ))),
    }
}

/// What verification finds wrong once maintenance should be complete
/// (runbook §2.10): every component Inactive but Monitoring and
/// RecoveryActionsEnabled, policy Blocked, node Paused.
pub fn verify_problems(state: &ExchangeState) -> Vec<String> {
    let mut out: Vec<String> = state
        .components
        .iter()
        .filter(|c| {
            !eq(&c.component, "Monitoring")
                && !eq(&c.component, "RecoveryActionsEnabled")
                && !eq(&c.state, "Inactive")
        })
        .map(|c| format!("component {} is {}", c.component, c.state))
        .collect();
    if !eq(&state.activation_policy, "Blocked") {
        out.push(format!(
            "activation policy is {}, not Blocked",
            state.activation_policy
        ));
    }
    let node = state.cluster_node_state.as_deref().unwrap_or("unknown");
    if !eq(node, "Paused") {
        out.push(format!("cluster node is {node}, not Paused"));
    }
    out
}

/// Copies on the server still Mounted (active here).
pub fn mounted_copies(state: &ExchangeState) -> Vec<String> {
    state
        .copies
        .iter()
        .filter(|c| eq(&c.status, "Mounted"))
        .map(|c| c.database_name.clone())
        .collect()
}

fn redirect_script(server: &Server, target: &str) -> Script {
    Script::render(
        "Redirect-Message: queued mail to another member",
        t::REDIRECT_MESSAGES,
        &[
            ("server", Arg::Str(&server.name)),
            ("target", Arg::Str(target)),
        ],
    )
}

fn move_script(server: &Server) -> Script {
    server_script(
        "Move-ActiveMailboxDatabase: copies still mounted after MoveNow",
        t::MOVE_ACTIVE_DATABASES,
        server,
    )
}

fn action_script(action: EnterAction, server: &Server) -> Option<Script> {
    use EnterAction::*;
    let (purpose, template) = match action {
        DrainHubTransport => (
            "HubTransport Draining and transport restart",
            t::DRAIN_HUB_TRANSPORT,
        ),
        RestartTransport => return None,
        DrainUmCallRouter => ("UMCallRouter Draining", t::DRAIN_UM_CALL_ROUTER),
        RedirectMessages => return None,
        SuspendClusterNode => ("Suspend-ClusterNode", t::SUSPEND_CLUSTER_NODE),
        MoveNowOn => (
            "DatabaseCopyActivationDisabledAndMoveNow $true",
            t::MOVE_NOW_ON,
        ),
        BlockActivation => (
            "DatabaseCopyAutoActivationPolicy Blocked",
            t::BLOCK_ACTIVATION,
        ),
    };
    Some(server_script(purpose, template, server))
}

/// The transport restart alone, for a crash between the component change
/// and the restart: `Restart-Service` is a plain Windows cmdlet.
fn restart_transport_script() -> Script {
    Script::render(
        "restart MSExchangeTransport (a HubTransport change takes effect on restart)",
        t::RESTART_TRANSPORT,
        &[],
    )
}

/// `redirect_to` from the plan, else the first peer that answers, is Up
/// and is not itself in maintenance.
fn redirect_target(ctx: &mut StepContext<'_>) -> Result<String, StepError> {
    if let Some(t) = &ctx.server.redirect_to {
        return Ok(t.clone());
    }
    let mut refused = Vec::new();
    for peer in ctx.peers.clone() {
        match exchange::exchange_state(ctx.exec, peer) {
            Ok(s) => {
                let up = s.cluster_node_state.as_deref().is_none_or(|n| eq(n, "Up"));
                let active = |name| {
                    super::common::component(&s, name).is_none_or(|c| eq(&c.state, "Active"))
                };
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

impl Step for EnterMaintenance {
    fn id(&self) -> StepId {
        StepId::EnterMaintenance
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        if ctx.server.dag.is_none() {
            return Err(StepError::failed(format!(
                "{} is not in a DAG: its databases cannot move to another member, so maintenance would take them offline; this version of cu-roll rolls DAG members only",
                ctx.server.name
            )));
        }
        let facts = observe_facts(ctx)?;
        let build = build_of(&facts, ctx.server)?;
        let state = observe_state(ctx)?;
        for note in preexisting(&state, &ctx.prior_changes) {
            ctx.events.observed(note)?;
        }
        let actions = enter_actions(&state, &ctx.prior_changes, is_exchange_2016(build));
        let mut made = Vec::new();
        let mut sent = !actions.is_empty();
        let timeout_context = |ctx: &StepContext<'_>, made: &[Change]| {
            format!(
                "The server stays drained and blocked, which is safe: its databases are served by the other members. {}",
                Outstanding::of(&all_changes(ctx, made)).describe(&ctx.server.name)
            )
        };
        for action in actions {
            let server = ctx.server;
            match action {
                EnterAction::DrainHubTransport => act(
                    ctx,
                    &mut made,
                    &action_script(action, server).expect("has a script"),
                    vec![
                        Change::ComponentState {
                            component: "HubTransport".into(),
                            state: "Draining".into(),
                            requester: MAINTENANCE.into(),
                        },
                        Change::ServiceRestarted {
                            service: TRANSPORT_SERVICE.into(),
                        },
                    ],
                )?,
                EnterAction::RestartTransport => {
                    // DrainHubTransport already restarted it.
                    if !made
                        .iter()
                        .any(|c| matches!(c, Change::ServiceRestarted { .. }))
                    {
                        act(
                            ctx,
                            &mut made,
                            &restart_transport_script(),
                            vec![Change::ServiceRestarted {
                                service: TRANSPORT_SERVICE.into(),
                            }],
                        )?;
                    }
                }
                EnterAction::DrainUmCallRouter => act(
                    ctx,
                    &mut made,
                    &action_script(action, server).expect("has a script"),
                    vec![Change::ComponentState {
                        component: "UMCallRouter".into(),
                        state: "Draining".into(),
                        requester: MAINTENANCE.into(),
                    }],
                )?,
                EnterAction::RedirectMessages => {
                    let target = redirect_target(ctx)?;
                    act(
                        ctx,
                        &mut made,
                        &redirect_script(server, &target),
                        vec![Change::MessagesRedirected { target }],
                    )?;
                }
                EnterAction::SuspendClusterNode => act(
                    ctx,
                    &mut made,
                    &action_script(action, server).expect("has a script"),
                    vec![Change::ClusterNodeSuspended],
                )?,
                // The move comes right after the pause (below), so that
                // a resumed run whose node is already Paused moves it too.
                EnterAction::MoveNowOn => act(
                    ctx,
                    &mut made,
                    &action_script(action, server).expect("has a script"),
                    vec![Change::ActivationDisabledAndMoveNow { value: true }],
                )?,
                EnterAction::BlockActivation => act(
                    ctx,
                    &mut made,
                    &action_script(action, server).expect("has a script"),
                    vec![Change::ActivationPolicy {
                        policy: "Blocked".into(),
                        from: Some(state.activation_policy.clone()),
                    }],
                )?,
            }
        }

        // After the pause, before the copies move: the PAM off this server
        // (a Paused node is never chosen as the new owner).
        if move_pam_off(ctx, &mut made)? {
            sent = true;
        }

        // Runbook §2.8: wait until nothing is mounted here. When Active
        // Manager has not moved everything by half the limit, ask once
        // explicitly and report what each database did.
        let timeout = ctx.plan.policy.timeouts.move_databases;
        let start = ctx.clock.now();
        let mut move_results: Option<String> = None;
        let mut still_mounted = Vec::new();
        let waited = ctx.wait_until("moving every active database copy off", timeout, |ctx| {
            let s = observe_state(ctx)?;
            still_mounted = mounted_copies(&s);
            if still_mounted.is_empty() {
                return Ok(Some(()));
            }
            ctx.events.progress(&format!(
                "waiting for {} to move off ({})",
                still_mounted.join(", "),
                ctx.server.name
            ));
            if move_results.is_none() && ctx.clock.now().duration_since(start) >= timeout / 2 {
                let summary = explicit_move(ctx)?;
                move_results = Some(summary);
            }
            Ok(None)
        });
        if move_results.is_some() {
            sent = true;
        }
        if let Err(e) = waited {
            let mut extra = format!(
                "Still mounted on {}: {}.",
                ctx.server.name,
                still_mounted.join(", ")
            );
            if let Some(r) = &move_results {
                extra.push_str(&format!(" Move-ActiveMailboxDatabase said: {r}."));
            }
            extra.push(' ');
            extra.push_str(&timeout_context(ctx, &made));
            return Err(with_context(e, &extra));
        }

        // Runbook §2.8: queues empty, not counting shadow redundancy and poison.
        let mut queued = 0;
        let drained = ctx.wait_until(
            "draining the transport queues",
            ctx.plan.policy.timeouts.drain,
            |ctx| {
                let s = observe_state(ctx)?;
                queued = s.queued_messages();
                if let Some(e) = &s.queues_error {
                    ctx.events.progress(&format!(
                        "Get-Queue does not answer yet on {}: {e}",
                        ctx.server.name
                    ));
                    return Ok(None);
                }
                if s.drained() {
                    return Ok(Some(()));
                }
                ctx.events.progress(&format!(
                    "{queued} messages still queued on {}",
                    ctx.server.name
                ));
                Ok(None)
            },
        );
        if let Err(e) = drained {
            let extra = format!(
                "{queued} messages are still queued (shadow-redundancy and poison queues not counted): check Get-Queue -Server {} for a stuck queue. {}",
                ctx.server.name,
                timeout_context(ctx, &made)
            );
            return Err(with_context(e, &extra));
        }

        // Runbook §2.9.
        let state = observe_state(ctx)?;
        if !held_by_maintenance(&state, "ServerWideOffline") {
            sent = true;
            let script = server_script(
                "ServerWideOffline Inactive",
                t::SERVER_WIDE_OFFLINE,
                ctx.server,
            );
            act(
                ctx,
                &mut made,
                &script,
                vec![Change::ComponentState {
                    component: "ServerWideOffline".into(),
                    state: "Inactive".into(),
                    requester: MAINTENANCE.into(),
                }],
            )?;
        }

        // Runbook §2.10.
        let state = observe_state(ctx)?;
        let mut problems = verify_problems(&state);
        #[derive(serde::Deserialize)]
        struct Owner {
            #[serde(rename = "Owner")]
            owner: String,
        }
        let owner: Owner = exchange::query(ctx.exec, ctx.server, &cluster_group_owner_script())?;
        problems.extend(pam_problem(&ctx.server.name, &owner.owner));
        if !problems.is_empty() {
            return Err(StepError::failed(format!(
                "{} did not verify as in maintenance: {}. {}",
                ctx.server.name,
                problems.join("; "),
                Outstanding::of(&all_changes(ctx, &made)).describe(&ctx.server.name)
            )));
        }
        let detail = format!(
            "{} in maintenance: components Inactive (Monitoring, RecoveryActionsEnabled Active), activation Blocked, node Paused, {CORE_CLUSTER_GROUP} (PAM) on {}, no copy mounted, queues empty",
            ctx.server.name, owner.owner
        );
        Ok(if sent {
            StepOutcome::Done { detail }
        } else {
            StepOutcome::AlreadyDone { detail }
        })
    }

    fn scripts(
        &self,
        _plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        use EnterAction::*;
        let observe = exchange::exchange_state_script(server);
        let target = server
            .redirect_to
            .clone()
            .or_else(|| peers.first().map(|p| p.fqdn.clone()))
            .unwrap_or_else(|| "<a healthy member's FQDN>".into());
        let mut out = vec![
            ps("first: read the build (Exchange 2016 also drains UMCallRouter)", exchange::server_facts_script()),
            ps("first, and at every poll while waiting: observe components, policy, node, copies and queues", observe.clone()),
            ps("if HubTransport is not yet held by requester Maintenance", action_script(DrainHubTransport, server).expect("script")),
            ps("if cu-roll drained HubTransport earlier but the restart did not follow (a crash between them)", restart_transport_script()),
            ps("Exchange 2016 only, if UMCallRouter is not yet held by requester Maintenance", action_script(DrainUmCallRouter, server).expect("script")),
        ];
        if server.redirect_to.is_none() {
            for p in peers {
                out.push(ps(
                    format!("if messages are queued and no redirect was made yet: is {} healthy enough to take them?", p.name),
                    exchange::exchange_state_script(p),
                ));
            }
        }
        out.extend([
            ps(format!("if messages are queued and no redirect was made yet (to the plan's redirect_to, else the first healthy member; here {target})"), redirect_script(server, &target)),
            ps("if the cluster node is not Paused", action_script(SuspendClusterNode, server).expect("script")),
            ps("after the pause: if this server owns Cluster Group (it is the PAM), move the group to another node (undo by hand, if wanted once the server is back: Move-ClusterGroup -Name 'Cluster Group' -Node <node>)", move_cluster_group_script(server)),
            ps("if DatabaseCopyActivationDisabledAndMoveNow is not yet $true", action_script(MoveNowOn, server).expect("script")),
            ps("if the activation policy is not Blocked (the old policy is journaled)", action_script(BlockActivation, server).expect("script")),
            ps("once, if copies are still Mounted here after half of timeouts.move_databases", move_script(server)),
            ps("after no copy is mounted and the queues are empty, if ServerWideOffline is not yet held by Maintenance", server_script("ServerWideOffline Inactive", t::SERVER_WIDE_OFFLINE, server)),
            ps("verification: this server must no longer own Cluster Group", cluster_group_owner_script()),
        ]);
        out
    }
}

/// Sends `MOVE_ACTIVE_DATABASES` and reports each database's result; a
/// failure of the command itself is reported, not fatal: the wait goes on.
fn explicit_move(ctx: &mut StepContext<'_>) -> Result<String, StepError> {
    let script = move_script(ctx.server);
    ctx.events.progress(script.purpose);
    let summary = match exchange::query_list::<MoveResultObs>(ctx.exec, ctx.server, &script) {
        Ok(results) if results.is_empty() => "no database moved".to_string(),
        Ok(results) => results
            .iter()
            .map(|r| {
                let mut s = format!("{} {}", r.identity, r.status);
                if let Some(to) = r.active_server_at_end.as_deref().filter(|t| !t.is_empty()) {
                    s.push_str(&format!(" (active on {to})"));
                }
                if let Some(e) = r.error_message.as_deref().filter(|e| !e.is_empty()) {
                    s.push_str(&format!(": {e}"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("the command failed: {e}"),
    };
    ctx.events.observed(format!(
        "copies still mounted after half of timeouts.move_databases; Move-ActiveMailboxDatabase -Server {}: {summary}",
        ctx.server.name
    ))?;
    ctx.events.changed(Change::Other {
        what: format!(
            "Move-ActiveMailboxDatabase -Server {}: {summary}",
            ctx.server.name
        ),
    })?;
    Ok(summary)
}
