//! The run report as one self-contained HTML page (`run-report.html`), to
//! close the change: the outcome as a coloured banner, the totals, the
//! summary table, availability incidents, reverted config customisations,
//! then per server its steps, earlier failed attempts, changes and
//! observations, and last the runs. The same content as the Markdown form,
//! with the pre-flight page's style sheet, escaping and self-containment
//! (no scripts, links, fonts or images; no literal URL: see
//! `report::html`). Servers that failed or stopped start expanded; it
//! prints fully expanded.
//!
//! Presentation only: the numbers come from the model as built.

use std::fmt::Write as _;

use super::rows::{drift_lines, run_rows, step_rows, Markup, RUN_HEADERS, STEP_HEADERS};
use super::summary::secs_text;
use super::{ConfigDrift, RunReport, ServerReport};
use crate::report::html::{esc, kv, list, page_start, table};
use crate::report::status::ServerState;
use crate::report::text::short_time;

pub fn render_html(report: &RunReport) -> String {
    let target = report
        .target
        .as_ref()
        .map_or_else(|| "unknown target".to_string(), |t| t.name.clone());
    let mut out = String::new();
    page_start(&mut out, &format!("cu-roll run report — {target}"));
    let _ = writeln!(out, "<h1>cu-roll run report — {}</h1>", esc(&target));
    let last = report.runs.last();
    let _ = writeln!(
        out,
        r#"<p class="meta">Plan <code>{}</code> · last run {} on {} · cu-roll {}</p>"#,
        esc(report.plan.as_deref().unwrap_or("—")),
        last.map_or_else(|| "—".into(), |r| esc(&short_time(&r.finished))),
        last.map_or_else(|| "—".into(), |r| esc(&r.host)),
        last.map_or_else(|| "—".into(), |r| esc(&r.tool_version)),
    );
    banner(&mut out, report);
    overview(&mut out, report);
    summary(&mut out, report);
    incidents(&mut out, report);
    config_drift(&mut out, &report.config_drift, report.plan.as_deref());
    out.push_str("<h2>Servers</h2>\n");
    for (i, s) in report.servers.iter().enumerate() {
        server_section(&mut out, i, s);
    }
    runs(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

/// The badge class of a server's result, in the pre-flight page's colours.
fn result_class(state: ServerState) -> &'static str {
    match state {
        ServerState::Done => "ready",
        ServerState::Skipped => "up-to-date",
        ServerState::Failed => "blocked",
        _ => "warning",
    }
}

fn result_badge(state: ServerState) -> String {
    format!(
        r#"<span class="badge {}">{}</span>"#,
        result_class(state),
        state.as_str()
    )
}

fn banner(out: &mut String, report: &RunReport) {
    let class = match report.outcome.as_str() {
        "done" => "ready",
        "failed" => "blocked",
        _ => "warning",
    };
    let t = &report.totals;
    let _ = writeln!(
        out,
        r#"<p class="overall {class}">Outcome: <strong>{}</strong> — {} of {} servers done, {} skipped, {} failed, {} in progress, {} pending</p>"#,
        esc(&report.outcome),
        t.servers_done,
        t.servers,
        t.servers_skipped,
        t.servers_failed,
        t.servers_in_progress,
        t.servers_pending
    );
}

fn overview(out: &mut String, report: &RunReport) {
    let t = &report.totals;
    let mut rows = Vec::new();
    if let Some(target) = &report.target {
        rows.push((
            "Target",
            format!(
                r#"{} (<span class="mono">{}</span>)"#,
                esc(&target.name),
                esc(&target.build)
            ),
        ));
    }
    rows.push((
        "Steps",
        format!(
            "{} done, {} already done, {} skipped (done in an earlier run), {} failed, {} interrupted",
            t.steps_done, t.steps_already_done, t.steps_skipped, t.steps_failed, t.steps_interrupted
        ),
    ));
    rows.push(("Changes made by cu-roll", t.changes.to_string()));
    let availability = match &report.availability {
        None => "not checked".to_string(),
        Some(a) if a.kept => {
            r#"<span class="ok">kept</span> — no database lost its last mounted copy"#.to_string()
        }
        Some(a) => format!(
            r#"<span class="fail">BROKEN</span> — {} incident(s), listed below"#,
            a.incidents.len()
        ),
    };
    rows.push(("Availability", availability));
    kv(out, &rows);
}

fn summary(out: &mut String, report: &RunReport) {
    out.push_str("<h2>Summary</h2>\n");
    let rows: Vec<Vec<String>> = report
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                format!(r##"<a href="#server-{}">{}</a>"##, i + 1, esc(&s.name)),
                s.dag.as_deref().map_or_else(|| "—".into(), esc),
                result_badge(s.result),
                s.steps_done.to_string(),
                if s.steps.is_empty() {
                    "—".to_string()
                } else {
                    secs_text(Some(s.duration_seconds))
                },
                s.error.as_deref().map_or_else(String::new, esc),
            ]
        })
        .collect();
    table(
        out,
        &["Server", "DAG", "Result", "Steps done", "Time", "Why"],
        &[3, 4],
        &rows,
    );
}

fn incidents(out: &mut String, report: &RunReport) {
    let Some(a) = report
        .availability
        .as_ref()
        .filter(|a| !a.incidents.is_empty())
    else {
        return;
    };
    out.push_str("<h2>Availability incidents</h2>\n");
    list(out, "blockers", &a.incidents);
}

/// `plan`: the plan's path for the command quoted (`PLAN` when unknown).
fn config_drift(out: &mut String, drift: &[ConfigDrift], plan: Option<&str>) {
    if drift.is_empty() {
        return;
    }
    out.push_str("<h2>Config customisations the upgrade reverted</h2>\n<ul class=\"warnings\">\n");
    for line in drift_lines(&Html, drift, plan) {
        let _ = writeln!(out, "<li>{line}</li>");
    }
    out.push_str("</ul>\n");
}

fn server_section(out: &mut String, index: usize, s: &ServerReport) {
    let open = !matches!(s.result, ServerState::Done | ServerState::Skipped) || s.error.is_some();
    let _ = writeln!(
        out,
        r#"<details id="server-{}"{}>"#,
        index + 1,
        if open { " open" } else { "" }
    );
    let _ = writeln!(
        out,
        "<summary>{} {}{}</summary>",
        result_badge(s.result),
        esc(&s.name),
        s.dag
            .as_deref()
            .map_or_else(String::new, |d| format!(" ({})", esc(d)))
    );
    if let Some(e) = &s.error {
        let _ = writeln!(out, r#"<p class="fail">Error: {}</p>"#, esc(e));
    }
    steps_table(out, s);
    let earlier: Vec<String> = s
        .steps
        .iter()
        .flat_map(|st| {
            st.earlier_errors
                .iter()
                .map(|e| format!("{}: {e}", st.step))
        })
        .collect();
    if !earlier.is_empty() {
        out.push_str("<h3>Earlier attempts that failed</h3>\n");
        list(out, "warnings", &earlier);
    }
    let changes: Vec<String> = s
        .changes
        .iter()
        .map(|c| format!("{} {}: {}", short_time(&c.at), c.step, c.description))
        .collect();
    if !changes.is_empty() {
        out.push_str("<h3>Changes made by cu-roll</h3>\n");
        list(out, "changes", &changes);
    }
    let found: Vec<String> = s
        .observations
        .iter()
        .map(|o| format!("{} {}: {}", short_time(&o.at), o.step, o.what))
        .collect();
    if !found.is_empty() {
        out.push_str("<h3>Found on the server</h3>\n");
        list(out, "observations", &found);
    }
    out.push_str("</details>\n");
}

fn steps_table(out: &mut String, s: &ServerReport) {
    if s.steps.is_empty() {
        out.push_str("<p>No step ran on this server.</p>\n");
        return;
    }
    table(out, &STEP_HEADERS, &[2, 5], &step_rows(&Html, s));
}

fn runs(out: &mut String, report: &RunReport) {
    if report.runs.is_empty() {
        return;
    }
    out.push_str("<h2>Runs</h2>\n");
    table(out, &RUN_HEADERS, &[0, 5], &run_rows(&Html, report));
}

/// HTML's inline markup for the shared rows.
struct Html;

impl Markup for Html {
    fn text(&self, s: &str) -> String {
        esc(s)
    }
    fn code(&self, s: &str) -> String {
        format!("<code>{}</code>", esc(s))
    }
    fn strong(&self, s: &str) -> String {
        format!("<strong>{}</strong>", esc(s))
    }
    fn mono(&self, s: &str) -> String {
        format!(r#"<span class="mono">{}</span>"#, esc(s))
    }
    fn fail(&self, s: &str) -> String {
        format!(r#"<span class="fail">{}</span>"#, esc(s))
    }
    fn quoted(&self, s: &str) -> String {
        format!("&#39;{}&#39;", esc(s))
    }
}
