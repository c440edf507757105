//! How a run's steps end and how the run ends: the state the DAG workers
//! share (the first failure, the stop flag, the servers being rolled), a
//! step's end journaled and shown (done, failed, interrupted), and the run's
//! last record and line. The runner decides when; this room writes what.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::events::Recorder;
use super::{Confirm, RolloutError, RolloutOutcome};
use crate::journal::{JournalError, Record};
use crate::plan::Server;
use crate::runbook::{JournalState, RunEvent, StepError, StepErrorKind, StepId, StepOutcome};

/// Shared, lock-protected state of one run.
pub(super) struct Shared<'p> {
    pub(super) recorder: Recorder<'p>,
    pub(super) confirm: Mutex<&'p mut dyn Confirm>,
    pub(super) stop: AtomicBool,
    pub(super) outcome: Mutex<Option<RolloutOutcome>>,
    /// What the journal held when this run began.
    pub(super) state: JournalState,
    /// True once this rollout (this run or an earlier one) changed anything.
    pub(super) changed_anything: AtomicBool,
    /// Servers between their first step and done (or failed): in cu-roll's
    /// maintenance, so never the Exchange peer of another server.
    pub(super) rolling: Mutex<Vec<String>>,
    /// The domain controller chosen per server in this run (`exchange::pin`).
    pub(super) domain_controllers: std::sync::Arc<crate::exchange::pin::DomainControllers>,
}

impl Shared<'_> {
    /// Records the first failure; later ones (other DAGs) are kept out,
    /// except that every DAG's interrupt adds what it leaves running.
    pub(super) fn fail(&self, outcome: RolloutOutcome) {
        self.stop.store(true, Ordering::SeqCst);
        let mut o = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        match (o.as_mut(), outcome) {
            (None, outcome) => *o = Some(outcome),
            (
                Some(RolloutOutcome::Interrupted { at, still_running }),
                RolloutOutcome::Interrupted {
                    at: later,
                    still_running: more,
                },
            ) => {
                if at.is_none() {
                    *at = later;
                }
                still_running.extend(more);
            }
            _ => {}
        }
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(super) fn before_any_change(&self) -> bool {
        !self.changed_anything.load(Ordering::SeqCst)
    }

    pub(super) fn rolling(&self) -> MutexGuard<'_, Vec<String>> {
        self.rolling.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Journals and shows a step that ended well.
pub(super) fn step_done(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    outcome: &StepOutcome,
    started: Instant,
) -> Result<(), RolloutOutcome> {
    let already_done = matches!(outcome, StepOutcome::AlreadyDone { .. });
    shared
        .recorder
        .append(Record::StepDone {
            server: server.name.clone(),
            step: id.id().into(),
            already_done,
            detail: outcome.detail().to_string(),
        })
        .map_err(|e| journal_failure(server, id, &e))?;
    shared.recorder.emit(RunEvent::StepFinished {
        server: server.name.clone(),
        step: id,
        already_done,
        detail: outcome.detail().to_string(),
        elapsed: started.elapsed(),
    });
    Ok(())
}

/// Journals and shows a failed step; what the rollout ends with.
pub(super) fn step_failed(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    err: StepError,
    started: Instant,
) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::StepFailed {
        server: server.name.clone(),
        step: id.id().into(),
        error: err.message.clone(),
    });
    shared.recorder.emit(RunEvent::StepFailed {
        server: server.name.clone(),
        step: id,
        error: err.message.clone(),
        elapsed: started.elapsed(),
    });
    if err.kind == StepErrorKind::GateRefused {
        RolloutOutcome::GateRefused {
            server: server.name.clone(),
            reasons: vec![err.message],
            before_any_change: shared.before_any_change(),
        }
    } else {
        RolloutOutcome::StepFailed {
            server: server.name.clone(),
            step: id,
            error: err.message,
        }
    }
}

/// Stopped by an interrupt before the next server: nothing runs on a
/// server on cu-roll's behalf.
pub(super) fn interrupted_before(at: Option<(String, StepId)>) -> RolloutOutcome {
    RolloutOutcome::Interrupted {
        at,
        still_running: Vec::new(),
    }
}

/// Stopped by an interrupt between two steps of a server: journaled, so
/// the journal says where the run stopped; nothing was started for `id`.
pub(super) fn interrupted_before_step(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::Observed {
        server: server.name.clone(),
        step: id.id().into(),
        what: format!(
            "interrupted before this step began: nothing was started for it on {}",
            server.name
        ),
    });
    interrupted_before(Some((server.name.clone(), id)))
}

/// Journals a step stopped by an interrupt in a wait. It is not a failure:
/// the step stays in progress, and a resumed run picks it up where its
/// observations say it stands (an installer is re-attached to).
pub(super) fn step_interrupted(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    err: StepError,
) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::Observed {
        server: server.name.clone(),
        step: id.id().into(),
        what: err.message.clone(),
    });
    shared.recorder.emit(RunEvent::Note {
        server: Some(server.name.clone()),
        message: err.message.clone(),
    });
    RolloutOutcome::Interrupted {
        at: Some((server.name.clone(), id)),
        still_running: vec![err.message],
    }
}

/// Journals how the run ended and shows it; the run's outcome.
pub(super) fn finish(shared: Shared<'_>, started: Instant) -> Result<RolloutOutcome, RolloutError> {
    let outcome = shared
        .outcome
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .unwrap_or(RolloutOutcome::Done);
    let (ok, message, label) = summary(&outcome);
    shared.recorder.finish(
        Record::RunFinished {
            outcome: label.to_string(),
        },
        RunEvent::Finished {
            ok,
            message,
            elapsed: started.elapsed(),
        },
    )?;
    Ok(outcome)
}

/// Whether the run ended well, its last line, and its journal label.
fn summary(outcome: &RolloutOutcome) -> (bool, String, &'static str) {
    match outcome {
        RolloutOutcome::Done => (true, "every server is at the target".to_string(), "done"),
        // The failure's whole text is printed once, at the end of the run
        // (and is in the journal and the log); this line only names it.
        RolloutOutcome::StepFailed { server, step, .. } => {
            (false, format!("{server} {step} failed"), "step-failed")
        }
        RolloutOutcome::GateRefused { server, .. } => (
            false,
            format!("the gate refused to take {server} out of service"),
            "gate-refused",
        ),
        RolloutOutcome::Paused { before } => (
            false,
            format!("stopped before {before} at your request"),
            "paused",
        ),
        RolloutOutcome::Interrupted { at, still_running } => {
            let place = match at {
                Some((server, step)) => format!(" during {server} {step}"),
                None => " before the next server".to_string(),
            };
            let running = if still_running.is_empty() {
                String::new()
            } else {
                format!(": {}", still_running.join("; "))
            };
            (false, format!("interrupted{place}{running}"), "interrupted")
        }
        RolloutOutcome::WindowReached {
            before,
            not_after,
            estimate,
        } => (
            false,
            format!(
                "maintenance window ends at {not_after}: {before} was not started (its roll is estimated at {})",
                humantime::format_duration(*estimate)
            ),
            "window-reached",
        ),
    }
}

pub(super) fn journal_failure(server: &Server, step: StepId, e: &JournalError) -> RolloutOutcome {
    RolloutOutcome::StepFailed {
        server: server.name.clone(),
        step,
        error: format!("journal: {e}"),
    }
}
