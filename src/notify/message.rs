//! What one notification says, before any format: the event, the run, the
//! server where there is one, a one-line message, and at the end the run
//! report's summary. Built from the rollout's typed events and outcome and
//! from the run report; pure data, rendered by `format`.

use serde::Serialize;

use crate::plan::NotifyEvent;
use crate::report::run::{RunReport, Totals};
use crate::runbook::schedule::RolloutOutcome;

/// The version of the `json` format's object: raised when a field changes
/// meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// Who the notifications are about: the same for every message of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    pub run_id: String,
    /// The plan file, as given to `run`.
    pub plan: String,
    /// The target's name, e.g. `Exchange Server 2019 CU15 Feb26SU`.
    pub target: String,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub schema_version: u32,
    #[serde(serialize_with = "event_name")]
    pub event: NotifyEvent,
    pub run_id: String,
    pub plan: String,
    pub target: String,
    /// RFC 3339 UTC, when the event happened.
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The event in one line, for people.
    pub message: String,
    /// `start`: the servers in the order they roll.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// `start`: true when this run resumes an earlier one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    /// `server-done`: how long the server took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    /// `end`: how the run ended (the journal's label: `done`,
    /// `step-failed`, `gate-refused`, `paused`, `interrupted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `end`: the run report's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

fn event_name<S: serde::Serializer>(e: &NotifyEvent, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(e.as_str())
}

/// The run report in brief: its outcome, totals, one line per server and
/// where the full report is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The report's outcome: `done`, `failed` or `stopped`.
    pub outcome: String,
    pub totals: Totals,
    pub servers: Vec<ServerLine>,
    /// The HTML run report on the machine that ran cu-roll, when written.
    pub report: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerLine {
    pub name: String,
    pub dag: Option<String>,
    /// `done`, `skipped`, `failed`, `in-progress`, `pending`.
    pub result: String,
    pub steps_done: usize,
    pub duration_seconds: f64,
}

impl Summary {
    pub fn of(report: &RunReport, html: Option<&std::path::Path>) -> Summary {
        Summary {
            outcome: report.outcome.clone(),
            totals: report.totals.clone(),
            servers: report
                .servers
                .iter()
                .map(|s| ServerLine {
                    name: s.name.clone(),
                    dag: s.dag.clone(),
                    result: s.result.as_str().to_string(),
                    steps_done: s.steps_done,
                    duration_seconds: s.duration_seconds,
                })
                .collect(),
            report: html.map(|p| p.display().to_string()),
        }
    }

    /// `2 done, 1 skipped, 0 failed, 0 in progress, 0 pending; 42 changes`.
    pub fn counts(&self) -> String {
        crate::report::run::counts(&self.totals)
    }
}

impl RunContext {
    /// A message of `event` now, with nothing but its one line.
    pub fn message(&self, event: NotifyEvent, message: String) -> Message {
        Message {
            schema_version: SCHEMA_VERSION,
            event,
            run_id: self.run_id.clone(),
            plan: self.plan.clone(),
            target: self.target.clone(),
            at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            server: None,
            dag: None,
            step: None,
            message,
            servers: Vec::new(),
            resumed: None,
            elapsed_seconds: None,
            outcome: None,
            summary: None,
        }
    }

    /// `end`, with the run report's summary.
    pub fn end(&self, label: &str, summary: Summary) -> Message {
        let how = match label {
            "done" => "finished: every server is at the target".to_string(),
            "step-failed" => "stopped on a failure".to_string(),
            "gate-refused" => "stopped: a gate refused to take a server out of service".to_string(),
            "paused" => "stopped at the operator's request".to_string(),
            "interrupted" => "interrupted (resumable)".to_string(),
            other => format!("ended ({other})"),
        };
        let mut m = self.message(
            NotifyEvent::End,
            format!(
                "rollout of {} to {} {how}: {}",
                self.plan,
                self.target,
                summary.counts()
            ),
        );
        m.outcome = Some(label.to_string());
        m.summary = Some(summary);
        m
    }

    /// What the outcome adds beyond the events already sent: an
    /// `interrupted` message, or a `failure` that had no failed step (a
    /// gate refusal, the final check) when `failure_sent` is false.
    pub fn from_outcome(&self, outcome: &RolloutOutcome, failure_sent: bool) -> Option<Message> {
        match outcome {
            RolloutOutcome::Interrupted { at, still_running } => {
                let mut m = self.message(
                    NotifyEvent::Interrupted,
                    format!(
                        "rollout interrupted{}{}; run cu-roll {} again to resume",
                        at.as_ref()
                            .map(|(s, step)| format!(" during {s} {step}"))
                            .unwrap_or_else(|| " before the next server".into()),
                        if still_running.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", still_running.join("; "))
                        },
                        self.plan
                    ),
                );
                if let Some((server, step)) = at {
                    m.server = Some(server.clone());
                    m.step = Some(step.to_string());
                }
                Some(m)
            }
            RolloutOutcome::StepFailed {
                server,
                step,
                error,
            } if !failure_sent => {
                let mut m = self.message(
                    NotifyEvent::Failure,
                    format!("{server} {step} failed: {error}"),
                );
                m.server = Some(server.clone());
                m.step = Some(step.to_string());
                Some(m)
            }
            RolloutOutcome::GateRefused {
                server, reasons, ..
            } if !failure_sent => {
                let mut m = self.message(
                    NotifyEvent::Failure,
                    format!(
                        "gate refused to take {server} out of service: {}",
                        reasons.join("; ")
                    ),
                );
                m.server = Some(server.clone());
                Some(m)
            }
            _ => None,
        }
    }
}
