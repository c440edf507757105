//! `reboot-before-setup` and `reboot-after-setup` (runbook §3): one reboot
//! each, told apart in the journal by the step id. The boot time is the
//! observation: cu-roll journals the boot time it saw *before* sending
//! `Restart-Computer` (afterwards the connection is gone), so a resumed run
//! knows whether the reboot it asked for has happened, and never reboots
//! twice for one step. Done = the server answers with a newer boot time and
//! every Exchange service set to start automatically is running.

use crate::exchange::act::{self, Action};
use crate::exchange::observe::{self, read_boot_state};
use crate::journal::Change;
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{
    PlannedCommand, Step, StepContext, StepError, StepErrorKind, StepId, StepOutcome,
};

use super::undo::left_on;

pub struct Reboot {
    id: StepId,
}

impl Reboot {
    pub fn before_setup() -> Reboot {
        Reboot {
            id: StepId::RebootBeforeSetup,
        }
    }
    pub fn after_setup() -> Reboot {
        Reboot {
            id: StepId::RebootAfterSetup,
        }
    }
}

/// Where this step's reboot stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebootDecision {
    /// cu-roll never asked for this step's reboot: ask now.
    Request,
    /// Asked (journaled with the boot time then), but the server still
    /// reports that boot time: the restart never went out (a crash between
    /// journaling and sending) or it is still going down. Send it again.
    Resend { previous_boot: String },
    /// Asked, and the server is unreachable: it is rebooting. Wait.
    Wait { previous_boot: String },
    /// Asked, and the boot time is newer: the reboot happened.
    Rebooted { previous_boot: String },
}

pub fn reboot_decision(
    prior: &[Change],
    step: StepId,
    current_boot: Option<&str>,
) -> RebootDecision {
    reboot_decision_for(prior, step.id(), current_boot)
}

/// `reboot_decision` for the reboot journaled under `key`.
pub fn reboot_decision_for(
    prior: &[Change],
    key: &str,
    current_boot: Option<&str>,
) -> RebootDecision {
    let requested = prior.iter().rev().find_map(|c| match c {
        Change::RebootRequested {
            step: s,
            previous_boot,
        } if s == key => Some(previous_boot.clone()),
        _ => None,
    });
    match (requested, current_boot) {
        (None, _) => RebootDecision::Request,
        (Some(previous_boot), None) => RebootDecision::Wait { previous_boot },
        (Some(previous_boot), Some(now)) if boot_is_newer(now, &previous_boot) => {
            RebootDecision::Rebooted { previous_boot }
        }
        (Some(previous_boot), Some(_)) => RebootDecision::Resend { previous_boot },
    }
}

/// `2026-01-01T10:00:00.1234567Z` as (seconds part, fraction in ns), so
/// times written with different fraction lengths compare correctly.
fn sortable(t: &str) -> Option<(String, u32)> {
    let t = t.trim().trim_end_matches('Z');
    let (secs, frac) = t.split_once('.').unwrap_or((t, ""));
    if secs.len() != 19 || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let ns = format!("{frac:0<9}").parse().ok()?;
    Some((secs.to_string(), ns))
}

/// Whether boot time `now` is later than `previous` (both round-trip UTC
/// as `BOOT_STATE` prints them); unparseable times compare as "changed".
pub fn boot_is_newer(now: &str, previous: &str) -> bool {
    match (sortable(now), sortable(previous)) {
        (Some(a), Some(b)) => a > b,
        _ => now.trim() != previous.trim(),
    }
}

impl Step for Reboot {
    fn id(&self) -> StepId {
        self.id
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let first = observe::boot_state(&ctx.exchange, ctx.server);
        let current = first.as_ref().ok().map(|b| b.last_boot_up_time.clone());
        let decision = reboot_decision(&ctx.prior_changes, self.id, current.as_deref());
        if let (RebootDecision::Request, Err(e)) = (&decision, first) {
            // Nothing asked yet and the server does not answer: not ours to wait for.
            return Err(e.into());
        }
        let (previous_boot, sent) = match decision {
            RebootDecision::Request => {
                let previous_boot = current.clone().unwrap_or_default();
                self.send_restart(ctx, &previous_boot, true)?;
                (previous_boot, true)
            }
            RebootDecision::Resend { previous_boot } => {
                ctx.events.observed(format!(
                    "a reboot was requested earlier but {} still reports boot time {previous_boot}: sending Restart-Computer again",
                    ctx.server.name
                ))?;
                self.send_restart(ctx, &previous_boot, false)?;
                (previous_boot, true)
            }
            RebootDecision::Wait { previous_boot } => (previous_boot, false),
            RebootDecision::Rebooted { previous_boot } => (previous_boot, false),
        };
        let booted = wait_back(ctx, &previous_boot)?;
        let detail = format!(
            "{} rebooted (boot time {booted}); Exchange services running",
            ctx.server.name
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
        _server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        vec![
            PlannedCommand::ps("first, and at every poll until the server is back: boot time and Exchange services", &read_boot_state()),
            PlannedCommand::ps("unless the journal shows this step's reboot already happened (the boot time before it is journaled first)", &self.restart("").op),
        ]
    }
}

impl Reboot {
    /// `Restart-Computer`, journaled with the boot time before it.
    fn restart(&self, previous_boot: &str) -> Action {
        act::restart_computer(self.id.id(), previous_boot)
    }

    fn send_restart(
        &self,
        ctx: &mut StepContext<'_>,
        previous_boot: &str,
        journal: bool,
    ) -> Result<(), StepError> {
        send_restart(ctx, self.id.id(), previous_boot, journal)
    }
}

/// Sends `Restart-Computer -Force` for the reboot journaled under `key` (a
/// step id), first journaling the request when `journal` (a resend was
/// journaled already): afterwards the connection is gone. The connection
/// dropping under it is the expected outcome, not a failure.
pub(super) fn send_restart(
    ctx: &mut StepContext<'_>,
    key: &str,
    previous_boot: &str,
    journal: bool,
) -> Result<(), StepError> {
    let action = act::restart_computer(key, previous_boot);
    if journal {
        for change in &action.changes {
            ctx.events.changed(change.clone())?;
        }
    }
    ctx.events.progress(action.op.script.purpose);
    match ctx.run_ps(&action.op) {
        Ok(out) if out.success() => Ok(()),
        Ok(out) => Err(StepError::failed(format!(
            "Restart-Computer failed on {} (exit code {}): {}; nothing else was changed — fix the cause (e.g. another user's session blocking shutdown) and run cu-roll again",
            ctx.server.name,
            out.exit_code,
            crate::exchange::first_error_line(&out.stderr)
        ))),
        Err(e) if e.kind == StepErrorKind::Unreachable => Ok(()),
        Err(e) => Err(e),
    }
}

/// Polls until the server answers with a boot time newer than
/// `previous_boot` and every automatic Exchange service runs; that boot
/// time.
pub(super) fn wait_back(
    ctx: &mut StepContext<'_>,
    previous_boot: &str,
) -> Result<String, StepError> {
    let mut last = String::from("no answer yet");
    let waited = ctx.wait_until(
        "waiting for the server to come back from its reboot with Exchange running",
        ctx.plan.policy.timeouts.reboot,
        |ctx| match observe::boot_state(&ctx.exchange, ctx.server) {
            Ok(b) if !boot_is_newer(&b.last_boot_up_time, previous_boot) => {
                last = format!("still reports the old boot time {}", b.last_boot_up_time);
                Ok(None)
            }
            Ok(b) => {
                let waiting: Vec<String> = b
                    .automatic_not_running()
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.status))
                    .collect();
                if waiting.is_empty() {
                    return Ok(Some(b.last_boot_up_time));
                }
                last = format!(
                    "booted at {}, but these automatic Exchange services are not running: {}",
                    b.last_boot_up_time,
                    waiting.join(", ")
                );
                ctx.events.progress(&last);
                Ok(None)
            }
            Err(e) => {
                // While it reboots the server refuses or drops the
                // connection, and early in boot scripts can fail.
                last = format!("not answering: {e}");
                Ok(None)
            }
        },
    );
    waited.map_err(|e| {
        e.with_context(&format!(
            "Last seen: {last}. If it is hung, check its console; if services failed to start, Start-Service them or find why in the System event log. Then run cu-roll again (it will not reboot it a second time). {}",
            left_on(ctx, &[])
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(step: StepId, at: &str) -> Change {
        Change::RebootRequested {
            step: step.id().into(),
            previous_boot: at.into(),
        }
    }

    #[test]
    fn boot_times_compare_across_fraction_lengths() {
        assert!(boot_is_newer(
            "2026-01-01T10:00:01Z",
            "2026-01-01T10:00:00.9999999Z"
        ));
        assert!(!boot_is_newer(
            "2026-01-01T10:00:00.5Z",
            "2026-01-01T10:00:00.5000000Z"
        ));
        assert!(boot_is_newer("garbage", "other garbage"));
    }

    #[test]
    fn each_reboot_step_reads_only_its_own_record() {
        let prior = vec![requested(
            StepId::RebootBeforeSetup,
            "2026-01-01T10:00:00.0000000Z",
        )];
        assert_eq!(
            reboot_decision(
                &prior,
                StepId::RebootAfterSetup,
                Some("2026-01-01T11:00:00.0000000Z")
            ),
            RebootDecision::Request
        );
        assert_eq!(
            reboot_decision(
                &prior,
                StepId::RebootBeforeSetup,
                Some("2026-01-01T11:00:00.0000000Z")
            ),
            RebootDecision::Rebooted {
                previous_boot: "2026-01-01T10:00:00.0000000Z".into()
            }
        );
    }

    #[test]
    fn a_requested_reboot_that_did_not_happen_is_sent_again() {
        let prior = vec![requested(
            StepId::RebootAfterSetup,
            "2026-01-01T10:00:00.0000000Z",
        )];
        assert_eq!(
            reboot_decision(
                &prior,
                StepId::RebootAfterSetup,
                Some("2026-01-01T10:00:00.0000000Z")
            ),
            RebootDecision::Resend {
                previous_boot: "2026-01-01T10:00:00.0000000Z".into()
            }
        );
        assert_eq!(
            reboot_decision(&prior, StepId::RebootAfterSetup, None),
            RebootDecision::Wait {
                previous_boot: "2026-01-01T10:00:00.0000000Z".into()
            }
        );
    }
}
