//! Builds the run report from the journal's entries: one fold over the
//! records (runs, step attempts, changes, observations), then the settling
//! pass that marks steps an earlier run finished as skipped and counts the
//! totals and the outcome.
//!
//! Pure: it reads no file (the caller loads the journal) and decides
//! nothing about the rollout; it only says what the records say. Where a
//! server stands comes from `status`'s tracking, so `status` and the report
//! never disagree.

use super::{
    AvailabilityVerdict, ChangeReport, ObservationReport, RunInfo, RunReport, ServerReport,
    StepOutcome, StepReport, Target, Totals,
};
use crate::journal::{Change, Entry, Record};
use crate::plan::Server;
use crate::report::status::{track_servers, ServerState};

/// Seconds between two journal times, when both parse and are in order.
fn seconds_between(from: &str, to: &str) -> Option<f64> {
    let a = humantime::parse_rfc3339_weak(from).ok()?;
    let b = humantime::parse_rfc3339_weak(to).ok()?;
    b.duration_since(a).ok().map(|d| d.as_secs_f64())
}

/// A change in words: its kind, then its fields (`component-state
/// (component HubTransport, state Draining, requester Maintenance)`).
/// Built from the record's JSON form so a kind added later still reads.
pub fn describe_change(change: &Change) -> String {
    let value = serde_json::to_value(change).expect("a change always serialises");
    let Some(map) = value.as_object() else {
        return value.to_string();
    };
    let kind = map.get("kind").and_then(|k| k.as_str()).unwrap_or("change");
    let fields: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k} {s}"),
            other => format!("{k} {other}"),
        })
        .collect();
    if fields.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({})", fields.join(", "))
    }
}

/// The report of the rollout the journal's `entries` record, for the
/// plan's `servers` (in plan order), with the availability verdict if the
/// caller has one.
pub fn build(
    entries: &[Entry],
    servers: &[Server],
    availability: Option<AvailabilityVerdict>,
) -> RunReport {
    let mut fold = Fold::new(entries, servers);
    for entry in entries {
        fold.apply(entry);
    }
    let Fold {
        mut servers,
        mut runs,
        target,
    } = fold;
    for run in &mut runs {
        run.duration_seconds = seconds_between(&run.started, &run.finished);
    }
    let totals = settle(&mut servers, runs.len().max(1));
    RunReport {
        schema_version: super::model::SCHEMA_VERSION,
        outcome: outcome(&totals).to_string(),
        target,
        runs,
        servers,
        totals,
        availability,
        config_drift: Vec::new(),
        plan: None,
    }
}

/// `done` when every server is done or skipped, `failed` when a server's
/// last outcome is a failure, `stopped` otherwise.
fn outcome(totals: &Totals) -> &'static str {
    if totals.servers > 0 && totals.servers_done + totals.servers_skipped == totals.servers {
        "done"
    } else if totals.servers_failed > 0 {
        "failed"
    } else {
        "stopped"
    }
}

/// The report as the records so far build it up.
struct Fold {
    servers: Vec<ServerReport>,
    runs: Vec<RunInfo>,
    /// The target the first run recorded.
    target: Option<Target>,
}

impl Fold {
    /// One empty report per server, in `track_servers`' order and with its
    /// final state (plan order, then servers only the journal names).
    fn new(entries: &[Entry], servers: &[Server]) -> Self {
        let servers = track_servers(entries, servers)
            .iter()
            .map(|t| ServerReport {
                name: t.status.name.clone(),
                dag: t.status.dag.clone(),
                result: t.status.state,
                error: t.status.error.clone(),
                started: t.status.started.clone(),
                finished: t.status.finished.clone(),
                duration_seconds: 0.0,
                steps_done: 0,
                steps: Vec::new(),
                changes: Vec::new(),
                observations: Vec::new(),
            })
            .collect();
        Fold {
            servers,
            runs: Vec::new(),
            target: None,
        }
    }

    fn apply(&mut self, entry: &Entry) {
        let at = &entry.at;
        if !matches!(entry.record, Record::RunStarted { .. }) {
            if let Some(run) = self.runs.last_mut() {
                run.finished.clone_from(at);
            }
        }
        match &entry.record {
            Record::RunStarted {
                run_id,
                tool_version,
                plan,
                host,
                pid,
                ..
            } => {
                // The first run names the rollout's target.
                self.target.get_or_insert_with(|| Target {
                    build: plan.target_build.clone(),
                    name: plan.target_name.clone(),
                });
                self.runs.push(RunInfo {
                    run_id: run_id.clone(),
                    tool_version: tool_version.clone(),
                    host: host.clone(),
                    pid: *pid,
                    started: at.clone(),
                    finished: at.clone(),
                    outcome: None,
                    duration_seconds: None,
                });
            }
            Record::RunFinished { outcome } => {
                if let Some(run) = self.runs.last_mut() {
                    run.outcome = Some(outcome.clone());
                }
            }
            record => self.server_record(record, at),
        }
    }

    /// A record about one server: a step's start or end, a change, an
    /// observation.
    fn server_record(&mut self, record: &Record, at: &str) {
        let run_no = self.runs.len().max(1);
        match record {
            Record::StepStarted { server, step } => {
                start_step(self.server(server), step, at, run_no);
            }
            Record::StepDone {
                server,
                step,
                already_done,
                detail,
            } => {
                let outcome = if *already_done {
                    StepOutcome::AlreadyDone
                } else {
                    StepOutcome::Done
                };
                end_step(self.server(server), step, at, run_no, outcome, detail);
            }
            Record::StepFailed {
                server,
                step,
                error,
            } => {
                let failed = StepOutcome::Failed;
                end_step(self.server(server), step, at, run_no, failed, error);
            }
            Record::Changed {
                server,
                step,
                change,
            } => self.server(server).changes.push(ChangeReport {
                step: step.clone(),
                at: at.to_string(),
                description: describe_change(change),
                change: change.clone(),
            }),
            Record::Observed { server, step, what } => {
                self.server(server).observations.push(ObservationReport {
                    step: step.clone(),
                    at: at.to_string(),
                    what: what.clone(),
                });
            }
            Record::ServerDone { .. }
            | Record::ServerSkipped { .. }
            | Record::RunStarted { .. }
            | Record::Intent { .. }
            | Record::RunFinished { .. } => {}
        }
    }

    fn server(&mut self, name: &str) -> &mut ServerReport {
        self.servers
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .expect("track_servers lists every server the journal names")
    }
}

/// A step starts: a new attempt of a known step (its earlier failure kept
/// as an earlier error), or the step's first attempt.
fn start_step(r: &mut ServerReport, step: &str, at: &str, run: usize) {
    match r.steps.iter_mut().find(|s| s.step == step) {
        Some(s) => {
            if s.outcome == StepOutcome::Failed {
                s.earlier_errors.push(std::mem::take(&mut s.detail));
            }
            s.outcome = StepOutcome::Interrupted;
            s.run = run;
            s.started = at.to_string();
            s.finished = None;
            s.duration_seconds = None;
            s.detail.clear();
            s.already_done = false;
            s.attempts += 1;
        }
        None => r
            .steps
            .push(first_attempt(step, at, run, StepOutcome::Interrupted)),
    }
}

/// A step's first attempt, started at `at` in `run`, with `outcome` until
/// a later record says more.
fn first_attempt(step: &str, at: &str, run: usize, outcome: StepOutcome) -> StepReport {
    StepReport {
        step: step.to_string(),
        outcome,
        run,
        started: at.to_string(),
        finished: None,
        duration_seconds: None,
        detail: String::new(),
        already_done: false,
        attempts: 1,
        earlier_errors: Vec::new(),
    }
}

fn end_step(
    r: &mut ServerReport,
    step: &str,
    at: &str,
    run: usize,
    outcome: StepOutcome,
    detail: &str,
) {
    let s = match r.steps.iter().position(|s| s.step == step) {
        Some(i) => &mut r.steps[i],
        None => {
            // An outcome without its start (a journal begun mid-step):
            // keep it, timed from its own record.
            r.steps.push(first_attempt(step, at, run, outcome));
            r.steps.last_mut().expect("just pushed")
        }
    };
    s.outcome = outcome;
    s.run = run;
    s.finished = Some(at.to_string());
    s.duration_seconds = seconds_between(&s.started, at);
    s.detail = detail.to_string();
    s.already_done = outcome == StepOutcome::AlreadyDone;
}

/// Steps that finished in a run before `last_run` were not repeated by the
/// last one: they become `skipped`. Then each server's steps done and time,
/// and the totals.
fn settle(servers: &mut [ServerReport], last_run: usize) -> Totals {
    let mut totals = Totals::default();
    for r in servers.iter_mut() {
        for s in &mut r.steps {
            let finished_ok = matches!(s.outcome, StepOutcome::Done | StepOutcome::AlreadyDone);
            if finished_ok && s.run < last_run {
                s.outcome = StepOutcome::Skipped;
            }
            count_step(&mut totals, s.outcome);
        }
        r.steps_done = r
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.outcome,
                    StepOutcome::Done | StepOutcome::AlreadyDone | StepOutcome::Skipped
                )
            })
            .count();
        r.duration_seconds = r.steps.iter().filter_map(|s| s.duration_seconds).sum();
        totals.changes += r.changes.len();
        count_server(&mut totals, r.result);
    }
    totals.servers = servers.len();
    totals
}

fn count_step(totals: &mut Totals, outcome: StepOutcome) {
    match outcome {
        StepOutcome::Done => totals.steps_done += 1,
        StepOutcome::AlreadyDone => totals.steps_already_done += 1,
        StepOutcome::Skipped => totals.steps_skipped += 1,
        StepOutcome::Failed => totals.steps_failed += 1,
        StepOutcome::Interrupted => totals.steps_interrupted += 1,
    }
}

fn count_server(totals: &mut Totals, state: ServerState) {
    match state {
        ServerState::Done => totals.servers_done += 1,
        ServerState::Skipped => totals.servers_skipped += 1,
        ServerState::Failed => totals.servers_failed += 1,
        ServerState::InProgress => totals.servers_in_progress += 1,
        ServerState::Pending => totals.servers_pending += 1,
    }
}
