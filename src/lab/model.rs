//! The plain data of one simulated server and database: services, queues,
//! cluster node, database copies, with the real enum numbers each maps to.
//! Owns no behaviour beyond small lookups; `world.rs` changes these.

use serde::{Deserialize, Serialize};

use super::components::ComponentState;
use super::spec::PendingReboot;
use crate::catalog::ExchangeBuild;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    pub fqdn: String,
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
    pub last_boot_ms: i64,
    /// When the installed build was set up (file times, setup log, component timestamps).
    pub installed_ms: i64,
    pub services: Vec<Service>,
    pub components: Vec<ComponentState>,
    pub cluster_node: ClusterNode,
    pub activation_policy: ActivationPolicy,
    pub move_now: bool,
    pub queues: Vec<Queue>,
    /// Wall time spent draining not yet turned into a delivered message.
    pub drain_carry_ms: i64,
    /// Set when a `queue-stuck` fault fired for the current drain.
    pub queue_stuck: bool,
    /// Target FQDNs given to Redirect-Message, kept for inspection.
    pub redirect_target: Option<String>,
    pub setup_log: String,
    /// `appSettings` customisations in the OWA web.config.
    pub app_settings: Vec<(String, String)>,
    /// The web.config / *.exe.config files under the install path, with
    /// their content (`configfiles.rs`).
    #[serde(default)]
    pub config_files: Vec<super::configfiles::ConfigFile>,
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
}

/// Work the world finishes later (`World::settle`). Setup and reboot
/// transitions join this list with the rollout.
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
