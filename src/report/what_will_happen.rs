//! "What will happen" for a change board, beside the pre-flight verdict:
//! the order servers roll in and which are skipped, the steps on each
//! server, the availability policy the gates hold, an expected duration,
//! the impact (which active databases move where) and how to go back.
//!
//! Built from what the caller already has — the plan, the pre-flight
//! report and the dry run (`runbook::dry_run`, which reads the order and
//! the servers' builds) — by pure functions; it queries nothing, and it
//! predicts: the rollout itself decides with fresh observations. The HTML
//! page renders it (`report::html`).

use std::time::Duration;

use crate::plan::{Plan, Redistribute};
use crate::preflight::model::{CopyHealth, Report};
use crate::runbook::dry_run::{DryRun, PlannedStep, ServerPlan};
use crate::runbook::StepId;

#[derive(Debug, Clone, PartialEq)]
pub struct WhatWillHappen {
    /// True when the pre-flight report blocks: all of this happens only
    /// once the blockers are fixed.
    pub blocked: bool,
    /// Every server of the plan, in roll order.
    pub servers: Vec<PlannedServer>,
    /// The steps on each server that rolls, in the runbook's order.
    pub steps: Vec<StepRow>,
    /// What the gates and the schedule hold to, one sentence each.
    pub policy: Vec<String>,
    /// The expected time of the whole rollout.
    pub estimate: Duration,
    /// Where the active databases of each server that rolls go.
    pub moves: Vec<DatabaseMove>,
    /// How changes are undone, one sentence each.
    pub rollback: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedServer {
    pub name: String,
    pub dag: Option<String>,
    /// `None`: it rolls; otherwise why it is left alone.
    pub skipped: Option<String>,
    /// Its expected time (zero when skipped).
    pub estimate: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    pub step: String,
    /// Taken only after the availability gate passes.
    pub gated: bool,
    /// `None` for redistribute at the end (once per DAG, not per server).
    pub estimate: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseMove {
    /// The server that leaves service.
    pub server: String,
    pub database: String,
    /// The expected new active copy's server, `None` when no healthy copy
    /// is left elsewhere (the gate would refuse).
    pub to: Option<String>,
    /// True when redistribute moves it back after the server.
    pub back_after: bool,
}

impl WhatWillHappen {
    pub fn of(plan: &Plan, report: &Report, dry: &DryRun) -> WhatWillHappen {
        let servers: Vec<PlannedServer> = dry
            .servers
            .iter()
            .map(|s| {
                let (skipped, estimate) = match &s.plan {
                    ServerPlan::SetupRunning => (
                        Some("Exchange setup is running there now; a run re-attaches to it".into()),
                        Duration::ZERO,
                    ),
                    ServerPlan::AlreadyAtTarget => (
                        Some(format!("already at {} or later", dry.target_build)),
                        Duration::ZERO,
                    ),
                    ServerPlan::DoneInJournal => (
                        Some("finished earlier in this rollout (journal)".into()),
                        Duration::ZERO,
                    ),
                    ServerPlan::LeftOut => (
                        Some(format!(
                            "not rolled in this run ({})",
                            dry.selection.as_deref().unwrap_or("left out")
                        )),
                        Duration::ZERO,
                    ),
                    ServerPlan::Steps { .. } => (None, s.plan.estimate()),
                };
                PlannedServer {
                    name: s.name.clone(),
                    dag: s.dag.clone(),
                    skipped,
                    estimate,
                }
            })
            .collect();
        let steps = dry
            .servers
            .iter()
            .find_map(|s| match &s.plan {
                ServerPlan::Steps { steps, .. } => Some(step_rows(steps, plan)),
                _ => None,
            })
            .unwrap_or_default();
        WhatWillHappen {
            blocked: report.verdict == crate::preflight::model::OverallVerdict::Blocked,
            estimate: total_estimate(&servers, plan.policy.max_parallel_dags),
            moves: moves(plan, report, &servers),
            policy: policy(plan),
            rollback: rollback(plan),
            servers,
            steps,
        }
    }
}

fn step_rows(steps: &[PlannedStep], plan: &Plan) -> Vec<StepRow> {
    steps
        .iter()
        .map(|s| match s {
            PlannedStep::Step { id, gated, .. } => StepRow {
                step: id.id().to_string(),
                gated: *gated,
                estimate: Some(crate::runbook::dry_run::estimate(*id, plan)),
            },
            PlannedStep::RedistributeAtEnd => StepRow {
                step: StepId::Redistribute.id().to_string(),
                gated: false,
                estimate: None,
            },
        })
        .collect()
}

/// Members of a DAG one after another, DAGs side by side up to
/// `max_parallel_dags` (approximated as the sum spread over the workers,
/// never less than the longest DAG).
fn total_estimate(servers: &[PlannedServer], max_parallel_dags: u32) -> Duration {
    let mut per_dag: Vec<(Option<&str>, Duration)> = Vec::new();
    for s in servers {
        let key = s.dag.as_deref();
        match per_dag.iter_mut().find(|(d, _)| {
            d.is_some() && d.map(str::to_ascii_lowercase) == key.map(str::to_ascii_lowercase)
        }) {
            Some((_, total)) => *total += s.estimate,
            None => per_dag.push((key, s.estimate)),
        }
    }
    let sum: Duration = per_dag.iter().map(|(_, d)| *d).sum();
    let longest = per_dag.iter().map(|(_, d)| *d).max().unwrap_or_default();
    longest.max(sum / max_parallel_dags.max(1))
}

/// Each rolled server's active databases and the copy expected to take
/// over: the healthy, non-lagged copy elsewhere with the best activation
/// preference. Active Manager's best copy selection makes the real choice
/// (it weighs copy and replay queues and content index state first, and
/// activation preference among equals: learn.microsoft.com/exchange/
/// high-availability/database-availability-groups/active-manager); this is
/// the expected outcome, not a promise.
fn moves(plan: &Plan, report: &Report, servers: &[PlannedServer]) -> Vec<DatabaseMove> {
    let all: Vec<(&str, &CopyHealth)> = report
        .servers
        .iter()
        .flat_map(|s| s.copies.iter().map(move |c| (s.name.as_str(), c)))
        .collect();
    let back = plan.policy.redistribute == Redistribute::AfterEach;
    let mut out = Vec::new();
    for s in servers.iter().filter(|s| s.skipped.is_none()) {
        for (_, active) in all
            .iter()
            .filter(|(owner, c)| owner.eq_ignore_ascii_case(&s.name) && c.active)
        {
            let to = all
                .iter()
                .filter(|(owner, c)| {
                    !owner.eq_ignore_ascii_case(&s.name)
                        && c.database.eq_ignore_ascii_case(&active.database)
                        && c.counts_as_redundancy()
                        && !c.activation_suspended
                })
                .min_by_key(|(_, c)| c.activation_preference.unwrap_or(u32::MAX))
                .map(|(owner, _)| owner.to_string());
            out.push(DatabaseMove {
                server: s.name.clone(),
                database: active.database.clone(),
                to,
                back_after: back,
            });
        }
    }
    out
}

fn policy(plan: &Plan) -> Vec<String> {
    let p = &plan.policy;
    let mut out = vec![format!(
        "One member of each DAG at a time; up to {} DAG{} at once.",
        p.max_parallel_dags,
        if p.max_parallel_dags == 1 { "" } else { "s" }
    )];
    // The rule of assess::gate::required_copies, in words.
    let copies = match (p.min_healthy_copies, p.override_minimum_two_copies) {
        (Some(n), _) if n > 2 => {
            format!("at least {n} healthy copies on the other members ([policy] min_healthy_copies)")
        }
        (_, true) => "at least one healthy copy on the other members (override_minimum_two_copies = true)".to_string(),
        _ => "at least two healthy copies on the other members (one when only two members run), as StartDagServerMaintenance.ps1 requires".to_string(),
    };
    out.push(format!(
        "Before a server leaves service, and again before setup, the gate checks that every other member is in service and that every database keeps {copies}; otherwise the rollout stops before touching that server."
    ));
    out.push(format!(
        "Active databases move off a server through Exchange's own maintenance switches (DatabaseCopyActivationDisabledAndMoveNow), and {}.",
        match p.redistribute {
            Redistribute::AfterEach => "move back by activation preference after each server",
            Redistribute::AtEnd => "move back by activation preference once per DAG, after its last server",
        }
    ));
    if p.pause_between {
        out.push("cu-roll asks before each next server (pause_between = true).".into());
    }
    out
}

fn rollback(plan: &Plan) -> Vec<String> {
    let mut out = vec![
        "Before any change on a server, backup-config saves its Exchange configuration files to a zip in the state directory; after the CU, cu-roll drift shows customisations the CU reverted and cu-roll restore-config puts them back.".to_string(),
        "Every change cu-roll makes is journaled before it is sent; exit-maintenance undoes only cu-roll's own maintenance changes and restores the activation policy observed before (the run report lists each change).".to_string(),
        "A Cumulative Update cannot be rolled back (uninstalling removes Exchange: docs/steps/setup.md). If setup fails, the server stays in maintenance while the other members serve its databases; fix the cause from ExchangeSetup.log and run cu-roll again (setup /Mode:Upgrade resumes).".to_string(),
    ];
    if plan.rollout.su_path.is_some() {
        out.push("The security update can be uninstalled from Programs and Features → Installed Updates (docs/steps/security-update.md); cu-roll never uninstalls anything.".into());
    }
    out.push("Ctrl-C or SIGTERM stops the run at a safe point; running the same command again resumes where it stopped.".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{self, Ad};
    use crate::runbook::dry_run::ServerDryRun;

    fn plan() -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab.toml");
        crate::plan::load(&path).expect("plans/lab.toml")
    }

    fn steps() -> ServerPlan {
        let plan = plan();
        let steps = StepId::ALL
            .iter()
            .map(|id| PlannedStep::Step {
                id: *id,
                gated: matches!(id, StepId::EnterMaintenance | StepId::RebootBeforeSetup),
                intent: "",
                estimate: crate::runbook::dry_run::estimate(*id, &plan),
                commands: Vec::new(),
            })
            .collect();
        ServerPlan::Steps { steps, done: 0 }
    }

    fn dry(plan: &Plan) -> DryRun {
        let server = |name: &str, plan: ServerPlan| ServerDryRun {
            name: name.into(),
            fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
            dag: Some("DAG01".into()),
            plan,
        };
        DryRun {
            plan: plan.path.clone(),
            target_name: "Exchange Server 2019 CU15 Feb26SU".into(),
            target_build: "15.2.1748.43".parse().unwrap(),
            order_policy: plan.policy.order,
            order: vec!["EX01".into(), "EX03".into(), "EX02".into()],
            servers: vec![
                server("EX01", steps()),
                server("EX03", steps()),
                server("EX02", ServerPlan::AlreadyAtTarget),
            ],
            resumes: false,
            after_finished: false,
            min_healthy_copies: plan.policy.min_healthy_copies,
            max_parallel_dags: plan.policy.max_parallel_dags,
            pause_between: plan.policy.pause_between,
            selection: None,
        }
    }

    #[test]
    fn order_skips_estimates_and_policy_come_from_the_plan_and_the_dry_run() {
        let plan = plan();
        let report = fixture::report(Ad::Prepared);
        let w = WhatWillHappen::of(&plan, &report, &dry(&plan));
        assert!(w.blocked, "the fixture's EX03 is blocked");
        let names: Vec<&str> = w.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["EX01", "EX03", "EX02"]);
        assert_eq!(
            w.servers[2].skipped.as_deref(),
            Some("already at 15.2.1748.43 or later")
        );
        // lab.toml: setup capped by its 5m timeout, reboots by 2m, …
        let per_server = w.servers[0].estimate;
        assert_eq!(per_server, Duration::from_secs(25 * 60));
        // One DAG: its members one after another.
        assert_eq!(w.estimate, per_server * 2);
        assert_eq!(w.steps.len(), 9);
        assert!(w.steps[1].gated && !w.steps[3].gated);
        assert!(
            w.policy[1].contains("at least two healthy copies"),
            "{:?}",
            w.policy
        );
        assert!(w
            .rollback
            .iter()
            .any(|r| r.contains("cannot be rolled back")));
    }

    #[test]
    fn active_databases_move_to_the_best_healthy_copy_elsewhere() {
        let plan = plan();
        let report = fixture::report(Ad::Prepared);
        let w = WhatWillHappen::of(&plan, &report, &dry(&plan));
        // Only the servers that roll (EX01, EX03), each active copy once.
        assert!(w.moves.iter().all(|m| m.server != "EX02"), "{:?}", w.moves);
        for m in &w.moves {
            assert_ne!(m.to.as_deref(), Some(m.server.as_str()), "{m:?}");
            assert!(m.back_after);
        }
        let db04 = w
            .moves
            .iter()
            .find(|m| m.database == "DB04")
            .expect("DB04 moves");
        assert_eq!(db04.server, "EX03");
        // DB04's other healthy copy by preference is on EX02 (2); EX03's own is active.
        assert_eq!(db04.to.as_deref(), Some("EX02"));
    }

    #[test]
    fn the_html_section_is_self_contained_and_snapshotted() {
        let plan = plan();
        let mut report = fixture::report(Ad::Prepared);
        report.servers[0].copies[0].database = "<DB01 & co>".into();
        let w = WhatWillHappen::of(&plan, &report, &dry(&plan));
        let page = crate::report::render_html(&report, &w);
        crate::report::html::assert_self_contained(&page);
        let start = page.find("<h2>What will happen</h2>").expect("section");
        let end = page.find("<h2>Target</h2>").expect("after it");
        let section = &page[start..end];
        assert!(section.contains("Nothing starts until the blockers above are fixed"));
        insta::assert_snapshot!(section);
    }
}
