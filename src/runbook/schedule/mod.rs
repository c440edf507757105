//! The rolling scheduler: one member at a time per DAG (DAGs in parallel up
//! to `max_parallel_dags`), each server through the runbook's steps, every
//! step journaled before and after, gates before a server is taken out of
//! service and again right before the irreversible part. A resumed run
//! replays the journal: finished steps are not repeated, an interrupted
//! step runs its observe → decide loop again.
//!
//! The rooms: `order` holds the pure decisions (the plan's fingerprint, the
//! order servers roll in, the DAG groups); `runner` drives a run (one
//! worker per DAG through [`crate::pool`], journal appends, gate
//! observation); `outcome` the state the workers share and how a step and
//! the run end (journaled and shown); `events` carries what a step reports to the journal and
//! the progress display; `interrupt` the clock that carries Ctrl-C and
//! SIGTERM to the runner and to waits; `final_check` the observation a
//! run must pass before it may say every server is at the target. Steps themselves live in
//! `super::steps` and never see the journal.

mod events;
mod final_check;
mod interrupt;
mod order;
mod outcome;
mod runner;

pub use interrupt::{InterruptibleClock, WallOffset};
pub use order::{choose_order, fingerprint};

use crate::exec::Executor;
use crate::journal::JournalError;
use crate::plan::Plan;
use crate::plan::ResolvedTarget;
use crate::runbook::{Clock, Step, StepId};

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// Every server is at the target and healthy.
    Done,
    /// A step failed; the journal says where; running again resumes.
    StepFailed {
        server: String,
        step: StepId,
        error: String,
    },
    /// A gate refused. `before_any_change` is true when cu-roll has changed
    /// nothing at all in this rollout yet (exit 3), false mid-rollout (exit 1).
    GateRefused {
        server: String,
        reasons: Vec<String>,
        before_any_change: bool,
    },
    /// The user declined to go on at a `pause_between` prompt.
    Paused { before: String },
    /// Ctrl-C or SIGTERM: the run stopped at a safe point. `at` is the
    /// server and step it stopped in or before (none when it stopped
    /// before any server); `still_running` says, per stopped step, what
    /// goes on on a server without cu-roll (an installer, a restart).
    Interrupted {
        at: Option<(String, StepId)>,
        still_running: Vec<String>,
    },
    /// The maintenance window (`not_after`) leaves no room for `before`'s
    /// estimated roll: nothing was started on it; the servers before it are
    /// finished. Resumable (exit 6).
    WindowReached {
        before: String,
        not_after: String,
        estimate: std::time::Duration,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the plan changed since this rollout began ({what}); finish it with the plan it started with, or move {journal} aside to start a new rollout")]
    PlanChanged { what: String, journal: String },
}

/// Asks whether to go on to the next server (`pause_between`).
pub trait Confirm: Send {
    /// True to go on.
    fn next_server(&mut self, done: &str, next: &str) -> bool;
}

/// Never asks: `--yes`, or `pause_between = false`.
pub struct AlwaysYes;

impl Confirm for AlwaysYes {
    fn next_server(&mut self, _: &str, _: &str) -> bool {
        true
    }
}

/// Everything the scheduler works with; [`Rollout::run`] runs it.
pub struct Rollout<'a> {
    pub plan: &'a Plan,
    pub target: &'a ResolvedTarget,
    pub exec: &'a dyn Executor,
    /// The account Exchange remote sessions are opened with.
    pub credential: &'a crate::exchange::Credential,
    pub steps: &'a [Box<dyn Step>],
    pub clock: &'a dyn Clock,
    pub run_id: String,
    /// Which servers roll (`--only`/`--exclude`, journaled); the gates and
    /// the steps' peers still see every server of the plan.
    pub selection: crate::plan::Selection,
    /// The pre-flight's reading, which the order starts from while fresh
    /// (`StartObservation::fresh`) instead of reading every server again.
    pub observed: Option<&'a crate::exchange::observe::StartObservation>,
}
