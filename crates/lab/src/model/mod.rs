//! The plain data of one simulated server and database: services, queues,
//! cluster node, database copies, with the real enum numbers each maps to.
//! Owns no behaviour beyond small lookups; `world.rs` changes these. The
//! server's installed software is in `software`, the cluster node and the
//! databases in `dag`; both are re-exported here.

mod dag;
mod software;

pub use dag::*;
pub use software::*;

use serde::{Deserialize, Serialize};

use super::components::ComponentState;
use super::spec::PendingReboot;
use crate::build::ExchangeBuild;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    pub fqdn: String,
    /// The DAG (and failover cluster) it is a member of; empty in a world
    /// saved before several DAGs were modelled (= `World::dag`).
    #[serde(default)]
    pub dag: String,
    /// What ExSetup.exe reports (includes the SU revision).
    pub build: ExchangeBuild,
    /// The CU's own revision: `AdminDisplayVersion` shows `Build <build>.<cu_revision>`.
    pub cu_revision: u32,
    /// `MsiInstallPath`, with its trailing backslash.
    pub install_path: String,
    pub dotnet_release: u32,
    pub os_caption: String,
    /// `10.0.<build>` as Win32_OperatingSystem.Version reports it.
    pub os_version: String,
    pub vcredist_2012: Option<u32>,
    pub vcredist_2013: Option<u32>,
    pub ucma: bool,
    pub url_rewrite: bool,
    pub pending_reboot: Option<PendingReboot>,
    pub system_drive_size_bytes: u64,
    pub system_drive_free_bytes: u64,
    /// Free space of `D:` when Exchange is installed there (`install_path`
    /// on `D:`); `None`: installed on `C:`, no other drive.
    #[serde(default)]
    pub install_drive_free_bytes: Option<u64>,
    /// A Configuration Manager client is installed: `root\ccm\ClientSDK`
    /// answers `CCM_ClientUtilities.DetermineIfRebootPending`.
    #[serde(default)]
    pub ccm_client: bool,
    pub last_boot_ms: i64,
    /// When the installed build was set up (file times, setup log, component timestamps).
    pub installed_ms: i64,
    pub services: Vec<Service>,
    pub components: Vec<ComponentState>,
    pub cluster_node: ClusterNode,
    pub activation_policy: ActivationPolicy,
    /// In no DAG (`standalone.rs`).
    #[serde(default)]
    pub standalone: bool,
    /// An Edge Transport server (`edge.rs`).
    #[serde(default)]
    pub edge: Option<crate::edge::EdgeSpec>,
    /// How many Exchange remote sessions (`New-PSSession` to its
    /// `/PowerShell`) it has accepted, for inspection.
    #[serde(default)]
    pub exchange_sessions: u64,
    pub move_now: bool,
    pub queues: Vec<Queue>,
    /// Wall time spent draining not yet turned into a delivered message.
    pub drain_carry_ms: i64,
    /// Target FQDNs given to Redirect-Message, kept for inspection.
    pub redirect_target: Option<String>,
    /// Until when the transport service's bootloader is not ready after a
    /// start (`LabTimings::transport_startup`): Get-Queue and
    /// Redirect-Message on this server fail before it.
    #[serde(default)]
    pub transport_ready_ms: Option<i64>,
    /// MSExchangeFrontEndTransport was last started while ServerWideOffline
    /// was not Active (at a boot in maintenance) and not restarted since.
    /// Review real-exchange.md #15: community procedures restart it when
    /// maintenance ends; Microsoft's restarts only MSExchangeTransport.
    /// What such a front end does wrong is UNVERIFIED: the lab records it
    /// (`lab state`), nothing else depends on it.
    #[serde(default)]
    pub frontend_started_offline: bool,
    /// Unified Messaging calls in progress (`crate::um`), and when they
    /// end once UMCallRouter stopped taking new ones.
    #[serde(default)]
    pub um_calls: u32,
    #[serde(default)]
    pub um_calls_end_ms: Option<i64>,
    pub setup_log: String,
    /// When the setup log was last appended to.
    pub setup_log_written_ms: i64,
    /// `appSettings` customisations in the OWA web.config.
    pub app_settings: Vec<(String, String)>,
    /// The web.config / *.exe.config files under the install path, with
    /// their content (`configfiles.rs`).
    #[serde(default)]
    pub config_files: Vec<super::configfiles::ConfigFile>,
    /// Files commands wrote (they override the derived views of `registry.rs`).
    pub files: Vec<StoredFile>,
    /// Directories commands created (`New-Item -ItemType Directory`).
    pub directories: Vec<String>,
    /// Folders with an ACL of their own (`acl.rs`); the rest inherit `C:\`'s.
    #[serde(default)]
    pub folder_acls: Vec<crate::acl::FolderAcl>,
    pub tasks: Vec<ScheduledTask>,
    /// The batch file (and the program in it) a started task is running.
    pub batch: Option<BatchRun>,
    /// While rebooting: when the server is back (ms). `None` = up.
    pub down_until_ms: Option<i64>,
    /// The cluster node was Paused when the server went down: it comes back
    /// Paused (a pause persists across reboots).
    pub paused_at_shutdown: bool,
    /// After a boot, when the Cluster service (ClusSvc) starts, if later
    /// than the boot (fault `clussvc-starts-late`); the node is Down until then.
    #[serde(default)]
    pub clussvc_due_ms: Option<i64>,
    /// When setup or an update last finished installing (tells a reboot
    /// after setup from one before it).
    pub last_install_ms: i64,
    /// An upgrade began and has not finished: its build is unpacked but not
    /// configured (registry `UnpackedVersion`, `Action`, `Watermark`).
    pub partial_setup: Option<PartialSetup>,
    /// Script block (4104) and module (4103) logging (`eventlog.rs`).
    #[serde(default)]
    pub powershell_log: super::eventlog::PowerShellLog,
    /// Extended Protection on the virtual directories (`cmdlets/vdirs.rs`);
    /// `None` in a world saved before it was modelled (= the build's default).
    #[serde(default)]
    pub extended_protection: Option<crate::cmdlets::ExtendedProtection>,
    /// The RPC (Outlook Anywhere) virtual directory's `SSLOffloading`.
    #[serde(default)]
    pub rpc_ssl_offloading: bool,
}

impl Server {
    /// Setup or msiexec is running on the server (a task's `powershell.exe`
    /// still busy with its work is not an installer).
    pub fn installer_running(&self) -> bool {
        self.batch
            .as_ref()
            .and_then(|b| b.program.as_ref())
            .is_some_and(|p| !matches!(p.kind, ProgramKind::PowerShell { .. }))
    }

    /// The server is rebooting (refuses connections).
    pub fn is_down(&self) -> bool {
        self.down_until_ms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub display_name: String,
    pub status: ServiceStatus,
    pub start_type: StartType,
}

/// `System.ServiceProcess.ServiceControllerStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    Stopped,
    Running,
}

impl ServiceStatus {
    pub fn number(self) -> i64 {
        match self {
            ServiceStatus::Stopped => 1,
            ServiceStatus::Running => 4,
        }
    }
}

/// `System.ServiceProcess.ServiceStartMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartType {
    Automatic,
    Manual,
    Disabled,
}

impl StartType {
    pub fn number(self) -> i64 {
        match self {
            StartType::Automatic => 2,
            StartType::Manual => 3,
            StartType::Disabled => 4,
        }
    }

    /// As `ServiceStartMode.ToString()` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StartType::Automatic => "Automatic",
            StartType::Manual => "Manual",
            StartType::Disabled => "Disabled",
        }
    }

    pub fn parse(s: &str) -> Option<StartType> {
        match s.to_ascii_lowercase().as_str() {
            "automatic" | "2" => Some(StartType::Automatic),
            "manual" | "3" => Some(StartType::Manual),
            "disabled" | "4" => Some(StartType::Disabled),
            _ => None,
        }
    }
}

/// Which kind of queue (`QueueType` in the identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueKind {
    Submission,
    Delivery,
    Shadow,
}

/// The `DeliveryType` values the lab's queues use (Int16 numbers, ASM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryType {
    Undefined,
    ShadowRedundancy,
    SmtpDeliveryToMailbox,
    SmtpRelayToDag,
}

impl DeliveryType {
    pub fn number(self) -> i64 {
        match self {
            DeliveryType::Undefined => 0,
            DeliveryType::ShadowRedundancy => 10,
            DeliveryType::SmtpDeliveryToMailbox => 13,
            DeliveryType::SmtpRelayToDag => 14,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DeliveryType::Undefined => "Undefined",
            DeliveryType::ShadowRedundancy => "ShadowRedundancy",
            DeliveryType::SmtpDeliveryToMailbox => "SmtpDeliveryToMailbox",
            DeliveryType::SmtpRelayToDag => "SmtpRelayToDag",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub row_id: i64,
    pub kind: QueueKind,
    pub delivery_type: DeliveryType,
    pub next_hop_domain: String,
    pub message_count: u32,
    /// `Suspend-Queue` or the `submission-suspended` fault: Get-Queue
    /// shows `Status` Suspended until `Resume-Queue`.
    #[serde(default)]
    pub suspended: bool,
}

impl Queue {
    /// Messages that count for "drained": everything but shadow redundancy.
    pub fn counts_for_drain(&self) -> bool {
        self.kind != QueueKind::Shadow
    }
}

/// A fault from the plan's `[[lab.fault]]`, with how often it may still fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub server: String,
    pub kind: String,
    /// `None` = fires every time.
    pub remaining: Option<u32>,
    pub database: Option<String>,
    pub during: Option<String>,
    /// How long one activation lasts (ms).
    pub hold_ms: i64,
    /// The end of the current activation's hold, while it lasts.
    pub active_until_ms: Option<i64>,
}

/// Work Active Manager finishes later (`World::settle`); setup, reboots,
/// resyncs and fault holds keep their due times on the objects themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PendingTransition {
    /// Active Manager moving a database off a server set to move-now.
    DatabaseMove {
        database: String,
        from: String,
        due_ms: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AvailabilityKind {
    /// A database had no mounted copy.
    NoMountedCopy,
    /// Two or more DAG members were out of service at the same time.
    MembersOutTogether,
    /// A copy was activated on a server whose activation policy is Blocked.
    ActivatedOnBlocked,
    /// Unified Messaging calls in progress were cut off: the server went
    /// out of service before they ended (`crate::um`).
    UmCallsDropped,
}

/// One moment the DAG's availability promise was broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityEvent {
    pub kind: AvailabilityKind,
    /// The database or the servers concerned, e.g. `DB01` or `EX01,EX02`.
    pub subject: String,
    pub since_ms: i64,
    /// When the condition ended; `None` while it lasts.
    pub until_ms: Option<i64>,
}
