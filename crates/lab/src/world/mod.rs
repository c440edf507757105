//! The simulated DAG's whole state (`World`): servers, databases, faults,
//! pending transitions and the availability record, with the rules that
//! change it over time (queues draining, Active Manager moving databases).
//! Serialisable as JSON so a later run sees what the last one left. It
//! knows nothing about PowerShell: `host.rs` and `cmdlets/` translate.
//! The starting world is built in `from_spec`; the availability record is
//! kept in `availability`.

mod availability;
mod from_spec;

use serde::{Deserialize, Serialize};

use super::components::{effective_state, ServiceState};
use super::model::*;
use super::spec::LabAd;

/// Wall-time durations of simulated work, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    pub setup_ms: i64,
    pub reboot_ms: i64,
    pub drain_per_message_ms: i64,
    pub database_move_ms: i64,
    pub security_update_ms: i64,
    pub resync_ms: i64,
    /// Per-call costs (`crate::costs`); absent in a world saved before them.
    #[serde(default)]
    pub call_latency_ms: i64,
    #[serde(default)]
    pub powershell_start_ms: i64,
    #[serde(default)]
    pub exchange_session_ms: i64,
    #[serde(default)]
    pub import_session_ms: i64,
    /// `[lab.timings] transport_restart` (see `LabTimings`).
    #[serde(default)]
    pub transport_restart_ms: i64,
    /// `[lab.timings] transport_startup` (see `LabTimings`).
    #[serde(default)]
    pub transport_startup_ms: i64,
    /// `[lab.timings] redistribute_per_move` (see `LabTimings`).
    #[serde(default)]
    pub redistribute_per_move_ms: i64,
    /// `[lab.timings] output_per_mb` (see `LabTimings`).
    #[serde(default)]
    pub output_per_mb_ms: i64,
    /// `[lab.timings] start_sleep_divisor` (see `LabTimings`); 0 in a
    /// world saved before it, which means 1.
    #[serde(default)]
    pub start_sleep_divisor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// The lab's first DAG: where a server saved without a `dag` belongs
    /// (`dags.rs`: each server's `dag` is its cluster).
    pub dag: String,
    /// The clock the world was last settled to (ms since 1970 UTC).
    pub now_ms: i64,
    pub ad: LabAd,
    pub timings: Timings,
    pub servers: crate::servers::Servers,
    pub databases: Vec<Database>,
    pub faults: Vec<Fault>,
    pub pending: Vec<PendingTransition>,
    pub availability: Vec<AvailabilityEvent>,
    /// Installation media present on every server.
    pub media: Vec<Media>,
    /// The next process id handed to a program the lab starts.
    pub next_pid: u32,
    /// The lab's one domain account (`[lab] username`/`password`): what a
    /// scheduled task registered with an account and password (cmdlet or COM) is checked against.
    #[serde(default)]
    pub account: Option<(String, String)>,
    /// Whether `account` is in Organization Management (`[lab]
    /// org_management`); setup checks it (`setup_rules`).
    #[serde(default = "crate::setup_rules::default_org_management")]
    pub account_org_management: bool,
    /// Per DAG, the node owning its cluster's core `Cluster Group`, which
    /// makes it the DAG's Primary Active Manager. The DAG's first member at
    /// creation; a DAG missing here is owned by its first member (see
    /// `cluster_group_owner` in `dags.rs`).
    #[serde(default)]
    pub cluster_group_owners: std::collections::BTreeMap<String, String>,
    /// Whether the DAG's file share witness answers (`[lab]
    /// witness_reachable`); see `quorum.rs`.
    #[serde(default = "crate::quorum::reachable_by_default")]
    pub witness_reachable: bool,
    /// The client namespace's load balancer (`[lab] load_balancer`).
    #[serde(default)]
    pub load_balancer: crate::load_balancer::LoadBalancer,
    /// Exchange certificates (`[[lab.certificate]]`; see `cmdlets::certs`).
    #[serde(default)]
    pub certificates: Vec<crate::spec::LabCertificate>,
    /// AD writes still replicating between the domain controllers, and
    /// the controller the next Exchange session binds to (`directory.rs`).
    #[serde(default)]
    pub directory: crate::directory::Directory,
}

/// A fault's hold when the plan gives none: long enough that a rollout
/// with lab timeouts notices, short enough for a test to wait it out.
pub const DEFAULT_FAULT_HOLD_MS: i64 = 30_000;

/// Why Active Manager refused a move (text as Move-ActiveMailboxDatabase shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveError(pub String);

impl World {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name) || s.fqdn.eq_ignore_ascii_case(name))
    }

    pub fn server_index(&self, name: &str) -> Option<usize> {
        self.servers
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name) || s.fqdn.eq_ignore_ascii_case(name))
    }

    pub fn database_index(&self, name: &str) -> Option<usize> {
        self.databases
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(name))
    }

    /// Whether the copy of database `d` on `server` may be activated by Active Manager.
    pub fn can_activate(&self, d: usize, server: &str, honour_policy: bool) -> bool {
        let Some(copy) = self.databases[d].copy_on(server) else {
            return false;
        };
        let Some(s) = self.server(server) else {
            return false;
        };
        copy.status == CopyStatus::Healthy
            && !copy.activation_suspended
            && (!honour_policy || s.activation_policy != ActivationPolicy::Blocked)
            && !s.move_now
            && s.cluster_node.state != NodeState::Down
            && !s.is_down()
            && effective_state(&s.components, "HighAvailability") == Some(ServiceState::Active)
            && s.service_running("MSExchangeRepl")
    }

    /// The healthy copy Active Manager picks: lowest activation preference,
    /// never on a Blocked server, never `exclude`.
    pub fn best_target(&self, d: usize, exclude: &str) -> Option<String> {
        self.databases[d]
            .copies
            .iter()
            .filter(|c| !c.server.eq_ignore_ascii_case(exclude))
            .filter(|c| self.can_activate(d, &c.server, true))
            .min_by_key(|c| c.preference)
            .map(|c| c.server.clone())
    }

    /// Mounts database `d` on `server`: the old active copy becomes a
    /// healthy passive. Records an availability event if the server is Blocked.
    pub fn mount_on(&mut self, d: usize, server: &str) {
        let now = self.now_ms;
        let blocked = self
            .server(server)
            .is_some_and(|s| s.activation_policy == ActivationPolicy::Blocked);
        let db = &mut self.databases[d];
        let generated = db.last_log_generated;
        for c in &mut db.copies {
            if c.status == CopyStatus::Mounted {
                c.status = CopyStatus::Healthy;
                c.last_status_transition_ms = now;
            }
        }
        if let Some(c) = db.copy_on_mut(server) {
            c.status = CopyStatus::Mounted;
            c.last_status_transition_ms = now;
            c.last_log_copied = generated;
            c.last_log_inspected = generated;
            c.last_log_replayed = generated;
        }
        if blocked {
            let subject = format!("{}\\{}", self.databases[d].name, server);
            self.availability.push(AvailabilityEvent {
                kind: AvailabilityKind::ActivatedOnBlocked,
                subject,
                since_ms: now,
                until_ms: Some(now),
            });
        }
    }

    /// An administrator's move (Move-ActiveMailboxDatabase): immediate, to
    /// `target` or else the best healthy copy. `skip_checks` lets the move
    /// ignore activation policy and copy health, as `-SkipAllChecks` does.
    pub fn move_database(
        &mut self,
        d: usize,
        target: Option<&str>,
        skip_checks: bool,
    ) -> Result<String, MoveError> {
        let name = self.databases[d].name.clone();
        let from = self.databases[d]
            .active_server()
            .unwrap_or_default()
            .to_string();
        if self.trigger_fault("move-blocked", &from, Some(&name)) {
            return Err(MoveError(move_blocked_message(
                &name,
                &target
                    .map(str::to_string)
                    .or_else(|| self.best_target(d, &from))
                    .unwrap_or_else(|| from.clone()),
            )));
        }
        let target = match target {
            Some(t) => {
                let Some(copy) = self.databases[d].copy_on(t) else {
                    return Err(MoveError(format!(
                        "Couldn't find a copy of database '{name}' on server '{t}'."
                    )));
                };
                let t = copy.server.clone();
                if t.eq_ignore_ascii_case(&from) {
                    return Ok(t);
                }
                // UNVERIFIED wording: the real check names the failed
                // activation condition; the lab refuses Blocked targets
                // unless the checks are skipped.
                if !skip_checks && !self.can_activate(d, &t, true) {
                    return Err(MoveError(format!(
                        "An Active Manager operation failed. Error: The database action failed. Error: An error \
                         occurred while trying to validate the specified database copy for possible activation. \
                         Error: Database copy '{name}' on server '{t}' can't be activated: it is not healthy, is \
                         suspended, or its server is blocked from activation."
                    )));
                }
                t
            }
            None => self.best_target(d, &from).ok_or_else(|| {
                MoveError(format!(
                    "An Active Manager operation failed. Error: No suitable copy of database '{name}' could be \
                     found for activation: every other copy is unhealthy, suspended or on a server blocked from \
                     activation."
                ))
            })?,
        };
        self.mount_on(d, &target);
        Ok(target)
    }
}

impl Server {
    /// Setup runs `/Prepare*` on this server.
    pub fn preparing_ad(&self) -> bool {
        self.batch
            .as_ref()
            .and_then(|b| b.program.as_ref())
            .is_some_and(|p| matches!(p.kind, ProgramKind::AdPreparation { .. }))
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn service_running(&self, name: &str) -> bool {
        self.service(name)
            .is_some_and(|s| s.status == ServiceStatus::Running)
    }

    /// Messages that count for "drained" (not shadow redundancy).
    pub fn queued_messages(&self) -> u32 {
        self.queues
            .iter()
            .filter(|q| q.counts_for_drain())
            .map(|q| q.message_count)
            .sum()
    }
}

/// What Active Manager says while a `move-blocked` fault holds: the target
/// copy is too far behind to activate without loss (the text of the real
/// AmDbActionWrapperException for a copy-queue check; the queue length is
/// the lab's own).
pub fn move_blocked_message(database: &str, target: &str) -> String {
    format!(
        "An Active Manager operation failed. Error: The database action failed. Error: An error occurred \
         while trying to validate the specified database copy for possible activation. Error: Database copy \
         '{database}' on server '{target}' has a copy queue length of 218 logs, which is too high to enable \
         automatic recovery. You can use the Move-ActiveMailboxDatabase cmdlet with the -SkipLagChecks and \
         -MountDialOverride parameters to move the database with loss."
    )
}
