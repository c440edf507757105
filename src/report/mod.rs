//! Renders the pre-flight version report ([`crate::preflight::model::Report`])
//! as a terminal table, JSON, Markdown or a self-contained HTML page.
//!
//! This module owns presentation only: it never decides a verdict, never
//! queries a server and never writes a file or picks colours on its own —
//! the caller says whether colour is wanted (a terminal on stdout) and where
//! the text goes (`--output FILE` or stdout). Every value that came from a
//! server is treated as hostile text and escaped for the format it lands in.

pub mod dry_run;
pub mod glyphs;
mod html;
mod markdown;
pub mod progress;
mod rows;
pub mod run;
pub mod status;
mod table;
pub(crate) mod text;
mod what_will_happen;

pub use what_will_happen::WhatWillHappen;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod journal_fixture;

use std::fmt;
use std::str::FromStr;

use crate::preflight::model::{AdPreparation, OverallVerdict, Report, Verdict};

/// The output formats of `cu-roll report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal (coloured when the caller asks).
    #[default]
    Table,
    /// The report's data model as pretty JSON: the documented interface for scripts.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page (no external assets) to mail to a change board.
    Html,
}

impl Format {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--format` value that is not one of the four formats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format '{0}': use one of table, json, markdown, html")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// How to render. Colour applies to [`Format::Table`] only; the caller turns
/// it on when stdout is a terminal (`std::io::IsTerminal`) and no `--output`
/// file was given, so piped or saved output stays plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Renders `report` in `format`. The result always ends with a newline.
pub fn render(report: &Report, format: Format, opts: &RenderOptions) -> String {
    match format {
        Format::Table => table::render(report, opts.color),
        Format::Json => render_json(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report, None),
    }
}

/// The HTML page with its "What will happen" section (order, steps,
/// expected duration, impact, rollback).
pub fn render_html(report: &Report, what: &WhatWillHappen) -> String {
    html::render(report, Some(what))
}

fn render_json(report: &Report) -> String {
    // The model holds only strings, numbers, booleans, options and vectors
    // (no maps with non-string keys), so serde_json cannot fail on it; a
    // non-finite free-space figure serialises as `null`.
    let mut out = serde_json::to_string_pretty(report)
        .expect("the report model has no map keys and cannot fail to serialise");
    out.push('\n');
    out
}

/// The word an admin sees for a server's verdict (same as its JSON value).
fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ready => "ready",
        Verdict::UpToDate => "up-to-date",
        Verdict::Blocked => "blocked",
    }
}

fn overall_label(verdict: OverallVerdict) -> &'static str {
    match verdict {
        OverallVerdict::Ready => "ready",
        OverallVerdict::Blocked => "blocked",
    }
}

/// How many servers got each verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    ready: usize,
    up_to_date: usize,
    blocked: usize,
}

impl Counts {
    fn of(report: &Report) -> Self {
        let count = |v: Verdict| report.servers.iter().filter(|s| s.verdict == v).count();
        Counts {
            ready: count(Verdict::Ready),
            up_to_date: count(Verdict::UpToDate),
            blocked: count(Verdict::Blocked),
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ready, {} up-to-date, {} blocked",
            self.ready, self.up_to_date, self.blocked
        )
    }
}

/// The setup switches AD still needs, in the order they must run
/// (schema before organisation before domain, as SetupAssist decides).
fn ad_steps(ad: &AdPreparation) -> Vec<&'static str> {
    let mut steps = Vec::new();
    if ad.needs_prepare_schema == Some(true) {
        steps.push("/PrepareSchema");
    }
    if ad.needs_prepare_ad == Some(true) {
        steps.push("/PrepareAD");
    }
    if ad.needs_prepare_domain == Some(true) {
        steps.push("/PrepareDomain");
    }
    steps
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Free space as shown to an admin: one decimal, gigabytes.
fn format_gb(gb: f64) -> String {
    format!("{gb:.1} GB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parses_every_name_and_rejects_others() {
        for f in [Format::Table, Format::Json, Format::Markdown, Format::Html] {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
            assert_eq!(f.to_string().to_uppercase().parse::<Format>(), Ok(f));
        }
        let err = "pdf".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("'pdf'"), "{err}");
        assert!(err.to_string().contains("table, json, markdown, html"));
    }

    #[test]
    fn format_clap_names_match_from_str() {
        use clap::ValueEnum;
        for f in Format::value_variants() {
            let name = f.to_possible_value().expect("no variant is hidden");
            assert_eq!(name.get_name(), f.as_str());
        }
        assert_eq!(Format::default(), Format::Table);
    }

    #[test]
    fn counts_summarise_verdicts() {
        let report = fixture::report(fixture::Ad::Prepared);
        let counts = Counts::of(&report);
        assert_eq!(counts.to_string(), "1 ready, 1 up-to-date, 1 blocked");
    }

    #[test]
    fn json_round_trips_and_has_the_documented_fields() {
        let report = fixture::report(fixture::Ad::NeedsPrepareAd);
        let out = render(&report, Format::Json, &RenderOptions::default());
        assert!(out.ends_with("}\n"));
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(parsed, serde_json::to_value(&report).unwrap());
        assert_eq!(
            parsed["target"]["name"],
            "Exchange Server 2019 CU15 Feb26SU"
        );
        assert_eq!(parsed["target"]["build"], "15.2.1748.43");
        assert_eq!(parsed["verdict"], "blocked");
        let servers = parsed["servers"].as_array().expect("servers is an array");
        assert_eq!(servers.len(), 3);
        for server in servers {
            for field in [
                "name",
                "dag",
                "build",
                "build_name",
                "needs_upgrade",
                "pending_reboot",
                "prerequisites",
                "verdict",
                "blockers",
            ] {
                assert!(
                    server.get(field).is_some(),
                    "server lacks {field}: {server}"
                );
            }
            for prereq in server["prerequisites"].as_array().unwrap() {
                for field in ["name", "required", "found", "ok"] {
                    assert!(prereq.get(field).is_some(), "prerequisite lacks {field}");
                }
            }
            assert!(server["blockers"].is_array());
        }
        let verdicts: Vec<&str> = servers
            .iter()
            .map(|s| s["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(verdicts, ["ready", "up-to-date", "blocked"]);
        assert_eq!(servers[0]["needs_upgrade"], true);
        assert_eq!(servers[2]["prerequisites"][0]["ok"], false);
    }

    #[test]
    fn json_snapshot() {
        let report = fixture::report(fixture::Ad::NeedsPrepareAd);
        insta::assert_snapshot!(render(&report, Format::Json, &RenderOptions::default()));
    }

    /// Every key the JSON can hold, collected from the fixture (which fills
    /// every optional part), must be described in docs/report.md: the JSON
    /// is a documented interface, so an undocumented field is a bug.
    #[test]
    fn every_json_field_is_documented() {
        fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        out.push(k.clone());
                        keys(v, out);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let docs = include_str!("../../docs/report.md");
        let mut all = Vec::new();
        keys(
            &serde_json::to_value(fixture::report(fixture::Ad::NeedsPrepareAd)).unwrap(),
            &mut all,
        );
        all.sort();
        all.dedup();
        let missing: Vec<&String> = all
            .iter()
            .filter(|k| !docs.contains(&format!("| `{k}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "fields missing from docs/report.md: {missing:?}"
        );
    }

    #[test]
    fn unreachable_server_renders_in_every_format() {
        let mut report = fixture::report(fixture::Ad::Prepared);
        let s = &mut report.servers[1];
        s.build = None;
        s.build_name = None;
        s.os = None;
        s.dag = None;
        s.prerequisites.clear();
        s.copies.clear();
        s.system_drive_free_gb = None;
        s.queued_messages = None;
        s.maintenance = None;
        s.pending_reboot = None;
        s.needs_upgrade = None;
        s.verdict = Verdict::Blocked;
        s.error = Some("WinRM: the connection to ex02.contoso.local:5986 timed out".to_owned());
        s.blockers = vec!["the server could not be reached".to_owned()];
        s.blocker_codes = vec![crate::preflight::model::BlockerCode::Unreachable];
        report.ad_preparation.found = None;
        report.ad_preparation.error = Some("no domain controller answered".to_owned());
        for format in [Format::Table, Format::Json, Format::Markdown, Format::Html] {
            let out = render(&report, format, &RenderOptions { color: false });
            assert!(out.contains("timed out"), "{format}: error shown");
            assert!(out.contains("no domain controller answered"), "{format}");
            assert!(out.contains("1 ready, 0 up-to-date, 2 blocked") || format == Format::Json);
        }
        let table = render(&report, Format::Table, &RenderOptions::default());
        assert!(table.contains("could not query the server: WinRM"));
        assert!(table.contains("Build:                             unknown"));
        assert!(table.contains("Prerequisites:\n    (not checked)"));
    }
}
