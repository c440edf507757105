//! Renders a [`DryRun`] as the text `cu-roll run --dry-run` prints: a
//! header with the target and the order, then per server every step and the
//! exact commands it would send. Presentation only: what the dry run holds
//! is decided in `runbook::dry_run`.

use std::fmt::Write as _;

use crate::plan::Order;
use crate::runbook::dry_run::{DryRun, PlannedStep, ServerPlan};
use crate::runbook::{PlannedCommand, PlannedText};

/// The dry run as plain text.
pub fn render(dry: &DryRun) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "cu-roll dry run of {}: {} ({})\nNothing is changed. Order ({}): {}\n",
        dry.plan.display(),
        dry.target_name,
        dry.target_build,
        match dry.order_policy {
            Order::Plan => "plan order",
            Order::PassiveFirst => "passive-first: fewest active databases first",
        },
        dry.order.join(", ")
    );
    for server in &dry.servers {
        if matches!(server.plan, ServerPlan::SetupRunning) {
            let _ = write!(
                out,
                "\n=== {}: Exchange setup is running there now; not queried (setup refuses to run beside PowerShell)\n",
                server.name
            );
            continue;
        }
        let _ = write!(
            out,
            "\n=== {} ({}, DAG {})\n",
            server.name,
            server.fqdn,
            server.dag.as_deref().unwrap_or("none")
        );
        match &server.plan {
            ServerPlan::Steps(steps) => steps.iter().for_each(|step| push_step(&mut out, step)),
            ServerPlan::AlreadyAtTarget | ServerPlan::SetupRunning => {
                let _ = writeln!(
                    out,
                    "already at {} or later: nothing to do",
                    dry.target_build
                );
            }
        }
    }
    out
}

fn push_step(out: &mut String, step: &PlannedStep) {
    match step {
        PlannedStep::RedistributeAtEnd => out.push_str(
            "\n--- redistribute: once for the whole DAG after its last server (redistribute = \"at-end\")\n",
        ),
        PlannedStep::Step {
            id,
            gated,
            commands,
        } => {
            let _ = write!(out, "\n--- {id}\n");
            if *gated {
                out.push_str("# gate first: every other DAG member in service, every database keeps enough healthy copies\n");
            }
            push_commands(out, commands);
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
