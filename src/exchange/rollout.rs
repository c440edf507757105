//! Observations the rollout steps read besides `exchange_state` and
//! `server_facts`: boot time and Exchange services (reboots), the health
//! tests, and the results of an explicit database move. The scripts that
//! produce them are the runbook's templates (`runbook::scripts`); this file
//! only owns the typed shapes of what they print and `query`, which runs
//! one and parses it. Nothing here decides anything.

use serde::Deserialize;

use super::observe::one_or_many;
use super::QueryError;
use crate::exec::Executor;
use crate::plan::Server;
use crate::ps::Script;

/// One Exchange service as `Get-Service` sees it (names, not enum numbers).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceObs {
    pub name: String,
    /// `Running`, `Stopped`, `StartPending`…
    pub status: String,
    /// `Automatic`, `Manual`, `Disabled` (delayed start reads `Automatic` in 5.1).
    pub start_type: String,
}

/// What `BOOT_STATE` prints: when the server last booted, and its
/// `MSExchange*` services.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BootState {
    /// Round-trip UTC time, `2026-01-01T10:00:00.0000000Z`.
    pub last_boot_up_time: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub services: Vec<ServiceObs>,
}

impl BootState {
    /// Services set to start automatically that are not running yet: after
    /// a reboot Exchange is back only when this is empty.
    pub fn automatic_not_running(&self) -> Vec<&ServiceObs> {
        self.services
            .iter()
            .filter(|s| {
                s.start_type.eq_ignore_ascii_case("Automatic")
                    && !s.status.eq_ignore_ascii_case("Running")
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceHealthObs {
    pub role: String,
    pub required_services_running: bool,
    #[serde(default, deserialize_with = "one_or_many")]
    pub services_not_running: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MapiObs {
    pub database: String,
    /// `Success`, `*FAILURE*`… (MapiTransactionResult.ToString()).
    pub result: String,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationCheckObs {
    pub check: String,
    /// `Passed`, `WARNING`, `*FAILED*` (ReplicationCheckResult.ToString()).
    pub result: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// What `HEALTH_TESTS` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthTestsObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub service_health: Vec<ServiceHealthObs>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub mapi_connectivity: Vec<MapiObs>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub replication_health: Vec<ReplicationCheckObs>,
}

/// One `DatabaseMoveResult` of `Move-ActiveMailboxDatabase`, as
/// `MOVE_ACTIVE_DATABASES` projects it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveResultObs {
    pub identity: String,
    /// `Succeeded`, `Warning`, `Failed`, `Skipped`, `Unknown`.
    pub status: String,
    #[serde(default)]
    pub active_server_at_end: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// Runs `script` on `server` and parses the one JSON value it prints.
pub fn query<T: serde::de::DeserializeOwned>(
    exec: &dyn Executor,
    server: &Server,
    script: &Script,
) -> Result<T, QueryError> {
    super::observe::run_json(exec, server, script)
}

/// Like [`query`], for scripts that print nothing when there is nothing
/// (5.1's `ConvertTo-Json` of an empty array prints no output at all).
pub fn query_list<T: serde::de::DeserializeOwned>(
    exec: &dyn Executor,
    server: &Server,
    script: &Script,
) -> Result<Vec<T>, QueryError> {
    #[derive(Deserialize)]
    #[serde(transparent, bound = "T: serde::de::DeserializeOwned")]
    struct List<T>(#[serde(deserialize_with = "one_or_many")] Vec<T>);
    let out = exec.run_ps(server, script.text())?;
    if !out.success() {
        return Err(QueryError::ScriptFailed {
            server: server.name.clone(),
            purpose: script.purpose,
            exit_code: out.exit_code,
            detail: super::first_error_line(&out.stderr),
        });
    }
    if out.stdout.trim_start_matches('\u{feff}').trim().is_empty() {
        return Ok(Vec::new());
    }
    crate::ps::parse_json::<List<T>>(&out.stdout)
        .map(|l| l.0)
        .map_err(|source| QueryError::BadOutput {
            server: server.name.clone(),
            purpose: script.purpose,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_services_not_running_are_listed() {
        let b: BootState = serde_json::from_str(
            r#"{"LastBootUpTime":"2026-01-01T10:00:00.0000000Z","Services":[
            {"Name":"MSExchangeIS","Status":"Running","StartType":"Automatic"},
            {"Name":"MSExchangeTransport","Status":"StartPending","StartType":"Automatic"},
            {"Name":"MSExchangePop3","Status":"Stopped","StartType":"Manual"}]}"#,
        )
        .unwrap();
        let names: Vec<_> = b
            .automatic_not_running()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, vec!["MSExchangeTransport"]);
    }

    #[test]
    fn health_tests_accept_lone_objects() {
        let h: HealthTestsObs = serde_json::from_str(
            r#"{"ServiceHealth":{"Role":"Mailbox Server Role","RequiredServicesRunning":true,"ServicesNotRunning":[]},
            "MapiConnectivity":null,"ReplicationHealth":[{"Check":"ClusterService","Result":"Passed","Error":""}]}"#,
        )
        .unwrap();
        assert_eq!(h.service_health.len(), 1);
        assert!(h.mapi_connectivity.is_empty());
        assert_eq!(h.replication_health[0].result, "Passed");
    }
}
