//! The rows of the pre-flight report's tables, built once from the report
//! for both the Markdown and the HTML form: the target, the server summary,
//! each server's properties, inactive components, prerequisites, database
//! copies and the AD levels.
//!
//! A cell is a list of [`Part`]s that say what the text *is* (plain text,
//! a build number, a flag that needs attention, an OK mark, a verdict, a
//! server's name), never how it looks: each format turns the parts into its
//! own markup and escapes the text its own way, so a row's content is
//! decided here once and cannot drift between the two forms. The terminal
//! table words its fields for a terminal and keeps its own cells.

use super::{format_gb, yes_no};
use crate::preflight::model::{
    AdLevels, AdPreparation, CopyHealth, MaintenanceState, Report, ServerReport, TargetInfo,
    Verdict,
};

/// One piece of a cell. Every `String` is text as the report holds it
/// (often read from a server): the format escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Plain text.
    Text(String),
    /// A build number: monospace where the format has it.
    Mono(String),
    /// A value that needs the admin's attention (a pending reboot, a server
    /// in maintenance).
    Flag(String),
    /// Words that qualify the flag before them (the reboot's reasons).
    Detail(String),
    /// The mark of an OK column.
    Ok(bool),
    /// A server's verdict.
    Verdict(Verdict),
    /// A server's name in the summary, which links to its section where the
    /// format can; `number` counts from 1 in report order.
    Server { number: usize, name: String },
}

/// One table cell: its parts, drawn one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell(pub Vec<Part>);

impl Cell {
    fn text(text: impl Into<String>) -> Self {
        Cell(vec![Part::Text(text.into())])
    }

    /// The value, or `—` when the report has none.
    fn opt(value: Option<impl ToString>) -> Self {
        Cell::text(value.map_or_else(|| "—".to_owned(), |v| v.to_string()))
    }

    fn mono(text: impl Into<String>) -> Self {
        Cell(vec![Part::Mono(text.into())])
    }

    /// A build number, or `—` (in the same monospace) when it is unknown.
    fn opt_mono(value: Option<&str>) -> Self {
        Cell::mono(value.unwrap_or("—"))
    }

    fn ok(ok: bool) -> Self {
        Cell(vec![Part::Ok(ok)])
    }

    /// The cell in one format: `part` draws (and escapes) each part.
    pub(crate) fn render(&self, part: fn(&Part) -> String) -> String {
        self.0.iter().map(part).collect()
    }
}

/// A label (fixed wording, no escaping needed) and its value.
pub(crate) type Property = (&'static str, Cell);

/// Every cell of `rows` in one format.
pub(crate) fn render_rows(rows: &[Vec<Cell>], part: fn(&Part) -> String) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|c| c.render(part)).collect())
        .collect()
}

/// `name (build)`, the build in monospace.
fn named_build(name: &str, build: &str) -> Cell {
    Cell(vec![
        Part::Text(name.to_owned()),
        Part::Text(" (".to_owned()),
        Part::Mono(build.to_owned()),
        Part::Text(")".to_owned()),
    ])
}

/// The target's properties: name, build, CU, SU (when one is asked for)
/// and release date. Its notes are a list, not rows.
pub(crate) fn target(t: &TargetInfo) -> Vec<Property> {
    let mut rows = vec![
        ("Name", Cell::text(&t.name)),
        ("Build", Cell::mono(&t.build)),
        ("Cumulative Update", named_build(&t.cu_name, &t.cu_build)),
    ];
    if let Some(su) = &t.security_update {
        let cell = match &t.security_update_build {
            Some(b) => named_build(su, b),
            None => Cell::text(su),
        };
        rows.push(("Security Update", cell));
    }
    rows.push(("Released", Cell::opt(t.released.as_deref())));
    rows
}

/// The columns of the server summary.
pub(crate) const SERVER_COLUMNS: [&str; 6] = [
    "Server",
    "DAG",
    "Build",
    "Version",
    "Needs upgrade",
    "Verdict",
];

/// One summary row per server for `SERVER_COLUMNS`, in report order.
pub(crate) fn servers(report: &Report) -> Vec<Vec<Cell>> {
    report
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                Cell(vec![Part::Server {
                    number: i + 1,
                    name: s.name.clone(),
                }]),
                Cell::opt(s.dag.as_deref()),
                Cell::opt_mono(s.build.as_deref()),
                Cell::opt(s.build_name.as_deref()),
                Cell::text(s.needs_upgrade.map_or("unknown", yes_no)),
                Cell(vec![Part::Verdict(s.verdict)]),
            ]
        })
        .collect()
}

/// One server's properties, from DAG to cluster node; `target_build` is
/// the build an upgrade would reach.
pub(crate) fn server_properties(s: &ServerReport, target_build: &str) -> Vec<Property> {
    let m = s.maintenance.as_ref();
    let needs_upgrade = match s.needs_upgrade {
        Some(true) => Cell(vec![
            Part::Text("yes, to ".to_owned()),
            Part::Mono(target_build.to_owned()),
        ]),
        Some(false) => Cell::text("no"),
        None => Cell::text("unknown"),
    };
    let free_space = s
        .system_drive_free_gb
        .map_or_else(|| "—".to_owned(), format_gb);
    vec![
        ("DAG", Cell::opt(s.dag.as_deref())),
        ("OS", Cell::opt(s.os.as_deref())),
        ("Build", Cell::opt_mono(s.build.as_deref())),
        ("Version", Cell::opt(s.build_name.as_deref())),
        ("Needs upgrade", needs_upgrade),
        ("Pending reboot", pending_reboot(s)),
        ("Free space on the system drive", Cell::text(free_space)),
        ("Queued messages", Cell::opt(s.queued_messages)),
        ("Maintenance", maintenance(m)),
        (
            "Activation policy",
            Cell::opt(m.and_then(|m| m.activation_policy.as_deref())),
        ),
        (
            "Activation disabled and move now",
            Cell::opt(m.and_then(|m| m.activation_disabled_and_move_now.map(yes_no))),
        ),
        (
            "Cluster node",
            Cell::opt(m.and_then(|m| m.cluster_node.as_deref())),
        ),
    ]
}

/// `yes` flagged, with the reasons when Windows gave any; `no`; or
/// `unknown` when the server could not be read.
fn pending_reboot(s: &ServerReport) -> Cell {
    match s.pending_reboot {
        None => return Cell::text("unknown"),
        Some(false) => return Cell::text("no"),
        Some(true) => {}
    }
    let mut parts = vec![Part::Flag("yes".to_owned())];
    if !s.pending_reboot_reasons.is_empty() {
        parts.push(Part::Detail(s.pending_reboot_reasons.join(", ")));
    }
    Cell(parts)
}

fn maintenance(m: Option<&MaintenanceState>) -> Cell {
    match m {
        Some(m) if m.in_maintenance => Cell(vec![Part::Flag("in maintenance".to_owned())]),
        Some(_) => Cell::text("not in maintenance"),
        None => Cell::text("unknown"),
    }
}

/// The columns of the components-not-Active table.
pub(crate) const COMPONENT_COLUMNS: [&str; 3] = ["Component", "State", "Requesters"];

/// One row per server component that is not Active.
pub(crate) fn components(m: &MaintenanceState) -> Vec<Vec<Cell>> {
    m.inactive_components
        .iter()
        .map(|c| {
            vec![
                Cell::text(&c.component),
                Cell::text(&c.state),
                Cell::text(c.requesters.join(", ")),
            ]
        })
        .collect()
}

/// The columns of the prerequisites table.
pub(crate) const PREREQUISITE_COLUMNS: [&str; 4] = ["Prerequisite", "Required", "Found", "OK"];

/// One row per prerequisite checked on the server.
pub(crate) fn prerequisites(s: &ServerReport) -> Vec<Vec<Cell>> {
    s.prerequisites
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.name),
                Cell::text(&r.required),
                Cell::text(&r.found),
                Cell::ok(r.ok),
            ]
        })
        .collect()
}

/// The columns of a database-copy table.
pub(crate) const COPY_COLUMNS: [&str; 8] = [
    "Copy",
    "Status",
    "Role",
    "AP",
    "Copy queue",
    "Replay queue",
    "Content index",
    "OK",
];

/// One row per copy for `COPY_COLUMNS`; absent numbers show `—`.
pub(crate) fn copies(copies: &[CopyHealth]) -> Vec<Vec<Cell>> {
    copies
        .iter()
        .map(|c| {
            vec![
                Cell::text(&c.name),
                Cell::text(&c.status),
                Cell::text(if c.active { "active" } else { "passive" }),
                Cell::opt(c.activation_preference),
                Cell::opt(c.copy_queue_length),
                Cell::opt(c.replay_queue_length),
                Cell::text(&c.content_index_state),
                Cell::ok(c.ok),
            ]
        })
        .collect()
}

/// The columns of the AD-levels table.
pub(crate) const AD_LEVEL_COLUMNS: [&str; 4] = ["Level", "Found", "Required", "OK"];

/// One row per AD level for `AD_LEVEL_COLUMNS`: found vs required, `?`
/// where the levels could not be read.
pub(crate) fn ad_levels(ad: &AdPreparation) -> Vec<Vec<Cell>> {
    let level = |name: &str, f: fn(&AdLevels) -> u32| -> Vec<Cell> {
        let required = f(&ad.required);
        match &ad.found {
            Some(found) => vec![
                Cell::text(name),
                Cell::text(f(found).to_string()),
                Cell::text(required.to_string()),
                Cell::ok(f(found) >= required),
            ],
            None => vec![
                Cell::text(name),
                Cell::text("?"),
                Cell::text(required.to_string()),
                Cell::text("?"),
            ],
        }
    };
    vec![
        level("schema rangeUpper", |l| l.schema_range_upper),
        level("organisation objectVersion", |l| l.org_object_version),
        level("domain objectVersion", |l| l.domain_object_version),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Ad};
    use super::*;

    /// Draws parts as `[kind:text]`, so a test sees what each cell holds.
    fn tagged(part: &Part) -> String {
        match part {
            Part::Text(t) => t.clone(),
            Part::Mono(t) => format!("[mono:{t}]"),
            Part::Flag(t) => format!("[flag:{t}]"),
            Part::Detail(t) => format!("[detail:{t}]"),
            Part::Ok(ok) => format!("[ok:{ok}]"),
            Part::Verdict(v) => format!("[verdict:{v:?}]"),
            Part::Server { number, name } => format!("[server {number}:{name}]"),
        }
    }

    #[test]
    fn server_properties_flag_what_needs_attention() {
        let report = fixture::report(Ad::Prepared);
        let ex03 = &report.servers[2];
        let props: Vec<(&str, String)> = server_properties(ex03, "15.2.1748.43")
            .into_iter()
            .map(|(label, cell)| (label, cell.render(tagged)))
            .collect();
        let get = |label: &str| {
            props
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("Maintenance"), "[flag:in maintenance]");
        assert!(
            get("Pending reboot").starts_with("[flag:yes][detail:"),
            "{props:?}"
        );
        assert_eq!(get("Needs upgrade"), "yes, to [mono:15.2.1748.43]");
        assert_eq!(props.len(), 12);
    }

    #[test]
    fn summary_rows_link_servers_in_order_and_mark_unknown_builds() {
        let mut report = fixture::report(Ad::Prepared);
        report.servers[1].build = None;
        let rows = render_rows(&servers(&report), tagged);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "[server 1:EX01]");
        assert_eq!(rows[1][2], "[mono:—]");
        assert_eq!(rows[2][5], "[verdict:Blocked]");
        assert!(rows.iter().all(|r| r.len() == SERVER_COLUMNS.len()));
    }

    #[test]
    fn unread_ad_levels_show_question_marks() {
        let mut report = fixture::report(Ad::NeedsPrepareAd);
        report.ad_preparation.found = None;
        let rows = render_rows(&ad_levels(&report.ad_preparation), tagged);
        assert!(rows.iter().all(|r| r[1] == "?" && r[3] == "?"), "{rows:?}");
    }
}
