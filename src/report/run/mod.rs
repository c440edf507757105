//! The run report: what a rollout did, per server and per step (outcome,
//! start, end, duration, detail), what cu-roll changed, totals and the
//! availability verdict, built from the journal at the end of every run
//! (success or stop) and written into the state directory as
//! `run-report.json`, `run-report.md` and `run-report.html`; plus the summary table `run`
//! prints on stdout.
//!
//! One room per reason to change: the data model ([`model`]), the fold
//! from journal entries ([`build()`]), the four renderers (JSON, summary
//! table, Markdown, HTML) and the writer ([`write()`]). Building and rendering
//! are pure functions over journal entries; only [`write()`] touches the
//! disk (temp file + rename, so a reader never sees half a report). This
//! module decides nothing about the rollout and never reads the journal
//! file itself. The JSON is a documented interface (docs/run-report.md):
//! fields are only added.

mod build;
mod html;
mod json;
mod markdown;
mod model;
mod rows;
mod summary;
mod write;

pub use build::{build, describe_change};
pub use html::render_html;
pub use json::render_json;
pub use markdown::render_markdown;
pub use model::{
    AvailabilityVerdict, ChangeReport, ConfigDrift, ObservationReport, RevertedSetting, RunInfo,
    RunReport, ServerReport, StepOutcome, StepReport, Target, Totals,
};
pub use summary::{counts, summary_table};
pub use write::{write, RunReportError, WrittenReport, HTML_FILE, JSON_FILE, MARKDOWN_FILE};

#[cfg(test)]
mod tests;
