//! Renders a [`DryRun`] as text: the plan view `run` shows before it asks
//! (order, skipped servers and why, the gates, the expected duration),
//! `cu-roll run --dry-run` (the plan view, then per server each step's
//! intent and its commands one line each), and `--dry-run --scripts` (the
//! exact scripts). Presentation only: what the dry run holds is decided in
//! `runbook::dry_run`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;

use super::text::{format_duration, one_line};
use crate::plan::Order;
use crate::runbook::dry_run::{DryRun, PlannedStep, ServerDryRun, ServerPlan};
use crate::runbook::{PlannedCommand, PlannedText};

/// How much of the dry run to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The plan view, then each step's intent and its commands, one line each.
    Summary,
    /// The plan view, then each step's exact scripts.
    Scripts,
}

/// The plan view: what a run would do, in a dozen lines.
pub fn plan_view(dry: &DryRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan {}: {} ({})",
        dry.plan.display(),
        dry.target_name,
        dry.target_build
    );
    if dry.resumes {
        out.push_str("The journal holds this rollout unfinished: a run resumes it, in the order it began with, and repeats nothing done.\n");
    } else if dry.after_finished {
        out.push_str("The journal holds a finished rollout: the servers are judged as they are now, and any below the target start a new rollout.\n");
    }
    let _ = writeln!(
        out,
        "Order ({}):",
        match dry.order_policy {
            Order::Plan => "plan order",
            Order::PassiveFirst => "passive-first: fewest active databases first",
        }
    );
    let name_w = dry.servers.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let dag_w = dry
        .servers
        .iter()
        .map(|s| s.dag.as_deref().unwrap_or("-").len())
        .max()
        .unwrap_or(0);
    let mut n = 0;
    for s in &dry.servers {
        let mark = if s.plan.rolls() {
            n += 1;
            format!("{n:>2}.")
        } else {
            "  -".to_string()
        };
        let _ = writeln!(
            out,
            "  {mark} {:<name_w$}  {:<dag_w$}  {}",
            s.name,
            s.dag.as_deref().unwrap_or("-"),
            server_line(dry, s)
        );
    }
    if let Some(selection) = &dry.selection {
        let _ = writeln!(
            out,
            "Selection: {selection} (a server it leaves out is not rolled in this run; the gates still count it as a DAG member)."
        );
    }
    let rolled = dry.rolled();
    if rolled.is_empty() {
        out.push_str("Nothing to do: no server would be changed.\n");
        return out;
    }
    if let Some(ids) = dry.servers.iter().find_map(|s| match &s.plan {
        ServerPlan::Steps { steps, done: 0 } => Some(step_ids(steps)),
        _ => None,
    }) {
        let _ = writeln!(out, "Steps on each server: {}.", ids.join(", "));
    }
    let _ = writeln!(
        out,
        "Gates, before a server leaves service and again before setup:\n  every other member of its DAG in service; every database keeps {} on the other members.",
        match dry.min_healthy_copies {
            Some(n) => format!("at least {n} healthy copies (min_healthy_copies; never fewer than StartDagServerMaintenance.ps1 asks)"),
            None => "as many healthy copies as StartDagServerMaintenance.ps1 asks".to_string(),
        }
    );
    let _ = writeln!(
        out,
        "One server at a time per DAG, {} DAG{} at a time{}.",
        dry.max_parallel_dags,
        if dry.max_parallel_dags == 1 { "" } else { "s" },
        if dry.pause_between {
            "; asks before each next server (pause_between)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "Expected duration: up to about {} for {} server{} (typical step times, each capped at [policy.timeouts]).",
        rough(dry.estimate()),
        rolled.len(),
        if rolled.len() == 1 { "" } else { "s" }
    );
    out
}

/// A server's line in the plan view, after its name and DAG.
fn server_line(dry: &DryRun, s: &ServerDryRun) -> String {
    match &s.plan {
        ServerPlan::SetupRunning => {
            "Exchange setup is running there now: a run re-attaches and waits for it".to_string()
        }
        ServerPlan::AlreadyAtTarget => {
            format!("skipped: already at {} or later", dry.target_build)
        }
        ServerPlan::DoneInJournal => "skipped: finished earlier in this rollout".to_string(),
        ServerPlan::LeftOut => format!(
            "not rolled in this run ({})",
            dry.selection.as_deref().unwrap_or("left out")
        ),
        ServerPlan::Steps { steps, done } => {
            let ids = step_ids(steps);
            // A resumed server's steps differ from the others': listed.
            let resumed = if *done > 0 {
                format!(
                    "resumes after {done} finished step{}; left: {}",
                    plural(*done),
                    ids.join(", ")
                )
            } else {
                String::new()
            };
            format!(
                "{} step{}, about {}{}{resumed}",
                ids.len(),
                plural(ids.len()),
                rough(s.plan.estimate()),
                if resumed.is_empty() { "" } else { "; " }
            )
        }
    }
}

/// The ids of the steps a server takes (redistribute at the end of its
/// DAG is not one of them).
fn step_ids(steps: &[PlannedStep]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|p| match p {
            PlannedStep::Step { id, .. } => Some(id.to_string()),
            PlannedStep::RedistributeAtEnd => None,
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A duration to the minute (or second, under one): an estimate has no
/// use for more.
fn rough(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format_duration(d)
    } else {
        let (h, m) = (secs / 3600, (secs % 3600).div_ceil(60));
        match (h, m) {
            (0, m) => format!("{m}m"),
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h{m:02}m"),
        }
    }
}

/// `cu-roll run --dry-run`: the plan view, then per server every step.
pub fn render(dry: &DryRun, detail: Detail) -> String {
    let mut out = String::from("Dry run: nothing is changed.\n");
    out.push_str(&plan_view(dry));
    for server in dry.servers.iter().filter(|s| s.plan.rolls()) {
        let _ = write!(
            out,
            "\n=== {} ({}, DAG {})\n",
            server.name,
            server.fqdn,
            server.dag.as_deref().unwrap_or("none")
        );
        if let ServerPlan::Steps { steps, .. } = &server.plan {
            for step in steps {
                push_step(&mut out, step, detail);
            }
        }
    }
    out
}

/// One command in one line: the cmdlets a script calls (in order, each
/// once), or a cmd.exe line as it is.
fn command_line(cmd: &PlannedCommand) -> String {
    static CMDLET: OnceLock<Regex> = OnceLock::new();
    let re = CMDLET.get_or_init(|| {
        Regex::new(r"\b(?:Get|Set|New|Remove|Start|Stop|Restart|Test|Suspend|Resume|Move|Redirect|Add|Invoke|Register|Unregister|Import|Export|Clear|Enable|Disable|Update|Install|Wait|Read|Write|Out|ConvertTo|ConvertFrom|Select|Where|ForEach|Sort|Measure)-[A-Z][A-Za-z]+\b")
            .expect("constant regex")
    });
    match &cmd.command {
        PlannedText::Cmd(line) => format!("cmd> {}", clip(&one_line(line), 100)),
        PlannedText::PowerShell(script) => {
            static SCRIPT: OnceLock<Regex> = OnceLock::new();
            let scripts =
                SCRIPT.get_or_init(|| Regex::new(r"\b[A-Za-z]+\.ps1\b").expect("constant regex"));
            // A script of Microsoft's that the command runs is named first:
            // it is what the command does (the cmdlets around it are glue).
            let mut names: Vec<&str> = Vec::new();
            for m in scripts.find_iter(script.text()) {
                if !names.contains(&m.as_str()) {
                    names.push(m.as_str());
                }
            }
            for m in re.find_iter(script.text()) {
                if !PLUMBING.contains(&m.as_str()) && !names.contains(&m.as_str()) {
                    names.push(m.as_str());
                }
            }
            if names.is_empty() {
                let first = script
                    .text()
                    .lines()
                    .map(str::trim)
                    .find(|l| {
                        !l.is_empty()
                            && !l.starts_with('#')
                            && !l.starts_with("$ErrorActionPreference")
                            && !l.starts_with("$ProgressPreference")
                    })
                    .unwrap_or("");
                return format!("PowerShell: {}", clip(&one_line(first), 100));
            }
            let more = names.len().saturating_sub(6);
            names.truncate(6);
            let mut line = names.join(", ");
            if more > 0 {
                let _ = write!(line, " (+{more} more)");
            }
            line
        }
    }
}

/// Cmdlets every remote script uses around its real work (the Exchange
/// session, JSON out, pipeline glue): left out of the one-line view.
const PLUMBING: &[&str] = &[
    "New-Object",
    "New-PSSession",
    "Import-PSSession",
    "Remove-PSSession",
    // The session wrapper asks whether a proxy is already imported, and
    // makes an import's module global in a PowerShell host.
    "Get-Command",
    "Import-Module",
    "ConvertTo-Json",
    "ConvertFrom-Json",
    "ForEach-Object",
    "Where-Object",
    "Select-Object",
    "Sort-Object",
    "Measure-Object",
    "Out-Null",
    "Write-Output",
];

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// One step: its intent, then its commands one line each (`Summary`) or
/// as the exact scripts (`Scripts`).
fn push_step(out: &mut String, step: &PlannedStep, detail: Detail) {
    let gap = if detail == Detail::Scripts { "\n" } else { "" };
    match step {
        PlannedStep::RedistributeAtEnd => {
            let _ = writeln!(
                out,
                "{gap}--- redistribute: once for the whole DAG after its last server (redistribute = \"at-end\")"
            );
        }
        PlannedStep::Step {
            id,
            gated,
            intent,
            commands,
            ..
        } => {
            let _ = writeln!(out, "{gap}--- {id}: {intent}");
            match detail {
                Detail::Summary => {
                    if *gated {
                        out.push_str("    gate first\n");
                    }
                    for cmd in commands {
                        let _ = writeln!(out, "    {}: {}", one_line(&cmd.when), command_line(cmd));
                    }
                }
                Detail::Scripts => {
                    if *gated {
                        out.push_str("# gate first: every other DAG member in service, every database keeps enough healthy copies\n");
                    }
                    push_commands(out, commands);
                }
            }
        }
    }
}

fn push_commands(out: &mut String, commands: &[PlannedCommand]) {
    for cmd in commands {
        let _ = writeln!(out, "# {}", cmd.when);
        match &cmd.command {
            PlannedText::PowerShell(script) => {
                out.push_str(script.text());
                if !script.text().ends_with('\n') {
                    out.push('\n');
                }
            }
            PlannedText::Cmd(line) => {
                let _ = writeln!(out, "cmd> {line}");
            }
        }
    }
}
