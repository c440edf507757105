//! What the rollout tells its audience (the progress display, the run
//! report): typed events, emitted by the scheduler in order. Displays only
//! show them; the journal is written separately and is the durable truth.

use std::time::Duration;

use super::StepId;

#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// The rollout begins (or resumes): every server in the order it will
    /// be rolled, with its DAG.
    Started {
        servers: Vec<(String, Option<String>)>,
        resumed: bool,
    },
    /// A line worth showing above the bars (gate decisions, warnings…).
    Note {
        server: Option<String>,
        message: String,
    },
    ServerStarted {
        server: String,
    },
    /// The server needs nothing (already at the target).
    ServerSkipped {
        server: String,
        reason: String,
    },
    StepStarted {
        server: String,
        step: StepId,
    },
    /// Progress inside a step ("waiting for 3 copies to move").
    StepProgress {
        server: String,
        step: StepId,
        message: String,
    },
    StepFinished {
        server: String,
        step: StepId,
        /// True when the step found its work already done.
        already_done: bool,
        detail: String,
        elapsed: Duration,
    },
    /// The step was done in an earlier run (from the journal) and is not repeated.
    StepSkipped {
        server: String,
        step: StepId,
        reason: String,
    },
    StepFailed {
        server: String,
        step: StepId,
        error: String,
        elapsed: Duration,
    },
    ServerFinished {
        server: String,
        elapsed: Duration,
    },
    /// The rollout ended: `ok` false when it stopped on a failure or a gate.
    Finished {
        ok: bool,
        message: String,
        elapsed: Duration,
    },
}

/// Receives the events, in order, from the scheduler's thread(s).
pub trait Progress: Send {
    fn event(&mut self, event: &RunEvent);
}

/// Discards everything (tests, `--quiet`).
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&mut self, _: &RunEvent) {}
}
