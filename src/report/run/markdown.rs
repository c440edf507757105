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

use super::summary::{restore_command, secs_text, summary_rows};
use super::{ConfigDrift, RunReport, ServerReport, StepOutcome};
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

/// A step id as inline code (a backtick in it cannot end the span).
fn code(step: &str) -> String {
    format!("`{}`", step.replace('`', "'"))
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
    for d in drift {
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
            let value =
                |v: Option<&str>| v.map_or("(absent)".to_string(), |v| format!("'{}'", md(v)));
            let _ = writeln!(
                out,
                "- **{}** `{}` appSettings `{}`: was {}, now {} — {} puts it back",
                md(&d.server),
                md(&r.file),
                md(&r.key),
                value(r.backup_value.as_deref()),
                value(r.current_value.as_deref()),
                code_span(&restore_command(plan, &d.server, &r.key))
            );
        }
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
    let rows: Vec<Vec<String>> = s
        .steps
        .iter()
        .map(|st| {
            vec![
                code(&st.step),
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
        out,
        &[
            "Step", "Outcome", "Run", "Started", "Finished", "Duration", "Detail",
        ],
        &rows,
    );
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
        out,
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
