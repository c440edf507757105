//! Unified Messaging calls on an Exchange 2016 server (`[[lab.server]]
//! um_calls`): calls in progress at the start, which end once UMCallRouter
//! stops taking new ones (effective state not Active: Draining, or
//! ServerWideOffline Inactive) after [`UM_CALL_TAIL_MS`] of lab time; and
//! `Get-UMActiveCalls -Server`, which lists them. A server that goes out of
//! service (ServerWideOffline not Active, rebooting, or MSExchangeUM
//! stopped) while calls are still in progress drops them: the availability
//! record notes `um-calls-dropped`. Owns the call count; it changes nothing
//! else.
//!
//! Sources: ExchangeDsc's maintenance mode sets UMCallRouter Draining
//! "before anything else" and then waits for "remaining UM calls to drain"
//! (`source/DSCResources/DSC_ExchMaintenanceMode/DSC_ExchMaintenanceMode.psm1`,
//! `Wait-ForUMToDrain`: `Get-UMActiveCalls -Server $env:COMPUTERNAME`
//! every 15 s, for up to 5 minutes; only on 2013 and 2016, as Exchange
//! 2019 has no UM). How long real calls last after the drain, and the
//! objects' properties beyond a count, are UNVERIFIED (the lab lists
//! `CallId`, `CallState` and `ServerId`).

use crate::components::{effective_state, ServiceState};
use crate::model::AvailabilityEvent;
use crate::world::World;

/// How long calls in progress last, in lab time, once UMCallRouter stops
/// taking new ones (UNVERIFIED: real calls last as long as the callers
/// talk; ExchangeDsc waits up to 5 minutes).
pub const UM_CALL_TAIL_MS: i64 = 10_000;

impl World {
    /// Brings every server's calls up to now, and records the calls of a
    /// server out of service as dropped. Called with every availability
    /// check.
    pub(crate) fn um_settle(&mut self) {
        let now = self.now_ms;
        let mut dropped = Vec::new();
        // Read every server, write only one whose calls change: a server
        // borrowed for writing is compared with the last save after the
        // call (`Servers`), and this runs on every call.
        for i in 0..self.servers.len() {
            let s = &self.servers[i];
            if s.um_calls == 0 {
                if s.um_calls_end_ms.is_some() {
                    self.servers[i].um_calls_end_ms = None;
                }
                continue;
            }
            let router_active = effective_state(&s.components, "UMCallRouter")
                .is_none_or(|st| st == ServiceState::Active);
            let end = if router_active {
                None
            } else {
                Some(s.um_calls_end_ms.unwrap_or(now + UM_CALL_TAIL_MS))
            };
            if end.is_some_and(|t| t <= now) {
                let s = &mut self.servers[i];
                s.um_calls = 0;
                s.um_calls_end_ms = None;
                continue;
            }
            let offline = effective_state(&s.components, "ServerWideOffline")
                .is_some_and(|st| st != ServiceState::Active);
            if offline || s.is_down() || !s.service_running("MSExchangeUM") {
                dropped.push(format!("{} ({} calls)", s.name, s.um_calls));
                let s = &mut self.servers[i];
                s.um_calls = 0;
                s.um_calls_end_ms = None;
            } else if end != s.um_calls_end_ms {
                self.servers[i].um_calls_end_ms = end;
            }
        }
        for subject in dropped {
            self.availability.push(AvailabilityEvent {
                kind: crate::model::AvailabilityKind::UmCallsDropped,
                subject,
                since_ms: now,
                until_ms: Some(now),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::components::{ServiceState, StateStore};
    use crate::model::AvailabilityKind;
    use crate::testkit::{three_member_spec, T0};
    use crate::world::World;

    /// EX02 an Exchange 2016 server (UMCallRouter, MSExchangeUM) with
    /// two calls in progress.
    fn world_with_calls() -> (World, usize) {
        let mut spec = three_member_spec();
        spec.servers[1].build = "15.1.2507.6".parse().unwrap();
        spec.servers[1].um_calls = 2;
        let w = World::from_spec(&spec, &spec.dag, T0);
        let i = w.server_index("EX02").unwrap();
        assert!(w.servers[i].service_running("MSExchangeUM"));
        (w, i)
    }

    fn set(w: &mut World, i: usize, component: &str, state: ServiceState) {
        let c = w.servers[i]
            .components
            .iter()
            .position(|c| c.component == component)
            .unwrap();
        let now = w.now_ms;
        w.servers[i].components[c].set("Maintenance", state, now, StateStore::Both);
    }

    #[test]
    fn calls_end_after_the_router_drains_and_nothing_is_dropped() {
        let (mut w, i) = world_with_calls();
        set(&mut w, i, "UMCallRouter", ServiceState::Draining);
        w.check_availability();
        assert_eq!(w.servers[i].um_calls, 2);
        w.now_ms += super::UM_CALL_TAIL_MS;
        w.check_availability();
        assert_eq!(w.servers[i].um_calls, 0);
        set(&mut w, i, "ServerWideOffline", ServiceState::Inactive);
        w.check_availability();
        assert!(w.availability.is_empty());
    }

    #[test]
    fn going_offline_with_calls_in_progress_drops_them() {
        let (mut w, i) = world_with_calls();
        set(&mut w, i, "UMCallRouter", ServiceState::Draining);
        w.check_availability();
        set(&mut w, i, "ServerWideOffline", ServiceState::Inactive);
        w.check_availability();
        assert_eq!(w.availability.len(), 1);
        assert_eq!(w.availability[0].kind, AvailabilityKind::UmCallsDropped);
        assert_eq!(w.availability[0].subject, "EX02 (2 calls)");
    }
}
