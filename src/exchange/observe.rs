//! Read-only observations: server facts, Exchange maintenance state and
//! copies, AD levels. Field names mirror the JSON the scripts print.

use serde::{Deserialize, Deserializer};

use super::{first_error_line, scripts, QueryError};
use crate::exec::Executor;
use crate::plan::Server;
use crate::ps::{parse_json, Arg, Script};

/// Accepts `null`, a bare value or an array where PowerShell may have
/// unrolled a one-element array (cmdlets.md §14).
pub(super) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
        None,
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(t)) => vec![t],
        Some(OneOrMany::None) | None => Vec::new(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstalledProduct {
    /// The Uninstall subkey: a product code such as `{41D635FE-…}`.
    #[serde(default)]
    pub key: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub version: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerFacts {
    pub computer_name: String,
    /// `15.02.1748.043` as ExSetup reports it.
    pub ex_setup_version: Option<String>,
    pub dot_net_release: Option<u32>,
    pub os_caption: Option<String>,
    pub os_version: Option<String>,
    pub last_boot_up_time: Option<String>,
    pub system_drive_free_bytes: Option<u64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub products: Vec<InstalledProduct>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub pending_reboot: Vec<String>,
}

impl ServerFacts {
    /// The build `ExSetup.exe` reports (SU included), when readable.
    pub fn build(&self) -> Option<crate::catalog::ExchangeBuild> {
        self.ex_setup_version.as_deref()?.parse().ok()
    }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdLevelsObs {
    pub schema_range_upper: u32,
    pub org_object_version: u32,
    pub domain_object_version: u32,
}

pub(super) fn run_json<T: serde::de::DeserializeOwned>(
    exec: &dyn Executor,
    server: &Server,
    script: &Script,
) -> Result<T, QueryError> {
    let out = exec.run_ps(server, script.text())?;
    if !out.success() {
        return Err(QueryError::ScriptFailed {
            server: server.name.clone(),
            purpose: script.purpose,
            exit_code: out.exit_code,
            detail: first_error_line(&out.stderr),
        });
    }
    parse_json(&out.stdout).map_err(|source| QueryError::BadOutput {
        server: server.name.clone(),
        purpose: script.purpose,
        source,
    })
}

/// The script `server_facts` sends.
pub fn server_facts_script() -> Script {
    Script::render(
        "reading build and prerequisites",
        scripts::SERVER_FACTS,
        &[],
    )
}

/// The script `exchange_state` sends for `server`.
pub fn exchange_state_script(server: &Server) -> Script {
    Script::render(
        "reading maintenance state, copies and queues",
        scripts::EXCHANGE_STATE,
        &[("server", Arg::Str(&server.name))],
    )
}

/// The script `ad_levels` sends.
pub fn ad_levels_script() -> Script {
    Script::render("reading Active Directory levels", scripts::AD_LEVELS, &[])
}

pub fn server_facts(exec: &dyn Executor, server: &Server) -> Result<ServerFacts, QueryError> {
    run_json(exec, server, &server_facts_script())
}

pub fn exchange_state(exec: &dyn Executor, server: &Server) -> Result<ExchangeState, QueryError> {
    run_json(exec, server, &exchange_state_script(server))
}

pub fn ad_levels(exec: &dyn Executor, server: &Server) -> Result<AdLevelsObs, QueryError> {
    run_json(exec, server, &ad_levels_script())
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
