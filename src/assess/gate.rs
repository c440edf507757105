//! The availability gate (design principle 2): before a server is taken
//! out of service, every other member of its DAG must be in service, and
//! every database with a copy on it must keep at least
//! `min_healthy_copies` healthy, non-suspended copies on members that stay
//! up and are not Blocked, with queues under the policy's limits. Pure
//! functions over observations; a refusal names each database or server
//! and why.

use super::checks;
use crate::exchange::ExchangeState;
use crate::plan::Policy;

/// One DAG member as observed just before the gate.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub name: String,
    /// The member's state, or why it could not be read.
    pub state: Result<ExchangeState, String>,
}

/// Checks the gate for taking `server` out of service. `Ok(())` opens it;
/// `Err` lists every reason it stays shut.
pub fn check(server: &str, members: &[MemberView], policy: &Policy) -> Result<(), Vec<String>> {
    let mut refusals = Vec::new();
    let others: Vec<&MemberView> = members
        .iter()
        .filter(|m| !m.name.eq_ignore_ascii_case(server))
        .collect();

    for m in &others {
        match &m.state {
            Err(e) => refusals.push(format!("{} cannot be checked: {e}", m.name)),
            Ok(st) => {
                let maint = checks::maintenance(st);
                if maint.in_maintenance {
                    refusals.push(format!(
                        "{} is out of service ({}): never two members of a DAG out at once",
                        m.name,
                        checks::maintenance_reasons(&maint).join("; ")
                    ));
                }
            }
        }
    }

    let Some(own) = members
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(server))
        .and_then(|m| m.state.as_ref().ok())
    else {
        refusals.push(format!("{server} itself cannot be checked"));
        return Err(refusals);
    };

    for copy in &own.copies {
        let mut healthy = Vec::new();
        let mut other_copies = Vec::new();
        for m in &others {
            let Ok(st) = &m.state else { continue };
            let stays_available = !checks::maintenance(st).in_maintenance;
            for c in checks::copy_health(st, policy)
                .into_iter()
                .filter(|c| c.database.eq_ignore_ascii_case(&copy.database_name))
            {
                if c.ok && stays_available {
                    healthy.push(m.name.clone());
                } else {
                    other_copies.push(if c.ok {
                        format!("{} out of service", c.name)
                    } else {
                        checks::copy_problem(&c, policy)
                            .trim_start_matches("database copy ")
                            .to_string()
                    });
                }
            }
        }
        if (healthy.len() as u64) < u64::from(policy.min_healthy_copies) {
            refusals.push(format!(
                "database {} would keep {} healthy cop{} while {server} is out of service \
                 (min_healthy_copies = {}){}",
                copy.database_name,
                healthy.len(),
                if healthy.len() == 1 { "y" } else { "ies" },
                policy.min_healthy_copies,
                if other_copies.is_empty() {
                    String::new()
                } else {
                    format!(": {}", other_copies.join(", "))
                }
            ));
        }
    }

    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{ComponentObs, CopyObs};

    fn policy() -> Policy {
        crate::plan::parse(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
                .unwrap(),
            std::path::Path::new("plans/lab.toml"),
        )
        .unwrap()
        .policy
    }

    fn copy(db: &str, server: &str, status: &str, active: bool) -> CopyObs {
        CopyObs {
            name: format!("{db}\\{server}"),
            database_name: db.into(),
            mailbox_server: server.into(),
            status: status.into(),
            active_copy: active,
            activation_suspended: false,
            activation_preference: Some(1),
            copy_queue_length: Some(0),
            replay_queue_length: Some(0),
            content_index_state: "NotApplicable".into(),
            replay_lag_enabled: false,
        }
    }

    fn member(name: &str, copies: Vec<CopyObs>, policy_name: &str) -> MemberView {
        MemberView {
            name: name.into(),
            state: Ok(ExchangeState {
                components: vec![ComponentObs {
                    component: "ServerWideOffline".into(),
                    state: "Active".into(),
                    local_states: vec![],
                    remote_states: vec![],
                }],
                activation_policy: policy_name.into(),
                activation_disabled_and_move_now: false,
                database_availability_group: Some("DAG01".into()),
                cluster_node_state: Some("Up".into()),
                copies,
                queues: vec![],
                queues_error: None,
                cluster_node_error: None,
            }),
        }
    }

    #[test]
    fn healthy_dag_opens_the_gate() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Healthy", false)],
                "Unrestricted",
            ),
        ];
        assert_eq!(check("EX02", &members, &policy()), Ok(()));
    }

    /// The only other copy is Failed: taking EX02 down would leave DB01 without a healthy copy.
    #[test]
    fn refuses_naming_the_database_without_a_healthy_copy_elsewhere() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Failed", false)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Mounted", true)],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].contains("database DB01 would keep 0 healthy copies while EX02"),
            "{why:?}"
        );
        assert!(why[0].contains("DB01\\EX01 is Failed"), "{why:?}");
    }

    #[test]
    fn refuses_when_another_member_is_already_out() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Healthy", false)],
                "Blocked",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX03",
                vec![copy("DB01", "EX03", "Healthy", false)],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(
            why.iter().any(|w| w.starts_with("EX01 is out of service")),
            "{why:?}"
        );
        // EX03 still holds a healthy copy, so DB01 itself is fine.
        assert!(!why.iter().any(|w| w.contains("database DB01")), "{why:?}");
    }

    #[test]
    fn an_unreachable_member_shuts_the_gate() {
        let members = vec![
            MemberView {
                name: "EX01".into(),
                state: Err("EX01 is unreachable".into()),
            },
            member("EX02", vec![], "Unrestricted"),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(why[0].contains("EX01 cannot be checked"), "{why:?}");
    }
}

/// When the gate refuses for a server cu-roll itself has already taken
/// (part way) out of service, the sentence that says so, so the refusal
/// never reads as if that server were back in service. `changes` are
/// cu-roll's journaled changes on `server` (intents adopted included), in
/// order; `None` when none of them still holds.
pub fn own_maintenance_note(server: &str, changes: &[crate::journal::Change]) -> Option<String> {
    use crate::journal::Change;
    let mut held: Vec<String> = Vec::new();
    let mut node = false;
    let mut blocked = false;
    let mut rebooted = false;
    for c in changes {
        match c {
            Change::ComponentState {
                component, state, ..
            } => {
                held.retain(|h| !h.eq_ignore_ascii_case(component));
                if !state.eq_ignore_ascii_case("Active") {
                    held.push(component.clone());
                }
            }
            Change::ClusterNodeSuspended => node = true,
            Change::ClusterNodeResumed => node = false,
            Change::ActivationPolicy { policy, .. } => {
                blocked = policy.eq_ignore_ascii_case("Blocked")
            }
            Change::RebootRequested { .. } => rebooted = true,
            _ => {}
        }
    }
    let mut what: Vec<String> = held
        .iter()
        .map(|h| format!("{h} held by Maintenance"))
        .collect();
    if blocked {
        what.push("activation Blocked".into());
    }
    if node {
        what.push("cluster node Paused".into());
    }
    if what.is_empty() {
        return None;
    }
    if rebooted {
        what.push("possibly rebooting".into());
    }
    Some(format!(
        "{server} itself is in cu-roll's own maintenance ({}): it stays out of service, with its databases served by the other members, until the gate opens",
        what.join(", ")
    ))
}
