//! The run report's data model: the rollout, its runs, each server's steps,
//! changes and observations, the totals, the availability verdict and the
//! config customisations the upgrade reverted.
//!
//! Plain serialisable data. Its JSON form is a documented interface
//! (docs/run-report.md): fields are only added, never renamed. Building it
//! is [`super::build`]'s job, rendering it the renderers'.

use serde::Serialize;

use crate::journal::Change;
use crate::report::status::ServerState;

/// What the availability record said about the rollout (the lab's
/// timeline, or a production check), when the caller has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailabilityVerdict {
    /// True when no database lost its last mounted copy, no two members of
    /// a DAG were out together and no copy was activated on a Blocked server.
    pub kept: bool,
    /// Each moment the promise was broken, in words.
    pub incidents: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// The step acted and finished.
    Done,
    /// The step found its work already done and changed nothing.
    AlreadyDone,
    /// Finished in an earlier run of this rollout; the last run did not repeat it.
    Skipped,
    /// The step's last attempt failed.
    Failed,
    /// The step started and the journal holds no outcome (the run died).
    Interrupted,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Done => "done",
            StepOutcome::AlreadyDone => "already done",
            StepOutcome::Skipped => "skipped",
            StepOutcome::Failed => "failed",
            StepOutcome::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub step: String,
    pub outcome: StepOutcome,
    /// Which run (1 = the first) made the last attempt.
    pub run: usize,
    pub started: String,
    pub finished: Option<String>,
    pub duration_seconds: Option<f64>,
    /// What the step said when it finished, or the error it failed with.
    pub detail: String,
    /// True when its finishing attempt found the work already done (kept
    /// when a later run turns the outcome into `skipped`).
    pub already_done: bool,
    /// How many times the step started, across runs.
    pub attempts: usize,
    /// Errors of earlier attempts that a later one overcame.
    pub earlier_errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeReport {
    pub step: String,
    pub at: String,
    /// The change in words.
    pub description: String,
    /// The change as the journal holds it (`kind` plus its fields).
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservationReport {
    pub step: String,
    pub at: String,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub dag: Option<String>,
    pub result: ServerState,
    pub error: Option<String>,
    pub started: Option<String>,
    pub finished: Option<String>,
    /// The sum of its steps' last attempts.
    pub duration_seconds: f64,
    /// Steps finished (done, already done or skipped).
    pub steps_done: usize,
    pub steps: Vec<StepReport>,
    pub changes: Vec<ChangeReport>,
    pub observations: Vec<ObservationReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub tool_version: String,
    pub host: String,
    pub pid: u32,
    pub started: String,
    /// Its `run-finished` record's time, or its last record's.
    pub finished: String,
    /// What the run wrote when it ended; `None` when it died first.
    pub outcome: Option<String>,
    pub duration_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub build: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub servers: usize,
    pub servers_done: usize,
    pub servers_skipped: usize,
    pub servers_failed: usize,
    pub servers_in_progress: usize,
    pub servers_pending: usize,
    pub steps_done: usize,
    pub steps_already_done: usize,
    pub steps_skipped: usize,
    pub steps_failed: usize,
    pub steps_interrupted: usize,
    pub changes: usize,
}

/// The version of the JSON form (`schema_version`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `done` when every server is done or skipped, `failed` when a
    /// server's last outcome is a failure, `stopped` otherwise.
    pub outcome: String,
    pub target: Option<Target>,
    pub runs: Vec<RunInfo>,
    pub servers: Vec<ServerReport>,
    pub totals: Totals,
    /// `None` when the caller had no availability record.
    pub availability: Option<AvailabilityVerdict>,
    /// What each upgraded server's config files lost since its backup
    /// (filled in by the caller after the rollout; empty when not checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_drift: Vec<ConfigDrift>,
    /// The plan's path as given to `run` (filled in by the caller, like
    /// `config_drift`), quoted in the commands the report suggests;
    /// `null` when the caller did not say.
    pub plan: Option<String>,
}

/// The customisations a CU reverted on one server: `appSettings` values in
/// the backup that are changed or gone now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigDrift {
    pub server: String,
    /// The backup zip compared against.
    pub backup: String,
    pub reverted: Vec<RevertedSetting>,
    /// Why the comparison could not be made, when it could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevertedSetting {
    /// The file, relative to the Exchange install path.
    pub file: String,
    pub key: String,
    /// The value in the backup (the admin's customisation).
    pub backup_value: Option<String>,
    /// The value now (`None`: the key is gone).
    pub current_value: Option<String>,
}
