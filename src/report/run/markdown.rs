//! The run report as GitHub-flavoured Markdown (`run-report.md`), for a
//! person or a change ticket: the outcome and totals, the summary table,
//! availability incidents, reverted config customisations, then per server
//! its steps, earlier failed attempts, changes and observations, and last
//! the runs.
//!
//! Every value that came from a server or the journal is escaped with the
//! pre-flight report's Markdown escaping, so it renders as the literal text
//! it is. Presentation only: the numbers come from the model as built.

use std::fmt::Write as _;

use super::rows::{drift_lines, run_rows, step_rows, Markup, RUN_HEADERS, STEP_HEADERS};
use super::summary::summary_rows;
use super::{ConfigDrift, RunReport, ServerReport};
use crate::report::markdown::{esc as md, table as md_table};
use crate::report::text::short_time;

pub fn render_markdown(report: &RunReport) -> String {
    let mut out = String::from("# cu-roll run report\n\n");
    overview(&mut out, report);
    out.push_str("## Summary\n\n");
    let rows = summary_rows(report, md, "—");
    md_table(
        &mut out,
        &["Server", "DAG", "Result", "Steps done", "Time"],
        &rows,
    );
    incidents(&mut out, report);
    config_drift(&mut out, &report.config_drift, report.plan.as_deref());
    for s in &report.servers {
        server_section(&mut out, s);
    }
    runs(&mut out, report);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A step id as inline code.
fn code(step: &str) -> String {
    code_span(step)
}

/// Markdown's inline markup for the shared rows.
struct Md;

impl Markup for Md {
    fn text(&self, s: &str) -> String {
        md(s)
    }
    fn code(&self, s: &str) -> String {
        code_span(s)
    }
    fn strong(&self, s: &str) -> String {
        format!("**{}**", md(s))
    }
    fn quoted(&self, s: &str) -> String {
        format!("'{}'", md(s))
    }
}

/// The bullet list under the title: outcome, target, steps, changes and
/// the availability verdict.
fn overview(out: &mut String, report: &RunReport) {
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
}

fn incidents(out: &mut String, report: &RunReport) {
    let Some(a) = report
        .availability
        .as_ref()
        .filter(|a| !a.incidents.is_empty())
    else {
        return;
    };
    out.push_str("## Availability incidents\n\n");
    for i in &a.incidents {
        let _ = writeln!(out, "- {}", md(i));
    }
    out.push('\n');
}

/// `plan`: the plan's path for the command quoted (`PLAN` when unknown).
fn config_drift(out: &mut String, drift: &[ConfigDrift], plan: Option<&str>) {
    if drift.is_empty() {
        return;
    }
    out.push_str("## Config customisations the upgrade reverted\n\n");
    for line in drift_lines(&Md, drift, plan) {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

/// One server: heading, error, steps table, earlier failed attempts, the
/// changes cu-roll made and what it found already done.
fn server_section(out: &mut String, s: &ServerReport) {
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
    steps_table(out, s);
    earlier_errors(out, s);
    let changes = s
        .changes
        .iter()
        .map(|c| (c.at.as_str(), c.step.as_str(), c.description.as_str()));
    timed_list(out, "Changes made by cu-roll", changes);
    let observations = s
        .observations
        .iter()
        .map(|o| (o.at.as_str(), o.step.as_str(), o.what.as_str()));
    timed_list(out, "Found on the server", observations);
}

fn steps_table(out: &mut String, s: &ServerReport) {
    if s.steps.is_empty() {
        out.push_str("No step ran on this server.\n\n");
        return;
    }
    md_table(out, &STEP_HEADERS, &step_rows(&Md, s));
}

fn earlier_errors(out: &mut String, s: &ServerReport) {
    if s.steps.iter().all(|st| st.earlier_errors.is_empty()) {
        return;
    }
    out.push_str("Earlier attempts that failed:\n\n");
    for st in &s.steps {
        for e in &st.earlier_errors {
            let _ = writeln!(out, "- {}: {}", code(&st.step), md(e));
        }
    }
    out.push('\n');
}

/// A titled list of `(time, step, text)` items, one bullet each; nothing
/// when there are none. Changes and observations read the same way.
fn timed_list<'a>(
    out: &mut String,
    title: &str,
    items: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) {
    let mut items = items.peekable();
    if items.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "{title}:\n");
    for (at, step, text) in items {
        let _ = writeln!(out, "- {} {}: {}", short_time(at), code(step), md(text));
    }
    out.push('\n');
}

fn runs(out: &mut String, report: &RunReport) {
    if report.runs.is_empty() {
        return;
    }
    out.push_str("## Runs\n\n");
    md_table(out, &RUN_HEADERS, &run_rows(&Md, report));
}

/// `text` as one Markdown code span, copied as it is: backslash escapes do
/// not work inside one, so the fence is longer than any run of backticks in
/// the text (CommonMark 6.1), and line breaks become spaces.
pub(super) fn code_span(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}
