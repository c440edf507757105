//! Where what happens in a run goes: the journal (durable, written first)
//! and the progress display ([`RunEvent`]s). `Recorder` is the one place
//! the run's worker threads write either; `StepReports` adapts it to the
//! `StepEvents` a step reports through, so a step's changes and
//! observations are journaled as they happen. Decides nothing: what to
//! record and when is the runner's business.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::journal::{Baseline, Change, Journal, JournalError, Record};
use crate::runbook::{Progress, RunEvent, StepError, StepEvents, StepId};

/// The journal and the progress display, shared by the run's threads.
pub(super) struct Recorder<'p> {
    journal: Mutex<Journal>,
    progress: Mutex<&'p mut dyn Progress>,
    /// Changes made by this run, per server (upper-cased), in order.
    run_changes: Mutex<HashMap<String, Vec<Change>>>,
    /// Baselines first journaled by this run, per server (upper-cased).
    run_baselines: Mutex<HashMap<String, Baseline>>,
}

impl<'p> Recorder<'p> {
    pub(super) fn new(journal: Journal, progress: &'p mut dyn Progress) -> Self {
        Recorder {
            journal: Mutex::new(journal),
            progress: Mutex::new(progress),
            run_changes: Mutex::new(HashMap::new()),
            run_baselines: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn emit(&self, e: RunEvent) {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .event(&e);
    }

    pub(super) fn append(&self, r: Record) -> Result<(), JournalError> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(r)
            .map(|_| ())
    }

    /// The changes this run has made on `server` so far, in order.
    pub(super) fn changes_this_run(&self, server: &str) -> Vec<Change> {
        self.run_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&server.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default()
    }

    /// The baseline this run journaled for `server`, if any.
    pub(super) fn baseline_this_run(&self, server: &str) -> Option<Baseline> {
        self.run_baselines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&server.to_ascii_uppercase())
            .cloned()
    }

    fn remember_baseline(&self, server: &str, before: &Baseline) {
        self.run_baselines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(server.to_ascii_uppercase())
            .or_insert_with(|| before.clone());
    }

    fn remember_change(&self, server: &str, change: Change) {
        self.run_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(server.to_ascii_uppercase())
            .or_default()
            .push(change);
    }

    /// Journals the run's last record, then shows its last event.
    pub(super) fn finish(self, last: Record, event: RunEvent) -> Result<(), JournalError> {
        let mut journal = self
            .journal
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        journal.append(last)?;
        self.progress
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .event(&event);
        Ok(())
    }
}

/// Journals one step's changes and observations on one server as they
/// happen, and shows its progress.
pub(super) struct StepReports<'s, 'p> {
    pub(super) recorder: &'s Recorder<'p>,
    pub(super) server: String,
    pub(super) step: StepId,
    /// Set at the first change, so a later gate refusal knows it comes
    /// mid-rollout.
    pub(super) changed_anything: &'s AtomicBool,
}

impl StepEvents for StepReports<'_, '_> {
    fn intent(&mut self, changes: &[Change], before: Option<&Baseline>) -> Result<(), StepError> {
        self.changed_anything.store(true, Ordering::SeqCst);
        self.recorder
            .append(Record::Intent {
                server: self.server.clone(),
                step: self.step.id().into(),
                changes: changes.to_vec(),
                before: before.cloned(),
            })
            .map_err(|e| {
                StepError::failed(format!(
                    "the journal could not record what cu-roll was about to change (nothing was sent): {e}"
                ))
            })?;
        if let Some(b) = before {
            self.recorder.remember_baseline(&self.server, b);
        }
        Ok(())
    }

    fn changed(&mut self, change: Change) -> Result<(), StepError> {
        self.changed_anything.store(true, Ordering::SeqCst);
        self.recorder
            .append(Record::Changed {
                server: self.server.clone(),
                step: self.step.id().into(),
                change: change.clone(),
            })
            .map_err(|e| {
                StepError::failed(format!("the journal could not record a change: {e}"))
            })?;
        self.recorder.remember_change(&self.server, change);
        Ok(())
    }

    fn observed(&mut self, what: String) -> Result<(), StepError> {
        self.recorder.emit(RunEvent::Note {
            server: Some(self.server.clone()),
            message: what.clone(),
        });
        self.recorder
            .append(Record::Observed {
                server: self.server.clone(),
                step: self.step.id().into(),
                what,
            })
            .map_err(|e| {
                StepError::failed(format!("the journal could not record an observation: {e}"))
            })
    }

    fn progress(&mut self, message: &str) {
        self.recorder.emit(RunEvent::StepProgress {
            server: self.server.clone(),
            step: self.step,
            message: message.to_string(),
        });
    }
}
