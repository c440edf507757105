//! Writes the run report into the state directory as `run-report.json`,
//! `run-report.md` and `run-report.html`, each through a temporary file renamed over the old
//! one, so a reader sees the previous report or the new one, never a mix.
//!
//! The only part of the run report that touches the disk; it never reads
//! the journal and renders nothing itself.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{render_html, render_json, render_markdown, RunReport};

pub const JSON_FILE: &str = "run-report.json";
pub const MARKDOWN_FILE: &str = "run-report.md";
pub const HTML_FILE: &str = "run-report.html";

#[derive(Debug, thiserror::Error)]
pub enum RunReportError {
    #[error("cannot write the run report {path}: {source}; the journal is intact, so `cu-roll status {plan}` still shows the outcome", plan = plan.display())]
    Write {
        path: PathBuf,
        /// The plan the report is of, named in the advice.
        plan: PathBuf,
        source: std::io::Error,
    },
}

/// Where [`write`] put the three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReport {
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub html: PathBuf,
}

/// Writes `run-report.json`, `run-report.md` and `run-report.html` into `state_dir`, each
/// through a temporary file renamed over the old one, so a reader sees the
/// previous report or the new one, never a mix. `plan` is the plan file the
/// report is of, named in the error.
pub fn write(
    state_dir: &Path,
    plan: &Path,
    report: &RunReport,
) -> Result<WrittenReport, RunReportError> {
    let json = state_dir.join(JSON_FILE);
    let markdown = state_dir.join(MARKDOWN_FILE);
    write_atomic(state_dir, plan, &json, &render_json(report))?;
    let html = state_dir.join(HTML_FILE);
    write_atomic(state_dir, plan, &markdown, &render_markdown(report))?;
    write_atomic(state_dir, plan, &html, &render_html(report))?;
    Ok(WrittenReport {
        json,
        markdown,
        html,
    })
}

fn write_atomic(dir: &Path, plan: &Path, path: &Path, text: &str) -> Result<(), RunReportError> {
    let err = |source| RunReportError::Write {
        path: path.to_path_buf(),
        plan: plan.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
