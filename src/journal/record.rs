//! Journal records. The JSON form is stable: a journal written by one
//! version is read by the next, so variants and fields are only added.

use serde::{Deserialize, Serialize};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3… in file order.
    pub seq: u64,
    /// RFC 3339 UTC time the record was written.
    pub at: String,
    #[serde(flatten)]
    pub record: Record,
}

/// What the plan looked like when the journal began: a resumed run stops
/// when these differ from the plan it is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFingerprint {
    /// Server names in plan order, with their DAG.
    pub servers: Vec<String>,
    /// The target build (`15.2.1748.43`) and its name.
    pub target_build: String,
    pub target_name: String,
}

/// Something cu-roll itself changed on a server, so that it undoes only
/// its own changes and can tell them apart from maintenance it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    ComponentState {
        component: String,
        state: String,
        requester: String,
    },
    ServiceRestarted {
        service: String,
    },
    MessagesRedirected {
        target: String,
    },
    ClusterNodeSuspended,
    ClusterNodeResumed,
    /// cu-roll moved cluster group `group` (the core `Cluster Group`,
    /// whose owner is the DAG's Primary Active Manager) off the server
    /// being rolled: from node `from` to node `to`. Not undone: the PAM
    /// may stay on any member.
    ClusterGroupMoved {
        group: String,
        from: String,
        to: String,
    },
    ActivationPolicy {
        policy: String,
        /// The policy the server had before, which exit-maintenance
        /// restores. Absent in journals written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    ActivationDisabledAndMoveNow {
        value: bool,
    },
    DatabaseCopyResumed {
        copy: String,
    },
    ActiveDatabasesRedistributed {
        dag: String,
    },
    /// cu-roll asked for a reboot (recorded *before* `Restart-Computer`,
    /// because afterwards the connection is gone): `step` is the step id
    /// (`reboot-before-setup` / `reboot-after-setup`), `previous_boot` the
    /// LastBootUpTime before, so a resumed run can tell whether it happened.
    RebootRequested {
        step: String,
        previous_boot: String,
    },
    /// cu-roll started an installer detached as scheduled task `task`
    /// (`step` = `setup` or `security-update`); `command` is the command
    /// line the task runs.
    InstallerStarted {
        step: String,
        task: String,
        command: String,
    },
    /// The installer started by `InstallerStarted` for `step` ended with
    /// `exit_code` and cu-roll evaluated it: a later run starts it again
    /// rather than re-reading the same exit code.
    InstallerFinished {
        step: String,
        exit_code: i32,
    },
    /// The server's config files were saved to a verified zip (the
    /// `backup-config` step): its path and sha256, and how many files.
    ConfigBackedUp {
        zip: String,
        sha256: String,
        files: usize,
    },
    /// One `appSettings` value was put back from a backup
    /// (`cu-roll restore-config`); the old file was kept as `copy`.
    AppSettingRestored {
        file: String,
        key: String,
        copy: String,
    },
    /// cu-roll set service `service` from start type `from` (what it found,
    /// journaled *before* the change) to `to` and started it: a service an
    /// installer left Disabled. `Set-Service -Name <service> -StartupType
    /// <from>` reverses it.
    ServiceStartType {
        service: String,
        from: String,
        to: String,
    },
    /// Anything else, described in words.
    Other {
        what: String,
    },
}

impl Change {
    /// True for a change that puts something back in service (a component
    /// set Active, the node resumed, the activation policy set to anything
    /// but Blocked, MoveNow cleared). A write-ahead intent of such a change
    /// whose outcome is missing is not adopted on resume: the observation
    /// shows whether it happened, and the earlier change it undoes still
    /// says whose the maintenance is.
    pub fn restores_service(&self) -> bool {
        match self {
            Change::ComponentState { state, .. } => state.eq_ignore_ascii_case("Active"),
            Change::ClusterNodeResumed => true,
            Change::ActivationPolicy { policy, .. } => !policy.eq_ignore_ascii_case("Blocked"),
            Change::ActivationDisabledAndMoveNow { value } => !value,
            _ => false,
        }
    }
}

/// What a server looked like before cu-roll's maintenance, as first
/// observed by `enter-maintenance` (journaled with the first write-ahead
/// intent on that server): exit-maintenance restores and verifies every
/// value against it, and on resume it is what tells cu-roll's own
/// maintenance from someone else's when a change record is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// `DatabaseCopyAutoActivationPolicy` (Unrestricted, IntrasiteOnly, Blocked).
    pub activation_policy: String,
    /// `DatabaseCopyActivationDisabledAndMoveNow`.
    pub move_now: bool,
    /// The cluster node's state (Up, Paused…), when the server is in a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_node: Option<String>,
    /// Every component held non-Active, by whom.
    #[serde(default)]
    pub held: Vec<HeldComponent>,
    /// The server's database copies that were Suspended or
    /// FailedAndSuspended before cu-roll (someone else's: exit-maintenance
    /// reports them and never resumes them; review real-exchange.md #16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspended_copies: Vec<String>,
    /// The server's copies that were activation-suspended before cu-roll
    /// (`Suspend-MailboxDatabaseCopy -ActivationOnly`, the usual guard of a
    /// lagged copy): one cu-roll resumes keeps that with `-ReplicationOnly`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activation_suspended_copies: Vec<String>,
}

/// One requester holding one component non-Active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldComponent {
    pub component: String,
    pub requester: String,
    pub state: String,
}

impl Baseline {
    /// Whether `component` was held by `requester` before cu-roll.
    pub fn held_by(&self, component: &str, requester: &str) -> bool {
        self.held.iter().any(|h| {
            h.component.eq_ignore_ascii_case(component)
                && h.requester.eq_ignore_ascii_case(requester)
        })
    }

    /// Whether database copy `copy` was suspended before cu-roll.
    pub fn copy_suspended(&self, copy: &str) -> bool {
        self.suspended_copies
            .iter()
            .any(|c| c.eq_ignore_ascii_case(copy))
    }

    /// Whether copy `copy` was activation-suspended before cu-roll.
    pub fn copy_activation_suspended(&self, copy: &str) -> bool {
        self.activation_suspended_copies
            .iter()
            .any(|c| c.eq_ignore_ascii_case(copy))
    }

    /// Whether the cluster node was Paused before cu-roll.
    pub fn node_paused(&self) -> bool {
        self.cluster_node
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case("Paused"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Record {
    RunStarted {
        run_id: String,
        tool_version: String,
        plan: PlanFingerprint,
        host: String,
        pid: u32,
        /// The order servers are rolled in, chosen by the first run and
        /// kept by every resumed one.
        #[serde(default)]
        order: Vec<String>,
        /// `--only` of this run (empty: no such flag).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        only: Vec<String>,
        /// `--exclude` of this run (empty: no such flag).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<String>,
    },
    StepStarted {
        server: String,
        step: String,
    },
    /// What the step found before acting (for example maintenance someone
    /// else started), in words.
    Observed {
        server: String,
        step: String,
        what: String,
    },
    /// Write-ahead: journaled (and synced) *before* the command that makes
    /// `changes` is sent. Its outcome is the `changed` records that follow;
    /// an intent without them (a crash in between) means "observe, then
    /// adopt or finish" on resume, never someone else's maintenance.
    /// `before` is what the step observed before its first change.
    Intent {
        server: String,
        step: String,
        changes: Vec<Change>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Baseline>,
    },
    Changed {
        server: String,
        step: String,
        change: Change,
    },
    StepDone {
        server: String,
        step: String,
        /// True when the step found its work already done and changed nothing.
        already_done: bool,
        detail: String,
    },
    StepFailed {
        server: String,
        step: String,
        error: String,
    },
    ServerDone {
        server: String,
    },
    /// The server needed nothing (e.g. already at the target).
    ServerSkipped {
        server: String,
        reason: String,
    },
    RunFinished {
        outcome: String,
    },
}
