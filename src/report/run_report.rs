//! The run report: what a rollout did, per server and per step (outcome,
//! start, end, duration, detail), what cu-roll changed, totals and the
//! availability verdict, built from the journal at the end of every run
//! (success or stop) and written into the state directory as
//! `run-report.json` and `run-report.md`; plus the summary table `run`
//! prints on stdout.
//!
//! Building and rendering are pure functions over journal entries; only
//! [`write`] touches the disk (temp file + rename, so a reader never sees
//! half a report). This module decides nothing about the rollout and
//! never reads the journal file itself. The JSON is a documented interface
//! (docs/run-report.md): fields are only added.

use super::markdown::{esc as md, table as md_table};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::status::{track_servers, ServerState};
use super::text::{format_duration, grid, one_line, short_time};
use crate::journal::{Change, Entry, Record};
use crate::plan::Server;

pub const JSON_FILE: &str = "run-report.json";
pub const MARKDOWN_FILE: &str = "run-report.md";

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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
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
    let tracked = track_servers(entries, servers);
    let mut reports: Vec<ServerReport> = tracked
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

    let mut runs: Vec<RunInfo> = Vec::new();
    let mut target = None;
    for entry in entries {
        let at = &entry.at;
        if !matches!(entry.record, Record::RunStarted { .. }) {
            if let Some(run) = runs.last_mut() {
                run.finished.clone_from(at);
            }
        }
        let run_no = runs.len().max(1);
        match &entry.record {
            Record::RunStarted {
                run_id,
                tool_version,
                plan,
                host,
                pid,
                ..
            } => {
                target.get_or_insert_with(|| Target {
                    build: plan.target_build.clone(),
                    name: plan.target_name.clone(),
                });
                runs.push(RunInfo {
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
                if let Some(run) = runs.last_mut() {
                    run.outcome = Some(outcome.clone());
                }
            }
            Record::StepStarted { server, step } => {
                let r = server_mut(&mut reports, server);
                match r.steps.iter_mut().find(|s| &s.step == step) {
                    Some(s) => {
                        if s.outcome == StepOutcome::Failed {
                            s.earlier_errors.push(std::mem::take(&mut s.detail));
                        }
                        s.outcome = StepOutcome::Interrupted;
                        s.run = run_no;
                        s.started.clone_from(at);
                        s.finished = None;
                        s.duration_seconds = None;
                        s.detail.clear();
                        s.already_done = false;
                        s.attempts += 1;
                    }
                    None => r.steps.push(StepReport {
                        step: step.clone(),
                        outcome: StepOutcome::Interrupted,
                        run: run_no,
                        started: at.clone(),
                        finished: None,
                        duration_seconds: None,
                        detail: String::new(),
                        already_done: false,
                        attempts: 1,
                        earlier_errors: Vec::new(),
                    }),
                }
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
                end_step(
                    server_mut(&mut reports, server),
                    step,
                    at,
                    run_no,
                    outcome,
                    detail,
                );
            }
            Record::StepFailed {
                server,
                step,
                error,
            } => {
                end_step(
                    server_mut(&mut reports, server),
                    step,
                    at,
                    run_no,
                    StepOutcome::Failed,
                    error,
                );
            }
            Record::Changed {
                server,
                step,
                change,
            } => server_mut(&mut reports, server).changes.push(ChangeReport {
                step: step.clone(),
                at: at.clone(),
                description: describe_change(change),
                change: change.clone(),
            }),
            Record::Observed { server, step, what } => server_mut(&mut reports, server)
                .observations
                .push(ObservationReport {
                    step: step.clone(),
                    at: at.clone(),
                    what: what.clone(),
                }),
            Record::ServerDone { .. } | Record::ServerSkipped { .. } => {}
        }
    }
    for run in &mut runs {
        run.duration_seconds = seconds_between(&run.started, &run.finished);
    }

    // Steps that finished in an earlier run were not repeated by the last one.
    let last_run = runs.len().max(1);
    let mut totals = Totals::default();
    for r in &mut reports {
        for s in &mut r.steps {
            let finished_ok = matches!(s.outcome, StepOutcome::Done | StepOutcome::AlreadyDone);
            if finished_ok && s.run < last_run {
                s.outcome = StepOutcome::Skipped;
            }
            match s.outcome {
                StepOutcome::Done => totals.steps_done += 1,
                StepOutcome::AlreadyDone => totals.steps_already_done += 1,
                StepOutcome::Skipped => totals.steps_skipped += 1,
                StepOutcome::Failed => totals.steps_failed += 1,
                StepOutcome::Interrupted => totals.steps_interrupted += 1,
            }
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
        match r.result {
            ServerState::Done => totals.servers_done += 1,
            ServerState::Skipped => totals.servers_skipped += 1,
            ServerState::Failed => totals.servers_failed += 1,
            ServerState::InProgress => totals.servers_in_progress += 1,
            ServerState::Pending => totals.servers_pending += 1,
        }
    }
    totals.servers = reports.len();

    let outcome =
        if totals.servers > 0 && totals.servers_done + totals.servers_skipped == totals.servers {
            "done"
        } else if totals.servers_failed > 0 {
            "failed"
        } else {
            "stopped"
        };
    RunReport {
        outcome: outcome.to_string(),
        target,
        runs,
        servers: reports,
        totals,
        availability,
        config_drift: Vec::new(),
    }
}

fn server_mut<'a>(reports: &'a mut [ServerReport], name: &str) -> &'a mut ServerReport {
    reports
        .iter_mut()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .expect("track_servers lists every server the journal names")
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
            r.steps.push(StepReport {
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
            });
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

pub fn render_json(report: &RunReport) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .expect("the run report holds only strings, numbers and lists");
    out.push('\n');
    out
}

fn secs_text(secs: Option<f64>) -> String {
    secs.map_or_else(
        || "-".to_string(),
        |s| format_duration(Duration::from_secs_f64(s.max(0.0))),
    )
}

/// One summary row per server (SERVER, DAG, RESULT, STEPS DONE, TIME),
/// text cleaned with `clean` for the output format, `none` for absent values.
fn summary_rows(report: &RunReport, clean: fn(&str) -> String, none: &str) -> Vec<Vec<String>> {
    report
        .servers
        .iter()
        .map(|s| {
            vec![
                clean(&s.name),
                s.dag.as_deref().map_or_else(|| none.to_string(), clean),
                s.result.as_str().to_string(),
                s.steps_done.to_string(),
                if s.steps.is_empty() {
                    none.to_string()
                } else {
                    secs_text(Some(s.duration_seconds))
                },
            ]
        })
        .collect()
}

/// The summary `run` prints on stdout when it ends: one aligned row per
/// server, then the totals.
pub fn summary_table(report: &RunReport) -> String {
    let rows = summary_rows(report, one_line, "-");
    let mut out = grid(&["SERVER", "DAG", "RESULT", "STEPS DONE", "TIME"], &rows);
    let t = &report.totals;
    let _ = writeln!(
        out,
        "\n{}: {} done, {} skipped, {} failed, {} in progress, {} pending; {} change{} made",
        report.outcome,
        t.servers_done,
        t.servers_skipped,
        t.servers_failed,
        t.servers_in_progress,
        t.servers_pending,
        t.changes,
        if t.changes == 1 { "" } else { "s" }
    );
    out
}

pub fn render_markdown(report: &RunReport) -> String {
    let mut out = String::from("# cu-roll run report\n\n");
    let t = &report.totals;
    let _ = writeln!(
        out,
        "- **Outcome:** {} — {} of {} servers done, {} skipped, {} failed, {} in progress, {} pending",
        report.outcome,
        t.servers_done,
        t.servers,
        t.servers_skipped,
        t.servers_failed,
        t.servers_in_progress,
        t.servers_pending
    );
    if let Some(target) = &report.target {
        let _ = writeln!(
            out,
            "- **Target:** {} ({})",
            md(&target.name),
            md(&target.build)
        );
    }
    let _ = writeln!(
        out,
        "- **Steps:** {} done, {} already done, {} skipped (done in an earlier run), {} failed, {} interrupted",
        t.steps_done, t.steps_already_done, t.steps_skipped, t.steps_failed, t.steps_interrupted
    );
    let _ = writeln!(out, "- **Changes made by cu-roll:** {}", t.changes);
    let availability = match &report.availability {
        None => "not checked".to_string(),
        Some(a) if a.kept => "kept — no database lost its last mounted copy".to_string(),
        Some(a) => format!(
            "**BROKEN** — {} incident(s), listed below",
            a.incidents.len()
        ),
    };
    let _ = writeln!(out, "- **Availability:** {availability}");
    out.push('\n');

    out.push_str("## Summary\n\n");
    let rows = summary_rows(report, md, "—");
    md_table(
        &mut out,
        &["Server", "DAG", "Result", "Steps done", "Time"],
        &rows,
    );

    if let Some(a) = report
        .availability
        .as_ref()
        .filter(|a| !a.incidents.is_empty())
    {
        out.push_str("## Availability incidents\n\n");
        for i in &a.incidents {
            let _ = writeln!(out, "- {}", md(i));
        }
        out.push('\n');
    }

    if !report.config_drift.is_empty() {
        out.push_str("## Config customisations the upgrade reverted\n\n");
        for d in &report.config_drift {
            if let Some(e) = &d.error {
                let _ = writeln!(out, "- **{}**: not checked: {}", md(&d.server), md(e));
            } else if d.reverted.is_empty() {
                let _ = writeln!(
                    out,
                    "- **{}**: none (compared with {})",
                    md(&d.server),
                    md(&d.backup)
                );
            }
            for r in &d.reverted {
                let _ = writeln!(
                    out,
                    "- **{}** `{}` appSettings `{}`: was {}, now {} — `cu-roll restore-config PLAN --server {} --key {}` puts it back",
                    md(&d.server),
                    md(&r.file),
                    md(&r.key),
                    r.backup_value.as_deref().map_or("(absent)".to_string(), |v| format!("'{}'", md(v))),
                    r.current_value.as_deref().map_or("(absent)".to_string(), |v| format!("'{}'", md(v))),
                    md(&d.server),
                    md(&r.key)
                );
            }
        }
        out.push('\n');
    }

    for s in &report.servers {
        let _ = writeln!(
            out,
            "## {}{} — {}\n",
            md(&s.name),
            s.dag
                .as_deref()
                .map_or_else(String::new, |d| format!(" ({})", md(d))),
            s.result.as_str()
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "**Error:** {}\n", md(e));
        }
        if s.steps.is_empty() {
            out.push_str("No step ran on this server.\n\n");
        } else {
            let rows: Vec<Vec<String>> = s
                .steps
                .iter()
                .map(|st| {
                    vec![
                        format!("`{}`", st.step.replace('`', "'")),
                        match st.outcome {
                            StepOutcome::Skipped => format!(
                                "skipped ({}done in run {})",
                                if st.already_done { "already " } else { "" },
                                st.run
                            ),
                            other => other.as_str().to_string(),
                        },
                        st.run.to_string(),
                        short_time(&st.started),
                        st.finished
                            .as_deref()
                            .map_or_else(|| "—".into(), short_time),
                        secs_text(st.duration_seconds),
                        md(&st.detail),
                    ]
                })
                .collect();
            md_table(
                &mut out,
                &[
                    "Step", "Outcome", "Run", "Started", "Finished", "Duration", "Detail",
                ],
                &rows,
            );
        }
        let retried: Vec<&StepReport> = s
            .steps
            .iter()
            .filter(|st| !st.earlier_errors.is_empty())
            .collect();
        if !retried.is_empty() {
            out.push_str("Earlier attempts that failed:\n\n");
            for st in retried {
                for e in &st.earlier_errors {
                    let _ = writeln!(out, "- `{}`: {}", st.step.replace('`', "'"), md(e));
                }
            }
            out.push('\n');
        }
        if !s.changes.is_empty() {
            out.push_str("Changes made by cu-roll:\n\n");
            for c in &s.changes {
                let _ = writeln!(
                    out,
                    "- {} `{}`: {}",
                    short_time(&c.at),
                    c.step.replace('`', "'"),
                    md(&c.description)
                );
            }
            out.push('\n');
        }
        if !s.observations.is_empty() {
            out.push_str("Found on the server:\n\n");
            for o in &s.observations {
                let _ = writeln!(
                    out,
                    "- {} `{}`: {}",
                    short_time(&o.at),
                    o.step.replace('`', "'"),
                    md(&o.what)
                );
            }
            out.push('\n');
        }
    }

    if !report.runs.is_empty() {
        out.push_str("## Runs\n\n");
        let rows: Vec<Vec<String>> = report
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    (i + 1).to_string(),
                    md(&r.run_id),
                    format!("{} (pid {})", md(&r.host), r.pid),
                    short_time(&r.started),
                    short_time(&r.finished),
                    secs_text(r.duration_seconds),
                    r.outcome
                        .as_deref()
                        .map_or_else(|| "ended without a record (crash or kill)".into(), md),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &[
                "#",
                "Run id",
                "Host",
                "Started",
                "Last record",
                "Duration",
                "Outcome",
            ],
            &rows,
        );
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum RunReportError {
    #[error("cannot write the run report {path}: {source}; the journal is intact, so `cu-roll status PLAN` still shows the outcome")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where [`write`] put the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReport {
    pub json: PathBuf,
    pub markdown: PathBuf,
}

/// Writes `run-report.json` and `run-report.md` into `state_dir`, each
/// through a temporary file renamed over the old one, so a reader sees the
/// previous report or the new one, never a mix.
pub fn write(state_dir: &Path, report: &RunReport) -> Result<WrittenReport, RunReportError> {
    let json = state_dir.join(JSON_FILE);
    let markdown = state_dir.join(MARKDOWN_FILE);
    write_atomic(state_dir, &json, &render_json(report))?;
    write_atomic(state_dir, &markdown, &render_markdown(report))?;
    Ok(WrittenReport { json, markdown })
}

fn write_atomic(dir: &Path, path: &Path, text: &str) -> Result<(), RunReportError> {
    let err = |source| RunReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::journal_fixture::{failed_at_ex02_setup, lab_servers, Builder, SETUP_ERROR};

    /// A realistic journal: run 1 rolls EX01 (with changes) and fails at
    /// EX02's setup; run 2 resumes, retries setup and finishes everything.
    fn realistic() -> Vec<Entry> {
        let mut j = Builder::new();
        j.run_started("0193a5c0-run1");
        j.started("EX01", "backup-config");
        j.clock += 4;
        j.done(
            "EX01",
            "backup-config",
            false,
            "configuration saved to backup\\EX01",
        );
        j.started("EX01", "enter-maintenance");
        j.changed(
            "EX01",
            "enter-maintenance",
            Change::ComponentState {
                component: "HubTransport".into(),
                state: "Draining".into(),
                requester: "Maintenance".into(),
            },
        );
        j.changed(
            "EX01",
            "enter-maintenance",
            Change::ServiceRestarted {
                service: "MSExchangeTransport".into(),
            },
        );
        j.changed(
            "EX01",
            "enter-maintenance",
            Change::MessagesRedirected {
                target: "ex02.contoso.local".into(),
            },
        );
        j.changed("EX01", "enter-maintenance", Change::ClusterNodeSuspended);
        j.clock += 20;
        j.done(
            "EX01",
            "enter-maintenance",
            false,
            "2 databases moved; queues empty",
        );
        j.started("EX01", "reboot-before-setup");
        j.changed(
            "EX01",
            "reboot-before-setup",
            Change::RebootRequested {
                step: "reboot-before-setup".into(),
                previous_boot: "2026-11-20T03:00:00.0000000Z".into(),
            },
        );
        j.clock += 30;
        j.done("EX01", "reboot-before-setup", false, "back up after 31s");
        j.started("EX01", "setup");
        j.changed(
            "EX01",
            "setup",
            Change::InstallerStarted {
                step: "setup".into(),
                task: "cu-roll-setup".into(),
                command: "D:\\Setup.exe /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF".into(),
            },
        );
        j.clock += 300;
        j.changed(
            "EX01",
            "setup",
            Change::InstallerFinished {
                step: "setup".into(),
                exit_code: 0,
            },
        );
        j.done("EX01", "setup", false, "15.2.1748.43");
        j.started("EX01", "security-update");
        j.done("EX01", "security-update", true, "no security update asked");
        for (step, secs) in [
            ("reboot-after-setup", 40),
            ("exit-maintenance", 15),
            ("redistribute", 8),
            ("health", 12),
        ] {
            j.started("EX01", step);
            j.clock += secs;
            j.done("EX01", step, false, "ok");
        }
        j.server_done("EX01");
        j.started("EX02", "backup-config");
        j.done("EX02", "backup-config", false, "configuration saved");
        j.started("EX02", "enter-maintenance");
        j.observed(
            "EX02",
            "enter-maintenance",
            "HubTransport was already Draining (requester Maintenance): left for its owner",
        );
        j.done("EX02", "enter-maintenance", true, "already in maintenance");
        j.started("EX02", "reboot-before-setup");
        j.clock += 30;
        j.done("EX02", "reboot-before-setup", false, "back up");
        j.started("EX02", "setup");
        j.clock += 40;
        j.failed("EX02", "setup", SETUP_ERROR);
        j.run_finished("failed: EX02 setup");
        j.at(3600).run_started("0193a5c0-run2");
        j.started("EX02", "setup");
        j.clock += 280;
        j.done("EX02", "setup", false, "15.2.1748.43");
        for step in [
            "reboot-after-setup",
            "exit-maintenance",
            "redistribute",
            "health",
        ] {
            j.started("EX02", step);
            j.clock += 10;
            j.done("EX02", step, false, "ok");
        }
        j.server_done("EX02");
        j.server_done("EX03");
        j.run_finished("done");
        j.entries
    }

    fn verdict_kept() -> Option<AvailabilityVerdict> {
        Some(AvailabilityVerdict {
            kept: true,
            incidents: Vec::new(),
        })
    }

    #[test]
    fn realistic_rollout_totals_and_outcomes() {
        let r = build(&realistic(), &lab_servers(), verdict_kept());
        assert_eq!(r.outcome, "done");
        assert_eq!(r.runs.len(), 2);
        assert_eq!(r.runs[0].outcome.as_deref(), Some("failed: EX02 setup"));
        let ex01 = &r.servers[0];
        assert_eq!(ex01.result, ServerState::Done);
        assert!(
            ex01.steps.iter().all(|s| s.outcome == StepOutcome::Skipped),
            "EX01 finished in run 1, so run 2 skipped it"
        );
        assert_eq!(ex01.steps_done, 9);
        assert_eq!(ex01.changes.len(), 7);
        let ex02 = &r.servers[1];
        let setup = ex02.steps.iter().find(|s| s.step == "setup").unwrap();
        assert_eq!(setup.outcome, StepOutcome::Done);
        assert_eq!(setup.run, 2);
        assert_eq!(setup.attempts, 2);
        assert_eq!(setup.earlier_errors, vec![SETUP_ERROR.to_string()]);
        assert_eq!(setup.duration_seconds, Some(281.0));
        assert_eq!(r.servers[2].result, ServerState::Skipped);
        assert_eq!(r.totals.steps_failed, 0);
        assert_eq!(r.totals.servers_done, 2);
        assert_eq!(r.totals.servers_skipped, 1);
    }

    #[test]
    fn stopped_run_reports_the_failure_and_what_is_left() {
        let j = failed_at_ex02_setup();
        let r = build(&j.entries, &lab_servers(), None);
        assert_eq!(r.outcome, "failed");
        let ex02 = &r.servers[1];
        assert_eq!(ex02.result, ServerState::Failed);
        assert_eq!(ex02.error.as_deref(), Some(SETUP_ERROR));
        let setup = ex02.steps.last().unwrap();
        assert_eq!(
            (setup.step.as_str(), setup.outcome),
            ("setup", StepOutcome::Failed)
        );
        assert_eq!(setup.duration_seconds, Some(41.0));
        assert_eq!(r.totals.servers_pending, 1);
        assert!(render_markdown(&r).contains("- **Availability:** not checked"));
    }

    #[test]
    fn interrupted_step_has_no_end() {
        let mut j = Builder::new();
        j.run_started("r1").started("EX01", "setup");
        let r = build(&j.entries, &lab_servers(), None);
        let s = &r.servers[0].steps[0];
        assert_eq!(s.outcome, StepOutcome::Interrupted);
        assert_eq!(s.finished, None);
        assert_eq!(r.outcome, "stopped");
        assert_eq!(r.runs[0].outcome, None);
    }

    #[test]
    fn changes_read_in_words() {
        assert_eq!(
            describe_change(&Change::ComponentState {
                component: "ServerWideOffline".into(),
                state: "Inactive".into(),
                requester: "Maintenance".into(),
            }),
            "component-state (component ServerWideOffline, state Inactive, requester Maintenance)"
        );
        assert_eq!(
            describe_change(&Change::ClusterNodeSuspended),
            "cluster-node-suspended"
        );
        assert_eq!(
            describe_change(&Change::InstallerFinished {
                step: "setup".into(),
                exit_code: 0
            }),
            "installer-finished (step setup, exit_code 0)"
        );
    }

    #[test]
    fn json_snapshot() {
        let r = build(&realistic(), &lab_servers(), verdict_kept());
        insta::assert_snapshot!(render_json(&r));
    }

    #[test]
    fn markdown_snapshot() {
        let r = build(&realistic(), &lab_servers(), verdict_kept());
        insta::assert_snapshot!(render_markdown(&r));
    }

    #[test]
    fn summary_table_snapshot() {
        let r = build(&realistic(), &lab_servers(), verdict_kept());
        insta::assert_snapshot!(summary_table(&r));
    }

    #[test]
    fn summary_table_of_a_stopped_run() {
        let j = failed_at_ex02_setup();
        insta::assert_snapshot!(summary_table(&build(&j.entries, &lab_servers(), None)));
    }

    #[test]
    fn broken_availability_is_listed() {
        let r = build(
            &realistic(),
            &lab_servers(),
            Some(AvailabilityVerdict {
                kept: false,
                incidents: vec!["DB03 had no mounted copy from 10:05:01 to 10:05:04".into()],
            }),
        );
        let md = render_markdown(&r);
        assert!(md.contains("**BROKEN** — 1 incident(s)"), "{md}");
        assert!(md.contains("- DB03 had no mounted copy"), "{md}");
    }

    #[test]
    fn markdown_escapes_server_text() {
        let mut j = Builder::new();
        j.run_started("r1").started("EX01", "setup").failed(
            "EX01",
            "setup",
            "a | b <script>\nnext",
        );
        let md = render_markdown(&build(&j.entries, &lab_servers(), None));
        assert!(md.contains("a \\| b \\<script\\> next"), "{md}");
    }

    #[test]
    fn write_puts_both_files_in_the_state_directory_and_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let r = build(&realistic(), &lab_servers(), None);
        let written = write(&state, &r).unwrap();
        assert_eq!(written.json, state.join(JSON_FILE));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
        assert_eq!(v["outcome"], "done");
        let md = std::fs::read_to_string(&written.markdown).unwrap();
        assert!(md.starts_with("# cu-roll run report"));
        // A second write replaces both and leaves no temporary file behind.
        write(&state, &build(&[], &lab_servers(), None)).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
        assert_eq!(v["outcome"], "stopped");
        let names: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn every_json_field_is_documented() {
        fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        out.push(k.clone());
                        // A change's own fields are the journal's, documented there.
                        if k != "change" {
                            keys(v, out);
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let r = build(
            &realistic(),
            &lab_servers(),
            Some(AvailabilityVerdict {
                kept: false,
                incidents: vec!["x".into()],
            }),
        );
        let mut all = Vec::new();
        keys(&serde_json::to_value(&r).unwrap(), &mut all);
        all.sort();
        all.dedup();
        let docs = include_str!("../../docs/run-report.md");
        let missing: Vec<&String> = all
            .iter()
            .filter(|k| !docs.contains(&format!("| `{k}` |")))
            .collect();
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}
