//! Injected faults (`[[lab.fault]]`): when each kind activates, how long an
//! activation holds, and what `times` counts. One activation = one use of
//! `times`; while an activation's hold lasts, further triggers ride on it
//! without using another. The meaning of each kind is documented in
//! `docs/lab.md` (section "Faults"); this file must stay in step with it.

use super::model::{CopyStatus, Fault};
use super::world::World;

fn matches(f: &Fault, kind: &str, server: &str, database: Option<&str>) -> bool {
    f.kind == kind
        && f.server.eq_ignore_ascii_case(server)
        && match (&f.database, database) {
            (Some(fd), Some(d)) => fd.eq_ignore_ascii_case(d),
            _ => true,
        }
}

impl World {
    /// Activates one fault of `kind` on `server` without a hold window (a
    /// whole setup run fails, or one run/reboot takes the hold): returns the
    /// fault's hold (ms) when one fired, counting down its `times`.
    pub fn fire_fault(&mut self, kind: &str, server: &str, database: Option<&str>) -> Option<i64> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| matches(f, kind, server, database) && f.remaining != Some(0))?;
        if let Some(n) = f.remaining.as_mut() {
            *n -= 1;
        }
        Some(f.hold_ms)
    }

    /// Whether a fault of `kind` holds on `server` now: an activation's
    /// window covers now, or a fault with activations left starts a new
    /// window (counting down its `times`).
    pub fn trigger_fault(&mut self, kind: &str, server: &str, database: Option<&str>) -> bool {
        if self.fault_active(kind, server, database) {
            return true;
        }
        let now = self.now_ms;
        // A fault with `during` starts only when its step is recognised
        // (`step_event`), never at a test.
        let Some(f) = self.faults.iter_mut().find(|f| {
            matches(f, kind, server, database) && f.remaining != Some(0) && f.during.is_none()
        }) else {
            return false;
        };
        if let Some(n) = f.remaining.as_mut() {
            *n -= 1;
        }
        f.active_until_ms = Some(now + f.hold_ms);
        true
    }

    /// Whether an activation of `kind` on `server` is holding now.
    pub fn fault_active(&self, kind: &str, server: &str, database: Option<&str>) -> bool {
        let now = self.now_ms;
        self.faults.iter().any(|f| {
            matches(f, kind, server, database) && f.active_until_ms.is_some_and(|t| t > now)
        })
    }

    /// When the last `command-hangs` hold started (of any server's) ends:
    /// until then `lab serve` answers no command.
    pub fn answers_held_until(&self) -> Option<i64> {
        self.faults
            .iter()
            .filter(|f| f.kind == "command-hangs")
            .filter_map(|f| f.active_until_ms)
            .max()
    }

    /// When the earliest running hold ends (an event for `settle`).
    pub(crate) fn next_fault_end(&self) -> Option<i64> {
        let now = self.now_ms;
        self.faults
            .iter()
            .filter_map(|f| f.active_until_ms)
            .filter(|t| *t > now)
            .min()
    }

    /// Forgets holds that have ended.
    pub(crate) fn expire_fault_holds(&mut self) {
        let now = self.now_ms;
        for f in &mut self.faults {
            if f.active_until_ms.is_some_and(|t| t <= now) {
                f.active_until_ms = None;
            }
        }
    }

    /// A runbook step became visible on `server` (how the lab recognises
    /// each step is listed in docs/lab.md). Starts the hold of the
    /// `mapi-fails` and `command-hangs` faults whose `during` names it, and fires the
    /// `copy-fails` faults whose `during` names it (without `during`: their
    /// own server entering maintenance): the fault server's copy of the
    /// database goes Failed for the hold, then resynchronises.
    pub fn step_event(&mut self, server: &str, step: &str) {
        let key = format!("{server}:{step}");
        let now = self.now_ms;
        for f in &mut self.faults {
            if (f.kind == "mapi-fails" || f.kind == "command-hangs")
                && f.remaining != Some(0)
                && f.during
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(&key))
            {
                if let Some(n) = f.remaining.as_mut() {
                    *n -= 1;
                }
                f.active_until_ms = Some(now + f.hold_ms);
            }
        }
        let hits: Vec<usize> = (0..self.faults.len())
            .filter(|&i| {
                let f = &self.faults[i];
                f.kind == "copy-fails"
                    && f.remaining != Some(0)
                    && match &f.during {
                        Some(d) => d.eq_ignore_ascii_case(&key),
                        None => {
                            f.server.eq_ignore_ascii_case(server) && step == "enter-maintenance"
                        }
                    }
            })
            .collect();
        for i in hits {
            let f = &mut self.faults[i];
            if let Some(n) = f.remaining.as_mut() {
                *n -= 1;
            }
            f.active_until_ms = Some(now + f.hold_ms);
            let (copy_server, db, until) = (f.server.clone(), f.database.clone(), now + f.hold_ms);
            let targets: Vec<usize> = match db {
                Some(db) => self.database_index(&db).into_iter().collect(),
                None => (0..self.databases.len()).collect(),
            };
            for d in targets {
                self.fail_copy(d, &copy_server, until);
            }
        }
    }

    /// A copy fails until `until`; a mounted one fails over first (Active
    /// Manager picks the best healthy copy) — if there is none it stays
    /// mounted, as a store with no failover target does.
    fn fail_copy(&mut self, d: usize, server: &str, until: i64) {
        let mounted = self.databases[d]
            .copy_on(server)
            .is_some_and(|c| c.status == CopyStatus::Mounted);
        if mounted {
            match self.best_target(d, server) {
                Some(t) => self.mount_on(d, &t),
                None => return,
            }
        }
        let now = self.now_ms;
        if let Some(c) = self.databases[d].copy_on_mut(server) {
            c.status = CopyStatus::Failed;
            c.last_status_transition_ms = now;
            c.resync_due_ms = None;
            c.failed_until_ms = Some(until);
        }
    }
}
