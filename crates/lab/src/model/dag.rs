//! The plain data of the DAG's replication: a server's cluster node (state,
//! drain, activation policy) and a database with its copies (copy status,
//! log positions, activation preference), with the real enum numbers each
//! maps to. Owns no behaviour beyond small lookups; `world.rs` and the
//! replication code change these.

use serde::{Deserialize, Serialize};

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
