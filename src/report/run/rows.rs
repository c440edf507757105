//! The rows and lines the Markdown and HTML run reports share: the steps
//! table, the runs table and the reverted-customisation lines, built once
//! from the model through a [`Markup`] that each format supplies (its
//! escaping, code spans, emphasis). What a row says is decided here, once;
//! how it looks is the renderer's.
//!
//! Presentation only: no value is computed here that the model does not
//! hold.

use super::summary::{restore_command, secs_text};
use super::{ConfigDrift, RunReport, ServerReport, StepOutcome};
use crate::report::text::short_time;

/// How one output format marks up inline text.
pub(super) trait Markup {
    /// Plain text, escaped for the format.
    fn text(&self, s: &str) -> String;
    /// Inline code (a step id, a file, a command).
    fn code(&self, s: &str) -> String;
    /// Emphasis (a server's name in a list).
    fn strong(&self, s: &str) -> String;
    /// A monospaced value that is not code (a run id).
    fn mono(&self, s: &str) -> String {
        self.text(s)
    }
    /// A failure outcome.
    fn fail(&self, s: &str) -> String {
        self.text(s)
    }
    /// A quoted setting value.
    fn quoted(&self, s: &str) -> String;
}

pub(super) const STEP_HEADERS: [&str; 7] = [
    "Step", "Outcome", "Run", "Started", "Finished", "Duration", "Detail",
];

pub(super) const RUN_HEADERS: [&str; 7] = [
    "#",
    "Run id",
    "Host",
    "Started",
    "Last record",
    "Duration",
    "Outcome",
];

/// One row per step of `s`, in [`STEP_HEADERS`] order.
pub(super) fn step_rows(m: &dyn Markup, s: &ServerReport) -> Vec<Vec<String>> {
    s.steps
        .iter()
        .map(|st| {
            let outcome = match st.outcome {
                StepOutcome::Skipped => m.text(&format!(
                    "skipped ({}done in run {})",
                    if st.already_done { "already " } else { "" },
                    st.run
                )),
                StepOutcome::Failed => m.fail(StepOutcome::Failed.as_str()),
                other => m.text(other.as_str()),
            };
            vec![
                m.code(&st.step),
                outcome,
                st.run.to_string(),
                m.text(&short_time(&st.started)),
                st.finished
                    .as_deref()
                    .map_or_else(|| "—".into(), |f| m.text(&short_time(f))),
                secs_text(st.duration_seconds),
                m.text(&st.detail),
            ]
        })
        .collect()
}

/// One row per run of `report`, in [`RUN_HEADERS`] order.
pub(super) fn run_rows(m: &dyn Markup, report: &RunReport) -> Vec<Vec<String>> {
    report
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                m.mono(&r.run_id),
                format!("{} (pid {})", m.text(&r.host), r.pid),
                m.text(&short_time(&r.started)),
                m.text(&short_time(&r.finished)),
                secs_text(r.duration_seconds),
                m.text(
                    r.outcome
                        .as_deref()
                        .unwrap_or("ended without a record (crash or kill)"),
                ),
            ]
        })
        .collect()
}

/// One line per server checked for reverted customisations (an error, or
/// "none"), and one per reverted setting with the command that puts it
/// back. `plan`: the plan's path for that command (`PLAN` when unknown).
pub(super) fn drift_lines(
    m: &dyn Markup,
    drift: &[ConfigDrift],
    plan: Option<&str>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for d in drift {
        let server = m.strong(&d.server);
        if let Some(e) = &d.error {
            lines.push(format!("{server}: not checked: {}", m.text(e)));
        } else if d.reverted.is_empty() {
            lines.push(format!(
                "{server}: none (compared with {})",
                m.text(&d.backup)
            ));
        }
        for r in &d.reverted {
            let value = |v: Option<&str>| v.map_or("(absent)".to_string(), |v| m.quoted(v));
            lines.push(format!(
                "{server} {} appSettings {}: was {}, now {} — {} puts it back",
                m.code(&r.file),
                m.code(&r.key),
                value(r.backup_value.as_deref()),
                value(r.current_value.as_deref()),
                m.code(&restore_command(plan, &d.server, &r.key))
            ));
        }
    }
    lines
}
