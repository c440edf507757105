//! `cu-roll status PLAN`: what the journal says about a rollout — per
//! server its state (pending, in progress, done, failed, skipped), the
//! current or last step, the error if it failed, and when it started and
//! finished — and the rollout's overall state (running, stopped,
//! interrupted, failed, done).
//!
//! Pure functions over journal entries, the plan's servers and the lock's
//! holder: this module reads no file and queries no server (the caller
//! loads the journal with `journal::Journal::load` and asks
//! `journal::Lock::holder`). The JSON form is a documented interface
//! (docs/status.md): fields are only added, never renamed.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::text::{grid, one_line, short_time};
use crate::journal::{Entry, LockInfo, Record};
use crate::plan::Server;

/// `cu-roll status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StatusFormat {
    /// Aligned text for a person.
    #[default]
    Table,
    /// Pretty JSON for scripts (documented in docs/status.md).
    Json,
}

/// Where one server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    /// No step has started on it.
    Pending,
    /// A step started, or some steps finished, and the server is not done.
    InProgress,
    /// Every step finished.
    Done,
    /// Its last step outcome was a failure.
    Failed,
    /// Finished without any step running (it needed nothing).
    Skipped,
}

impl ServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Pending => "pending",
            ServerState::InProgress => "in-progress",
            ServerState::Done => "done",
            ServerState::Failed => "failed",
            ServerState::Skipped => "skipped",
        }
    }
}

/// Where the rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// The journal holds no run.
    NotStarted,
    /// The lock is held: a cu-roll is working on this plan now.
    Running,
    /// No run holds the lock and the rollout is unfinished, without a
    /// failure (interrupted, crashed, or a gate refused).
    Stopped,
    /// Every server of the plan is done or skipped.
    Done,
    /// No run holds the lock and a server's last outcome is a failure.
    Failed,
    /// No run holds the lock and the last run ended on Ctrl-C or SIGTERM
    /// (exit 5): resumable.
    Interrupted,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::NotStarted => "not-started",
            Overall::Running => "running",
            Overall::Stopped => "stopped",
            Overall::Done => "done",
            Overall::Failed => "failed",
            Overall::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    pub name: String,
    pub dag: Option<String>,
    pub state: ServerState,
    /// The step running now, or the last one that started or finished.
    pub step: Option<String>,
    /// The failure, when `state` is `failed`.
    pub error: Option<String>,
    /// When its first step started (RFC 3339 UTC).
    pub started: Option<String>,
    /// When it finished or failed.
    pub finished: Option<String>,
    /// How many distinct steps have finished on it.
    pub steps_done: usize,
    /// False for a server the journal names but the plan no longer lists.
    pub in_plan: bool,
}

/// The version of the JSON form (`schema_version`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub overall: Overall,
    /// How many runs (first run and resumes) the journal holds.
    pub runs: usize,
    /// The outcome the last run wrote when it ended, if it did.
    pub last_outcome: Option<String>,
    /// The time of the journal's last record.
    pub updated: Option<String>,
    /// Who holds the plan's lock, if anyone.
    pub lock: Option<LockInfo>,
    pub servers: Vec<ServerStatus>,
}

/// One server as the journal's records build it up.
#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub status: ServerStatus,
    /// Whether any step ever started (a finished server without one was skipped).
    pub any_step: bool,
    done_steps: Vec<String>,
}

impl Tracked {
    fn new(name: &str, dag: Option<String>, in_plan: bool) -> Self {
        Tracked {
            status: ServerStatus {
                name: name.to_string(),
                dag,
                state: ServerState::Pending,
                step: None,
                error: None,
                started: None,
                finished: None,
                steps_done: 0,
                in_plan,
            },
            any_step: false,
            done_steps: Vec::new(),
        }
    }
}

/// Finds (or, for a server the plan does not list, appends) `name`.
/// Names compare case-insensitively, as Exchange's do; the plan's spelling
/// is kept.
pub(super) fn tracked<'a>(all: &'a mut Vec<Tracked>, name: &str) -> &'a mut Tracked {
    let i = match all
        .iter()
        .position(|t| t.status.name.eq_ignore_ascii_case(name))
    {
        Some(i) => i,
        None => {
            all.push(Tracked::new(name, None, false));
            all.len() - 1
        }
    };
    &mut all[i]
}

/// Every server's state after the journal's records, in plan order (then
/// servers only the journal names). The last outcome wins: a step that
/// failed in one run and succeeded in the next counts as succeeded.
pub(super) fn track_servers(entries: &[Entry], servers: &[Server]) -> Vec<Tracked> {
    let mut all: Vec<Tracked> = servers
        .iter()
        .map(|s| Tracked::new(&s.name, s.dag.clone(), true))
        .collect();
    for entry in entries {
        let at = &entry.at;
        match &entry.record {
            Record::StepStarted { server, step } => {
                let t = tracked(&mut all, server);
                t.any_step = true;
                let s = &mut t.status;
                s.state = ServerState::InProgress;
                s.step = Some(step.clone());
                s.error = None;
                s.finished = None;
                s.started.get_or_insert_with(|| at.clone());
            }
            Record::StepDone { server, step, .. } => {
                let t = tracked(&mut all, server);
                if !t.done_steps.contains(step) {
                    t.done_steps.push(step.clone());
                }
                let s = &mut t.status;
                s.steps_done = t.done_steps.len();
                s.state = ServerState::InProgress;
                s.step = Some(step.clone());
                s.error = None;
                s.started.get_or_insert_with(|| at.clone());
            }
            Record::StepFailed {
                server,
                step,
                error,
            } => {
                let s = &mut tracked(&mut all, server).status;
                s.state = ServerState::Failed;
                s.step = Some(step.clone());
                s.error = Some(error.clone());
                s.finished = Some(at.clone());
                s.started.get_or_insert_with(|| at.clone());
            }
            Record::ServerDone { server } => {
                let t = tracked(&mut all, server);
                t.status.state = if t.any_step {
                    ServerState::Done
                } else {
                    ServerState::Skipped
                };
                t.status.error = None;
                t.status.finished = Some(at.clone());
            }
            Record::ServerSkipped { server, .. } => {
                let t = tracked(&mut all, server);
                t.status.state = ServerState::Skipped;
                t.status.error = None;
                t.status.finished = Some(at.clone());
            }
            Record::RunStarted { .. }
            | Record::RunFinished { .. }
            | Record::Observed { .. }
            | Record::Intent { .. }
            | Record::Changed { .. } => {}
        }
    }
    all
}

/// The rollout's state from the journal's entries, the plan's servers (in
/// plan order) and the lock's holder (`journal::Lock::holder(state_dir)`).
pub fn compute(entries: &[Entry], servers: &[Server], lock: Option<&LockInfo>) -> Status {
    let all = track_servers(entries, servers);
    let runs = entries
        .iter()
        .filter(|e| matches!(e.record, Record::RunStarted { .. }))
        .count();
    // The outcome of the last run, if that run wrote one.
    let mut last_outcome = None;
    for e in entries {
        match &e.record {
            Record::RunStarted { .. } => last_outcome = None,
            Record::RunFinished { outcome } => last_outcome = Some(outcome.clone()),
            _ => {}
        }
    }
    let servers: Vec<ServerStatus> = all.into_iter().map(|t| t.status).collect();
    let planned = || servers.iter().filter(|s| s.in_plan);
    let overall = if lock.is_some() {
        Overall::Running
    } else if runs == 0 && entries.is_empty() {
        Overall::NotStarted
    } else if planned().count() > 0
        && planned().all(|s| matches!(s.state, ServerState::Done | ServerState::Skipped))
    {
        Overall::Done
    } else if servers.iter().any(|s| s.state == ServerState::Failed) {
        Overall::Failed
    } else if last_outcome.as_deref() == Some("interrupted") {
        Overall::Interrupted
    } else {
        Overall::Stopped
    };
    Status {
        schema_version: SCHEMA_VERSION,
        overall,
        runs,
        last_outcome,
        updated: entries.last().map(|e| e.at.clone()),
        lock: lock.cloned(),
        servers,
    }
}

/// Renders `status` of the plan at `plan` (the path as given, named in the
/// advice); the text always ends with a newline.
pub fn render(status: &Status, plan: &Path, format: StatusFormat) -> String {
    match format {
        StatusFormat::Table => render_table(status, plan),
        StatusFormat::Json => render_json(status),
    }
}

pub fn render_json(status: &Status) -> String {
    let mut out =
        serde_json::to_string_pretty(status).expect("the status holds only strings and numbers");
    out.push('\n');
    out
}

fn describe_lock(lock: &LockInfo) -> String {
    one_line(&format!(
        "held by {} on {} (pid {}, `cu-roll {}`) since {}",
        lock.owner,
        lock.host,
        lock.pid,
        lock.command,
        short_time(&lock.since)
    ))
}

/// The status as text for a person: the rollout's line and the lock, one
/// row per server, then errors, servers the plan dropped and what to do next
/// (naming the plan at `plan`).
pub fn render_table(status: &Status, plan: &Path) -> String {
    let mut out = headline(status);
    out.push('\n');
    out.push_str(&server_grid(&status.servers));
    errors(&mut out, &status.servers);
    dropped_servers(&mut out, &status.servers);
    out.push('\n');
    out.push_str(&advice(status, plan));
    out.push('\n');
    out
}

/// `Rollout: failed, 2 runs, last record …` and `Lock: …`.
fn headline(status: &Status) -> String {
    let mut out = String::new();
    let runs = match status.runs {
        0 => String::new(),
        1 => ", 1 run".to_string(),
        n => format!(", {n} runs"),
    };
    let updated = status
        .updated
        .as_deref()
        .map(|u| format!(", last record {}", short_time(u)))
        .unwrap_or_default();
    let _ = writeln!(out, "Rollout: {}{runs}{updated}", status.overall.as_str());
    let lock = status
        .lock
        .as_ref()
        .map_or_else(|| "free".to_string(), describe_lock);
    let _ = writeln!(out, "Lock:    {lock}");
    out
}

fn server_grid(servers: &[ServerStatus]) -> String {
    let dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), one_line);
    let rows: Vec<Vec<String>> = servers
        .iter()
        .map(|s| {
            vec![
                one_line(&s.name),
                dash(&s.dag),
                s.state.as_str().to_string(),
                dash(&s.step),
                s.started.as_deref().map_or_else(|| "-".into(), short_time),
                s.finished.as_deref().map_or_else(|| "-".into(), short_time),
            ]
        })
        .collect();
    grid(
        &["SERVER", "DAG", "STATE", "STEP", "STARTED", "FINISHED"],
        &rows,
    )
}

fn errors(out: &mut String, servers: &[ServerStatus]) {
    let failed: Vec<&ServerStatus> = servers.iter().filter(|s| s.error.is_some()).collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("\nErrors:\n");
    for s in failed {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            one_line(&s.name),
            s.step.as_deref().map_or_else(String::new, one_line),
            one_line(s.error.as_deref().unwrap_or_default())
        );
    }
}

fn dropped_servers(out: &mut String, servers: &[ServerStatus]) {
    let gone: Vec<&str> = servers
        .iter()
        .filter(|s| !s.in_plan)
        .map(|s| s.name.as_str())
        .collect();
    if !gone.is_empty() {
        let _ = writeln!(
            out,
            "\nThe journal names servers the plan no longer lists: {}.",
            one_line(&gone.join(", "))
        );
    }
}

/// What the admin does next, for each overall state of the plan at `plan`.
fn advice(status: &Status, plan: &Path) -> String {
    match status.overall {
        Overall::NotStarted => "Nothing has run for this plan yet.".to_string(),
        Overall::Running => format!(
            "A run is in progress: its process holds the lock (the lock dies with it). To stop it, press Ctrl-C in its terminal (it stops at a safe point); `cu-roll unlock {} --force` refuses while it runs.",
            plan.display()
        ),
        Overall::Stopped if status.last_outcome.as_deref() == Some("window-reached") => "The last run stopped at the end of its maintenance window ([policy] not_after): the server in progress was finished, the next one not started. Run the same command again in the next window (with a later not_after) to resume.".to_string(),
        Overall::Stopped => "The rollout stopped before the end; run the same command again to resume.".to_string(),
        Overall::Done => "Every server is done.".to_string(),
        Overall::Failed => "Fix the cause shown above, then run the same command again to resume where it stopped.".to_string(),
        Overall::Interrupted => "The last run was interrupted (Ctrl-C or SIGTERM) at a safe point; run the same command again to resume.".to_string(),
    }
}

#[cfg(test)]
mod tests;
