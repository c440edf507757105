//! The summary `run` prints on stdout when it ends (one aligned row per
//! server, then the totals), and the per-server summary rows and step
//! times the Markdown report shares with it.
//!
//! Text only: cleaning for the output format is the caller's choice
//! (`one_line` for a terminal, Markdown escaping for the report).

use std::fmt::Write as _;
use std::time::Duration;

use super::{RunReport, Totals};
use crate::report::text::{format_duration, grid, one_line};

pub(super) fn secs_text(secs: Option<f64>) -> String {
    secs.map_or_else(
        || "-".to_string(),
        |s| format_duration(Duration::from_secs_f64(s.max(0.0))),
    )
}

/// One summary row per server (SERVER, DAG, RESULT, STEPS DONE, TIME),
/// text cleaned with `clean` for the output format, `none` for absent values.
pub(super) fn summary_rows(
    report: &RunReport,
    clean: fn(&str) -> String,
    none: &str,
) -> Vec<Vec<String>> {
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
    let _ = writeln!(out, "\n{}: {} made", report.outcome, counts(&report.totals));
    out
}

/// `2 done, 1 skipped, 0 failed, 0 in progress, 0 pending; 42 changes`
/// (the summary's last line, and the end notification's).
pub fn counts(t: &Totals) -> String {
    format!(
        "{} done, {} skipped, {} failed, {} in progress, {} pending; {} change{}",
        t.servers_done,
        t.servers_skipped,
        t.servers_failed,
        t.servers_in_progress,
        t.servers_pending,
        t.changes,
        if t.changes == 1 { "" } else { "s" }
    )
}

/// The command that puts a reverted setting back; `PLAN` when the plan's
/// path is not known.
pub(super) fn restore_command(plan: Option<&str>, server: &str, key: &str) -> String {
    format!(
        "cu-roll restore-config {} --server {server} --key {key}",
        plan.unwrap_or("PLAN")
    )
}
