//! `cu-roll setup-log --format table`: the review as text for an admin:
//! the run and its verdict first, then the failed rules or errors, the
//! context, and the advice. Plain text, no colour; evidence is cut to a
//! few lines (the JSON keeps all of it).

use std::fmt::Write;

use super::{Outcome, SetupLogReview};

/// Evidence lines shown per piece of advice.
const EVIDENCE_SHOWN: usize = 12;

pub fn render(review: &SetupLogReview) -> String {
    let mut out = String::new();
    run_rows(&mut out, review);
    list(&mut out, "Failed rules", &review.rule_failures());
    list(&mut out, "Errors", &review.errors);
    if let Some(reference) = &review.error_reference {
        let _ = writeln!(out, "\nFailed task: {reference}");
    }
    context_rows(&mut out, review);
    advice(&mut out, review);
    out
}

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:<30}{value}");
}

fn run_rows(out: &mut String, review: &SetupLogReview) {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not in the log)".into());
    let started = match (&review.run_started, &review.product) {
        (Some(at), Some(product)) => format!("{at}, {product} Setup"),
        (Some(at), None) => at.clone(),
        _ => "(not in the log)".into(),
    };
    row(out, "Last run started", &started);
    row(out, "Setup version", &or_none(&review.setup_version));
    row(
        out,
        "Installed version",
        &or_none(&review.installed_version),
    );
    if let Some(previous) = &review.previous_version {
        row(out, "Build before the upgrade", previous);
    }
    let mode = match (&review.mode, &review.command_line_mode) {
        (Some(m), Some(c)) => format!("{m} (command line: {c})"),
        (Some(m), None) => m.clone(),
        (None, Some(c)) => format!("(command line: {c})"),
        (None, None) => "(not in the log)".into(),
    };
    row(out, "Mode", &mode);
    row(out, "Verdict", verdict(review.outcome));
    row(
        out,
        "Previous attempt incomplete",
        if review.previous_attempt_incomplete {
            "yes"
        } else {
            "no"
        },
    );
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "SUCCEEDED",
        Outcome::PrerequisitesFailed => "PREREQUISITES FAILED",
        Outcome::Failed => "FAILED",
        Outcome::Running => "RUNNING (no end logged yet)",
        Outcome::NoRun => "NO RUN (not a setup log)",
    }
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", items.len());
    for item in items {
        let _ = writeln!(out, "  - {item}");
    }
}

fn context_rows(out: &mut String, review: &SetupLogReview) {
    let c = &review.context;
    let rows = [
        ("User", c.user.clone()),
        ("Server", c.server.clone()),
        ("Domain", c.domain.clone()),
        ("AD site", c.ad_site.clone()),
        (
            "Schema master",
            c.schema_master.as_ref().map(|m| {
                with_details(
                    m,
                    &[
                        ("domain", &c.schema_master_domain),
                        ("site", &c.schema_master_site),
                    ],
                )
            }),
        ),
        (
            "Domain controller",
            c.domain_controller
                .as_ref()
                .map(|dc| with_details(dc, &[("site", &c.domain_controller_site)])),
        ),
    ];
    if rows.iter().all(|(_, v)| v.is_none()) {
        return;
    }
    let _ = writeln!(out, "\nContext:");
    for (label, value) in rows {
        if let Some(value) = value {
            let _ = writeln!(out, "  {label:<28}{value}");
        }
    }
}

fn with_details(value: &str, details: &[(&str, &Option<String>)]) -> String {
    let known: Vec<String> = details
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect();
    if known.is_empty() {
        value.to_string()
    } else {
        format!("{value} ({})", known.join(", "))
    }
}

fn advice(out: &mut String, review: &SetupLogReview) {
    if review.advice.is_empty() {
        if review.outcome == Outcome::Succeeded {
            let _ = writeln!(out, "\nNo action is required.");
        }
        return;
    }
    for a in &review.advice {
        let _ = writeln!(out, "\nAdvice ({}):", source(a.source));
        for f in &a.findings {
            let _ = writeln!(out, "  ! {f}");
        }
        if !a.actions.is_empty() {
            let _ = writeln!(out, "  Do:");
            for action in &a.actions {
                let _ = writeln!(out, "    {action}");
            }
        }
        if !a.evidence.is_empty() {
            let _ = writeln!(out, "  From the log:");
            for line in a.evidence.iter().take(EVIDENCE_SHOWN) {
                let _ = writeln!(out, "    {line}");
            }
            let more = a.evidence.len().saturating_sub(EVIDENCE_SHOWN);
            if more > 0 {
                let _ = writeln!(out, "    … {more} more lines (--format json has them all)");
            }
        }
    }
}

fn source(source: &str) -> String {
    if source == "cu-roll" {
        source.to_string()
    } else {
        format!("CSS-Exchange SetupLogReviewer, {source}")
    }
}
