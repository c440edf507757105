//! `cu-roll status PLAN`: what the journal says about a rollout — per
//! server its state (pending, in progress, done, failed, skipped), the
//! current or last step, the error if it failed, and when it started and
//! finished — and the rollout's overall state.
//!
//! Pure functions over journal entries, the plan's servers and the lock's
//! holder: this module reads no file and queries no server (the caller
//! loads the journal with `journal::Journal::load` and asks
//! `journal::Lock::holder`). The JSON form is a documented interface
//! (docs/status.md): fields are only added, never renamed.

use std::fmt::Write as _;

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
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::NotStarted => "not-started",
            Overall::Running => "running",
            Overall::Stopped => "stopped",
            Overall::Done => "done",
            Overall::Failed => "failed",
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
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
    } else {
        Overall::Stopped
    };
    Status {
        overall,
        runs,
        last_outcome,
        updated: entries.last().map(|e| e.at.clone()),
        lock: lock.cloned(),
        servers,
    }
}

/// Renders `status`; the text always ends with a newline.
pub fn render(status: &Status, format: StatusFormat) -> String {
    match format {
        StatusFormat::Table => render_table(status),
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

pub fn render_table(status: &Status) -> String {
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
    out.push('\n');

    let dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), one_line);
    let rows: Vec<Vec<String>> = status
        .servers
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
    out.push_str(&grid(
        &["SERVER", "DAG", "STATE", "STEP", "STARTED", "FINISHED"],
        &rows,
    ));

    let failed: Vec<&ServerStatus> = status
        .servers
        .iter()
        .filter(|s| s.error.is_some())
        .collect();
    if !failed.is_empty() {
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
    let gone: Vec<&str> = status
        .servers
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
    out.push('\n');
    out.push_str(match status.overall {
        Overall::NotStarted => "Nothing has run for this plan yet.",
        Overall::Running => "A run is in progress; if its process is gone, clear the lock with `cu-roll unlock PLAN --force`.",
        Overall::Stopped => "The rollout stopped before the end; run the same command again to resume.",
        Overall::Done => "Every server is done.",
        Overall::Failed => "Fix the cause shown above, then run the same command again to resume where it stopped.",
    });
    out.push('\n');
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::journal::{Change, PlanFingerprint};

    pub fn server(name: &str) -> Server {
        Server {
            name: name.to_string(),
            fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
            dag: Some("DAG01".to_string()),
            redirect_to: None,
        }
    }

    pub fn lab_servers() -> Vec<Server> {
        ["EX01", "EX02", "EX03"].into_iter().map(server).collect()
    }

    /// Builds a journal one record at a time, a few seconds apart.
    pub struct Builder {
        pub entries: Vec<Entry>,
        /// Seconds after 10:00:00.
        pub clock: u64,
    }

    impl Builder {
        pub fn new() -> Self {
            Builder {
                entries: Vec::new(),
                clock: 0,
            }
        }

        pub fn at(&mut self, secs: u64) -> &mut Self {
            self.clock = secs;
            self
        }

        pub fn push(&mut self, record: Record) -> &mut Self {
            let t =
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_773_600 + self.clock);
            self.entries.push(Entry {
                seq: self.entries.len() as u64 + 1,
                at: humantime::format_rfc3339_millis(t).to_string(),
                record,
            });
            self.clock += 1;
            self
        }

        pub fn run_started(&mut self, run_id: &str) -> &mut Self {
            self.push(Record::RunStarted {
                run_id: run_id.to_string(),
                tool_version: "0.1.0".to_string(),
                plan: PlanFingerprint {
                    servers: vec!["EX01".into(), "EX02".into(), "EX03".into()],
                    target_build: "15.2.1748.43".to_string(),
                    target_name: "Exchange Server 2019 CU15 Feb26SU".to_string(),
                },
                host: "ADMIN01".to_string(),
                pid: 4242,
                order: vec!["EX01".into(), "EX02".into(), "EX03".into()],
            })
        }

        pub fn run_finished(&mut self, outcome: &str) -> &mut Self {
            self.push(Record::RunFinished {
                outcome: outcome.to_string(),
            })
        }

        pub fn started(&mut self, server: &str, step: &str) -> &mut Self {
            self.push(Record::StepStarted {
                server: server.into(),
                step: step.into(),
            })
        }

        pub fn done(&mut self, server: &str, step: &str, already: bool, detail: &str) -> &mut Self {
            self.push(Record::StepDone {
                server: server.into(),
                step: step.into(),
                already_done: already,
                detail: detail.into(),
            })
        }

        pub fn failed(&mut self, server: &str, step: &str, error: &str) -> &mut Self {
            self.push(Record::StepFailed {
                server: server.into(),
                step: step.into(),
                error: error.into(),
            })
        }

        pub fn changed(&mut self, server: &str, step: &str, change: Change) -> &mut Self {
            self.push(Record::Changed {
                server: server.into(),
                step: step.into(),
                change,
            })
        }

        pub fn observed(&mut self, server: &str, step: &str, what: &str) -> &mut Self {
            self.push(Record::Observed {
                server: server.into(),
                step: step.into(),
                what: what.into(),
            })
        }

        pub fn server_done(&mut self, server: &str) -> &mut Self {
            self.push(Record::ServerDone {
                server: server.into(),
            })
        }

        /// Every step of one server, each taking `secs`.
        pub fn whole_server(&mut self, server: &str, secs: u64) -> &mut Self {
            for step in crate::runbook::StepId::ALL {
                if step == crate::runbook::StepId::SecurityUpdate {
                    continue;
                }
                self.started(server, step.id());
                self.clock += secs;
                self.done(server, step.id(), false, &format!("{step} ok"));
            }
            self.server_done(server)
        }
    }

    pub const SETUP_ERROR: &str = "Setup.exe exited with code 1603; ExchangeSetup.log: [ERROR] The following error was generated when \"$error.Clear();\" was run";

    fn states(s: &Status) -> Vec<(&str, ServerState, Option<&str>)> {
        s.servers
            .iter()
            .map(|x| (x.name.as_str(), x.state, x.step.as_deref()))
            .collect()
    }

    fn lock() -> LockInfo {
        LockInfo {
            owner: "alice".into(),
            host: "ADMIN01".into(),
            pid: 4242,
            since: "2026-11-27T10:00:00.000Z".into(),
            command: "run".into(),
        }
    }

    #[test]
    fn fresh_journal_is_not_started_and_every_server_pending() {
        let s = compute(&[], &lab_servers(), None);
        assert_eq!(s.overall, Overall::NotStarted);
        assert_eq!(s.runs, 0);
        assert!(s
            .servers
            .iter()
            .all(|x| x.state == ServerState::Pending && x.step.is_none() && x.error.is_none()));
        // A run that took the lock but wrote nothing yet is running.
        assert_eq!(
            compute(&[], &lab_servers(), Some(&lock())).overall,
            Overall::Running
        );
    }

    #[test]
    fn mid_run_shows_the_step_in_progress() {
        let mut j = Builder::new();
        j.run_started("r1").whole_server("EX01", 5);
        j.started("EX02", "backup-config")
            .done("EX02", "backup-config", false, "saved")
            .started("EX02", "enter-maintenance");
        let s = compute(&j.entries, &lab_servers(), Some(&lock()));
        assert_eq!(s.overall, Overall::Running);
        assert_eq!(
            states(&s),
            vec![
                ("EX01", ServerState::Done, Some("health")),
                ("EX02", ServerState::InProgress, Some("enter-maintenance")),
                ("EX03", ServerState::Pending, None),
            ]
        );
        assert_eq!(s.servers[0].steps_done, 8);
        assert_eq!(s.servers[1].steps_done, 1);
        assert_eq!(
            s.servers[1].started.as_deref(),
            Some("2026-11-27T10:00:58.000Z")
        );
        assert_eq!(s.servers[1].finished, None);
        // The same journal with the lock gone: the run died or was stopped.
        assert_eq!(
            compute(&j.entries, &lab_servers(), None).overall,
            Overall::Stopped
        );
    }

    #[test]
    fn failure_at_ex02_setup_is_reported_with_its_error() {
        let j = failed_at_ex02_setup();
        let s = compute(&j.entries, &lab_servers(), None);
        assert_eq!(s.overall, Overall::Failed);
        assert_eq!(s.last_outcome.as_deref(), Some("failed"));
        let ex02 = &s.servers[1];
        assert_eq!(ex02.state, ServerState::Failed);
        assert_eq!(ex02.step.as_deref(), Some("setup"));
        assert_eq!(ex02.error.as_deref(), Some(SETUP_ERROR));
        assert!(ex02.finished.is_some());
        assert_eq!(s.servers[2].state, ServerState::Pending);
    }

    pub fn failed_at_ex02_setup() -> Builder {
        let mut j = Builder::new();
        j.run_started("r1").whole_server("EX01", 5);
        for step in ["backup-config", "enter-maintenance", "reboot-before-setup"] {
            j.started("EX02", step).done("EX02", step, false, "ok");
        }
        j.started("EX02", "setup");
        j.clock += 40;
        j.failed("EX02", "setup", SETUP_ERROR)
            .run_finished("failed");
        j
    }

    #[test]
    fn finished_rollout_is_done() {
        let mut j = Builder::new();
        j.run_started("r1");
        for s in ["EX01", "EX02", "EX03"] {
            j.whole_server(s, 3);
        }
        j.run_finished("done");
        let s = compute(&j.entries, &lab_servers(), None);
        assert_eq!(s.overall, Overall::Done);
        assert!(s.servers.iter().all(|x| x.state == ServerState::Done));
        assert_eq!(s.runs, 1);
    }

    #[test]
    fn resumed_after_a_failure_the_last_outcome_wins() {
        let mut j = failed_at_ex02_setup();
        j.run_started("r2").started("EX02", "setup");
        let mid = compute(&j.entries, &lab_servers(), None);
        assert_eq!(mid.servers[1].state, ServerState::InProgress);
        assert_eq!(mid.servers[1].error, None, "the retry clears the old error");

        j.done("EX02", "setup", false, "15.2.1748.43");
        for step in [
            "reboot-after-setup",
            "exit-maintenance",
            "redistribute",
            "health",
        ] {
            j.started("EX02", step).done("EX02", step, false, "ok");
        }
        j.server_done("EX02")
            .whole_server("EX03", 2)
            .run_finished("done");
        let s = compute(&j.entries, &lab_servers(), None);
        assert_eq!(s.overall, Overall::Done);
        assert_eq!(s.runs, 2);
        assert_eq!(s.last_outcome.as_deref(), Some("done"));
        let ex02 = &s.servers[1];
        assert_eq!(ex02.state, ServerState::Done);
        assert_eq!(ex02.error, None);
        assert_eq!(ex02.steps_done, 8);
    }

    #[test]
    fn a_server_finished_without_steps_was_skipped_and_names_match_any_case() {
        let mut j = Builder::new();
        j.run_started("r1").server_done("ex03");
        let s = compute(&j.entries, &lab_servers(), None);
        assert_eq!(s.servers[2].state, ServerState::Skipped);
        assert_eq!(s.servers[2].name, "EX03", "the plan's spelling is kept");
        assert_eq!(s.servers.len(), 3);
    }

    #[test]
    fn servers_only_the_journal_names_are_listed_after_the_plan() {
        let mut j = Builder::new();
        j.run_started("r1").started("EX09", "backup-config");
        let s = compute(&j.entries, &lab_servers()[..1], None);
        assert_eq!(s.servers.len(), 2);
        assert!(!s.servers[1].in_plan);
        assert!(render_table(&s).contains("no longer lists: EX09"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let j = failed_at_ex02_setup();
        let out = render(
            &compute(&j.entries, &lab_servers(), None),
            StatusFormat::Json,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["overall"], "failed");
        for server in v["servers"].as_array().unwrap() {
            for field in ["name", "state", "step", "error"] {
                assert!(server.get(field).is_some(), "{field} missing: {server}");
            }
        }
        assert_eq!(v["servers"][1]["state"], "failed");
        assert_eq!(v["servers"][1]["step"], "setup");
        assert_eq!(v["servers"][2]["state"], "pending");
        assert_eq!(v["servers"][2]["step"], serde_json::Value::Null);
        // Every key is described in docs/status.md: the JSON is an interface.
        let docs = include_str!("../../docs/status.md");
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.extend(v["servers"][0].as_object().unwrap().keys());
        let mut with_lock = compute(&j.entries, &lab_servers(), Some(&lock()));
        with_lock.servers.clear();
        let lv = serde_json::to_value(&with_lock).unwrap();
        let lock_keys: Vec<String> = lv["lock"].as_object().unwrap().keys().cloned().collect();
        let missing: Vec<String> = keys
            .into_iter()
            .cloned()
            .chain(lock_keys)
            .filter(|k| !docs.contains(&format!("| `{k}` |")))
            .collect();
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }

    #[test]
    fn table_snapshot_of_a_failure_with_the_lock_free() {
        let j = failed_at_ex02_setup();
        insta::assert_snapshot!(render_table(&compute(&j.entries, &lab_servers(), None)));
    }

    #[test]
    fn table_names_the_lock_holder_while_running() {
        let mut j = Builder::new();
        j.run_started("r1").started("EX01", "setup");
        let out = render_table(&compute(&j.entries, &lab_servers(), Some(&lock())));
        assert!(out.starts_with("Rollout: running, 1 run"), "{out}");
        assert!(
            out.contains("Lock:    held by alice on ADMIN01 (pid 4242, `cu-roll run`) since 2026-11-27T10:00:00Z"),
            "{out}"
        );
    }
}
