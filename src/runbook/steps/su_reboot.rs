//! The reboot before the security update: the pending-reboot keys are read
//! again just before the SU, and any set (a CU always leaves its file
//! renames) means a reboot first. This is community practice and the
//! project's domain facts (exchange-facts.md §4: "After CU: reboot;
//! install the SU"), not a Microsoft requirement (review real-exchange.md
//! #7): no Microsoft page was found that requires it; an SU over a pending
//! reboot is the usual explanation for a half-applied SU with services
//! left Disabled. The reboot is journaled under the step id
//! `security-update` before `Restart-Computer`, like the reboot steps' own
//! (`reboot`), and only a record made since the last SU attempt counts, so
//! a resumed run never reboots twice for one attempt. If the keys are still
//! set after that reboot, the step stops rather than loop.

use crate::catalog::ExchangeBuild;
use crate::exchange::act;
use crate::exchange::observe::read_server_facts;
use crate::journal::Change;
use crate::runbook::{PlannedCommand, StepContext, StepError, StepId};

use super::reboot::{reboot_decision_for, send_restart, wait_back, RebootDecision};
use super::undo::left_on;

const KEY: &str = "security-update";

/// The journal since the last SU attempt started (the pre-SU reboot of an
/// earlier attempt does not count for this one).
fn this_attempt(prior: &[Change]) -> &[Change] {
    let since = prior
        .iter()
        .rposition(|c| matches!(c, Change::InstallerStarted { step, .. } if step == StepId::SecurityUpdate.id()))
        .map_or(0, |i| i + 1);
    &prior[since..]
}

/// What to do before the SU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreSu {
    /// No reboot pending (or the SU is installed already): go on.
    Proceed,
    /// Reboot now / again / wait for the one asked for (see `RebootDecision`).
    Reboot(RebootDecision),
    /// cu-roll rebooted for this attempt and a reboot is still pending.
    StillPending,
}

pub fn pre_su(prior: &[Change], pending: bool, current_boot: Option<&str>) -> PreSu {
    match reboot_decision_for(this_attempt(prior), KEY, current_boot) {
        RebootDecision::Request if pending => PreSu::Reboot(RebootDecision::Request),
        RebootDecision::Request => PreSu::Proceed,
        RebootDecision::Rebooted { .. } if pending => PreSu::StillPending,
        RebootDecision::Rebooted { .. } => PreSu::Proceed,
        other => PreSu::Reboot(other),
    }
}

/// Reads the keys and reboots when any is set (module comment). Nothing
/// when the build is already the SU's or past it.
pub fn reboot_if_pending(
    ctx: &mut StepContext<'_>,
    su_build: ExchangeBuild,
) -> Result<(), StepError> {
    let facts = match ctx.server_facts() {
        Ok(f) => Some(f),
        // Unreachable: maybe our own reboot is still under way.
        Err(e) if e.kind == crate::runbook::StepErrorKind::Unreachable => None,
        Err(e) => return Err(e),
    };
    if facts
        .as_ref()
        .and_then(|f| f.build())
        .is_some_and(|b| b >= su_build)
    {
        return Ok(());
    }
    let pending = facts
        .as_ref()
        .map_or(Vec::new(), |f| f.pending_reboot.clone());
    let boot = facts.as_ref().and_then(|f| f.last_boot_up_time.clone());
    let decision = pre_su(&ctx.prior_changes, !pending.is_empty(), boot.as_deref());
    let previous_boot = match decision {
        PreSu::Proceed => return Ok(()),
        PreSu::StillPending => {
            return Err(StepError::failed(format!(
                "{} still reports a pending reboot ({}) after the reboot cu-roll made before the security update; find what keeps it pending (Windows Update, another installer), reboot it, then run cu-roll again. {}",
                ctx.server.name,
                pending.join(", "),
                left_on(ctx, &[])
            )))
        }
        PreSu::Reboot(RebootDecision::Request) => {
            let Some(previous_boot) = boot else {
                return Err(StepError::new(crate::runbook::StepErrorKind::Unreachable, format!(
                    "{} does not answer before the security update",
                    ctx.server.name
                )));
            };
            ctx.events.observed(format!(
                "{} has a pending reboot ({}) before the security update: rebooting it first",
                ctx.server.name,
                pending.join(", ")
            ))?;
            send_restart(ctx, KEY, &previous_boot, true)?;
            previous_boot
        }
        PreSu::Reboot(RebootDecision::Resend { previous_boot }) => {
            send_restart(ctx, KEY, &previous_boot, false)?;
            previous_boot
        }
        PreSu::Reboot(RebootDecision::Wait { previous_boot })
        | PreSu::Reboot(RebootDecision::Rebooted { previous_boot }) => previous_boot,
    };
    wait_back(ctx, &previous_boot)?;
    // Back: the keys must be clear now.
    let facts = ctx.server_facts()?;
    if !facts.pending_reboot.is_empty() {
        return Err(StepError::failed(format!(
            "{} still reports a pending reboot ({}) after the reboot cu-roll made before the security update; find what keeps it pending, reboot it, then run cu-roll again. {}",
            ctx.server.name,
            facts.pending_reboot.join(", "),
            left_on(ctx, &[])
        )));
    }
    Ok(())
}

/// For the dry run: what `reboot_if_pending` may send.
pub fn planned() -> Vec<PlannedCommand> {
    vec![
        PlannedCommand::ps(
            "before the security update: the build and the pending-reboot keys (a CU leaves one)",
            &read_server_facts(),
        ),
        PlannedCommand::ps(
            "if a reboot is pending: Restart-Computer (journaled first), then wait for the boot as the reboot steps do",
            &act::restart_computer(KEY, "").op,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-01-01T10:00:00.0000000Z";
    const T1: &str = "2026-01-01T11:00:00.0000000Z";

    fn asked(at: &str) -> Change {
        Change::RebootRequested {
            step: KEY.into(),
            previous_boot: at.into(),
        }
    }
    fn su_started() -> Change {
        Change::InstallerStarted {
            step: "security-update".into(),
            task: "cu-roll-su".into(),
            command: "msiexec".into(),
        }
    }

    #[test]
    fn a_pending_reboot_before_the_su_reboots_once() {
        assert_eq!(pre_su(&[], false, Some(T0)), PreSu::Proceed);
        assert_eq!(
            pre_su(&[], true, Some(T0)),
            PreSu::Reboot(RebootDecision::Request)
        );
        // Rebooted, keys clear: go on; keys still set: stop, never loop.
        assert_eq!(pre_su(&[asked(T0)], false, Some(T1)), PreSu::Proceed);
        assert_eq!(pre_su(&[asked(T0)], true, Some(T1)), PreSu::StillPending);
        assert_eq!(
            pre_su(&[asked(T0)], true, None),
            PreSu::Reboot(RebootDecision::Wait {
                previous_boot: T0.into()
            })
        );
    }

    #[test]
    fn a_reboot_before_an_earlier_attempt_does_not_count() {
        assert_eq!(
            pre_su(&[asked(T0), su_started()], true, Some(T1)),
            PreSu::Reboot(RebootDecision::Request)
        );
        // The reboot-after-setup record is another step's.
        let other = Change::RebootRequested {
            step: "reboot-after-setup".into(),
            previous_boot: T0.into(),
        };
        assert_eq!(
            pre_su(&[other], true, Some(T1)),
            PreSu::Reboot(RebootDecision::Request)
        );
    }
}
