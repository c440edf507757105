//! The terminal form of the report: aligned plain text, with ANSI colours
//! only when the caller says the output is a terminal.
//!
//! Widths are computed from the cleaned text (control characters escaped, so
//! a value read from a server can neither break the alignment nor smuggle
//! terminal escape sequences), and colour codes are added after padding so
//! they never count towards a column's width.

use std::fmt::Write as _;

use super::{ad_steps, format_gb, overall_label, verdict_label, yes_no, Counts};
use crate::preflight::model::{
    AdLevels, MaintenanceState, OverallVerdict, Report, ServerReport, Verdict,
};

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

fn server_block(out: &mut String, s: &ServerReport, target_build: &str, p: Painter) {
    heading(out, &format!("{} ({})", s.name, s.fqdn), p);
    fields(out, "  ", &server_fields(s, target_build), p);
    if let Some(m) = &s.maintenance {
        components(out, m, p);
    }
    prerequisites(out, s, p);
    copies(out, s, p);
    verdict(out, s, p);
}

/// The server's `label: value` lines, from the error (when it could not be
/// queried) to the cluster node.
fn server_fields(s: &ServerReport, target_build: &str) -> Vec<(&'static str, Cell)> {
    let m = s.maintenance.as_ref();
    let mut items = Vec::new();
    if let Some(error) = &s.error {
        items.push((
            "Error",
            Cell::styled(format!("could not query the server: {error}"), Style::Red),
        ));
    }
    let build = match (&s.build, &s.build_name) {
        (Some(b), Some(n)) => format!("{b} ({n})"),
        (Some(b), None) => b.clone(),
        (None, Some(n)) => format!("unknown ({n})"),
        (None, None) => "unknown".to_owned(),
    };
    let maintenance = match m {
        Some(m) if m.in_maintenance => Cell::styled("IN MAINTENANCE", Style::Yellow),
        Some(_) => Cell::plain("not in maintenance"),
        None => Cell::plain("unknown"),
    };
    items.extend([
        ("DAG", opt_cell(s.dag.as_deref())),
        ("OS", opt_cell(s.os.as_deref())),
        ("Build", Cell::plain(build)),
        (
            "Needs upgrade",
            Cell::plain(match s.needs_upgrade {
                Some(true) => format!("yes, to {target_build}"),
                Some(false) => "no".to_owned(),
                None => "unknown".to_owned(),
            }),
        ),
        ("Pending reboot", pending_reboot(s)),
        (
            "Free space",
            Cell::plain(s.system_drive_free_gb.map_or_else(
                || "unknown".to_owned(),
                |gb| format!("{} on the system drive", format_gb(gb)),
            )),
        ),
        ("Queued messages", opt_cell(s.queued_messages)),
        ("Maintenance", maintenance),
        (
            "Activation policy",
            opt_cell(m.and_then(|m| m.activation_policy.as_deref())),
        ),
        (
            "Activation disabled and move now",
            opt_cell(m.and_then(|m| m.activation_disabled_and_move_now.map(yes_no))),
        ),
        (
            "Cluster node",
            opt_cell(m.and_then(|m| m.cluster_node.as_deref())),
        ),
    ]);
    items
}

/// `yes (reasons)` in yellow, or `no`.
fn pending_reboot(s: &ServerReport) -> Cell {
    match s.pending_reboot {
        None => return Cell::plain("unknown"),
        Some(false) => return Cell::plain("no"),
        Some(true) => {}
    }
    let reasons = if s.pending_reboot_reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.pending_reboot_reasons.join(", "))
    };
    Cell::styled(format!("yes{reasons}"), Style::Yellow)
}

fn components(out: &mut String, m: &MaintenanceState, p: Painter) {
    if m.inactive_components.is_empty() {
        return;
    }
    let _ = writeln!(out, "  Components not Active:");
    let rows: Vec<Vec<Cell>> = m
        .inactive_components
        .iter()
        .map(|c| {
            vec![
                Cell::plain(&c.component),
                Cell::styled(&c.state, Style::Yellow),
                Cell::plain(c.requesters.join(", ")),
            ]
        })
        .collect();
    grid(out, "    ", &["COMPONENT", "STATE", "REQUESTERS"], &rows, p);
}

fn prerequisites(out: &mut String, s: &ServerReport, p: Painter) {
    let _ = writeln!(out, "  Prerequisites:");
    if s.prerequisites.is_empty() {
        let _ = writeln!(out, "    (not checked)");
        return;
    }
    let rows: Vec<Vec<Cell>> = s
        .prerequisites
        .iter()
        .map(|r| {
            vec![
                Cell::plain(&r.name),
                Cell::plain(&r.required),
                Cell::plain(&r.found),
                Cell::ok_mark(r.ok),
            ]
        })
        .collect();
    grid(out, "    ", &["NAME", "REQUIRED", "FOUND", "OK"], &rows, p);
}

fn copies(out: &mut String, s: &ServerReport, p: Painter) {
    let _ = writeln!(out, "  Database copies:");
    if s.copies.is_empty() {
        let _ = writeln!(out, "    (none)");
        return;
    }
    let rows: Vec<Vec<Cell>> = s
        .copies
        .iter()
        .map(|c| {
            vec![
                Cell::plain(&c.name),
                Cell::plain(&c.status),
                Cell::plain(if c.active { "active" } else { "passive" }),
                opt_cell(c.activation_preference),
                opt_cell(c.copy_queue_length),
                opt_cell(c.replay_queue_length),
                Cell::plain(&c.content_index_state),
                Cell::ok_mark(c.ok),
            ]
        })
        .collect();
    grid(
        out,
        "    ",
        &[
            "COPY",
            "STATUS",
            "ROLE",
            "AP",
            "COPY QUEUE",
            "REPLAY QUEUE",
            "CONTENT INDEX",
            "OK",
        ],
        &rows,
        p,
    );
}

/// The server's verdict, then its blockers in red and warnings in yellow.
fn verdict(out: &mut String, s: &ServerReport, p: Painter) {
    let _ = writeln!(
        out,
        "  Verdict: {}",
        p.paint(verdict_label(s.verdict), Some(Style::of_verdict(s.verdict)))
    );
    if !s.blockers.is_empty() {
        let _ = writeln!(out, "  Blockers:");
        bullets(out, "    ", &s.blockers, Some(Style::Red), p);
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(out, "  Warnings:");
        bullets(out, "    ", &s.warnings, Some(Style::Yellow), p);
    }
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
