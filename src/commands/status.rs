//! `cu-roll status PLAN`: what the journal says about the rollout, and who
//! holds the lock, as text or JSON. Reads only. Once the journal could be
//! read, the exit code is the one the rollout's last run exited with
//! (docs/status.md): 0, 1, 3, 5 or 6, or 7 while a run holds the lock.

use super::{load_plan, output, state_dir};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::error::Error;
use crate::exit::Outcome;
use crate::journal::{Journal, Lock, Record};
use crate::report::status::{Overall, Status};

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let loaded = Journal::load(&Journal::path_in(&state)).map_err(Error::ReadJournal)?;
    if let Some(torn) = &loaded.torn_tail {
        eprintln!("cu-roll: warning: {torn}");
    }
    let holder = Lock::holder(&state);
    let status = crate::report::status::compute(&loaded.entries, &plan.servers, holder.as_ref());
    output::stdout(&crate::report::status::render(
        &status,
        &plan.path,
        args.format,
    ))?;
    // As the scheduler's `any_change` decides it for `run`.
    let changed = loaded
        .entries
        .iter()
        .any(|e| matches!(e.record, Record::Changed { .. }));
    Ok(outcome(&status, changed))
}

/// The exit code the rollout's last run exited with, read back from the
/// outcome it recorded (`runbook::schedule::runner::summary` writes them).
/// `changed`: whether the journal records any change cu-roll made, as
/// `run` decides between 3 and 1 for a gate refusal.
pub(super) fn outcome(status: &Status, changed: bool) -> Outcome {
    match status.overall {
        Overall::Running => Outcome::Running,
        Overall::NotStarted | Overall::Done => Outcome::Done,
        Overall::Failed => Outcome::SomeFailed,
        Overall::Interrupted => Outcome::Interrupted,
        Overall::Stopped => match status.last_outcome.as_deref() {
            Some("gate-refused") if !changed => Outcome::Blocked,
            Some("window-reached") => Outcome::WindowReached,
            // `n` at a `pause_between` prompt: stopped by the operator, as `run` exits.
            Some("paused") => Outcome::Interrupted,
            // No outcome at all: the process ended without writing one
            // (killed, a second Ctrl-C, a crash, the machine rebooted).
            // Interrupted, not failed: nothing says a step failed, and the
            // next run resumes.
            None => Outcome::Interrupted,
            // "step-failed"; "gate-refused" mid-rollout.
            Some(_) => Outcome::SomeFailed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;
    use crate::report::status::Overall;

    fn status(overall: Overall, last: Option<&str>) -> Status {
        Status {
            schema_version: crate::report::status::SCHEMA_VERSION,
            overall,
            runs: 1,
            last_outcome: last.map(str::to_string),
            updated: None,
            lock: None,
            servers: Vec::new(),
        }
    }

    fn code(overall: Overall, last: Option<&str>, changed: bool) -> i32 {
        outcome(&status(overall, last), changed).exit_code()
    }

    #[test]
    fn status_exits_with_the_last_runs_code() {
        assert_eq!(code(Overall::Done, Some("done"), true), exit::DONE);
        assert_eq!(
            code(Overall::Interrupted, Some("interrupted"), true),
            exit::INTERRUPTED
        );
        assert_eq!(code(Overall::NotStarted, None, false), exit::DONE);
        assert_eq!(
            code(Overall::Failed, Some("step-failed"), true),
            exit::STEP_FAILED
        );
        assert_eq!(
            code(Overall::Stopped, Some("window-reached"), true),
            exit::WINDOW_REACHED
        );
        assert_eq!(
            code(Overall::Stopped, Some("gate-refused"), false),
            exit::GATE_REFUSED
        );
        assert_eq!(
            code(Overall::Stopped, Some("gate-refused"), true),
            exit::STEP_FAILED
        );
        assert_eq!(
            code(Overall::Stopped, Some("paused"), true),
            exit::INTERRUPTED
        );
        assert_eq!(code(Overall::Stopped, None, true), exit::INTERRUPTED);
    }

    #[test]
    fn a_run_holding_the_lock_is_7_whatever_the_last_outcome() {
        assert_eq!(code(Overall::Running, None, true), exit::RUNNING);
        assert_eq!(
            code(Overall::Running, Some("step-failed"), true),
            exit::RUNNING
        );
    }
}
