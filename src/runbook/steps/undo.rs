//! Undo bookkeeping: what cu-roll's own journaled changes still hold on a
//! server once later changes that reversed earlier ones are taken into
//! account (`Outstanding`), whether a transport restart is still owed, and
//! the exact commands that undo them by hand — every failure message ends
//! with those. Pure functions over `Change`s; nothing here sends anything.

use crate::exchange::act::transport_exit::FRONTEND_TRANSPORT_SERVICE;
use crate::exchange::act::TRANSPORT_SERVICE;
use crate::exchange::{same, ExchangeState, MAINTENANCE};
use crate::journal::{Baseline, Change, HeldComponent};
use crate::runbook::StepContext;

/// Whether the last `HubTransport` change under Maintenance set `state` and
/// no transport restart followed it (a crash between the two commands):
/// the component change takes effect only after the restart (runbook §2.2, §4.7).
pub fn transport_restart_pending(changes: &[Change], state: &str) -> bool {
    let last = changes.iter().rposition(|c| {
        matches!(c, Change::ComponentState { component, requester, .. }
            if same(component, "HubTransport") && same(requester, MAINTENANCE))
    });
    let Some(i) = last else { return false };
    let Change::ComponentState { state: set, .. } = &changes[i] else {
        return false;
    };
    same(set, state)
        && !changes[i + 1..].iter().any(
            |c| matches!(c, Change::ServiceRestarted { service } if same(service, TRANSPORT_SERVICE)),
        )
}

/// Whether the front-end transport restart that follows the transport
/// restart ending maintenance is still owed: cu-roll set HubTransport
/// Active and restarted MSExchangeTransport after it, and no restart of
/// MSExchangeFrontEndTransport followed (a run stopped between the two
/// restarts). A journal written before the front-end restart was journaled
/// owes one again on a resume there: restarting the front end twice is
/// harmless (review real-exchange.md #15), leaving it is what this avoids.
pub fn frontend_restart_pending(changes: &[Change]) -> bool {
    let last = changes.iter().rposition(|c| {
        matches!(c, Change::ComponentState { component, requester, state }
            if same(component, "HubTransport") && same(requester, MAINTENANCE) && same(state, "Active"))
    });
    let Some(i) = last else { return false };
    let restarted = |service: &str, c: &Change| matches!(c, Change::ServiceRestarted { service: s } if same(s, service));
    let Some(j) = changes[i + 1..]
        .iter()
        .rposition(|c| restarted(TRANSPORT_SERVICE, c))
        .map(|j| i + 1 + j)
    else {
        return false;
    };
    !changes[j + 1..]
        .iter()
        .any(|c| restarted(FRONTEND_TRANSPORT_SERVICE, c))
}

/// What cu-roll's own changes still hold on a server, once later changes
/// that reversed earlier ones are taken into account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// (component, requester, state) cu-roll set to something not Active.
    pub components: Vec<(String, String, String)>,
    pub node_suspended: bool,
    /// The policy to restore, when cu-roll changed it.
    pub policy_restore: Option<String>,
    pub move_now: bool,
}

impl Outstanding {
    pub fn of(changes: &[Change]) -> Outstanding {
        let mut o = Outstanding::default();
        for change in changes {
            match change {
                Change::ComponentState {
                    component,
                    state,
                    requester,
                } => {
                    o.components
                        .retain(|(c, r, _)| !(same(c, component) && same(r, requester)));
                    if !same(state, "Active") {
                        o.components
                            .push((component.clone(), requester.clone(), state.clone()));
                    }
                }
                Change::ClusterNodeSuspended => o.node_suspended = true,
                Change::ClusterNodeResumed => o.node_suspended = false,
                Change::ActivationPolicy { policy, from } => match &o.policy_restore {
                    None => {
                        let original = from.clone().unwrap_or_else(|| "Unrestricted".into());
                        if !same(&original, policy) {
                            o.policy_restore = Some(original);
                        }
                    }
                    Some(original) if same(original, policy) => o.policy_restore = None,
                    Some(_) => {}
                },
                Change::ActivationDisabledAndMoveNow { value } => o.move_now = *value,
                _ => {}
            }
        }
        o
    }

    /// What cu-roll owns on a server now: its journaled changes, plus,
    /// when the server's baseline (what it looked like before cu-roll's
    /// maintenance) is known, every maintenance value observed now that
    /// was not so before. The second part is what keeps cu-roll's own
    /// half-made maintenance its own when a change record is missing (a
    /// crash between a command and its record, a torn journal).
    pub fn owned(
        changes: &[Change],
        before: Option<&Baseline>,
        now: &ExchangeState,
    ) -> Outstanding {
        let mut o = Outstanding::of(changes);
        let Some(b) = before else { return o };
        for c in MAINTENANCE_COMPONENTS {
            if now.held_by_maintenance(c)
                && !b.held_by(c, MAINTENANCE)
                && !o.holds_component(c, MAINTENANCE)
            {
                let state = now
                    .component(c)
                    .and_then(|x| x.requester_state(MAINTENANCE))
                    .unwrap_or("Inactive")
                    .to_string();
                o.components
                    .push((c.to_string(), MAINTENANCE.to_string(), state));
            }
        }
        o.node_suspended |= now.node_paused() && !b.node_paused();
        if o.policy_restore.is_none() && !same(&now.activation_policy, &b.activation_policy) {
            o.policy_restore = Some(b.activation_policy.clone());
        }
        o.move_now |= now.activation_disabled_and_move_now && !b.move_now;
        o
    }

    pub fn holds_component(&self, component: &str, requester: &str) -> bool {
        self.components
            .iter()
            .any(|(c, r, _)| same(c, component) && same(r, requester))
    }

    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
            && !self.node_suspended
            && self.policy_restore.is_none()
            && !self.move_now
    }

    /// The exact commands that undo what is outstanding, in the reverse
    /// order of the runbook (exit-maintenance order).
    pub fn undo_commands(&self, server: &str) -> Vec<String> {
        let mut out = Vec::new();
        let order = |c: &str| match c {
            "ServerWideOffline" => 0,
            "UMCallRouter" => 1,
            "HubTransport" => 3,
            _ => 2,
        };
        let mut comps = self.components.clone();
        comps.sort_by_key(|(c, _, _)| order(c));
        let (late, early): (Vec<_>, Vec<_>) =
            comps.into_iter().partition(|(c, _, _)| order(c) >= 3);
        for (c, r, _) in &early {
            out.push(format!(
                "Set-ServerComponentState -Identity {server} -Component {c} -State Active -Requester {r}"
            ));
        }
        if self.node_suspended {
            out.push(format!("Resume-ClusterNode -Name {server}"));
        }
        if let Some(p) = &self.policy_restore {
            out.push(format!(
                "Set-MailboxServer -Identity {server} -DatabaseCopyAutoActivationPolicy {p}"
            ));
        }
        if self.move_now {
            out.push(format!(
                "Set-MailboxServer -Identity {server} -DatabaseCopyActivationDisabledAndMoveNow $false"
            ));
        }
        for (c, r, _) in &late {
            out.push(format!(
                "Set-ServerComponentState -Identity {server} -Component {c} -State Active -Requester {r}"
            ));
            if same(c, "HubTransport") {
                out.push(format!("Restart-Service -Name {TRANSPORT_SERVICE}"));
            }
        }
        out
    }

    /// A sentence for error messages: what is set, and how to undo it.
    pub fn describe(&self, server: &str) -> String {
        if self.is_empty() {
            return format!("cu-roll has changed nothing on {server} that needs undoing.");
        }
        let mut set: Vec<String> = self
            .components
            .iter()
            .map(|(c, r, s)| format!("{c} {s} (requester {r})"))
            .collect();
        if self.node_suspended {
            set.push("cluster node Paused".into());
        }
        if self.policy_restore.is_some() {
            set.push("activation policy Blocked".into());
        }
        if self.move_now {
            set.push("DatabaseCopyActivationDisabledAndMoveNow $true".into());
        }
        format!(
            "cu-roll left on {server}: {}. Run cu-roll again to continue, or undo by hand (in the Exchange Management Shell on {server}): {}",
            set.join(", "),
            self.undo_commands(server).join("; ")
        )
    }
}

/// The components maintenance holds under requester Maintenance (runbook
/// §2: HubTransport, UMCallRouter on 2016, ServerWideOffline).
pub const MAINTENANCE_COMPONENTS: [&str; 3] = ["HubTransport", "UMCallRouter", "ServerWideOffline"];

/// The server as `enter-maintenance` first observes it, before any change
/// of cu-roll's: journaled with the first write-ahead intent.
pub fn baseline_of(state: &ExchangeState) -> Baseline {
    let mut held = Vec::new();
    for comp in &state.components {
        for requester in comp.holding_requesters() {
            held.push(HeldComponent {
                component: comp.component.clone(),
                state: comp
                    .requester_state(&requester)
                    .unwrap_or("Inactive")
                    .to_string(),
                requester,
            });
        }
    }
    let suspended = |c: &&crate::exchange::CopyObs| {
        same(&c.status, "Suspended") || same(&c.status, "FailedAndSuspended")
    };
    Baseline {
        activation_policy: state.activation_policy.clone(),
        move_now: state.activation_disabled_and_move_now,
        cluster_node: state.cluster_node_state.clone(),
        held,
        suspended_copies: state
            .copies
            .iter()
            .filter(suspended)
            .map(|c| c.name.clone())
            .collect(),
        activation_suspended_copies: state
            .copies
            .iter()
            .filter(|c| c.activation_suspended)
            .map(|c| c.name.clone())
            .collect(),
    }
}

/// For failure messages: what cu-roll left on the server (its earlier
/// changes and `made` in this run) and how to undo it.
pub fn left_on(ctx: &StepContext<'_>, made: &[Change]) -> String {
    Outstanding::of(&ctx.all_changes(made)).describe(&ctx.server.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(component: &str, state: &str, requester: &str) -> Change {
        Change::ComponentState {
            component: component.into(),
            state: state.into(),
            requester: requester.into(),
        }
    }

    #[test]
    fn later_changes_cancel_earlier_ones() {
        let changes = vec![
            comp("HubTransport", "Draining", MAINTENANCE),
            Change::ClusterNodeSuspended,
            Change::ActivationPolicy {
                policy: "Blocked".into(),
                from: Some("IntrasiteOnly".into()),
            },
            Change::ActivationDisabledAndMoveNow { value: true },
            comp("ServerWideOffline", "Inactive", MAINTENANCE),
            comp("ServerWideOffline", "Active", MAINTENANCE),
            Change::ClusterNodeResumed,
        ];
        let o = Outstanding::of(&changes);
        assert_eq!(
            o.components,
            vec![(
                "HubTransport".to_string(),
                MAINTENANCE.to_string(),
                "Draining".to_string()
            )]
        );
        assert!(!o.node_suspended);
        assert_eq!(o.policy_restore.as_deref(), Some("IntrasiteOnly"));
        assert!(o.move_now);
        assert_eq!(
            o.undo_commands("EX02"),
            vec![
                "Set-MailboxServer -Identity EX02 -DatabaseCopyAutoActivationPolicy IntrasiteOnly",
                "Set-MailboxServer -Identity EX02 -DatabaseCopyActivationDisabledAndMoveNow $false",
                "Set-ServerComponentState -Identity EX02 -Component HubTransport -State Active -Requester Maintenance",
                "Restart-Service -Name MSExchangeTransport",
            ]
        );
    }

    #[test]
    fn restoring_the_original_policy_clears_it() {
        let o = Outstanding::of(&[
            Change::ActivationPolicy {
                policy: "Blocked".into(),
                from: Some("Unrestricted".into()),
            },
            Change::ActivationPolicy {
                policy: "Unrestricted".into(),
                from: Some("Blocked".into()),
            },
        ]);
        assert!(o.is_empty());
    }

    #[test]
    fn a_journal_without_the_old_policy_restores_unrestricted() {
        let o = Outstanding::of(&[Change::ActivationPolicy {
            policy: "Blocked".into(),
            from: None,
        }]);
        assert_eq!(o.policy_restore.as_deref(), Some("Unrestricted"));
    }

    #[test]
    fn the_front_end_restart_is_owed_after_the_transport_restart_until_it_is_made() {
        let active = comp("HubTransport", "Active", MAINTENANCE);
        let service = |s: &str| Change::ServiceRestarted { service: s.into() };
        let transport = service(TRANSPORT_SERVICE);
        let front = service(FRONTEND_TRANSPORT_SERVICE);
        assert!(!frontend_restart_pending(std::slice::from_ref(&active)));
        assert!(frontend_restart_pending(&[
            active.clone(),
            transport.clone()
        ]));
        assert!(!frontend_restart_pending(&[
            active.clone(),
            transport.clone(),
            front.clone()
        ]));
        // A later maintenance's transport restart owes another.
        assert!(frontend_restart_pending(&[
            active.clone(),
            transport.clone(),
            front.clone(),
            comp("HubTransport", "Draining", MAINTENANCE),
            active.clone(),
            transport.clone(),
        ]));
        // Nothing is owed while HubTransport was never set Active.
        assert!(!frontend_restart_pending(&[
            comp("HubTransport", "Draining", MAINTENANCE),
            transport
        ]));
    }

    #[test]
    fn restart_is_pending_only_after_an_unrestarted_change() {
        let set = comp("HubTransport", "Draining", MAINTENANCE);
        let restarted = Change::ServiceRestarted {
            service: TRANSPORT_SERVICE.into(),
        };
        assert!(transport_restart_pending(
            std::slice::from_ref(&set),
            "Draining"
        ));
        assert!(!transport_restart_pending(
            &[set.clone(), restarted.clone()],
            "Draining"
        ));
        assert!(!transport_restart_pending(
            std::slice::from_ref(&set),
            "Active"
        ));
        assert!(transport_restart_pending(
            &[set, restarted, comp("HubTransport", "Active", MAINTENANCE)],
            "Active"
        ));
    }
}
