//! The rollout: the per-server steps of the runbook and the scheduler that
//! rolls them across each DAG, one member at a time, gated on the cluster's
//! health, journaled so a crashed or interrupted run resumes where it
//! stopped.

pub mod crash_hook;
pub mod dry_run;
pub mod events;
#[cfg(test)]
mod lab_roll_tests;
pub mod scripts;
mod step;
pub mod steps;

pub use events::{NoProgress, Progress, RunEvent};
pub use step::system_wall_ms;
pub use step::{
    Clock, PlannedCommand, PlannedText, Step, StepContext, StepError, StepErrorKind, StepEvents,
    StepId, StepOutcome, SystemClock,
};

mod progress_state;

pub use progress_state::JournalState;
pub mod schedule;

/// Every step of a rollout, in the contract's order; config backups are
/// written under `state_dir`.
pub fn rollout_steps(state_dir: &std::path::Path) -> Vec<Box<dyn Step>> {
    let mut all: Vec<Box<dyn Step>> = vec![Box::new(steps::backup_config::BackupConfig::new(
        state_dir.to_path_buf(),
    ))];
    all.extend(steps::all_steps());
    all
}
