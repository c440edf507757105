//! The scheduler's pure decisions: the plan's fingerprint (what a resumed
//! run must still agree with), the order servers roll in, and how they
//! group into DAGs that roll side by side. No I/O: the runner observes and
//! passes in what these functions decide on.

use super::RolloutOutcome;
use crate::exchange::ExchangeState;
use crate::journal::PlanFingerprint;
use crate::plan::ResolvedTarget;
use crate::plan::{Order, Plan, Server};

/// The plan as the journal fingerprints it.
pub fn fingerprint(plan: &Plan, target: &ResolvedTarget) -> PlanFingerprint {
    PlanFingerprint {
        servers: plan
            .servers
            .iter()
            .map(|s| format!("{}@{}", s.name, s.dag.as_deref().unwrap_or("-")))
            .collect(),
        target_build: target.build().to_string(),
        target_name: target.name(),
    }
}

/// What changed between two fingerprints, in words.
pub(super) fn fingerprint_difference(
    old: &PlanFingerprint,
    new: &PlanFingerprint,
) -> Option<String> {
    let mut diffs = Vec::new();
    if old.target_build != new.target_build {
        diffs.push(format!(
            "target was {} ({}), now {} ({})",
            old.target_name, old.target_build, new.target_name, new.target_build
        ));
    }
    if old.servers != new.servers {
        diffs.push(format!(
            "servers were [{}], now [{}]",
            old.servers.join(", "),
            new.servers.join(", ")
        ));
    }
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

/// The servers in the order they will be rolled: plan order, or fewest
/// active databases first (passive-first), ties kept in plan order; Edge
/// Transport servers after every Mailbox server.
pub fn choose_order(plan: &Plan, states: &[(String, Option<ExchangeState>)]) -> Vec<String> {
    let mut servers: Vec<(usize, &Server)> = plan.servers.iter().enumerate().collect();
    if plan.policy.order == Order::PassiveFirst {
        let actives = |name: &str| {
            states
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, s)| s.as_ref())
                .map_or(usize::MAX, |s| {
                    s.copies.iter().filter(|c| c.active_copy).count()
                })
        };
        servers.sort_by_key(|(i, s)| (actives(&s.name), *i));
    }
    // Edge Transport servers last, after the Mailbox servers whose
    // Test-EdgeSynchronization proves them (runbook::steps::edge; no
    // Microsoft document orders the two roles of one version: UNVERIFIED).
    servers.sort_by_key(|(_, s)| s.is_edge());
    servers.into_iter().map(|(_, s)| s.name.clone()).collect()
}

/// The maintenance window's verdict on starting `next` at `now_ms`: none
/// when the plan has no `not_after` or the server's estimated roll ends by
/// then; else the outcome that stops the run before it (exit 6).
pub(super) fn window_refusal(plan: &Plan, now_ms: i64, next: &str) -> Option<RolloutOutcome> {
    let end = plan.policy.not_after.as_ref()?;
    let estimate = plan.policy.estimated_server_duration();
    let ends = now_ms.saturating_add(i64::try_from(estimate.as_millis()).unwrap_or(i64::MAX));
    (ends > end.unix_ms).then(|| RolloutOutcome::WindowReached {
        before: next.to_string(),
        not_after: end.text.clone(),
        estimate,
    })
}

/// The servers, in roll order, grouped by DAG (groups in the order their
/// first member rolls); a server outside any DAG forms a group of its own,
/// except Edge servers, which form one group.
pub(super) fn dag_groups<'p>(ordered: &[&'p Server]) -> Vec<Vec<&'p Server>> {
    let mut groups: Vec<Vec<&Server>> = Vec::new();
    for s in ordered {
        match groups.iter_mut().find(|g| {
            (g[0].dag.is_some() && g[0].dag == s.dag)
                    // Edge servers roll one after another: each one's
                    // gate needs another in service (steps::edge).
                    || (g[0].is_edge() && s.is_edge())
        }) {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::CopyObs;

    fn plan() -> Plan {
        crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap()
    }

    fn state(actives: usize) -> ExchangeState {
        ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies: (0..actives)
                .map(|i| CopyObs::test_copy(&format!("DB0{i}"), "X", "Mounted", true))
                .collect(),
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    #[test]
    fn passive_first_rolls_the_fewest_actives_first_keeping_plan_order_on_ties() {
        let plan = plan();
        let states = vec![
            ("EX01".to_string(), Some(state(2))),
            ("EX02".to_string(), Some(state(1))),
            ("EX03".to_string(), Some(state(1))),
        ];
        assert_eq!(choose_order(&plan, &states), ["EX02", "EX03", "EX01"]);
        // A server that could not be read goes last rather than first.
        let states = vec![
            ("EX01".to_string(), Some(state(2))),
            ("EX02".to_string(), None),
            ("EX03".to_string(), Some(state(0))),
        ];
        assert_eq!(choose_order(&plan, &states), ["EX03", "EX01", "EX02"]);
    }

    #[test]
    fn plan_order_is_kept_when_asked() {
        let mut plan = plan();
        plan.policy.order = Order::Plan;
        let states = vec![("EX01".to_string(), Some(state(2)))];
        assert_eq!(choose_order(&plan, &states), ["EX01", "EX02", "EX03"]);
    }

    #[test]
    fn a_changed_target_or_server_list_is_described() {
        let a = PlanFingerprint {
            servers: vec!["EX01@DAG01".into()],
            target_build: "15.2.1748.43".into(),
            target_name: "Exchange Server 2019 CU15 Feb26SU".into(),
        };
        assert_eq!(fingerprint_difference(&a, &a.clone()), None);
        let mut b = a.clone();
        b.target_build = "15.2.1748.42".into();
        b.servers.push("EX02@DAG01".into());
        let d = fingerprint_difference(&a, &b).unwrap();
        assert!(
            d.contains("target was") && d.contains("servers were"),
            "{d}"
        );
    }

    /// Members of one DAG stay together in roll order, even when another
    /// DAG's member rolls between them; standalone servers roll alone.
    #[test]
    fn servers_group_by_dag_in_roll_order_and_standalones_stand_alone() {
        let server = |name: &str, dag: Option<&str>| Server {
            name: name.into(),
            fqdn: format!("{}.contoso.local", name.to_lowercase()),
            dag: dag.map(Into::into),
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        };
        let servers = [
            server("EX01", Some("DAG01")),
            server("EX11", Some("DAG02")),
            server("EX02", Some("DAG01")),
            server("EDGE1", None),
            server("EDGE2", None),
        ];
        let ordered: Vec<&Server> = servers.iter().collect();
        let names: Vec<Vec<&str>> = dag_groups(&ordered)
            .iter()
            .map(|g| g.iter().map(|s| s.name.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["EX01", "EX02"],
                vec!["EX11"],
                vec!["EDGE1"],
                vec!["EDGE2"]
            ]
        );
    }

    #[test]
    fn the_window_refuses_only_a_server_whose_estimate_ends_after_it() {
        let mut plan = plan();
        assert_eq!(window_refusal(&plan, 0, "EX01"), None, "no not_after");
        plan.policy.not_after =
            Some(crate::plan::parse_window_end("2026-12-08T06:00:00+01:00").unwrap());
        plan.policy.server_estimate = Some(std::time::Duration::from_secs(3600));
        let end = plan.policy.not_after.as_ref().unwrap().unix_ms;
        assert_eq!(
            window_refusal(&plan, end - 3_600_000, "EX01"),
            None,
            "ends exactly at it"
        );
        let Some(RolloutOutcome::WindowReached {
            before,
            not_after,
            estimate,
        }) = window_refusal(&plan, end - 3_599_000, "EX02")
        else {
            panic!("one second too late must refuse");
        };
        assert_eq!(
            (before.as_str(), not_after.as_str()),
            ("EX02", "2026-12-08T06:00:00+01:00")
        );
        assert_eq!(estimate.as_secs(), 3600);
        // The default estimate: every wait's timeout (4h40m with the
        // documented default timeouts).
        plan.policy.server_estimate = None;
        let min = |m: u64| std::time::Duration::from_secs(m * 60);
        plan.policy.timeouts = crate::plan::Timeouts {
            drain: min(30),
            setup: min(180),
            reboot: min(20),
            health: min(15),
            move_databases: min(15),
        };
        assert_eq!(
            plan.policy.estimated_server_duration().as_secs(),
            4 * 3600 + 40 * 60
        );
    }
}
