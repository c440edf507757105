//! One server's block of the terminal report: its `label: value` fields,
//! the maintenance components, the prerequisites, the database copies and
//! its verdict with the blockers and notes. It lays out what the report
//! holds with the table's own cells and grids; it must not judge anything.

use std::fmt::Write as _;

use super::{bullets, fields, grid, heading, opt_cell, Cell, Painter, Style};
use crate::preflight::model::{MaintenanceState, ServerReport};
use crate::report::{format_gb, verdict_label, yes_no};

pub(super) fn server_block(out: &mut String, s: &ServerReport, target_build: &str, p: Painter) {
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
