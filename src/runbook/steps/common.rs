//! What the steps share: observing the server, sending one template and
//! journaling the change it made, reading `prior_changes`, and turning the
//! changes cu-roll made into the exact commands that undo them by hand
//! (every timeout message ends with those). Pure helpers are unit-tested
//! here; nothing in this file decides a step's outcome.

use crate::catalog::ExchangeBuild;
use crate::exchange::{self, ComponentObs, ExchangeState, ServerFacts};
use crate::journal::Change;
use crate::plan::Server;
use crate::ps::{Arg, Script};
use crate::runbook::{PlannedCommand, PlannedText, StepContext, StepError, StepErrorKind};

/// The requester cu-roll uses for every component it sets (runbook §2, §4).
pub const MAINTENANCE: &str = "Maintenance";
/// The requester a failed or interrupted setup leaves components under.
pub const FUNCTIONAL: &str = "Functional";
/// The transport service restarted so a HubTransport change takes effect.
pub const TRANSPORT_SERVICE: &str = "MSExchangeTransport";

pub fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A runbook template for one server (`{{server}}` only).
pub fn server_script(purpose: &'static str, template: &'static str, server: &Server) -> Script {
    Script::render(purpose, template, &[("server", Arg::Str(&server.name))])
}

pub fn ps(when: impl Into<String>, script: Script) -> PlannedCommand {
    PlannedCommand {
        when: when.into(),
        command: PlannedText::PowerShell(script),
    }
}

pub fn cmd(when: impl Into<String>, line: String) -> PlannedCommand {
    PlannedCommand {
        when: when.into(),
        command: PlannedText::Cmd(line),
    }
}

pub fn observe_state(ctx: &StepContext<'_>) -> Result<ExchangeState, StepError> {
    Ok(exchange::exchange_state(ctx.exec, ctx.server)?)
}

pub fn observe_facts(ctx: &StepContext<'_>) -> Result<ServerFacts, StepError> {
    Ok(exchange::server_facts(ctx.exec, ctx.server)?)
}

/// The build ExSetup.exe reports, or a BadOutput error naming the server.
pub fn build_of(facts: &ServerFacts, server: &Server) -> Result<ExchangeBuild, StepError> {
    facts.build().ok_or_else(|| {
        StepError::new(
            StepErrorKind::BadOutput,
            format!(
                "{}: cannot read the Exchange build (ExSetup.exe ProductVersion was {:?}); \
                 check that Exchange is installed and HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Setup\\MsiInstallPath is set",
                server.name, facts.ex_setup_version
            ),
        )
    })
}

/// Exchange 2016 (15.1) has the UMCallRouter component the runbook drains.
pub fn is_exchange_2016(build: ExchangeBuild) -> bool {
    build.major == 15 && build.minor == 1
}

pub fn component<'a>(state: &'a ExchangeState, name: &str) -> Option<&'a ComponentObs> {
    state.components.iter().find(|c| eq(&c.component, name))
}

/// The newest state requester Maintenance left on `name`, if any.
pub fn maintenance_state<'a>(state: &'a ExchangeState, name: &str) -> Option<&'a str> {
    component(state, name).and_then(|c| c.requester_state(MAINTENANCE))
}

/// Whether requester Maintenance holds `name` in a non-Active state.
pub fn held_by_maintenance(state: &ExchangeState, name: &str) -> bool {
    maintenance_state(state, name).is_some_and(|s| !eq(s, "Active"))
}

/// Sends `script` (failing the step on a non-zero exit) and journals
/// `changes` right after it succeeded; `made` collects them for the undo
/// hint of a later timeout.
pub fn act(
    ctx: &mut StepContext<'_>,
    made: &mut Vec<Change>,
    script: &Script,
    changes: Vec<Change>,
) -> Result<(), StepError> {
    ctx.events.progress(script.purpose);
    ctx.run_ps_ok(script)?;
    for change in changes {
        ctx.events.changed(change.clone())?;
        made.push(change);
    }
    Ok(())
}

/// Prior changes followed by the ones made in this run.
pub fn all_changes(ctx: &StepContext<'_>, made: &[Change]) -> Vec<Change> {
    ctx.prior_changes.iter().chain(made).cloned().collect()
}

/// Whether the last `HubTransport` change under Maintenance set `state` and
/// no transport restart followed it (a crash between the two commands):
/// the component change takes effect only after the restart (runbook §2.2, §4.7).
pub fn transport_restart_pending(changes: &[Change], state: &str) -> bool {
    let last = changes.iter().rposition(|c| {
        matches!(c, Change::ComponentState { component, requester, .. }
            if eq(component, "HubTransport") && eq(requester, MAINTENANCE))
    });
    let Some(i) = last else { return false };
    let Change::ComponentState { state: set, .. } = &changes[i] else {
        return false;
    };
    eq(set, state)
        && !changes[i + 1..].iter().any(
            |c| matches!(c, Change::ServiceRestarted { service } if eq(service, TRANSPORT_SERVICE)),
        )
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
                        .retain(|(c, r, _)| !(eq(c, component) && eq(r, requester)));
                    if !eq(state, "Active") {
                        o.components
                            .push((component.clone(), requester.clone(), state.clone()));
                    }
                }
                Change::ClusterNodeSuspended => o.node_suspended = true,
                Change::ClusterNodeResumed => o.node_suspended = false,
                Change::ActivationPolicy { policy, from } => match &o.policy_restore {
                    None => {
                        let original = from.clone().unwrap_or_else(|| "Unrestricted".into());
                        if !eq(&original, policy) {
                            o.policy_restore = Some(original);
                        }
                    }
                    Some(original) if eq(original, policy) => o.policy_restore = None,
                    Some(_) => {}
                },
                Change::ActivationDisabledAndMoveNow { value } => o.move_now = *value,
                _ => {}
            }
        }
        o
    }

    pub fn holds_component(&self, component: &str, requester: &str) -> bool {
        self.components
            .iter()
            .any(|(c, r, _)| eq(c, component) && eq(r, requester))
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
            if eq(c, "HubTransport") {
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

/// The last `InstallerStarted` for `step` that no `InstallerFinished` for
/// the same step followed: an installer cu-roll started and has not yet
/// evaluated.
pub fn installer_pending(changes: &[Change], step: &str) -> bool {
    let started = changes
        .iter()
        .rposition(|c| matches!(c, Change::InstallerStarted { step: s, .. } if s == step));
    let finished = changes
        .iter()
        .rposition(|c| matches!(c, Change::InstallerFinished { step: s, .. } if s == step));
    match (started, finished) {
        (Some(s), Some(f)) => s > f,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Appends `extra` to a step error's message, keeping its kind.
pub fn with_context(mut e: StepError, extra: &str) -> StepError {
    if !extra.is_empty() {
        e.message = format!("{}. {}", e.message.trim_end_matches('.'), extra);
    }
    e
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

    #[test]
    fn an_installer_is_pending_until_its_result_is_recorded() {
        let started = Change::InstallerStarted {
            step: "setup".into(),
            task: "cu-roll-setup".into(),
            command: "x".into(),
        };
        let finished = Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 1,
        };
        assert!(installer_pending(std::slice::from_ref(&started), "setup"));
        assert!(!installer_pending(
            std::slice::from_ref(&started),
            "security-update"
        ));
        assert!(!installer_pending(
            &[started.clone(), finished.clone()],
            "setup"
        ));
        assert!(installer_pending(
            &[started.clone(), finished, started],
            "setup"
        ));
    }
}
