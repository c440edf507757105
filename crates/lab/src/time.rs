//! Time in the world: `settle` advances the clock event by event (moves,
//! reboots ending, setup reaching its milestones, copies resynchronising,
//! fault holds ending), draining queues in between and checking the
//! availability record at every event, so nothing that happened between two
//! scripts goes unrecorded. Reboots and the replication service going away
//! and coming back live here too.

use super::components::{effective_state, ServiceState};
use super::model::{CopyStatus, NodeState, PendingTransition, ServiceStatus, StartType};
use super::world::World;

/// How long Active Manager waits before trying again a move that found no
/// target (its periodic pass; the real interval is not documented: UNVERIFIED).
const MOVE_RETRY_MS: i64 = 5_000;

/// `LastTaskResult` of a task whose process died with the machine
/// (HRESULT_FROM_WIN32(ERROR_PROCESS_ABORTED 1067) = 0x8007042B).
const TASK_ABORTED: u32 = 0x8007_042B;

impl World {
    /// Advances the world to `target_ms`, applying every event due on the way in time order.
    pub fn settle(&mut self, target_ms: i64) {
        let target = target_ms.max(self.now_ms);
        loop {
            self.schedule_move_now();
            let next = self.next_event_ms().filter(|t| *t <= target);
            let until = next.unwrap_or(target).max(self.now_ms);
            self.drain_until(until);
            if next.is_none() {
                break;
            }
            self.run_due_events();
            self.check_availability();
        }
        self.check_availability();
    }

    /// The earliest time something is due.
    fn next_event_ms(&self) -> Option<i64> {
        let moves = self.pending.iter().map(|p| match p {
            PendingTransition::DatabaseMove { due_ms, .. } => *due_ms,
        });
        let servers = self.servers.iter().flat_map(|s| {
            let program = s.batch.as_ref().and_then(|b| b.program.as_ref());
            [
                s.down_until_ms,
                s.clussvc_due_ms,
                program
                    .filter(|p| !p.readiness_done)
                    .map(|p| p.readiness_ms),
                program.map(|p| p.ends_ms),
                program.and_then(World::next_task_ms),
            ]
        });
        let copies = self
            .databases
            .iter()
            .flat_map(|d| d.copies.iter())
            .flat_map(|c| [c.resync_due_ms, c.failed_until_ms]);
        moves
            .chain(servers.flatten())
            .chain(copies.flatten())
            .chain(self.next_fault_end())
            .min()
    }

    /// Queues drain from `now_ms` to `until` while their server drains and
    /// no `queue-stuck` hold applies; then the clock is at `until`.
    fn drain_until(&mut self, until: i64) {
        let elapsed = (until - self.now_ms).max(0);
        let per = self.timings.drain_per_message_ms;
        // Servers are read first and written only where something drains
        // or a carry is reset, so a call's comparison with the last save
        // reads only those (`Servers`).
        for i in 0..self.servers.len() {
            let s = &self.servers[i];
            let draining = effective_state(&s.components, "HubTransport")
                != Some(ServiceState::Active)
                && s.service_running("MSExchangeTransport");
            if !draining || self.fault_active("queue-stuck", &s.name, None) {
                if s.drain_carry_ms != 0 {
                    self.servers[i].drain_carry_ms = 0;
                }
                continue;
            }
            let s = &mut self.servers[i];
            s.drain_carry_ms += elapsed;
            let mut deliver = s.drain_carry_ms / per;
            s.drain_carry_ms %= per;
            for q in s.queues.iter_mut().filter(|q| q.counts_for_drain()) {
                let n = deliver.min(i64::from(q.message_count));
                q.message_count -= u32::try_from(n).unwrap_or(0);
                deliver -= n;
            }
        }
        self.now_ms = self.now_ms.max(until);
    }

    /// Applies everything due at `now_ms`.
    fn run_due_events(&mut self) {
        let now = self.now_ms;
        self.expire_fault_holds();
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.pending).into_iter().partition(
                |p| matches!(p, PendingTransition::DatabaseMove { due_ms, .. } if *due_ms <= now),
            );
        self.pending = later;
        for p in due {
            let PendingTransition::DatabaseMove { database, from, .. } = p;
            self.complete_move_now(&database, &from);
        }
        for i in 0..self.servers.len() {
            if self.servers[i].down_until_ms.is_some_and(|t| t <= now) {
                self.boot(i);
            }
            if self.servers[i].clussvc_due_ms.is_some_and(|t| t <= now) {
                self.clussvc_started(i);
            }
            let program = self.servers[i]
                .batch
                .as_ref()
                .and_then(|b| b.program.clone());
            if let Some(p) = program {
                // Task lines first: the readiness milestone may stop the
                // run, and a stopped run logs no task due after it.
                self.log_due_tasks(i);
                if !p.readiness_done && p.readiness_ms <= now {
                    self.program_readiness(i);
                }
            }
            let ends = self.servers[i]
                .batch
                .as_ref()
                .and_then(|b| b.program.as_ref())
                .map(|p| p.ends_ms);
            if ends.is_some_and(|t| t <= now) {
                self.program_end(i);
            }
        }
        for d in 0..self.databases.len() {
            for c in 0..self.databases[d].copies.len() {
                self.copy_due(d, c);
            }
        }
    }

    /// A copy's resync or fault hold ended.
    fn copy_due(&mut self, d: usize, c: usize) {
        let now = self.now_ms;
        let server = self.databases[d].copies[c].server.clone();
        let repl_up = self
            .server(&server)
            .is_some_and(|s| !s.is_down() && s.service_running("MSExchangeRepl"));
        let resync = self.timings.resync_ms;
        let generated = self.databases[d].last_log_generated;
        let copy = &mut self.databases[d].copies[c];
        if copy.failed_until_ms.is_some_and(|t| t <= now) {
            copy.failed_until_ms = None;
            if copy.status == CopyStatus::Failed && repl_up {
                copy.status = CopyStatus::Initializing;
                copy.resync_due_ms = Some(now + resync);
                copy.last_status_transition_ms = now;
            }
        }
        if copy.resync_due_ms.is_some_and(|t| t <= now) {
            copy.resync_due_ms = None;
            if copy.status == CopyStatus::Initializing {
                copy.status = CopyStatus::Healthy;
                copy.last_status_transition_ms = now;
                copy.last_log_copied = generated;
                copy.last_log_inspected = generated;
                // A lagged copy keeps its lag's logs un-replayed.
                copy.last_log_replayed = generated - crate::quorum::lagged_logs(copy.replay_lag_ms);
            }
            // A database nobody could mount comes back on the best copy
            // Active Manager may activate.
            if self.databases[d].active_server().is_none() {
                if let Some(t) = self.best_target(d, "") {
                    self.mount_on(d, &t);
                }
            }
        }
    }

    /// Queues an Active Manager move for every database mounted on a
    /// move-now server that has none pending yet.
    fn schedule_move_now(&mut self) {
        let due_ms = self.now_ms + self.timings.database_move_ms;
        for s in self.servers.iter().filter(|s| s.move_now) {
            for db in &self.databases {
                let mounted_here = db
                    .active_server()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&s.name));
                let queued = self.pending.iter().any(|p| {
                    matches!(p,
                    PendingTransition::DatabaseMove { database, .. } if database == &db.name)
                });
                if mounted_here && !queued {
                    self.pending.push(PendingTransition::DatabaseMove {
                        database: db.name.clone(),
                        from: s.name.clone(),
                        due_ms,
                    });
                }
            }
        }
    }

    /// One Active Manager move-now attempt; a failed one is retried when the
    /// blocking fault's hold ends, or after Active Manager's next pass.
    fn complete_move_now(&mut self, database: &str, from: &str) {
        let Some(d) = self.database_index(database) else {
            return;
        };
        let still_here = self.databases[d]
            .active_server()
            .is_some_and(|a| a.eq_ignore_ascii_case(from));
        let wants_off = self.server(from).is_some_and(|s| s.move_now);
        if !still_here || !wants_off {
            return;
        }
        let now = self.now_ms;
        let retry = if self.trigger_fault("move-blocked", from, Some(database)) {
            self.next_fault_end().unwrap_or(now + MOVE_RETRY_MS)
        } else if let Some(target) = self.best_target(d, from) {
            self.mount_on(d, &target);
            return;
        } else {
            now + MOVE_RETRY_MS.max(self.timings.database_move_ms)
        };
        self.pending.push(PendingTransition::DatabaseMove {
            database: database.to_string(),
            from: from.to_string(),
            due_ms: retry.max(now + 1),
        });
    }

    /// `Restart-Computer` on server `i` (after the script that asked has
    /// ended): the machine goes down for `timings.reboot` (or a
    /// `reboot-hangs` hold), refusing connections; services stop, the node
    /// is Down, its copies are ServiceDown and mounted ones fail over.
    pub fn begin_reboot(&mut self, i: usize) {
        let now = self.now_ms;
        let name = self.servers[i].name.clone();
        let took = self
            .fire_fault("reboot-hangs", &name, None)
            .unwrap_or(self.timings.reboot_ms);
        // The lab tells the two reboots apart by whether an installation
        // finished since the last boot.
        let after_setup = self.servers[i].last_install_ms > self.servers[i].last_boot_ms;
        let step = if after_setup {
            "reboot-after-setup"
        } else {
            "reboot-before-setup"
        };
        self.step_event(&name, step);
        // The cluster fails its core group over when the owner goes down
        // (the PAM role moves with it); with no other node Up it stays.
        let dag = self.dag_of(i).to_string();
        if self.cluster_group_owner(&dag).eq_ignore_ascii_case(&name) {
            if let Some(to) = self.cluster_group_target(&name) {
                self.set_cluster_group_owner(&dag, to);
            }
        }
        let s = &mut self.servers[i];
        s.down_until_ms = Some(now + took.max(1));
        s.paused_at_shutdown = s.cluster_node.state == NodeState::Paused;
        s.cluster_node.state = NodeState::Down;
        for svc in &mut s.services {
            svc.status = ServiceStatus::Stopped;
        }
        // Whatever the batch was running dies with the machine.
        if let Some(b) = s.batch.take() {
            if let Some(t) = b
                .task
                .and_then(|t| s.tasks.iter_mut().find(|x| x.name.eq_ignore_ascii_case(&t)))
            {
                t.running = false;
                t.last_result = TASK_ABORTED;
            }
        }
        self.replication_stopped(i);
        self.check_availability();
    }

    /// The machine is back: boot time now, Automatic services running
    /// (Disabled ones stay stopped), pending-reboot markers cleared, the
    /// node Up — or Paused if it was paused — and copies resynchronising.
    fn boot(&mut self, i: usize) {
        let name = self.servers[i].name.clone();
        let late = self.fire_fault("clussvc-starts-late", &name, None);
        let s = &mut self.servers[i];
        let Some(back) = s.down_until_ms.take() else {
            return;
        };
        s.last_boot_ms = back;
        s.cluster_node.state = if s.paused_at_shutdown {
            NodeState::Paused
        } else {
            NodeState::Up
        };
        s.paused_at_shutdown = false;
        for svc in &mut s.services {
            if svc.start_type == StartType::Automatic {
                svc.status = ServiceStatus::Running;
            }
        }
        s.frontend_started_offline = s.service_running("MSExchangeFrontEndTransport")
            && crate::components::effective_state(&s.components, "ServerWideOffline")
                .is_some_and(|st| st != crate::components::ServiceState::Active);
        s.pending_reboot = None;
        if let Some(hold) = late.filter(|_| s.service_running("ClusSvc")) {
            // The Cluster service is still starting (manage-dags: updates
            // stop "the Cluster service"; review real-exchange.md #24): the
            // node is Down to the cluster until it runs.
            if let Some(svc) = s.services.iter_mut().find(|x| x.name == "ClusSvc") {
                svc.status = ServiceStatus::Stopped;
            }
            s.paused_at_shutdown = s.cluster_node.state == NodeState::Paused;
            s.cluster_node.state = NodeState::Down;
            s.clussvc_due_ms = Some(back + hold.max(1));
        }
        if s.service_running("MSExchangeRepl") {
            self.replication_started(i);
        }
    }

    /// The Cluster service started late after a boot: running, and the node
    /// back as it was (Paused if it was paused).
    fn clussvc_started(&mut self, i: usize) {
        let s = &mut self.servers[i];
        s.clussvc_due_ms = None;
        if let Some(svc) = s.services.iter_mut().find(|x| x.name == "ClusSvc") {
            svc.status = ServiceStatus::Running;
        }
        s.cluster_node.state = if s.paused_at_shutdown {
            NodeState::Paused
        } else {
            NodeState::Up
        };
        s.paused_at_shutdown = false;
    }

    /// The Replication service on server `i` went away: its copies show
    /// ServiceDown to the others; Active Manager fails each mounted one over
    /// to the best healthy copy (never a Blocked server). A database with no
    /// such copy is left without a mounted copy — the availability record
    /// notes it.
    pub(crate) fn replication_stopped(&mut self, i: usize) {
        let name = self.servers[i].name.clone();
        let now = self.now_ms;
        for d in 0..self.databases.len() {
            let Some(copy) = self.databases[d].copy_on(&name) else {
                continue;
            };
            if copy.status == CopyStatus::Mounted {
                if let Some(t) = self.best_target(d, &name) {
                    self.mount_on(d, &t);
                }
            }
            if let Some(c) = self.databases[d].copy_on_mut(&name) {
                if matches!(
                    c.status,
                    CopyStatus::Suspended | CopyStatus::FailedAndSuspended
                ) {
                    c.held_status = Some(c.status);
                }
                c.status = CopyStatus::ServiceDown;
                c.resync_due_ms = None;
                c.last_status_transition_ms = now;
            }
        }
    }

    /// The Replication service on server `i` is back: suspended copies stay
    /// suspended, failed ones stay failed until their fault's hold ends, the
    /// rest are Initializing for `timings.resync`, then Healthy.
    pub(crate) fn replication_started(&mut self, i: usize) {
        let name = self.servers[i].name.clone();
        let now = self.now_ms;
        let resync = self.timings.resync_ms;
        for db in &mut self.databases {
            let Some(c) = db.copy_on_mut(&name) else {
                continue;
            };
            if c.status != CopyStatus::ServiceDown {
                continue;
            }
            c.last_status_transition_ms = now;
            if let Some(held) = c.held_status.take() {
                c.status = held;
            } else if c.failed_until_ms.is_some_and(|t| t > now) {
                c.status = CopyStatus::Failed;
            } else {
                c.status = CopyStatus::Initializing;
                c.resync_due_ms = Some(now + resync);
            }
        }
        self.mount_standalone(i);
    }
}
