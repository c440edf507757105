//! Server component states as Exchange keeps them: per-requester entries in
//! the registry (LocalStates) and in AD (RemoteStates), and the effective
//! state derived from them exactly as `ServerComponentStateManager` does
//! (cmdlets.md §5). Owns the component lists per version and the rules; it
//! must not decide anything about maintenance itself.

use serde::{Deserialize, Serialize};

/// `ServiceState`: Inactive 0, Active 1, Draining 3 (there is no 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceState {
    Inactive,
    Active,
    Draining,
}

impl ServiceState {
    pub const TYPE_NAME: &'static str = "Microsoft.Exchange.Data.ServiceState";

    pub fn number(self) -> i64 {
        match self {
            ServiceState::Inactive => 0,
            ServiceState::Active => 1,
            ServiceState::Draining => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ServiceState::Inactive => "Inactive",
            ServiceState::Active => "Active",
            ServiceState::Draining => "Draining",
        }
    }

    /// Parses a name (case-insensitive) or the enum's number, as PowerShell's
    /// enum conversion does.
    pub fn parse(s: &str) -> Option<ServiceState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "inactive" | "0" => Some(ServiceState::Inactive),
            "active" | "1" => Some(ServiceState::Active),
            "draining" | "3" => Some(ServiceState::Draining),
            _ => None,
        }
    }
}

/// The requesters `Set-ServerComponentState` accepts (`ServerComponentRequest`).
pub const REQUESTERS: &[&str] = &[
    "HealthApi",
    "Maintenance",
    "Sidelined",
    "Functional",
    "Deployment",
];

/// Exchange 2019/SE components in the order Get-ServerComponentState lists them (CAP, 34 rows).
const COMPONENTS_2019: &[&str] = &[
    "ServerWideOffline",
    "HubTransport",
    "FrontendTransport",
    "Monitoring",
    "RecoveryActionsEnabled",
    "AutoDiscoverProxy",
    "ActiveSyncProxy",
    "EcpProxy",
    "EwsProxy",
    "ImapProxy",
    "OabProxy",
    "OwaProxy",
    "PopProxy",
    "PushNotificationsProxy",
    "RpsProxy",
    "RwsProxy",
    "RpcProxy",
    "XropProxy",
    "HttpProxyAvailabilityGroup",
    "ForwardSyncDaemon",
    "ProvisioningRps",
    "MapiProxy",
    "EdgeTransport",
    "HighAvailability",
    "SharedCache",
    "MailboxDeliveryProxy",
    "RoutingUpdates",
    "RestProxy",
    "DefaultProxy",
    "Lsass",
    "RoutingService",
    "E4EProxy",
    "CafeLAMv2",
    "LogExportProvider",
];

/// Components that ServerWideOffline does not force Inactive.
const SWO_EXEMPT: &[&str] = &["ServerWideOffline", "Monitoring", "RecoveryActionsEnabled"];

/// Components whose default (no entries) is Inactive on-premises.
const DEFAULT_INACTIVE: &[&str] = &["ForwardSyncDaemon", "ProvisioningRps"];

/// The component names of a server of this Exchange minor version (1 = 2016
/// adds UMCallRouter between RpcProxy and XropProxy; SE is assumed to match 2019).
pub fn component_names(exchange_minor: u16) -> Vec<&'static str> {
    let mut names = COMPONENTS_2019.to_vec();
    if exchange_minor == 1 {
        let at = names
            .iter()
            .position(|n| *n == "XropProxy")
            .unwrap_or(names.len());
        names.insert(at, "UMCallRouter");
    }
    names
}

/// One `RequesterDetails` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequesterEntry {
    /// Stored as typed (Exchange itself writes `HealthApi`).
    pub requester: String,
    pub state: ServiceState,
    pub timestamp_ms: i64,
}

/// One component with its registry (local) and AD (remote) entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentState {
    pub component: String,
    pub local: Vec<RequesterEntry>,
    pub remote: Vec<RequesterEntry>,
}

/// Where `Set-ServerComponentState` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateStore {
    Both,
    LocalOnly,
    RemoteOnly,
}

impl ComponentState {
    /// The merged state of this component ignoring ServerWideOffline.
    pub fn own_state(&self) -> ServiceState {
        // Merge local + remote per requester; the newest entry of a requester wins.
        // (No heap: settling asks this of every server on every call.)
        let mut merged: smallvec::SmallVec<[&RequesterEntry; 8]> = smallvec::SmallVec::new();
        for e in self.local.iter().chain(self.remote.iter()) {
            match merged
                .iter_mut()
                .find(|m| m.requester.eq_ignore_ascii_case(&e.requester))
            {
                Some(m) if m.timestamp_ms < e.timestamp_ms => *m = e,
                Some(_) => {}
                None => merged.push(e),
            }
        }
        if merged.is_empty() {
            return if DEFAULT_INACTIVE.contains(&self.component.as_str()) {
                ServiceState::Inactive
            } else {
                ServiceState::Active
            };
        }
        if merged.iter().any(|e| e.state == ServiceState::Inactive) {
            ServiceState::Inactive
        } else if merged.iter().any(|e| e.state == ServiceState::Draining) {
            ServiceState::Draining
        } else {
            ServiceState::Active
        }
    }

    /// Records `state` for `requester`, replacing that requester's entry.
    pub fn set(&mut self, requester: &str, state: ServiceState, now_ms: i64, store: StateStore) {
        let entry = RequesterEntry {
            requester: requester.to_string(),
            state,
            timestamp_ms: now_ms,
        };
        let lists: Vec<&mut Vec<RequesterEntry>> = match store {
            StateStore::Both => vec![&mut self.local, &mut self.remote],
            StateStore::LocalOnly => vec![&mut self.local],
            StateStore::RemoteOnly => vec![&mut self.remote],
        };
        for list in lists {
            list.retain(|e| !e.requester.eq_ignore_ascii_case(requester));
            list.push(entry.clone());
        }
    }
}

/// Healthy defaults of a fresh server (CAP): SWO, Monitoring and
/// RecoveryActionsEnabled carry one Functional/Active entry in both lists;
/// 2016's UMCallRouter one local HealthApi/Active; the rest no entries.
pub fn default_components(exchange_minor: u16, installed_ms: i64) -> Vec<ComponentState> {
    let functional = RequesterEntry {
        requester: "Functional".to_string(),
        state: ServiceState::Active,
        timestamp_ms: installed_ms,
    };
    component_names(exchange_minor)
        .into_iter()
        .map(|name| {
            let (local, remote) = if SWO_EXEMPT.contains(&name) {
                (vec![functional.clone()], vec![functional.clone()])
            } else if name == "UMCallRouter" {
                let health = RequesterEntry {
                    requester: "HealthApi".to_string(),
                    ..functional.clone()
                };
                (vec![health], Vec::new())
            } else {
                (Vec::new(), Vec::new())
            };
            ComponentState {
                component: name.to_string(),
                local,
                remote,
            }
        })
        .collect()
}

/// Effective state of every component of a server, as Get-ServerComponentState
/// reports: (component, state, ServerWideOfflineIsOffline).
pub fn effective_states(
    components: &[ComponentState],
) -> Vec<(&ComponentState, ServiceState, bool)> {
    let swo_offline = components
        .iter()
        .find(|c| c.component == "ServerWideOffline")
        .is_some_and(|c| c.own_state() != ServiceState::Active);
    components
        .iter()
        .map(|c| {
            let own = c.own_state();
            let state = if swo_offline && !SWO_EXEMPT.contains(&c.component.as_str()) {
                ServiceState::Inactive
            } else {
                own
            };
            (c, state, swo_offline)
        })
        .collect()
}

/// Effective state of one component by name (case-insensitive).
pub fn effective_state(components: &[ComponentState], name: &str) -> Option<ServiceState> {
    // `effective_states` for one component, without merging the others'
    // (settling asks this of every server at every event).
    let c = components
        .iter()
        .find(|c| c.component.eq_ignore_ascii_case(name))?;
    let swo_offline = components
        .iter()
        .find(|c| c.component == "ServerWideOffline")
        .is_some_and(|c| c.own_state() != ServiceState::Active);
    Some(
        if swo_offline && !SWO_EXEMPT.contains(&c.component.as_str()) {
            ServiceState::Inactive
        } else {
            c.own_state()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_the_captured_lengths() {
        assert_eq!(component_names(2).len(), 34);
        let e16 = component_names(1);
        assert_eq!(e16.len(), 35);
        let um = e16.iter().position(|n| *n == "UMCallRouter").unwrap();
        assert_eq!(e16[um - 1], "RpcProxy");
        assert_eq!(e16[um + 1], "XropProxy");
    }

    #[test]
    fn defaults_are_active_except_forward_sync_and_provisioning() {
        let comps = default_components(2, 1000);
        for (c, s, offline) in effective_states(&comps) {
            assert!(!offline);
            let expect = if DEFAULT_INACTIVE.contains(&c.component.as_str()) {
                ServiceState::Inactive
            } else {
                ServiceState::Active
            };
            assert_eq!(s, expect, "{}", c.component);
        }
    }

    #[test]
    fn newest_entry_per_requester_wins_across_local_and_remote() {
        let mut c = ComponentState {
            component: "HubTransport".into(),
            local: vec![],
            remote: vec![],
        };
        c.set(
            "Maintenance",
            ServiceState::Inactive,
            10,
            StateStore::RemoteOnly,
        );
        c.set(
            "maintenance",
            ServiceState::Active,
            20,
            StateStore::LocalOnly,
        );
        assert_eq!(c.own_state(), ServiceState::Active, "local entry is newer");
        c.set(
            "Maintenance",
            ServiceState::Draining,
            30,
            StateStore::RemoteOnly,
        );
        assert_eq!(c.own_state(), ServiceState::Draining);
    }

    #[test]
    fn any_inactive_requester_beats_draining_and_active() {
        let mut c = ComponentState {
            component: "HubTransport".into(),
            local: vec![],
            remote: vec![],
        };
        c.set("Maintenance", ServiceState::Draining, 10, StateStore::Both);
        c.set("Functional", ServiceState::Inactive, 5, StateStore::Both);
        assert_eq!(c.own_state(), ServiceState::Inactive);
        c.set("Functional", ServiceState::Active, 20, StateStore::Both);
        assert_eq!(c.own_state(), ServiceState::Draining);
    }

    #[test]
    fn server_wide_offline_forces_all_but_monitoring_and_recovery() {
        let mut comps = default_components(2, 1000);
        comps[0].set(
            "Maintenance",
            ServiceState::Inactive,
            2000,
            StateStore::Both,
        );
        for (c, s, offline) in effective_states(&comps) {
            assert!(offline);
            let expect = if ["Monitoring", "RecoveryActionsEnabled"].contains(&c.component.as_str())
            {
                ServiceState::Active
            } else {
                ServiceState::Inactive
            };
            assert_eq!(s, expect, "{}", c.component);
        }
    }

    #[test]
    fn enum_numbers_match_exchange() {
        assert_eq!(ServiceState::Inactive.number(), 0);
        assert_eq!(ServiceState::Active.number(), 1);
        assert_eq!(ServiceState::Draining.number(), 3);
        assert_eq!(
            ServiceState::parse("draining"),
            Some(ServiceState::Draining)
        );
        assert_eq!(ServiceState::parse("2"), None);
    }
}
