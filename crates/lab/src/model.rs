//! The plain data of one simulated server and database: services, queues,
//! cluster node, database copies, with the real enum numbers each maps to.
//! Owns no behaviour beyond small lookups; `world.rs` changes these.

use serde::{Deserialize, Serialize};

use super::components::ComponentState;
use super::spec::{LabMediaKind, PendingReboot};
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

/// What an upgrade that has not finished leaves behind (see `setup.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialSetup {
    /// The build installed before it, with its CU revision
    /// (`15.2.1544.4`): setup's "backup copy of the previously installed version".
    pub previous: String,
    /// The media build being installed.
    pub unpacked: ExchangeBuild,
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

/// A `[[lab.media]]` file, present on every server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub path: String,
    pub build: ExchangeBuild,
    pub kind: LabMediaKind,
    /// Upper-case hex, as Get-FileHash prints it.
    pub sha256: String,
}

/// A file a command wrote: content as text, and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub path: String,
    pub content: String,
    pub last_write_ms: i64,
}

/// A registered scheduled task (root folder `\`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledTask {
    pub name: String,
    /// The action's `Execute` and `Arguments`.
    pub execute: String,
    pub arguments: Option<String>,
    pub user_id: String,
    pub logon_type: String,
    pub run_level: String,
    pub running: bool,
    pub last_run_ms: Option<i64>,
    /// `LastTaskResult`: 267011 (0x41303, SCHED_S_TASK_HAS_NOT_RUN) until
    /// the first run ends, then the action's exit code.
    pub last_result: u32,
}

/// A running batch file: the lines still to run after the current program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRun {
    /// The scheduled task that started it, if any.
    pub task: Option<String>,
    /// Lines not yet run, in order.
    pub lines: Vec<String>,
    /// `%ERRORLEVEL%`: the last program's exit code.
    pub errorlevel: i32,
    pub program: Option<Program>,
}

/// A program the lab runs over time: Exchange setup or msiexec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub kind: ProgramKind,
    /// Image name as tasklist shows it (`ExSetup.exe`, `msiexec.exe`).
    pub image: String,
    pub pid: u32,
    /// The command line as the batch gave it.
    pub command_line: String,
    pub started_ms: i64,
    /// Setup's prerequisite analysis ends here: rules are judged, then the
    /// services stop and the components go offline.
    pub readiness_ms: i64,
    pub readiness_done: bool,
    pub ends_ms: i64,
    /// Why the run fails, once known.
    pub failure: Option<SetupFailure>,
    /// A `powershell.exe` seen on the server during prerequisite analysis (its pid).
    pub powershell_seen: Option<u32>,
    /// Where the program's console output goes (`> file`), if redirected.
    pub stdout_to: Option<String>,
    /// How many of an upgrade's task lines it has logged so far
    /// (`setup_logging::UPGRADE_TASKS`).
    #[serde(default)]
    pub tasks_logged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProgramKind {
    /// The media's Setup.exe (`/Mode:Upgrade`) installing `build`.
    MediaSetup { build: ExchangeBuild, path: String },
    /// The installed `<install>\bin\Setup.exe` (a bare `setup.exe`): it
    /// "succeeds" without upgrading anything.
    InstalledSetup,
    /// A Setup.exe preparing Active Directory (`/PrepareSchema`,
    /// `/PrepareAD`, `/PrepareAllDomains`) to the levels setup of `build`
    /// reaches: the media's (its CU's), or the installed `bin\Setup.exe`'s
    /// (its build's, an SU's domain level included).
    AdPreparation {
        build: ExchangeBuild,
        scope: AdPrepScope,
    },
    /// A `powershell.exe` task action whose script has done its work but
    /// runs on for the time that work takes (`ServerHost::spend`: e.g.
    /// RedistributeActiveDatabases.ps1's database moves); it then exits
    /// with `exit_code`. The lab applies the work's effects when the script
    /// runs, not when the process ends (a simplification).
    PowerShell { exit_code: i32 },
    /// `msiexec /update <msp>` installing `build`.
    SecurityUpdate {
        build: ExchangeBuild,
        path: String,
        /// `/l*v <file>`: the verbose log msiexec writes.
        log: Option<String>,
    },
}

/// What a `/Prepare*` run prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdPrepScope {
    /// `/PrepareSchema` (`/ps`): the schema only.
    Schema,
    /// `/PrepareAD` (`/p`): the schema when needed, the organisation, and
    /// the local domain (the lab forest has one domain).
    Ad,
    /// `/PrepareAllDomains` (`/pad`) or `/PrepareDomain` (`/pd`): the
    /// domain's Microsoft Exchange System Objects container.
    Domain,
}

/// Why a setup or update run fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SetupFailure {
    /// A command-line problem found before anything starts (console text).
    CommandLine { message: String },
    /// A prerequisite rule failed (rule name, message).
    Rule { rule: String, message: String },
    /// The injected `setup-fails` fault: a critical task failed mid-run.
    Injected,
    /// An expired certificate is bound to IIS (`setup_certs`): mid-run too.
    ExpiredCertificate {
        issuer: String,
        subject: String,
        not_before_ms: i64,
        not_after_ms: i64,
    },
    /// The media is older than the installed CU.
    Downgrade { installed: ExchangeBuild },
    /// msiexec: the .msp belongs to another CU (exit 1642).
    PatchTargetNotFound,
    /// msiexec: the .msp is not there (exit 1619).
    PackageNotFound,
    /// The `su-fails` fault: exit 1603, the services left Disabled.
    MsiFatal,
    /// The `su-busy` fault: another installation runs (exit 1618).
    MsiBusy,
    /// The `su-restarts` fault: the SU installs, then restarts the
    /// machine itself (exit 1641).
    MsiRestartInitiated,
    /// The `su-interrupted` fault: the machine restarts part-way; no exit
    /// code, the services left Disabled.
    MsiInterrupted,
    /// Started while a reboot was pending: exit 3010 with the build raised,
    /// but the services left Disabled (UNVERIFIED, `security_update`).
    MsiRebootPending,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// Node id as the cluster numbers it (`"1"`, `"2"`, …).
    pub id: u32,
    pub state: NodeState,
    pub drain_status: DrainStatus,
}

/// `Microsoft.FailoverClusters.PowerShell.ClusterNodeState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeState {
    Up,
    Down,
    Paused,
}

impl NodeState {
    pub fn number(self) -> i64 {
        match self {
            NodeState::Up => 0,
            NodeState::Down => 1,
            NodeState::Paused => 2,
        }
    }
}

/// `ClusterNodeDrainStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrainStatus {
    NotInitiated,
    InProgress,
    Completed,
    Failed,
}

impl DrainStatus {
    pub fn number(self) -> i64 {
        match self {
            DrainStatus::NotInitiated => 0,
            DrainStatus::InProgress => 1,
            DrainStatus::Completed => 2,
            DrainStatus::Failed => 3,
        }
    }
}

/// `DatabaseCopyAutoActivationPolicyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivationPolicy {
    Unrestricted,
    IntrasiteOnly,
    Blocked,
}

impl ActivationPolicy {
    pub const TYPE_NAME: &'static str =
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.DatabaseCopyAutoActivationPolicyType";

    pub fn number(self) -> i64 {
        match self {
            ActivationPolicy::Unrestricted => 0,
            ActivationPolicy::IntrasiteOnly => 1,
            ActivationPolicy::Blocked => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ActivationPolicy::Unrestricted => "Unrestricted",
            ActivationPolicy::IntrasiteOnly => "IntrasiteOnly",
            ActivationPolicy::Blocked => "Blocked",
        }
    }

    pub fn parse(s: &str) -> Option<ActivationPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "unrestricted" | "0" => Some(ActivationPolicy::Unrestricted),
            "intrasiteonly" | "1" => Some(ActivationPolicy::IntrasiteOnly),
            "blocked" | "2" => Some(ActivationPolicy::Blocked),
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

/// `CopyStatus` (ASM numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CopyStatus {
    Failed,
    Seeding,
    Suspended,
    Healthy,
    ServiceDown,
    Initializing,
    Resynchronizing,
    Mounted,
    Dismounted,
    FailedAndSuspended,
}

impl CopyStatus {
    pub fn number(self) -> i64 {
        match self {
            CopyStatus::Failed => 3,
            CopyStatus::Seeding => 4,
            CopyStatus::Suspended => 5,
            CopyStatus::Healthy => 6,
            CopyStatus::ServiceDown => 7,
            CopyStatus::Initializing => 8,
            CopyStatus::Resynchronizing => 9,
            CopyStatus::Mounted => 11,
            CopyStatus::Dismounted => 12,
            CopyStatus::FailedAndSuspended => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CopyStatus::Failed => "Failed",
            CopyStatus::Seeding => "Seeding",
            CopyStatus::Suspended => "Suspended",
            CopyStatus::Healthy => "Healthy",
            CopyStatus::ServiceDown => "ServiceDown",
            CopyStatus::Initializing => "Initializing",
            CopyStatus::Resynchronizing => "Resynchronizing",
            CopyStatus::Mounted => "Mounted",
            CopyStatus::Dismounted => "Dismounted",
            CopyStatus::FailedAndSuspended => "FailedAndSuspended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCopy {
    pub server: String,
    /// Activation preference, 1 = most preferred.
    pub preference: u32,
    pub status: CopyStatus,
    pub activation_suspended: bool,
    pub suspend_comment: Option<String>,
    pub last_log_copied: i64,
    pub last_log_inspected: i64,
    pub last_log_replayed: i64,
    pub last_status_transition_ms: i64,
    /// While `Initializing` after replication restarted: when it is Healthy.
    pub resync_due_ms: Option<i64>,
    /// A `copy-fails` fault holds it Failed until then.
    pub failed_until_ms: Option<i64>,
    /// A suspended status kept while the Replication service is away.
    pub held_status: Option<CopyStatus>,
    /// `ReplayLagTime` of this copy in ms; 0 = not lagged.
    #[serde(default)]
    pub replay_lag_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    /// Copies in activation-preference order.
    pub copies: Vec<DbCopy>,
    pub last_log_generated: i64,
}

impl Database {
    /// The server whose copy is mounted, if any.
    pub fn active_server(&self) -> Option<&str> {
        self.copies
            .iter()
            .find(|c| c.status == CopyStatus::Mounted)
            .map(|c| c.server.as_str())
    }

    pub fn copy_on(&self, server: &str) -> Option<&DbCopy> {
        self.copies
            .iter()
            .find(|c| c.server.eq_ignore_ascii_case(server))
    }

    pub fn copy_on_mut(&mut self, server: &str) -> Option<&mut DbCopy> {
        self.copies
            .iter_mut()
            .find(|c| c.server.eq_ignore_ascii_case(server))
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
