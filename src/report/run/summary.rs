//! The summary `run` prints on stdout when it ends (one aligned row per
//! server, then the totals), and the per-server summary rows and step
//! times the Markdown report shares with it.
//!
//! Text only: cleaning for the output format is the caller's choice
//! (`one_line` for a terminal, Markdown escaping for the report).

use std::fmt::Write as _;
use std::time::Duration;

use super::RunReport;
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
