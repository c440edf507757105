//! DAG membership as Exchange has it, checked against the plan: the gates
//! count copies and quorum on the plan's members, so a DAG member the plan
//! does not list, a plan server the DAG does not hold, or a server whose
//! DAG differs from the plan's `dag` would make them judge the wrong DAG.
//! Each is a blocker (`dag-membership`) showing both lists. Observation is
//! `exchange::observe::dag_members` and each server's `ExchangeState`
//! (`Get-MailboxServer`'s `DatabaseAvailabilityGroup`); nothing is changed.

use super::model::{BlockerCode, ServerReport};
use crate::exchange::{self, ExchangeState, Reach};
use crate::plan::{Plan, Server};

/// One blocker per DAG of the plan whose members differ from the plan's;
/// none for a DAG whose plan members could none be queried (their own
/// `unreachable` blockers say so already).
pub(super) fn dag_blockers(plan: &Plan, reach: &Reach<'_>, reachable: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for dag in plan.dags() {
        let members: Vec<&Server> = plan.dag_members(&dag).collect();
        let Some(via) = members
            .iter()
            .find(|m| reachable.iter().any(|r| r.eq_ignore_ascii_case(&m.name)))
        else {
            continue;
        };
        let planned: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        match exchange::observe::dag_members(reach, via, &dag) {
            Ok(obs) => out.extend(compare(&dag, &planned, &obs.servers)),
            Err(e) => out.push(format!(
                "could not read {dag}'s members (Get-DatabaseAvailabilityGroup) to check them against the plan: {e}"
            )),
        }
    }
    out
}

/// The plan's members of `dag` against Exchange's; a blocker naming both
/// lists when they differ (case-insensitive, order ignored).
pub(super) fn compare(dag: &str, planned: &[String], observed: &[String]) -> Option<String> {
    let missing_in =
        |list: &[String], name: &String| !list.iter().any(|n| n.eq_ignore_ascii_case(name));
    let unlisted: Vec<&str> = observed
        .iter()
        .filter(|n| missing_in(planned, n))
        .map(String::as_str)
        .collect();
    let strangers: Vec<&str> = planned
        .iter()
        .filter(|n| missing_in(observed, n))
        .map(String::as_str)
        .collect();
    if unlisted.is_empty() && strangers.is_empty() {
        return None;
    }
    let mut why = Vec::new();
    if !unlisted.is_empty() {
        why.push(format!(
            "{} {} a member the plan does not list (add a [[server]] with dag = \"{dag}\": the gates must count its copies)",
            unlisted.join(", "),
            if unlisted.len() == 1 { "is" } else { "are each" }
        ));
    }
    if !strangers.is_empty() {
        why.push(format!(
            "the plan puts {} in {dag}, which Exchange does not list as {} (fix its dag in the plan)",
            strangers.join(", "),
            if strangers.len() == 1 { "a member" } else { "members" }
        ));
    }
    Some(format!(
        "DAG membership differs from the plan: {}. Exchange's {dag} (Get-DatabaseAvailabilityGroup Servers): {}; the plan's {dag}: {}",
        why.join("; "),
        list(observed),
        list(planned)
    ))
}

/// Blocks `r` when its server's DAG differs from the plan's.
pub(super) fn apply(server: &Server, state: Option<&ExchangeState>, r: &mut ServerReport) {
    if let Some(text) = state.and_then(|s| server_blocker(server, s)) {
        r.block(BlockerCode::DagMembership, text);
        r.verdict = super::checks::verdict(&r.blockers, r.needs_upgrade_known());
    }
}

/// A server whose DAG (as `Get-MailboxServer` reports it) is not the one
/// the plan gives it, including a DAG member the plan calls standalone
/// (the review's case: with no `dag`, the gate sees no other copy).
pub(super) fn server_blocker(server: &Server, state: &ExchangeState) -> Option<String> {
    let observed = state
        .database_availability_group
        .as_deref()
        .filter(|d| !d.is_empty());
    match (server.dag.as_deref(), observed) {
        (None, Some(dag)) => Some(format!(
            "a member of {dag} (Get-MailboxServer), but the plan gives it no dag: add dag = \"{dag}\" to its [[server]], and list every other member of {dag}"
        )),
        (Some(planned), Some(dag)) if !planned.eq_ignore_ascii_case(dag) => Some(format!(
            "a member of {dag} (Get-MailboxServer), but the plan puts it in {planned}"
        )),
        (Some(planned), None) => Some(format!(
            "the plan puts it in {planned}, but Get-MailboxServer shows it in no DAG"
        )),
        _ => None,
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_same_members_in_any_order_and_case_pass() {
        assert_eq!(
            compare("DAG01", &s(&["EX01", "EX02"]), &s(&["ex02", "EX01"])),
            None
        );
    }

    #[test]
    fn a_member_missing_from_the_plan_and_a_stranger_are_named_with_both_lists() {
        let text = compare(
            "DAG01",
            &s(&["EX01", "EX02", "EX09"]),
            &s(&["EX01", "EX02", "EX03"]),
        )
        .unwrap();
        assert!(
            text.contains("EX03 is a member the plan does not list"),
            "{text}"
        );
        assert!(
            text.contains("the plan puts EX09 in DAG01, which Exchange does not list as a member"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Exchange's DAG01 (Get-DatabaseAvailabilityGroup Servers): EX01, EX02, EX03; the plan's DAG01: EX01, EX02, EX09"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_server_whose_dag_differs_from_the_plan_is_named() {
        let server = |dag: Option<&str>| Server {
            name: "EX02".into(),
            fqdn: "ex02.contoso.local".into(),
            dag: dag.map(Into::into),
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        };
        let state = |dag: Option<&str>| ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: dag.map(Into::into),
            cluster_node_state: None,
            copies: vec![],
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        };
        let standalone = server_blocker(&server(None), &state(Some("DAG01"))).unwrap();
        assert!(
            standalone
                .starts_with("a member of DAG01 (Get-MailboxServer), but the plan gives it no dag"),
            "{standalone}"
        );
        assert!(server_blocker(&server(Some("DAG02")), &state(Some("DAG01"))).is_some());
        assert!(server_blocker(&server(Some("DAG01")), &state(None)).is_some());
        assert_eq!(
            server_blocker(&server(Some("dag01")), &state(Some("DAG01"))),
            None
        );
        assert_eq!(server_blocker(&server(None), &state(None)), None);
    }
}
