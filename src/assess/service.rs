//! Whether a server cu-roll took out of service is back as it was: the
//! final check a run makes before it may say "every server is at the
//! target" (exit 0). Judged against the server's baseline, what it looked
//! like before cu-roll's maintenance (journaled with the first write-ahead
//! intent): every component Active unless it was held before (or is
//! inactive by design), the activation policy and MoveNow as before, the
//! cluster node Up unless it was not Up before. And, for the gate's
//! refusal, whether cu-roll's own changes still hold a server out of
//! service (so the message never calls it back in service). Pure;
//! observes nothing.

use super::checks::maintenance;
use crate::exchange::ExchangeState;
use crate::journal::Baseline;

/// What differs from the baseline, one phrase each; empty when the server
/// is back in service as it was.
pub fn not_as_before(now: &ExchangeState, before: &Baseline) -> Vec<String> {
    let m = maintenance(now);
    let mut out = Vec::new();
    for c in &m.inactive_components {
        let held_before = |r: &String| before.held_by(&c.component, r);
        if c.requesters.is_empty() || !c.requesters.iter().all(held_before) {
            let who = if c.requesters.is_empty() {
                String::new()
            } else {
                format!(" (held by {})", c.requesters.join(", "))
            };
            out.push(format!("component {} is {}{who}", c.component, c.state));
        }
    }
    if !now
        .activation_policy
        .eq_ignore_ascii_case(&before.activation_policy)
    {
        out.push(format!(
            "activation policy is {}, not {} as before maintenance",
            now.activation_policy, before.activation_policy
        ));
    }
    if now.activation_disabled_and_move_now && !before.move_now {
        out.push("DatabaseCopyActivationDisabledAndMoveNow is $true".into());
    }
    let node_up = |n: Option<&str>| n.is_none_or(|n| n.eq_ignore_ascii_case("Up"));
    if !node_up(now.cluster_node_state.as_deref()) && node_up(before.cluster_node.as_deref()) {
        out.push(format!(
            "cluster node is {}, not Up",
            now.cluster_node_state.as_deref().unwrap_or("unknown")
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::HeldComponent;

    fn state(policy: &str, node: &str, held: &[(&str, &str)]) -> ExchangeState {
        let components: Vec<serde_json::Value> = held
            .iter()
            .map(|(c, r)| {
                serde_json::json!({"Component": c, "State": "Inactive",
                    "LocalStates": [{"Requester": r, "State": "Inactive", "Timestamp": "2026-01-01T00:00:00"}],
                    "RemoteStates": []})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "Components": components,
            "ActivationPolicy": policy,
            "ActivationDisabledAndMoveNow": false,
            "ClusterNodeState": node,
        }))
        .expect("a state")
    }

    fn before(policy: &str, held: &[(&str, &str)]) -> Baseline {
        Baseline {
            activation_policy: policy.into(),
            move_now: false,
            cluster_node: Some("Up".into()),
            held: held
                .iter()
                .map(|(c, r)| HeldComponent {
                    component: (*c).into(),
                    requester: (*r).into(),
                    state: "Inactive".into(),
                })
                .collect(),
            suspended_copies: Vec::new(),
            activation_suspended_copies: Vec::new(),
        }
    }

    #[test]
    fn blocked_after_an_unrestricted_baseline_is_not_back() {
        let problems = not_as_before(&state("Blocked", "Up", &[]), &before("Unrestricted", &[]));
        assert_eq!(
            problems,
            ["activation policy is Blocked, not Unrestricted as before maintenance"]
        );
    }

    #[test]
    fn what_was_so_before_cu_roll_is_as_before() {
        let held = [("HubTransport", "Sidelined")];
        assert!(
            not_as_before(&state("Blocked", "Up", &held), &before("Blocked", &held)).is_empty()
        );
        let problems = not_as_before(
            &state(
                "Unrestricted",
                "Paused",
                &[("ServerWideOffline", "Maintenance")],
            ),
            &before("Unrestricted", &[]),
        );
        assert_eq!(
            problems,
            [
                "component ServerWideOffline is Inactive (held by Maintenance)",
                "cluster node is Paused, not Up"
            ]
        );
    }
}
