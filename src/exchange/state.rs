//! What `exchange_state` reads of one server, typed: components with their
//! requesters, activation settings, cluster node, database copies and
//! queues; and the questions asked of it everywhere (who holds a component,
//! is it drained). Field names mirror the JSON `EXCHANGE_STATE` prints.
//! Nothing here decides what to do about it.

use serde::Deserialize;

use super::query::one_or_many;

/// The requester cu-roll uses for every component it sets (runbook §2, §4).
pub const MAINTENANCE: &str = "Maintenance";
/// The requester a failed or interrupted setup leaves components under.
pub const FUNCTIONAL: &str = "Functional";

/// Exchange and the cluster compare names and enum values without case
/// (`Paused`, `ex02`, `HubTransport`): so does cu-roll.
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequesterObs {
    pub requester: String,
    pub state: String,
    /// Round-trip UTC time, `2021-09-28T17:32:01.8071985Z`.
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentObs {
    pub component: String,
    /// The effective state Exchange reports: Active, Inactive or Draining.
    pub state: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub local_states: Vec<RequesterObs>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub remote_states: Vec<RequesterObs>,
}

impl ComponentObs {
    /// The newest state `requester` set on this component (local and
    /// remote merged, newest wins, as Exchange merges them), if it ever set
    /// one: what cu-roll's own `-Requester Maintenance` calls left.
    pub fn requester_state(&self, requester: &str) -> Option<&str> {
        self.local_states
            .iter()
            .chain(&self.remote_states)
            .filter(|r| r.requester.eq_ignore_ascii_case(requester))
            .max_by(|a, b| a.timestamp.cmp(&b.timestamp))
            .map(|r| r.state.as_str())
    }

    /// The requesters whose newest entry (local and remote merged, newest
    /// wins per requester) is not Active: who holds the component down.
    pub fn holding_requesters(&self) -> Vec<String> {
        let mut newest: Vec<&RequesterObs> = Vec::new();
        for r in self.local_states.iter().chain(&self.remote_states) {
            match newest
                .iter_mut()
                .find(|n| n.requester.eq_ignore_ascii_case(&r.requester))
            {
                // Round-trip timestamps of one format compare as strings.
                Some(n) if r.timestamp > n.timestamp => *n = r,
                Some(_) => {}
                None => newest.push(r),
            }
        }
        newest
            .into_iter()
            .filter(|r| !r.state.eq_ignore_ascii_case("Active"))
            .map(|r| r.requester.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CopyObs {
    pub name: String,
    pub database_name: String,
    pub mailbox_server: String,
    pub status: String,
    pub active_copy: bool,
    #[serde(default)]
    pub activation_suspended: bool,
    pub activation_preference: Option<u32>,
    pub copy_queue_length: Option<u64>,
    pub replay_queue_length: Option<u64>,
    pub content_index_state: String,
    #[serde(default)]
    pub replay_lag_enabled: bool,
    /// This copy's `ReplayLagTime` from Get-MailboxDatabase's
    /// `ReplayLagTimes` (`7.00:00:00`; `00:00:00` when not lagged).
    #[serde(default)]
    pub replay_lag_time: Option<String>,
}

#[cfg(test)]
impl CopyObs {
    /// A copy of `db` on `server` for tests: `status`, active or not,
    /// activation preference 1, empty queues, no lag, no content index.
    pub(crate) fn test_copy(db: &str, server: &str, status: &str, active: bool) -> CopyObs {
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
            replay_lag_time: None,
        }
    }
}

impl CopyObs {
    /// A lagged copy: a `ReplayLagTime` above zero is configured, or the
    /// replication service reports its lag enabled (exchange-facts.md §5:
    /// "`ReplayLagTime` > 0"). A lag being played down still counts: the
    /// configuration says the copy is meant to lag.
    pub fn lagged(&self) -> bool {
        self.replay_lag_enabled
            || self
                .replay_lag_time
                .as_deref()
                .is_some_and(|t| t.bytes().any(|b| b.is_ascii_digit() && b != b'0'))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueObs {
    pub identity: String,
    pub delivery_type: String,
    #[serde(default)]
    pub next_hop_domain: Option<String>,
    pub message_count: u64,
}

impl QueueObs {
    /// Shadow-redundancy and poison queues do not count when draining
    /// (exchange-facts.md §5, cmdlets.md §7).
    pub fn counts_for_drain(&self) -> bool {
        !self.delivery_type.eq_ignore_ascii_case("ShadowRedundancy")
            && !self
                .next_hop_domain
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case("Poison Message"))
            && !self.identity.to_ascii_lowercase().ends_with("\\poison")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExchangeState {
    #[serde(default, deserialize_with = "one_or_many")]
    pub components: Vec<ComponentObs>,
    pub activation_policy: String,
    pub activation_disabled_and_move_now: bool,
    #[serde(default)]
    pub database_availability_group: Option<String>,
    pub cluster_node_state: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub copies: Vec<CopyObs>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub queues: Vec<QueueObs>,
    /// Why Get-Queue failed (transport service not answering), if it did.
    #[serde(default)]
    pub queues_error: Option<String>,
    /// Why Get-ClusterNode failed, if it did.
    #[serde(default)]
    pub cluster_node_error: Option<String>,
}

impl ExchangeState {
    /// Queues known to be empty (not counting shadow redundancy and poison):
    /// false while Get-Queue cannot answer.
    pub fn drained(&self) -> bool {
        self.queues_error.is_none() && self.queued_messages() == 0
    }

    /// Messages waiting, not counting shadow-redundancy and poison queues.
    pub fn queued_messages(&self) -> u64 {
        self.queues
            .iter()
            .filter(|q| q.counts_for_drain())
            .map(|q| q.message_count)
            .sum()
    }

    /// Component `name`, if the server has it (UMCallRouter is 2016 only).
    pub fn component(&self, name: &str) -> Option<&ComponentObs> {
        self.components.iter().find(|c| same(&c.component, name))
    }

    /// The newest state requester Maintenance left on `name`, if any.
    pub fn maintenance_state(&self, name: &str) -> Option<&str> {
        self.component(name)
            .and_then(|c| c.requester_state(MAINTENANCE))
    }

    /// Whether requester Maintenance holds `name` in a non-Active state.
    pub fn held_by_maintenance(&self, name: &str) -> bool {
        self.maintenance_state(name)
            .is_some_and(|s| !same(s, "Active"))
    }

    /// Whether the cluster node reports `Paused`.
    pub fn node_paused(&self) -> bool {
        self.cluster_node_state
            .as_deref()
            .is_some_and(|s| same(s, "Paused"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_entry_per_requester_wins() {
        let c: ComponentObs = serde_json::from_str(
            r#"{"Component":"HubTransport","State":"Active",
            "LocalStates":[{"Requester":"Maintenance","State":"Inactive","Timestamp":"2026-01-01T10:00:00.0000000Z"}],
            "RemoteStates":[{"Requester":"Maintenance","State":"Active","Timestamp":"2026-01-01T11:00:00.0000000Z"},
                            {"Requester":"Functional","State":"Inactive","Timestamp":"2026-01-01T09:00:00.0000000Z"}]}"#,
        )
        .unwrap();
        assert_eq!(c.holding_requesters(), vec!["Functional".to_string()]);
    }

    #[test]
    fn a_lone_object_where_an_array_was_expected_is_accepted() {
        let s: ExchangeState = serde_json::from_str(
            r#"{"Components":{"Component":"ServerWideOffline","State":"Active"},
            "ActivationPolicy":"Unrestricted","ActivationDisabledAndMoveNow":false,
            "ClusterNodeState":"Up","Copies":[],"Queues":null}"#,
        )
        .unwrap();
        assert_eq!(s.components.len(), 1);
        assert!(s.queues.is_empty());
    }

    #[test]
    fn shadow_and_poison_queues_do_not_count() {
        let q = |id: &str, t: &str, hop: &str, n| QueueObs {
            identity: id.into(),
            delivery_type: t.into(),
            next_hop_domain: Some(hop.into()),
            message_count: n,
        };
        let s = ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: None,
            cluster_node_state: None,
            copies: vec![],
            queues: vec![
                q("EX01\\Submission", "Undefined", "Submission", 2),
                q(
                    "EX01\\Shadow\\3",
                    "ShadowRedundancy",
                    "ex02.contoso.local",
                    5,
                ),
                q("EX01\\Poison", "Undefined", "Poison Message", 1),
                q("EX01\\7", "SmtpRelayToDag", "DAG01", 3),
            ],
            queues_error: None,
            cluster_node_error: None,
        };
        assert_eq!(s.queued_messages(), 5);
        assert!(!s.drained());
    }

    /// Get-Queue failing (transport restarting) is "not known to be drained",
    /// never "drained".
    #[test]
    fn queues_that_cannot_be_read_are_not_drained() {
        let s: ExchangeState = serde_json::from_str(
            r#"{"ActivationPolicy":"Blocked","ActivationDisabledAndMoveNow":true,
            "ClusterNodeState":"Paused","Queues":[],
            "QueuesError":"The Microsoft Exchange Transport service is not running."}"#,
        )
        .unwrap();
        assert_eq!(s.queued_messages(), 0);
        assert!(!s.drained());
    }
}
