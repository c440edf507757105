//! The HTML form of the report: one self-contained page an admin can mail
//! to a change board or print.
//!
//! Self-contained means the page makes no request when opened: styles are
//! inline, and there are no scripts, links, fonts or images. Every value is
//! HTML-escaped (`& < > " ' =`), and `://` is written as `&#58;//` so that no
//! literal URL appears in the file (mail filters flag those, and nothing in
//! a report needs to be followed). Servers that need attention (blocked,
//! warnings, or unreachable) start expanded; the others start collapsed.

use std::fmt::Write as _;

use super::rows::{self, render_rows, Cell, Part, Property};
use super::what_will_happen::WhatWillHappen;
use super::{ad_steps, overall_label, verdict_label, Counts};
use crate::preflight::model::{OverallVerdict, Report, ServerReport, Verdict};

/// The pages' one style sheet (the run report's page uses it too).
const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "Segoe UI", system-ui, -apple-system, Helvetica, Arial, sans-serif;
       font-size: 14px; color: #1f2328; background: #fff; margin: 2em auto; max-width: 72em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.6em; }
h3 { font-size: 1em; margin: 1em 0 .4em; }
.meta { color: #59636e; margin-top: 0; }
code, .mono { font-family: Consolas, "Cascadia Mono", Menlo, monospace; font-size: .95em; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .6em .8em; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.kv th { width: 16em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05em .6em; border-radius: 1em; font-weight: 600; border: 1px solid; }
.ready { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.up-to-date { color: #0550ae; background: #ddf4ff; border-color: #54aeff; }
.blocked { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.warning { color: #6c4400; background: #fff8c5; border-color: #d4a72c; }
.ok { color: #116329; font-weight: 600; }
.fail { color: #a40e26; font-weight: 700; }
.overall { font-size: 1.15em; padding: .6em .8em; border: 1px solid; border-radius: .4em; }
ul.blockers li { color: #a40e26; }
ul.warnings li { color: #6c4400; }
details { border: 1px solid #d0d7de; border-radius: .4em; padding: .4em .8em; margin: .6em 0; }
details > summary { cursor: pointer; font-weight: 600; }
details[open] > summary { margin-bottom: .6em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  details::details-content { content-visibility: visible; display: block; }
  details > summary { list-style: none; }
  tr, li { break-inside: avoid; }
  .badge, .overall, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"#;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Written as an entity so that a value such as `<img src=x>`
            // cannot leave a literal `src=` in the file, even as text.
            '=' => out.push_str("&#61;"),
            c => out.push(c),
        }
    }
    out.replace("://", "&#58;//")
}

fn opt(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| esc(&v.to_string()))
}

fn verdict_class(verdict: Verdict) -> &'static str {
    verdict_label(verdict)
}

fn badge(verdict: Verdict) -> String {
    format!(
        r#"<span class="badge {}">{}</span>"#,
        verdict_class(verdict),
        verdict_label(verdict)
    )
}

fn ok_mark(ok: bool) -> &'static str {
    if ok {
        r#"<span class="ok">ok</span>"#
    } else {
        r#"<span class="fail">FAIL</span>"#
    }
}

/// A part of a [`rows`] cell in HTML: text escaped, builds in monospace,
/// what needs attention as a badge, a server's name linked to its section.
fn part(part: &Part) -> String {
    match part {
        Part::Text(t) => esc(t),
        Part::Mono(t) => format!(r#"<span class="mono">{}</span>"#, esc(t)),
        Part::Flag(t) => format!(r#"<span class="badge warning">{}</span>"#, esc(t)),
        // After a badge the words need no brackets to stand apart.
        Part::Detail(t) => format!(" {}", esc(t)),
        Part::Ok(ok) => ok_mark(*ok).to_owned(),
        Part::Verdict(v) => badge(*v),
        Part::Server { number, name } => {
            format!(r##"<a href="#server-{number}">{}</a>"##, esc(name))
        }
    }
}

/// A table of [`rows`] cells; `numeric` marks right-aligned columns.
fn cells(out: &mut String, headers: &[&str], numeric: &[usize], rows: &[Vec<Cell>]) {
    table(out, headers, numeric, &render_rows(rows, part));
}

/// A label/value table of [`rows`] properties.
fn properties(out: &mut String, props: &[Property]) {
    let rows: Vec<(&str, String)> = props
        .iter()
        .map(|(label, value)| (*label, value.render(part)))
        .collect();
    kv(out, &rows);
}

/// A table whose cells are already HTML; `numeric` marks right-aligned columns.
pub(crate) fn table(out: &mut String, headers: &[&str], numeric: &[usize], rows: &[Vec<String>]) {
    out.push_str("<table>\n<thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if numeric.contains(&i) {
                let _ = write!(out, r#"<td class="num">{cell}</td>"#);
            } else {
                let _ = write!(out, "<td>{cell}</td>");
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A two-column label/value table; values are already HTML.
pub(crate) fn kv(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<table class=\"kv\">\n");
    for (label, value) in rows {
        let _ = writeln!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    out.push_str("</table>\n");
}

/// A list of escaped text items.
pub(crate) fn list(out: &mut String, class: &str, items: &[String]) {
    let _ = writeln!(out, r#"<ul class="{class}">"#);
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", esc(item));
    }
    out.push_str("</ul>\n");
}

/// The start of a page, up to and including `<body>`: charset, viewport,
/// the escaped `title` and the inline style sheet.
pub(crate) fn page_start(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
}

/// The page; with `what`, a "What will happen" section after the servers.
pub(super) fn render(report: &Report, what: Option<&WhatWillHappen>) -> String {
    let t = &report.target;
    let mut out = String::new();
    page_start(&mut out, &format!("cu-roll pre-flight report — {}", t.name));

    let _ = writeln!(out, "<h1>cu-roll pre-flight report — {}</h1>", esc(&t.name));
    let _ = writeln!(
        out,
        r#"<p class="meta">Plan <code>{}</code> · generated {} by cu-roll {}</p>"#,
        esc(&report.plan),
        esc(&report.generated_at),
        esc(&report.tool_version)
    );
    let overall_class = match report.verdict {
        OverallVerdict::Ready => "ready",
        OverallVerdict::Blocked => "blocked",
    };
    let _ = writeln!(
        out,
        r#"<p class="overall {overall_class}">Overall verdict: <strong>{}</strong> — {}</p>"#,
        overall_label(report.verdict),
        Counts::of(report)
    );
    if !report.blockers.is_empty() {
        out.push_str("<h2>Plan-wide blockers</h2>\n");
        list(&mut out, "blockers", &report.blockers);
    }

    summary(&mut out, report);
    if let Some(what) = what {
        what_will_happen(&mut out, what);
    }
    target(&mut out, report);
    ad_preparation(&mut out, report);

    out.push_str("<h2>Server details</h2>\n");
    for (i, server) in report.servers.iter().enumerate() {
        server_details(&mut out, i, server, &t.build);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The overview, with a "Why" column: each blocker's reason (or why the
/// server could not be read), so the table alone answers "can we go?".
/// The column is left out when no server has a reason.
fn summary(out: &mut String, report: &Report) {
    out.push_str("<h2>Servers</h2>\n");
    let mut headers = rows::SERVER_COLUMNS.to_vec();
    let mut html = render_rows(&rows::servers(report), part);
    let reasons: Vec<String> = report.servers.iter().map(why).collect();
    if reasons.iter().any(|r| !r.is_empty()) {
        headers.push("Why");
        for (row, why) in html.iter_mut().zip(reasons) {
            row.push(why);
        }
    }
    table(out, &headers, &[], &html);
}

/// The reasons a server is blocked, one per line; its read error when it
/// has no blocker of its own.
fn why(s: &ServerReport) -> String {
    let mut reasons: Vec<String> = s.blockers.iter().map(|b| esc(b)).collect();
    if reasons.is_empty() {
        if let Some(e) = &s.error {
            reasons.push(esc(e));
        }
    }
    reasons.join("<br>\n")
}

fn what_will_happen(out: &mut String, what: &WhatWillHappen) {
    out.push_str("<h2>What will happen</h2>\n");
    if what.blocked {
        out.push_str("<p><span class=\"badge blocked\">blocked</span> Nothing starts until the blockers above are fixed; then:</p>\n");
    }
    let rolled = what.servers.iter().filter(|s| s.skipped.is_none()).count();
    let _ = writeln!(
        out,
        "<p>{rolled} server{} to upgrade, expected to take about <strong>{}</strong> in all.</p>",
        if rolled == 1 { "" } else { "s" },
        esc(&super::text::format_duration(what.estimate))
    );
    out.push_str("<h3>Order</h3>\n<ol>\n");
    for s in &what.servers {
        let dag = s
            .dag
            .as_deref()
            .map_or_else(String::new, |d| format!(" ({})", esc(d)));
        match &s.skipped {
            None => {
                let _ = writeln!(
                    out,
                    "<li><strong>{}</strong>{dag}: upgraded, about {}</li>",
                    esc(&s.name),
                    esc(&super::text::format_duration(s.estimate))
                );
            }
            Some(why) => {
                let _ = writeln!(
                    out,
                    "<li>{}{dag}: <span class=\"badge up-to-date\">skipped</span> {}</li>",
                    esc(&s.name),
                    esc(why)
                );
            }
        }
    }
    out.push_str("</ol>\n");
    if !what.steps.is_empty() {
        out.push_str("<h3>Steps on each server</h3>\n");
        let rows: Vec<Vec<String>> = what
            .steps
            .iter()
            .map(|st| {
                vec![
                    format!("<code>{}</code>", esc(&st.step)),
                    if st.gated {
                        "after the gate passes"
                    } else {
                        ""
                    }
                    .to_string(),
                    st.estimate.map_or_else(
                        || "once per DAG, after its last server".to_string(),
                        |d| esc(&super::text::format_duration(d)),
                    ),
                ]
            })
            .collect();
        table(out, &["Step", "Gate", "Expected time"], &[], &rows);
    }
    out.push_str("<h3>Availability policy</h3>\n");
    list(out, "policy", &what.policy);
    out.push_str("<h3>Impact: active databases that move</h3>\n");
    if what.moves.is_empty() {
        out.push_str("<p>None: no server that rolls holds an active database now.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = what
            .moves
            .iter()
            .map(|m| {
                vec![
                    esc(&m.server),
                    esc(&m.database),
                    m.to.as_deref().map_or_else(
                        || r#"<span class="fail">no healthy copy elsewhere</span>"#.to_string(),
                        esc,
                    ),
                    if m.back_after {
                        "yes, after the server"
                    } else {
                        "at the end of its DAG"
                    }
                    .to_string(),
                ]
            })
            .collect();
        table(
            out,
            &[
                "While out of service",
                "Database",
                "Expected to move to",
                "Moves back",
            ],
            &[],
            &rows,
        );
        out.push_str("<p class=\"meta\">Exchange's Active Manager picks the copy (best copy selection); this is the expected choice: the healthiest copy by activation preference.</p>\n");
    }
    out.push_str("<h3>Backup and rollback</h3>\n");
    list(out, "rollback", &what.rollback);
}

fn target(out: &mut String, report: &Report) {
    let t = &report.target;
    out.push_str("<h2>Target</h2>\n");
    properties(out, &rows::target(t));
    if !t.notes.is_empty() {
        list(out, "warnings", &t.notes);
    }
}

fn ad_preparation(out: &mut String, report: &Report) {
    let ad = &report.ad_preparation;
    out.push_str("<h2>AD preparation</h2>\n");
    let steps = ad_steps(ad);
    if let Some(error) = &ad.error {
        let _ = writeln!(
            out,
            r#"<p><span class="badge warning">levels could not be read</span> {}</p>"#,
            esc(error)
        );
    } else if steps.is_empty() {
        out.push_str(
            "<p><span class=\"badge ready\">not needed</span> Active Directory is at the target's levels.</p>\n",
        );
    } else {
        let _ = writeln!(
            out,
            r#"<p><span class="badge blocked">needed: {}</span></p>"#,
            esc(&steps.join(", "))
        );
    }
    cells(out, &rows::AD_LEVEL_COLUMNS, &[1, 2], &rows::ad_levels(ad));
    if !ad.commands.is_empty() {
        out.push_str("<p>Run before the first server, in this order:</p>\n<pre>");
        for command in &ad.commands {
            let _ = writeln!(out, "{}", esc(command));
        }
        out.push_str("</pre>\n");
    }
}

fn server_details(out: &mut String, index: usize, s: &ServerReport, target_build: &str) {
    let needs_attention =
        s.verdict == Verdict::Blocked || !s.warnings.is_empty() || s.error.is_some();
    let _ = writeln!(
        out,
        r#"<details id="server-{}"{}>"#,
        index + 1,
        if needs_attention { " open" } else { "" }
    );
    let _ = writeln!(
        out,
        "<summary>{} {} ({}) — {}</summary>",
        badge(s.verdict),
        esc(&s.name),
        esc(&s.fqdn),
        opt(s.build_name.as_deref())
    );
    if let Some(error) = &s.error {
        let _ = writeln!(
            out,
            r#"<p class="fail">Could not query the server: {}</p>"#,
            esc(error)
        );
    }
    properties(out, &rows::server_properties(s, target_build));

    if let Some(m) = s
        .maintenance
        .as_ref()
        .filter(|m| !m.inactive_components.is_empty())
    {
        out.push_str("<h3>Components not Active</h3>\n");
        let components = rows::components(m);
        cells(out, &rows::COMPONENT_COLUMNS, &[], &components);
    }

    out.push_str("<h3>Prerequisites</h3>\n");
    if s.prerequisites.is_empty() {
        out.push_str("<p>Not checked.</p>\n");
    } else {
        let prerequisites = rows::prerequisites(s);
        cells(out, &rows::PREREQUISITE_COLUMNS, &[], &prerequisites);
    }

    out.push_str("<h3>Database copies</h3>\n");
    if s.copies.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        let copies = rows::copies(&s.copies);
        cells(out, &rows::COPY_COLUMNS, &[3, 4, 5], &copies);
    }

    let _ = writeln!(out, "<h3>Verdict: {}</h3>", badge(s.verdict));
    if !s.blockers.is_empty() {
        out.push_str("<p>Blockers:</p>\n");
        list(out, "blockers", &s.blockers);
    }
    if !s.warnings.is_empty() {
        out.push_str("<p>Warnings:</p>\n");
        list(out, "warnings", &s.warnings);
    }
    out.push_str("</details>\n");
}

/// Asserts the page makes no request when opened (the run report's and
/// "what will happen"'s tests use it too).
#[cfg(test)]
pub(crate) fn assert_self_contained(out: &str) {
    let lower = out.to_ascii_lowercase();
    for forbidden in [
        "http://",
        "https://",
        "<link",
        "src=",
        "<script",
        "<img",
        "@import",
        "url(",
        "@font-face",
    ] {
        assert!(!lower.contains(forbidden), "html contains {forbidden:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Ad};
    use super::*;

    #[test]
    fn html_with_ad_preparation_needed() {
        let out = render(&fixture::report(Ad::NeedsPrepareAd), None);
        assert_self_contained(&out);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn html_with_ad_prepared() {
        let out = render(&fixture::report(Ad::Prepared), None);
        assert_self_contained(&out);
        assert!(out.contains(r#"<meta charset="utf-8">"#));
        assert!(out.contains(
            "<title>cu-roll pre-flight report — Exchange Server 2019 CU15 Feb26SU</title>"
        ));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn hostile_values_are_escaped() {
        let mut report = fixture::report(Ad::Prepared);
        report.servers[0].name = "<script>alert(1)</script>".to_owned();
        report.servers[1].fqdn = r#"ex02" onmouseover="x'"#.to_owned();
        report.servers[2].blockers[0] = "see https://evil.example/a.js & <img src=x>".to_owned();
        let out = render(&report, None);
        assert_self_contained(&out);
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(out.contains("ex02&quot; onmouseover&#61;&quot;x&#39;"));
        assert!(out.contains("see https&#58;//evil.example/a.js &amp; &lt;img src&#61;x&gt;"));
    }

    #[test]
    fn servers_needing_attention_start_expanded() {
        let out = render(&fixture::report(Ad::Prepared), None);
        assert!(out.contains(r#"<details id="server-1">"#));
        assert!(out.contains(r#"<details id="server-2">"#));
        assert!(out.contains(r#"<details id="server-3" open>"#));
    }
}
