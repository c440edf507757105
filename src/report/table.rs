//! The terminal form of the report: aligned plain text, with ANSI colours
//! only when the caller says the output is a terminal.
//!
//! Widths are computed from the cleaned text (control characters escaped, so
//! a value read from a server can neither break the alignment nor smuggle
//! terminal escape sequences), and colour codes are added after padding so
//! they never count towards a column's width. Each server's block is laid
//! out in `server`.

mod server;

use std::fmt::Write as _;

use super::{ad_steps, overall_label, verdict_label, yes_no, Counts};
use crate::preflight::model::{AdLevels, OverallVerdict, Report, Verdict};
use server::server_block;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Green,
    Cyan,
    Red,
    Yellow,
    Bold,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Green => "32",
            Style::Cyan => "36",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Bold => "1",
        }
    }

    fn of_verdict(verdict: Verdict) -> Style {
        match verdict {
            Verdict::Ready => Style::Green,
            Verdict::UpToDate => Style::Cyan,
            Verdict::Blocked => Style::Red,
        }
    }

    fn of_ok(ok: bool) -> Style {
        if ok {
            Style::Green
        } else {
            Style::Red
        }
    }
}

/// Applies (or, without colour, skips) ANSI styles.
#[derive(Debug, Clone, Copy)]
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(self, text: &str, style: Option<Style>) -> String {
        match style {
            Some(style) if self.color && !text.is_empty() => {
                format!("\x1b[{}m{text}\x1b[0m", style.code())
            }
            _ => text.to_owned(),
        }
    }
}

/// Escapes control characters (newlines, tabs, ESC …) so that a value read
/// from a server stays on its line and cannot drive the terminal.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

struct Cell {
    text: String,
    style: Option<Style>,
}

impl Cell {
    fn plain(text: impl AsRef<str>) -> Self {
        Cell {
            text: clean(text.as_ref()),
            style: None,
        }
    }

    fn styled(text: impl AsRef<str>, style: Style) -> Self {
        Cell {
            text: clean(text.as_ref()),
            style: Some(style),
        }
    }

    fn ok_mark(ok: bool) -> Self {
        Cell::styled(if ok { "ok" } else { "FAIL" }, Style::of_ok(ok))
    }
}

fn opt_cell<T: ToString>(value: Option<T>) -> Cell {
    Cell::plain(value.map_or_else(|| "-".to_owned(), |v| v.to_string()))
}

/// Writes a grid: upper-case headers, one space-padded column per cell,
/// two spaces between columns, no trailing spaces.
fn grid(out: &mut String, indent: &str, headers: &[&str], rows: &[Vec<Cell>], p: Painter) {
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(&cell.text));
        }
    }
    let line = |out: &mut String, cells: Vec<(String, usize, Option<Style>)>| {
        let mut text = String::from(indent);
        let last = cells.len().saturating_sub(1);
        for (i, (cell, w, style)) in cells.into_iter().enumerate() {
            let pad = if i == last { 0 } else { w - width(&cell) + 2 };
            text.push_str(&p.paint(&cell, style));
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(
        out,
        headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| ((*h).to_owned(), *w, Some(Style::Bold)))
            .collect(),
    );
    for row in rows {
        line(
            out,
            row.iter()
                .zip(&widths)
                .map(|(c, w)| (c.text.clone(), *w, c.style))
                .collect(),
        );
    }
}

/// Writes `label: value` lines with the values aligned.
fn fields(out: &mut String, indent: &str, items: &[(&str, Cell)], p: Painter) {
    let w = items.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    for (label, value) in items {
        let pad = w - width(label) + 2;
        let _ = writeln!(
            out,
            "{indent}{label}:{}{}",
            " ".repeat(pad),
            p.paint(&value.text, value.style)
        );
    }
}

fn bullets(out: &mut String, indent: &str, items: &[String], style: Option<Style>, p: Painter) {
    for item in items {
        let _ = writeln!(out, "{indent}- {}", p.paint(&clean(item), style));
    }
}

fn heading(out: &mut String, text: &str, p: Painter) {
    let text = clean(text);
    let _ = writeln!(out, "{}", p.paint(&text, Some(Style::Bold)));
    let _ = writeln!(out, "{}", "-".repeat(width(&text)));
}

pub(super) fn render(report: &Report, color: bool) -> String {
    let p = Painter { color };
    let mut out = String::new();

    heading(&mut out, "cu-roll pre-flight report", p);
    fields(
        &mut out,
        "",
        &[
            ("Plan", Cell::plain(&report.plan)),
            (
                "Generated",
                Cell::plain(format!(
                    "{} by cu-roll {}",
                    report.generated_at, report.tool_version
                )),
            ),
        ],
        p,
    );
    out.push('\n');

    target(&mut out, report, p);
    out.push('\n');
    ad_preparation(&mut out, report, p);
    out.push('\n');
    summary(&mut out, report, p);
    for server in &report.servers {
        out.push('\n');
        server_block(&mut out, server, &report.target.build, p);
    }
    out.push('\n');
    overall(&mut out, report, p);
    out
}

fn target(out: &mut String, report: &Report, p: Painter) {
    let t = &report.target;
    heading(out, &format!("Target: {}", t.name), p);
    let mut items = vec![
        ("Build", Cell::plain(&t.build)),
        (
            "Cumulative Update",
            Cell::plain(format!("{} ({})", t.cu_name, t.cu_build)),
        ),
    ];
    if let Some(su) = &t.security_update {
        let text = match &t.security_update_build {
            Some(b) => format!("{su} ({b})"),
            None => su.clone(),
        };
        items.push(("Security Update", Cell::plain(text)));
    }
    items.push(("Released", opt_cell(t.released.as_deref())));
    items.extend(
        t.notes
            .iter()
            .map(|n| ("Note", Cell::styled(n, Style::Yellow))),
    );
    fields(out, "", &items, p);
}

fn ad_preparation(out: &mut String, report: &Report, p: Painter) {
    let ad = &report.ad_preparation;
    let steps = ad_steps(ad);
    let state = if let Some(error) = &ad.error {
        Cell::styled(format!("levels could not be read: {error}"), Style::Yellow)
    } else if steps.is_empty() {
        Cell::styled("not needed", Style::Green)
    } else {
        Cell::styled(format!("needed: {}", steps.join(", ")), Style::Red)
    };
    let _ = writeln!(
        out,
        "{} {}",
        p.paint("AD preparation:", Some(Style::Bold)),
        p.paint(&state.text, state.style)
    );
    let levels = |f: fn(&AdLevels) -> u32| -> (Cell, Cell, Cell) {
        let required = f(&ad.required);
        match &ad.found {
            Some(found) => (
                Cell::plain(f(found).to_string()),
                Cell::plain(required.to_string()),
                Cell::ok_mark(f(found) >= required),
            ),
            None => (
                Cell::plain("?"),
                Cell::plain(required.to_string()),
                Cell::styled("?", Style::Yellow),
            ),
        }
    };
    let rows: Vec<Vec<Cell>> = [
        ("schema rangeUpper", levels(|l| l.schema_range_upper)),
        (
            "organisation objectVersion",
            levels(|l| l.org_object_version),
        ),
        ("domain objectVersion", levels(|l| l.domain_object_version)),
    ]
    .into_iter()
    .map(|(name, (found, required, ok))| vec![Cell::plain(name), found, required, ok])
    .collect();
    grid(out, "  ", &["LEVEL", "FOUND", "REQUIRED", "OK"], &rows, p);
    if !ad.commands.is_empty() {
        let _ = writeln!(out, "  Run before the first server, in this order:");
        for command in &ad.commands {
            let _ = writeln!(out, "    {}", clean(command));
        }
    }
    if let Some(after) = &ad.after_security_update {
        let _ = writeln!(
            out,
            "  Domain level of the security update: {}",
            clean(after)
        );
    }
}

fn summary(out: &mut String, report: &Report, p: Painter) {
    heading(out, "Servers", p);
    let rows: Vec<Vec<Cell>> = report
        .servers
        .iter()
        .map(|s| {
            vec![
                Cell::plain(&s.name),
                opt_cell(s.dag.as_deref()),
                opt_cell(s.build.as_deref()),
                opt_cell(s.build_name.as_deref()),
                Cell::plain(s.needs_upgrade.map_or("unknown", yes_no)),
                Cell::styled(verdict_label(s.verdict), Style::of_verdict(s.verdict)),
            ]
        })
        .collect();
    grid(
        out,
        "",
        &[
            "SERVER",
            "DAG",
            "BUILD",
            "VERSION",
            "NEEDS UPGRADE",
            "VERDICT",
        ],
        &rows,
        p,
    );
}

fn overall(out: &mut String, report: &Report, p: Painter) {
    if !report.blockers.is_empty() {
        let _ = writeln!(out, "{}", p.paint("Plan-wide blockers:", Some(Style::Bold)));
        bullets(out, "  ", &report.blockers, Some(Style::Red), p);
        out.push('\n');
    }
    let style = match report.verdict {
        OverallVerdict::Ready => Style::Green,
        OverallVerdict::Blocked => Style::Red,
    };
    let _ = writeln!(
        out,
        "Overall verdict: {} ({})",
        p.paint(overall_label(report.verdict), Some(style)),
        Counts::of(report)
    );
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Ad};
    use super::*;

    #[test]
    fn table_plain_with_ad_preparation_needed() {
        let out = render(&fixture::report(Ad::NeedsPrepareAd), false);
        assert!(!out.contains('\x1b'), "plain output has no escape codes");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn table_plain_with_ad_prepared() {
        let out = render(&fixture::report(Ad::Prepared), false);
        assert!(out.contains("AD preparation: not needed"));
        assert!(out.ends_with("Overall verdict: blocked (1 ready, 1 up-to-date, 1 blocked)\n"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn table_coloured_marks_verdicts() {
        let out = render(&fixture::report(Ad::Prepared), true);
        assert!(out.contains("\x1b[32mready\x1b[0m"));
        assert!(out.contains("\x1b[36mup-to-date\x1b[0m"));
        assert!(out.contains("\x1b[31mblocked\x1b[0m"));
        assert!(out.contains("- \x1b[33m3 messages"), "warnings are yellow");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn colour_does_not_change_alignment() {
        let report = fixture::report(Ad::NeedsPrepareAd);
        let strip = |s: String| {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find('\x1b') {
                out.push_str(&rest[..start]);
                let end = rest[start..].find('m').expect("escape ends with m");
                rest = &rest[start + end + 1..];
            }
            out.push_str(rest);
            out
        };
        assert_eq!(strip(render(&report, true)), render(&report, false));
    }

    #[test]
    fn control_characters_from_a_server_are_escaped() {
        let mut report = fixture::report(Ad::Prepared);
        report.servers[0].build_name = Some("CU14\x1b[2J\nEX99 ready".to_owned());
        let out = render(&report, false);
        assert!(!out.contains('\x1b'));
        assert!(out.contains(r"CU14\u{1b}[2J\nEX99 ready"));
    }

    #[test]
    fn summary_columns_are_aligned() {
        let out = render(&fixture::report(Ad::Prepared), false);
        let header = out
            .lines()
            .find(|l| l.starts_with("SERVER"))
            .expect("summary header");
        let verdict_col = header.find("VERDICT").unwrap();
        for name in ["EX01", "EX02", "EX03"] {
            let row = out.lines().find(|l| l.starts_with(name)).unwrap();
            let word = &row[verdict_col..];
            assert!(
                ["ready", "up-to-date", "blocked"].contains(&word),
                "{row:?}"
            );
        }
    }
}
