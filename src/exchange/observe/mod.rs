//! Read-only observations, typed: server facts (build, prerequisites,
//! pending reboot, the role keys that say whether setup finished:
//! `setup_roles`), boot time and services, the health tests, AD levels and
//! the owner of the core cluster group, quorum as a DAG member sees it
//! (`quorum`), the certificates and where they are bound (`certs`), the
//! client-access health pages (`client_access`), the MAPI test of the
//! active copies a server hosts (`hosted`), Extended Protection on the
//! virtual directories (`ep`), authenticated requests through the client
//! namespace (`namespace`), plus
//! the maintenance state in
//! `state`. Each has the [`Operation`] that reads it (`read_*`, also what
//! the dry run prints) and a function that sends it and parses the answer.
//! The templates are in `templates`. Field names mirror the JSON the
//! scripts print. Nothing here changes a server or decides anything.

mod certs;
mod client_access;
mod dag;
mod dag_state;
pub mod edge;
mod ep;
mod hosted;
mod namespace;
mod quorum;
mod services;
mod setup_roles;
mod snapshot;
pub mod templates;
mod um;

pub use certs::{
    exchange_certificates, iis_bindings, read_exchange_certificates, read_iis_bindings,
    CertificateObs, ExchangeCertificatesObs, IisBindingObs, IisBindingsObs,
};
pub use client_access::{
    health_pages, read_health_pages, ClientAccessObs, HealthPageObs, HEALTH_PAGE_VDIRS,
};
pub use dag::{dag_members, read_dag_members, DagMembersObs};
pub use dag_state::{dag_state, read_dag_state, MemberObservation};
pub use ep::{extended_protection, read_extended_protection, ExtendedProtectionObs, VdirEpObs};
pub use hosted::{active_mapi, test_active_mapi, ActiveMapiObs};
pub use namespace::{read_namespace, NamespaceAnswerObs, NamespaceObs, NAMESPACE_PATHS};
pub use quorum::{quorum, read_quorum, QuorumObs};
pub use services::{read_service_set, ServiceSetObs, EXPECTED_START_TYPE, INSTALLER_SERVICES};
pub use setup_roles::{incomplete_reasons, RoleKeyObs};
pub use snapshot::StartObservation;
pub use um::read_um_active_calls;

use serde::Deserialize;

use super::query::{one_or_many, query};
use super::{ExchangeState, Operation, QueryError, Reach};
use crate::exec::{ExecError, Executor};
use crate::plan::Server;
use crate::ps::Arg;

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
    /// `C:`.
    #[serde(default)]
    pub system_drive: Option<String>,
    /// The drive of `MsiInstallPath` (`D:`).
    #[serde(default)]
    pub install_drive: Option<String>,
    #[serde(default)]
    pub install_drive_free_bytes: Option<u64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub products: Vec<InstalledProduct>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub pending_reboot: Vec<String>,
    /// The role keys' setup values (`setup_roles`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub setup_roles: Vec<RoleKeyObs>,
}

impl ServerFacts {
    /// The build `ExSetup.exe` reports (SU included), when readable.
    pub fn build(&self) -> Option<crate::catalog::ExchangeBuild> {
        self.ex_setup_version.as_deref()?.parse().ok()
    }

    /// `Some(why)` when the role keys say an earlier setup started and did
    /// not finish (ExchangeDsc `Test-ExchangeSetupPartiallyCompleted`): the
    /// build is then no proof of anything, and setup must run again.
    pub fn setup_incomplete(&self) -> Option<String> {
        let why = incomplete_reasons(&self.setup_roles);
        (!why.is_empty()).then(|| why.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdLevelsObs {
    pub schema_range_upper: u32,
    pub org_object_version: u32,
    pub domain_object_version: u32,
}

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
/// `MSExchange*` services with ClusSvc, W3SVC and WinMgmt (manage-dags:
/// updates also stop "the Cluster service", and `Resume-ClusterNode` comes
/// next; review real-exchange.md #24). A service a server does not have
/// (ClusSvc outside a DAG) is simply absent.
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

/// Reads build and prerequisites (`server_facts`).
pub fn read_server_facts() -> Operation {
    templates::SERVER_FACTS.render("reading build and prerequisites", &[])
}

/// Reads the maintenance state of `server` (`exchange_state`).
pub fn read_exchange_state(server: &str) -> Operation {
    templates::EXCHANGE_STATE.render(
        "reading maintenance state, copies and queues",
        &[("server", Arg::Str(server))],
    )
}

/// Reads the cluster node state of `server` on the server itself
/// (`exchange_state` for a DAG member).
pub fn read_cluster_node_state(server: &str) -> Operation {
    templates::CLUSTER_NODE_STATE.render(
        "reading the cluster node state",
        &[("server", Arg::Str(server))],
    )
}

/// Reads the forest's Exchange levels (`ad_levels`).
pub fn read_ad_levels() -> Operation {
    templates::AD_LEVELS.render("reading Active Directory levels", &[])
}

/// Reads boot time and Exchange services (`boot_state`).
pub fn read_boot_state() -> Operation {
    templates::BOOT_STATE.render("reading boot time and Exchange services", &[])
}

/// Runs the health tests against `server` (`health_tests`).
pub fn run_health_tests(server: &str) -> Operation {
    templates::HEALTH_TESTS.render("health tests", &[("server", Arg::Str(server))])
}

/// Reads which node owns `Cluster Group` (`cluster_group_owner`).
pub fn read_cluster_group_owner() -> Operation {
    templates::CLUSTER_GROUP_OWNER.render("which node owns Cluster Group (the PAM)", &[])
}

/// The OPATH filter for member shadow queues that hold messages whose
/// primary is `primary_fqdn` (ExchangeDsc `Drain-DiscardEvents`).
pub fn shadow_filter(primary_fqdn: &str) -> String {
    format!("DeliveryType -eq 'ShadowRedundancy' -and NextHopDomain -like '{primary_fqdn}*'")
}

/// Shadow-redundancy messages each of `peers` holds for `primary_fqdn`
/// (one call: [`ShadowHeld`] per member).
pub fn read_shadow_messages(peers: &[&str], primary_fqdn: &str) -> Operation {
    let filter = shadow_filter(primary_fqdn);
    templates::SHADOW_MESSAGES.render(
        "shadow-redundancy messages the other members hold for this server",
        &[("peers", Arg::List(peers)), ("filter", Arg::Str(&filter))],
    )
}

/// One member's count in [`read_shadow_messages`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShadowHeld {
    pub server: String,
    pub messages: i64,
}

/// cmd.exe: the exit code file `exit_file` under `%SystemDrive%\cu-roll`.
pub fn exit_code_cmd(exit_file: &str) -> String {
    templates::CMD_READ_EXIT_CODE.replace("{exit_file}", exit_file)
}

/// cmd.exe: the state of scheduled task `task` (see `CMD_TASK_STATUS`).
pub fn task_status_cmd(task: &str) -> String {
    templates::CMD_TASK_STATUS.replace("{task}", task)
}

pub fn server_facts(reach: &Reach<'_>, server: &Server) -> Result<ServerFacts, QueryError> {
    query(reach, server, &read_server_facts())
}

/// The Exchange part in a session (via a peer), then, for a DAG member,
/// its cluster node's state on the server itself. Either failing fails the
/// observation, as one script on the server did before.
pub fn exchange_state(reach: &Reach<'_>, server: &Server) -> Result<ExchangeState, QueryError> {
    // An Edge server has no copies, DAG or cluster node (`edge`).
    if server.is_edge() {
        return query(reach, server, &edge::read_edge_state(&server.name));
    }
    let mut state: ExchangeState = query(reach, server, &read_exchange_state(&server.name))?;
    if state
        .database_availability_group
        .as_deref()
        .is_some_and(|d| !d.is_empty())
    {
        let node: ClusterNodeObs = query(reach, server, &read_cluster_node_state(&server.name))?;
        state.cluster_node_state = node.state;
        state.cluster_node_error = node.error;
    }
    Ok(state)
}

/// What `CLUSTER_NODE_STATE` prints.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClusterNodeObs {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

pub fn ad_levels(reach: &Reach<'_>, server: &Server) -> Result<AdLevelsObs, QueryError> {
    query(reach, server, &read_ad_levels())
}

pub fn boot_state(reach: &Reach<'_>, server: &Server) -> Result<BootState, QueryError> {
    query(reach, server, &read_boot_state())
}

pub fn health_tests(reach: &Reach<'_>, server: &Server) -> Result<HealthTestsObs, QueryError> {
    query(reach, server, &run_health_tests(&server.name))
}

/// The node that owns `Cluster Group`, as the cluster names it (lower-case).
pub fn cluster_group_owner(reach: &Reach<'_>, server: &Server) -> Result<String, QueryError> {
    #[derive(Deserialize)]
    struct Owner {
        #[serde(rename = "Owner")]
        owner: String,
    }
    let o: Owner = query(reach, server, &read_cluster_group_owner())?;
    Ok(o.owner)
}

/// Whether Exchange setup (`ExSetup.exe`) runs on `server`, asked with cmd
/// only, so it can be checked before any PowerShell goes to a server that
/// may be mid-upgrade.
pub fn setup_running(exec: &dyn Executor, server: &Server) -> Result<bool, ExecError> {
    let out = exec.run_cmd(server, templates::CMD_EXSETUP_PROCESS)?;
    Ok(exsetup_in_tasklist(&out.stdout))
}

/// `tasklist … /FO CSV /NH` lists `"ExSetup.exe","4242",…` while setup
/// runs, and an `INFO:` line otherwise.
pub fn exsetup_in_tasklist(stdout: &str) -> bool {
    stdout.to_ascii_lowercase().contains("\"exsetup.exe\"")
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
