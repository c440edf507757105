//! The GitHub-flavoured Markdown form of the report, for a change ticket or
//! a wiki page.
//!
//! Every value is escaped so that it renders as the literal text it is: a
//! `|` cannot end a table cell, a `<` cannot open an HTML tag, a newline
//! cannot start a heading. Commands go in fenced code blocks, whose fence is
//! made longer than any run of backticks inside.

use std::fmt::Write as _;

use super::rows::{self, render_rows, Cell, Part, Property};
use super::{ad_steps, overall_label, verdict_label, Counts};
use crate::preflight::model::{Report, ServerReport};

/// Escapes `text` for a Markdown paragraph, list item or table cell.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

fn ok_mark(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "**FAIL**"
    }
}

/// A part of a [`rows`] cell in Markdown: text escaped, what needs
/// attention in bold, no links (the sections are one scroll away).
fn part(part: &Part) -> String {
    match part {
        Part::Text(t) | Part::Mono(t) | Part::Server { name: t, .. } => esc(t),
        Part::Flag(t) => format!("**{}**", esc(t)),
        Part::Detail(t) => format!(" ({})", esc(t)),
        Part::Ok(ok) => ok_mark(*ok).to_owned(),
        Part::Verdict(v) => format!("**{}**", verdict_label(*v)),
    }
}

/// A `Property | Value` table of [`rows`] properties.
fn properties(out: &mut String, props: &[Property]) {
    let rows: Vec<Vec<String>> = props
        .iter()
        .map(|(label, value)| vec![(*label).to_owned(), value.render(part)])
        .collect();
    table(out, &["Property", "Value"], &rows);
}

/// A table of [`rows`] cells under `headers`.
fn cells(out: &mut String, headers: &[&str], rows: &[Vec<Cell>]) {
    table(out, headers, &render_rows(rows, part));
}

/// A GitHub-flavoured table; cells must already be escaped.
pub(crate) fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn code_block(out: &mut String, lines: &[String]) {
    let longest_run = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let _ = writeln!(out, "{fence}");
    for line in lines {
        // A newline inside one command would make it two; keep it one line.
        let _ = writeln!(out, "{}", line.replace(['\r', '\n'], " "));
    }
    let _ = writeln!(out, "{fence}\n");
}

fn bullets(out: &mut String, items: &[String]) {
    for item in items {
        let _ = writeln!(out, "- {}", esc(item));
    }
    out.push('\n');
}

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.target;
    let _ = writeln!(out, "# cu-roll pre-flight report — {}\n", esc(&t.name));
    let _ = writeln!(
        out,
        "Plan {} · generated {} by cu-roll {}\n",
        esc(&report.plan),
        esc(&report.generated_at),
        esc(&report.tool_version)
    );
    let _ = writeln!(
        out,
        "**Overall verdict: {}** — {}\n",
        overall_label(report.verdict),
        Counts::of(report)
    );
    if !report.blockers.is_empty() {
        let _ = writeln!(out, "Plan-wide blockers:\n");
        bullets(&mut out, &report.blockers);
    }

    let _ = writeln!(out, "## Target\n");
    properties(&mut out, &rows::target(t));
    if !t.notes.is_empty() {
        bullets(&mut out, &t.notes);
    }

    ad_preparation(&mut out, report);

    let _ = writeln!(out, "## Servers\n");
    cells(&mut out, &rows::SERVER_COLUMNS, &rows::servers(report));

    for server in &report.servers {
        server_section(&mut out, server, &t.build);
    }
    // One trailing newline, not the blank line every block leaves behind.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn ad_preparation(out: &mut String, report: &Report) {
    let ad = &report.ad_preparation;
    let _ = writeln!(out, "## AD preparation\n");
    let steps = ad_steps(ad);
    if let Some(error) = &ad.error {
        let _ = writeln!(out, "**Levels could not be read:** {}\n", esc(error));
    } else if steps.is_empty() {
        let _ = writeln!(
            out,
            "Not needed: Active Directory is at the target's levels.\n"
        );
    } else {
        let _ = writeln!(out, "**Needed: {}**\n", esc(&steps.join(", ")));
    }
    cells(out, &rows::AD_LEVEL_COLUMNS, &rows::ad_levels(ad));
    if !ad.commands.is_empty() {
        let _ = writeln!(out, "Run before the first server, in this order:\n");
        code_block(out, &ad.commands);
    }
}

fn server_section(out: &mut String, s: &ServerReport, target_build: &str) {
    let _ = writeln!(
        out,
        "### {} ({}) — {}\n",
        esc(&s.name),
        esc(&s.fqdn),
        verdict_label(s.verdict)
    );
    if let Some(error) = &s.error {
        let _ = writeln!(out, "**Could not query the server:** {}\n", esc(error));
    }
    properties(out, &rows::server_properties(s, target_build));

    if let Some(m) = s
        .maintenance
        .as_ref()
        .filter(|m| !m.inactive_components.is_empty())
    {
        let _ = writeln!(out, "Components not Active:\n");
        let components = rows::components(m);
        cells(out, &rows::COMPONENT_COLUMNS, &components);
    }

    let _ = writeln!(out, "Prerequisites:\n");
    if s.prerequisites.is_empty() {
        let _ = writeln!(out, "_not checked_\n");
    } else {
        cells(out, &rows::PREREQUISITE_COLUMNS, &rows::prerequisites(s));
    }

    let _ = writeln!(out, "Database copies:\n");
    if s.copies.is_empty() {
        let _ = writeln!(out, "_none_\n");
    } else {
        cells(out, &rows::COPY_COLUMNS, &rows::copies(&s.copies));
    }

    let _ = writeln!(out, "**Verdict: {}**\n", verdict_label(s.verdict));
    if !s.blockers.is_empty() {
        let _ = writeln!(out, "Blockers:\n");
        bullets(out, &s.blockers);
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(out, "Warnings:\n");
        bullets(out, &s.warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Ad};
    use super::*;

    #[test]
    fn markdown_with_ad_preparation_needed() {
        insta::assert_snapshot!(render(&fixture::report(Ad::NeedsPrepareAd)));
    }

    #[test]
    fn markdown_with_ad_prepared() {
        let out = render(&fixture::report(Ad::Prepared));
        assert!(out.contains("Not needed"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn pipes_and_tags_in_values_stay_inside_their_cell() {
        let mut report = fixture::report(Ad::Prepared);
        report.servers[0].name = "<script>alert(1)</script>".to_owned();
        report.servers[0].build_name = Some("CU14 | evil | cell\n# heading".to_owned());
        let out = render(&report);
        let row = out
            .lines()
            .find(|l| l.contains("alert(1)") && l.contains("evil"))
            .expect("summary row");
        assert!(row.contains(r"CU14 \| evil \| cell \# heading"), "{row}");
        assert!(row.contains(r"\<script\>alert(1)\</script\>"), "{row}");
        // Six columns: seven unescaped pipes.
        let bare_pipes = row.replace(r"\|", "").matches('|').count();
        assert_eq!(bare_pipes, 7, "{row}");
        assert!(!out.contains("<script>"));
        assert!(!out.lines().any(|l| l.starts_with("# heading")));
    }

    #[test]
    fn code_fence_outgrows_backticks_in_a_command() {
        let mut out = String::new();
        code_block(&mut out, &["echo ```".to_owned()]);
        assert!(out.starts_with("````\n"), "{out}");
    }
}
