//! The rollout: the per-server steps of the runbook and the scheduler that
//! rolls them across each DAG, one member at a time, gated on the cluster's
//! health, journaled so a crashed or interrupted run resumes where it
//! stopped.

pub mod events;
pub mod scripts;
mod step;
pub mod steps;

pub use events::{NoProgress, Progress, RunEvent};
pub use step::{
    Clock, PlannedCommand, PlannedText, Step, StepContext, StepError, StepErrorKind, StepEvents,
    StepId, StepOutcome, SystemClock,
};
