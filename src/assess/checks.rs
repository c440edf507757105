//! Pure assessments of one server's observed Exchange state: is it (partly)
//! in maintenance, and which of its database copies are healthy under the
//! policy. Legitimate configurations are not maintenance and not ill
//! health (review real-exchange.md #10): a `DatabaseCopyAutoActivationPolicy`
//! of `Blocked` or `IntrasiteOnly` is a setting (a DR-site member keeps it
//! for good; Microsoft's StartDagServerMaintenance.ps1 and DagCommonLibrary's
//! critical-resource checks judge redundancy, not the policy), and an
//! activation-suspended or lagged copy is "not an activation target", not
//! unhealthy. Pre-flight reports them and the rollout's availability gate
//! ([`super::gate`]) decides on them, so both judge a server by the same
//! rules. No I/O and no verdicts here: callers decide what a finding blocks.
//!
//! The types are part of the pre-flight report's JSON (`docs/report.md`,
//! re-exported from `preflight::model`): rename nothing casually.

use serde::Serialize;

use crate::exchange::ExchangeState;
use crate::plan::Policy;

/// Components Inactive by design on-premises (cmdlets.md §5).
const INACTIVE_BY_DESIGN: [&str; 2] = ["ForwardSyncDaemon", "ProvisioningRps"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceState {
    /// True when any of the below says the server is (partly) in maintenance.
    pub in_maintenance: bool,
    /// Components whose effective state is not Active, except the ones
    /// Inactive by design (ForwardSyncDaemon, ProvisioningRps).
    pub inactive_components: Vec<ComponentState>,
    /// `DatabaseCopyAutoActivationPolicy`: Unrestricted, IntrasiteOnly or
    /// Blocked. Shown, never a reason for `in_maintenance`: a permanent
    /// Blocked or IntrasiteOnly is a configuration (a DR member).
    pub activation_policy: Option<String>,
    pub activation_disabled_and_move_now: Option<bool>,
    /// Cluster node state: Up, Down, Paused, Joining, Unknown.
    pub cluster_node: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentState {
    pub component: String,
    /// Inactive or Draining.
    pub state: String,
    /// The requesters holding it non-Active (Maintenance, Functional, …).
    pub requesters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyHealth {
    /// `DB01\EX01`.
    pub name: String,
    pub database: String,
    /// Mounted, Healthy, Failed, … (CopyStatus name).
    pub status: String,
    pub active: bool,
    pub activation_preference: Option<u32>,
    pub copy_queue_length: Option<u64>,
    pub replay_queue_length: Option<u64>,
    /// Healthy, NotApplicable (2019/SE), Failed, … (ContentIndexState name).
    pub content_index_state: String,
    /// Suspended for activation (`-ActivationOnly`): not an activation
    /// target, and no reason for `ok` to be false.
    pub activation_suspended: bool,
    /// A lagged copy (`ReplayLagTime` > 0): exempt from the replay-queue
    /// limit, and never counted as redundancy by the gate.
    pub lagged: bool,
    pub ok: bool,
}

impl CopyHealth {
    /// Whether the availability gate counts this copy as one of the
    /// healthy copies a database keeps: healthy and not lagged. Stricter
    /// than StartDagServerMaintenance.ps1, which leaves the count to Active
    /// Manager (whether that counts lagged copies is UNVERIFIED).
    pub fn counts_as_redundancy(&self) -> bool {
        self.ok && !self.lagged
    }
}

/// What the server's maintenance state is, as an admin reads it.
pub fn maintenance(state: &ExchangeState) -> MaintenanceState {
    let inactive_components: Vec<ComponentState> = state
        .components
        .iter()
        .filter(|c| !c.state.eq_ignore_ascii_case("Active"))
        .filter(|c| {
            !INACTIVE_BY_DESIGN
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&c.component))
        })
        .map(|c| ComponentState {
            component: c.component.clone(),
            state: c.state.clone(),
            requesters: c.holding_requesters(),
        })
        .collect();
    let node_down = state
        .cluster_node_state
        .as_deref()
        .is_some_and(|n| !n.eq_ignore_ascii_case("Up"));
    MaintenanceState {
        in_maintenance: !inactive_components.is_empty()
            || state.activation_disabled_and_move_now
            || node_down,
        inactive_components,
        activation_policy: Some(state.activation_policy.clone()),
        activation_disabled_and_move_now: Some(state.activation_disabled_and_move_now),
        cluster_node: state.cluster_node_state.clone(),
    }
}

/// Why the server counts as in maintenance, one phrase per reason.
pub fn maintenance_reasons(m: &MaintenanceState) -> Vec<String> {
    let mut r: Vec<String> = m
        .inactive_components
        .iter()
        .map(|c| {
            if c.requesters.is_empty() {
                format!("{} {}", c.component, c.state)
            } else {
                format!(
                    "{} {} (requester {})",
                    c.component,
                    c.state,
                    c.requesters.join(", ")
                )
            }
        })
        .collect();
    if m.activation_disabled_and_move_now == Some(true) {
        r.push("DatabaseCopyActivationDisabledAndMoveNow True".into());
    }
    if let Some(n) = m
        .cluster_node
        .as_deref()
        .filter(|n| !n.eq_ignore_ascii_case("Up"))
    {
        r.push(format!("cluster node {n}"));
    }
    r
}

/// A copy is healthy when mounted (active) or Healthy (passive) and its
/// queues are within the policy. Lagged copies are exempt from the
/// replay-queue limit (exchange-facts.md §5); activation suspension is the
/// usual protection of a lagged copy, not a fault.
pub fn copy_health(state: &ExchangeState, policy: &Policy) -> Vec<CopyHealth> {
    state
        .copies
        .iter()
        .map(|c| {
            let status_ok = if c.active_copy {
                c.status.eq_ignore_ascii_case("Mounted")
            } else {
                c.status.eq_ignore_ascii_case("Healthy")
            };
            let copy_ok = c.copy_queue_length.unwrap_or(0) <= policy.max_copy_queue;
            let replay_ok =
                c.lagged() || c.replay_queue_length.unwrap_or(0) <= policy.max_replay_queue;
            CopyHealth {
                name: c.name.clone(),
                database: c.database_name.clone(),
                status: c.status.clone(),
                active: c.active_copy,
                activation_preference: c.activation_preference,
                copy_queue_length: c.copy_queue_length,
                replay_queue_length: c.replay_queue_length,
                content_index_state: c.content_index_state.clone(),
                activation_suspended: c.activation_suspended,
                lagged: c.lagged(),
                ok: status_ok && copy_ok && replay_ok,
            }
        })
        .collect()
}

/// Content index states that are fine: Healthy on 2016; NotApplicable on
/// 2019/SE, where Big Funnel replaced the per-copy index (exchange-facts.md §5).
pub fn content_index_ok(state: &str) -> bool {
    ["Healthy", "NotApplicable", "HealthyAndUpgrading"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(state))
}

/// Why a copy is not healthy, in words.
pub fn copy_problem(c: &CopyHealth, policy: &Policy) -> String {
    let mut why = Vec::new();
    let expected = if c.active { "Mounted" } else { "Healthy" };
    if !c.status.eq_ignore_ascii_case(expected) {
        why.push(format!("is {} (expected {expected})", c.status));
    }
    if c.copy_queue_length.unwrap_or(0) > policy.max_copy_queue {
        why.push(format!(
            "has CopyQueueLength {} (limit {})",
            c.copy_queue_length.unwrap_or(0),
            policy.max_copy_queue
        ));
    }
    if !c.lagged && c.replay_queue_length.unwrap_or(0) > policy.max_replay_queue {
        why.push(format!(
            "has ReplayQueueLength {} (limit {})",
            c.replay_queue_length.unwrap_or(0),
            policy.max_replay_queue
        ));
    }
    format!("database copy {} {}", c.name, why.join(" and "))
}

/// What an admin should know about a server's legitimate configuration:
/// an activation policy other than Unrestricted and copies that are not
/// activation targets. Never blockers.
pub fn configuration_notes(m: &MaintenanceState, copies: &[CopyHealth]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = m
        .activation_policy
        .as_deref()
        // Empty: not a Mailbox server (an Edge server has no policy).
        .filter(|p| !p.is_empty() && !p.eq_ignore_ascii_case("Unrestricted"))
    {
        out.push(format!(
            "DatabaseCopyAutoActivationPolicy is {p} (a DR member's setting, not maintenance): \
             cu-roll sets Blocked while it rolls this server and puts {p} back afterwards"
        ));
    }
    for c in copies.iter().filter(|c| c.lagged) {
        out.push(format!(
            "{} is a lagged copy{}: never counted as one of the healthy copies a database keeps",
            c.name,
            if c.activation_suspended {
                ", suspended for activation"
            } else {
                ""
            }
        ));
    }
    for c in copies
        .iter()
        .filter(|c| c.activation_suspended && !c.lagged)
    {
        out.push(format!(
            "{} is suspended for activation (Suspend-MailboxDatabaseCopy -ActivationOnly): not an activation target",
            c.name
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{ComponentObs, CopyObs, RequesterObs};

    #[test]
    fn someone_elses_maintenance_is_seen_with_its_requester() {
        let state = ExchangeState {
            components: vec![
                ComponentObs {
                    component: "HubTransport".into(),
                    state: "Inactive".into(),
                    local_states: vec![RequesterObs {
                        requester: "Maintenance".into(),
                        state: "Inactive".into(),
                        timestamp: "2026-11-20T01:00:00.0000000Z".into(),
                    }],
                    remote_states: vec![],
                },
                ComponentObs {
                    component: "ForwardSyncDaemon".into(),
                    state: "Inactive".into(),
                    local_states: vec![],
                    remote_states: vec![],
                },
            ],
            activation_policy: "Blocked".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Paused".into()),
            copies: vec![],
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        };
        let m = maintenance(&state);
        assert!(m.in_maintenance);
        assert_eq!(m.activation_policy.as_deref(), Some("Blocked"));
        assert_eq!(
            m.inactive_components.len(),
            1,
            "ForwardSyncDaemon is Inactive by design"
        );
        let reasons = maintenance_reasons(&m);
        assert_eq!(
            reasons,
            [
                "HubTransport Inactive (requester Maintenance)",
                "cluster node Paused"
            ],
            "the policy is a setting, not a reason"
        );
    }

    fn in_service(policy: &str, copies: Vec<CopyObs>) -> ExchangeState {
        ExchangeState {
            components: vec![ComponentObs {
                component: "ServerWideOffline".into(),
                state: "Active".into(),
                local_states: vec![],
                remote_states: vec![],
            }],
            activation_policy: policy.into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies,
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    /// Review #10: a DR member Blocked or IntrasiteOnly for good, with all
    /// components Active and its node Up, is in service (the old rule
    /// called any policy but Unrestricted maintenance).
    #[test]
    fn a_permanent_activation_policy_is_not_maintenance() {
        for policy in ["Blocked", "IntrasiteOnly"] {
            let m = maintenance(&in_service(policy, vec![]));
            assert!(!m.in_maintenance, "{policy}");
            assert!(maintenance_reasons(&m).is_empty(), "{policy}");
            let notes = configuration_notes(&m, &[]);
            assert!(
                notes[0].contains(&format!("is {policy} (a DR member's setting")),
                "{notes:?}"
            );
        }
    }

    /// Review #10/#11: an activation-suspended lagged copy with a long
    /// replay queue is healthy, and never counts as redundancy.
    #[test]
    fn a_lagged_activation_suspended_copy_is_healthy_but_not_redundancy() {
        let policy = crate::plan::parse(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
                .unwrap(),
            std::path::Path::new("plans/lab.toml"),
        )
        .unwrap()
        .policy;
        let lagged = CopyObs {
            name: "DB01\\EX04".into(),
            database_name: "DB01".into(),
            mailbox_server: "EX04".into(),
            status: "Healthy".into(),
            active_copy: false,
            activation_suspended: true,
            activation_preference: Some(4),
            copy_queue_length: Some(0),
            replay_queue_length: Some(3360),
            content_index_state: "NotApplicable".into(),
            replay_lag_enabled: false,
            replay_lag_time: Some("7.00:00:00".into()),
        };
        let c = &copy_health(&in_service("Blocked", vec![lagged]), &policy)[0];
        assert!(c.ok, "{c:?}");
        assert!(c.lagged && c.activation_suspended);
        assert!(!c.counts_as_redundancy());
    }
}
