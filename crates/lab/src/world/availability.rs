//! The DAG's availability record: when a member counts as out of service,
//! and the check, after every command and settle, that opens an event for
//! each broken promise (no mounted copy, two members out together) and
//! closes those that ended. It records; it must not change servers or
//! databases.

use super::World;
use crate::components::{effective_state, ServiceState};
use crate::model::{AvailabilityEvent, AvailabilityKind, Server};

impl World {
    /// A member is out of service while it is down (rebooting), setup or a
    /// security update runs on it, or its ServerWideOffline is not Active.
    /// A paused node alone is not: it still serves its databases.
    pub fn out_of_service(&self, s: &Server) -> bool {
        s.is_down()
            // AD preparation runs setup on the server but leaves it in
            // service: it only writes to Active Directory.
            || (s.installer_running() && !s.preparing_ad())
            || effective_state(&s.components, "ServerWideOffline") != Some(ServiceState::Active)
    }

    /// Compares the current state with the open availability events: opens
    /// events for new violations, closes those that ended. Cheap; called
    /// after every command and settle.
    pub fn check_availability(&mut self) {
        self.um_settle();
        let mut current: Vec<(AvailabilityKind, String)> = self
            .databases
            .iter()
            .filter(|d| d.active_server().is_none())
            .map(|d| (AvailabilityKind::NoMountedCopy, d.name.clone()))
            .collect();
        // One pass over the servers (this runs on every call); the DAGs
        // are only looked at when two members or more are out at once.
        // A standalone server is no DAG's member (standalone.rs).
        let out: Vec<&Server> = self
            .servers
            .iter()
            .filter(|s| !s.standalone && self.out_of_service(s))
            .collect();
        if out.len() >= 2 {
            for dag in self.dags() {
                let members: Vec<&str> = out
                    .iter()
                    .filter(|s| s.dag_is(&dag, &self.dag))
                    .map(|s| s.name.as_str())
                    .collect();
                if members.len() >= 2 {
                    current.push((AvailabilityKind::MembersOutTogether, members.join(",")));
                }
            }
        }
        let now = self.now_ms;
        for e in self
            .availability
            .iter_mut()
            .filter(|e| e.until_ms.is_none())
        {
            if !current.iter().any(|(k, s)| *k == e.kind && *s == e.subject) {
                e.until_ms = Some(now);
            }
        }
        for (kind, subject) in current {
            let open = self
                .availability
                .iter()
                .any(|e| e.until_ms.is_none() && e.kind == kind && e.subject == subject);
            if !open {
                self.availability.push(AvailabilityEvent {
                    kind,
                    subject,
                    since_ms: now,
                    until_ms: None,
                });
            }
        }
    }
}
