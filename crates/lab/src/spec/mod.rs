//! The validated `[lab]` section of a plan: the starting world of the
//! simulated DAG. `raw` and `parse` read and check it from the plan's text
//! (names, references, builds), with `file:line:column` errors;
//! `World::from_spec` turns it into live servers and databases.

mod ad;
mod certs;
mod dag;
mod faults;
mod parse;
pub(crate) mod raw;
mod servers;

pub use faults::{FAULT_KINDS, STEP_NAMES};
pub use parse::{
    check_plan_servers_simulated, parse_plan_text, parse_plan_text_up_to, MAX_LAB_SERVERS,
};

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::build::ExchangeBuild;

/// The lab's DAG name when neither `[lab] dag` nor any `[[server]] dag`
/// names one.
pub const DEFAULT_DAG: &str = "DAG01";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabSpec {
    /// The lab's first DAG (its cluster has the same name): `[lab] dag`,
    /// or the first `[[server]] dag` of the plan, or [`DEFAULT_DAG`]. A
    /// lab server belongs to the DAG its plan `[[server]]` names, else to
    /// this one (`LabServer::dag`): each DAG is a cluster of its own.
    pub dag: String,
    /// First loopback port for `cu-roll lab serve` (one port per server).
    pub base_port: u16,
    /// Lab-only credentials accepted by the lab's WinRM listener.
    pub username: String,
    pub password: String,
    /// Whether that account is in Organization Management (and, for AD
    /// preparation, Schema and Enterprise Admins): what the lab's setup
    /// checks its account rules against (`setup_rules`). Default true.
    pub org_management: bool,
    /// Whether the DAG's file share witness can be reached (`[lab]
    /// witness_reachable`, default true). When it cannot, a DAG with an
    /// even number of members has lost its tie-breaking vote.
    pub witness_reachable: bool,
    /// The client namespace's load balancer (`[lab] load_balancer`).
    #[serde(default)]
    pub load_balancer: crate::load_balancer::LoadBalancer,
    /// Active Directory levels the lab's forest starts with.
    pub ad: LabAd,
    pub timings: LabTimings,
    pub servers: Vec<LabServer>,
    pub databases: Vec<LabDatabase>,
    pub faults: Vec<LabFault>,
    /// Installation media present as files on every lab server.
    pub media: Vec<LabMedia>,
    /// Exchange certificates (`[[lab.certificate]]`), none by default.
    #[serde(default)]
    pub certificates: Vec<LabCertificate>,
}

/// One `[[lab.certificate]]`: what `Get-ExchangeCertificate` shows on the
/// servers holding it, and where it is bound (IIS's `Default Web Site`
/// https binding, `Get-AuthConfig`'s `CurrentCertificateThumbprint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabCertificate {
    /// 40 upper-case hex digits.
    pub thumbprint: String,
    pub subject: String,
    /// The issuer (the subject when self-signed, the default).
    pub issuer: String,
    /// Validity, ms since 1970 UTC.
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// Bound to IIS's `Default Web Site` https binding.
    pub iis: bool,
    /// The organisation's current Auth certificate.
    pub auth: bool,
    /// Lab servers holding it; empty = every lab server.
    pub servers: Vec<String>,
}

impl LabCertificate {
    /// Whether server `name` holds this certificate.
    pub fn on(&self, name: &str) -> bool {
        self.servers.is_empty() || self.servers.iter().any(|s| s.eq_ignore_ascii_case(name))
    }
}

impl LabSpec {
    /// The loopback port `lab serve` gives the `index`th lab server: its own
    /// `port`, or `base_port + index`.
    pub fn port(&self, index: usize) -> u16 {
        self.servers[index].port.unwrap_or_else(|| {
            self.base_port
                .saturating_add(u16::try_from(index).unwrap_or(u16::MAX))
        })
    }
}

/// One `[[lab.media]]` file: setup media (`.exe`) or a security update
/// (`.msp`), found at the same absolute local path on every lab server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabMedia {
    /// Absolute local path, e.g. `D:\Setup.exe`.
    pub path: String,
    /// The build the media installs (setup: the CU build; SU: the SU build).
    pub build: ExchangeBuild,
    pub kind: LabMediaKind,
    /// Upper-case hex SHA-256 `Get-FileHash` reports; `None` = the lab's
    /// deterministic default (see `docs/lab.md`).
    pub sha256: Option<String>,
}

/// What a media file is, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabMediaKind {
    /// `.exe`: the CU's Setup.exe.
    Setup,
    /// `.msp`: a Security/Hotfix Update package for `msiexec /update`.
    SecurityUpdate,
}

impl LabMediaKind {
    /// The kind a path's extension names, if any.
    pub fn from_path(path: &str) -> Option<LabMediaKind> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".exe") {
            Some(LabMediaKind::Setup)
        } else if lower.ends_with(".msp") {
            Some(LabMediaKind::SecurityUpdate)
        } else {
            None
        }
    }
}

/// Schema `rangeUpper`, organisation and domain `objectVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabAd {
    pub schema_range_upper: u32,
    pub org_object_version: u32,
    pub domain_object_version: u32,
    /// Organisation name (the `msExchOrganizationContainer` CN).
    pub organization: String,
    /// Default naming context, e.g. `DC=contoso,DC=local`.
    pub domain_dn: String,
    /// The domain's controllers, FQDNs (`[lab.ad] domain_controllers`);
    /// empty means one, `dc01.<domain>` (`directory.rs`).
    #[serde(default)]
    pub domain_controllers: Vec<String>,
    /// How long a change written on one controller takes to reach the
    /// others (`[lab.ad] replication_delay`, default 15 s: `directory.rs`).
    #[serde(default = "crate::directory::default_replication_delay")]
    pub replication_delay: Duration,
    /// Controllers of `domain_controllers` that do not answer
    /// (`[lab.ad] unreachable_domain_controllers`).
    #[serde(default)]
    pub unreachable_domain_controllers: Vec<String>,
}

/// How long simulated work takes, in wall time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabTimings {
    pub setup: Duration,
    pub reboot: Duration,
    /// Time for one queued message to drain.
    pub drain_per_message: Duration,
    /// Time for an Active Manager database move.
    pub database_move: Duration,
    /// Time `msiexec /update` takes to install a security update.
    pub security_update: Duration,
    /// Time a copy stays `Initializing` after its server's replication
    /// service starts again, before it is `Healthy`.
    pub resync: Duration,
    /// What every call costs the caller before it runs, on top of the
    /// work it does: one network round trip (`call_latency`: charged once
    /// per call in-process, once per HTTP request by `lab serve`), a new
    /// `powershell.exe` (`powershell_start`, PowerShell calls only), and
    /// each Exchange remote session the script opens (`exchange_session`),
    /// each `Import-PSSession` it runs (`import_session`).
    /// Zero unless the plan sets them; `CallCosts::REALISTIC` and
    /// docs/lab.md give estimates (see `crate::costs`).
    pub call_latency: Duration,
    pub powershell_start: Duration,
    pub exchange_session: Duration,
    pub import_session: Duration,
    /// Time `Restart-Service`/`Start-Service MSExchangeTransport` waits for
    /// the service to stop and start again. Real servers take minutes
    /// (review real-exchange.md #4; ExchangeDsc's TransportMaintenance
    /// waits up to 5 minutes for the bootloader): the exact figure is
    /// UNVERIFIED. It is charged against the caller's command deadline,
    /// not the lab's clock.
    #[serde(default = "default_transport_restart")]
    pub transport_restart: Duration,
    /// After transport reports Running, how long its bootloader is not yet
    /// ready: Get-Queue and Redirect-Message fail meanwhile (ExchangeDsc
    /// DSC_ExchMaintenanceMode.psm1: "If we're checking queues too soon
    /// after restarting Transport, Get-Queue may fail. Wait for
    /// bootloader"). Lab time; the real length is UNVERIFIED.
    #[serde(default = "default_transport_startup")]
    pub transport_startup: Duration,
    /// The time RedistributeActiveDatabases.ps1 takes per database it
    /// moves (or tries to): real moves take 15-60 s each (review
    /// real-exchange.md #4; the figure is UNVERIFIED). Run as a scheduled
    /// task, its process runs that long; run in a command, it is charged
    /// against the command's deadline.
    #[serde(default = "default_redistribute_per_move")]
    pub redistribute_per_move: Duration,
    /// What sending a command's output back costs, per MB, charged against
    /// the command's deadline (cmd.exe and PowerShell alike): WinRS
    /// returns output in Receive responses of at most `MaxEnvelopeSizekb`
    /// (500 KB by default: Microsoft Learn, "Installation and
    /// configuration for Windows Remote Management"), base64 in XML, one
    /// round trip each. The rate on a real network and server is
    /// UNVERIFIED; the default 0 charges nothing. With it, `type` of a
    /// setup log of many runs (tens of MB) runs past a command deadline
    /// (review real-exchange.md #17).
    #[serde(default)]
    pub output_per_mb: Duration,
    /// A script's `Start-Sleep` advances the lab's clock by its argument
    /// divided by this (at least 1; 1 unless the plan sets it). For a lab
    /// whose timings are real durations divided by a time scale (`cu-roll
    /// bench`), the same figure shrinks a script's own waits alike: a
    /// `Start-Sleep -Seconds 1` is a real second, not 1/scale of the night.
    #[serde(default = "default_start_sleep_divisor")]
    pub start_sleep_divisor: u32,
}

fn default_start_sleep_divisor() -> u32 {
    1
}

fn default_redistribute_per_move() -> Duration {
    Duration::from_millis(200)
}

fn default_transport_restart() -> Duration {
    Duration::from_secs(90)
}

fn default_transport_startup() -> Duration {
    Duration::from_secs(1)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabServer {
    pub name: String,
    pub fqdn: String,
    /// `ExSetup.exe` version, e.g. `15.2.1544.39`.
    pub build: ExchangeBuild,
    /// .NET Framework 4.x `Release` DWORD.
    pub dotnet_release: u32,
    /// Windows caption, e.g. `Microsoft Windows Server 2022 Datacenter`.
    pub os: String,
    /// Visual C++ runtimes installed, with their `Version` DWORD.
    pub vcredist_2012: Option<u32>,
    pub vcredist_2013: Option<u32>,
    pub ucma: bool,
    pub url_rewrite: bool,
    /// Which pending-reboot indicator is set, if any (see `PendingReboot`).
    pub pending_reboot: Option<PendingReboot>,
    pub system_drive_free_gb: u64,
    /// Exchange installed on a drive of its own, `D:`, with this much free
    /// space (GB); `None`: installed on `C:`.
    pub install_drive_free_gb: Option<u64>,
    /// A Configuration Manager client is installed (`root\ccm\ClientSDK`
    /// answers); implied by `pending_reboot = "ccm"`.
    pub ccm_client: bool,
    /// `C:\cu-roll` exists at the start with an explicit entry granting
    /// BUILTIN\Users Modify (a staging folder someone opened up).
    pub staging_folder_open: bool,
    /// MB of earlier setup runs in ExchangeSetup.log before the run that
    /// installed the starting build (setup appends every run: review
    /// real-exchange.md #17, "routinely tens of MB"); default 0.
    pub setup_log_earlier_mb: u32,
    /// Messages waiting in this server's delivery queues at the start.
    pub queue_messages: u32,
    /// Unified Messaging calls in progress at the start (`crate::um`).
    #[serde(default)]
    pub um_calls: u32,
    /// `appSettings` customisations in the server's config files (key → value).
    pub custom_app_settings: Vec<(String, String)>,
    /// Port for `lab serve`; defaults to base_port + index.
    pub port: Option<u16>,
    /// `DatabaseCopyAutoActivationPolicy` at the start: a DR-site member
    /// is often `Blocked` or `IntrasiteOnly` for good.
    pub activation_policy: crate::model::ActivationPolicy,
    /// The DAG (and cluster) it is a member of: its plan `[[server]]`'s
    /// `dag`, else the lab's `dag`. Empty = the lab's `dag`.
    #[serde(default)]
    pub dag: String,
    /// A Mailbox server in no DAG: no cluster node, not among the DAG's
    /// servers, its databases have one copy (`standalone.rs`).
    #[serde(default)]
    pub standalone: bool,
    /// Extended Protection on its virtual directories at the start
    /// (`None`: on for 2019 CU14 and later, whose setup turns it on).
    pub extended_protection: Option<bool>,
    /// The RPC virtual directory's `SSLOffloading` at the start.
    pub rpc_ssl_offloading: bool,
    /// An Edge Transport server (`edge.rs`), `None` for a Mailbox server.
    #[serde(default)]
    pub edge: Option<crate::edge::EdgeSpec>,
}

impl LabSpec {
    /// The DAG server `s` belongs to.
    pub fn dag_of<'a>(&'a self, s: &'a LabServer) -> &'a str {
        if s.dag.is_empty() {
            &self.dag
        } else {
            &s.dag
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PendingReboot {
    /// `PendingFileRenameOperations` under Session Manager.
    FileRename,
    /// Component Based Servicing `RebootPending` key.
    ComponentBasedServicing,
    /// Windows Update `RebootRequired` key.
    WindowsUpdate,
    /// `HKLM\SOFTWARE\Microsoft\Updates\UpdateExeVolatile` `Flags`.
    UpdateExeVolatile,
    /// The Configuration Manager client's
    /// `CCM_ClientUtilities.DetermineIfRebootPending` says `RebootPending`
    /// (CSS-Exchange `Shared/Get-ServerRebootPending.ps1`); the server has
    /// a CCM client (`root\ccm\ClientSDK`). Whether Exchange setup's own
    /// pending-reboot rules see it is UNVERIFIED: the lab's setup does not.
    Ccm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabDatabase {
    pub name: String,
    /// Servers holding a copy, in activation-preference order (1, 2, …).
    pub copies: Vec<String>,
    /// Server whose copy is mounted at the start.
    pub active: String,
    /// Starting status overrides for passive copies: (server, status).
    pub copy_status: Vec<(String, LabCopyStatus)>,
    /// Lagged passive copies: (server, `ReplayLagTime`). A lagged copy
    /// starts activation-suspended, the usual protection of a lag copy.
    pub replay_lag: Vec<(String, Duration)>,
}

/// Starting states a passive copy may be given in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LabCopyStatus {
    Healthy,
    Failed,
    Suspended,
    FailedAndSuspended,
    Initializing,
    Resynchronizing,
    Seeding,
    ServiceDown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabFault {
    pub server: String,
    /// Fault kind, e.g. `setup-fails`; the lab documents the kinds it knows.
    pub kind: String,
    /// How many times it fires; `None` = always.
    pub times: Option<u32>,
    pub database: Option<String>,
    /// `"<server>:<step>"` for faults that fire during a step.
    pub during: Option<String>,
    /// How long one activation lasts (hangs, stuck queues, blocked moves,
    /// failed copies, failing health tests); `None` = the lab's default.
    pub hold: Option<Duration>,
}
