//! The scheduler's pure decisions: the plan's fingerprint (what a resumed
//! run must still agree with), the order servers roll in, and how they
//! group into DAGs that roll side by side. No I/O: the runner observes and
//! passes in what these functions decide on.

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
/// active databases first (passive-first), ties kept in plan order.
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
    servers.into_iter().map(|(_, s)| s.name.clone()).collect()
}

/// The servers, in roll order, grouped by DAG (groups in the order their
/// first member rolls); a server outside any DAG forms a group of its own.
pub(super) fn dag_groups<'p>(ordered: &[&'p Server]) -> Vec<Vec<&'p Server>> {
    let mut groups: Vec<Vec<&Server>> = Vec::new();
    for s in ordered {
        match groups
            .iter_mut()
            .find(|g| g[0].dag.is_some() && g[0].dag == s.dag)
        {
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
                .map(|i| CopyObs {
                    name: format!("DB0{i}\\X"),
                    database_name: format!("DB0{i}"),
                    mailbox_server: "X".into(),
                    status: "Mounted".into(),
                    active_copy: true,
                    activation_suspended: false,
                    activation_preference: Some(1),
                    copy_queue_length: Some(0),
                    replay_queue_length: Some(0),
                    content_index_state: "NotApplicable".into(),
                    replay_lag_enabled: false,
                    replay_lag_time: None,
                })
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
}
