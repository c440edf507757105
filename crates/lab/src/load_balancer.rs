//! The lab's load balancer: the client namespace (`[lab] load_balancer`,
//! default `mail.contoso.local`), which spreads requests round-robin over
//! the Mailbox servers whose health page for the requested protocol
//! answers 200, and which may offload TLS. Owns which server a request to
//! the namespace reaches and whether an authenticated one survives there;
//! `cmdlets::web` answers the request. It changes nothing but its own
//! round-robin position.
//!
//! Sources: Extended Protection is not supported with SSL offloading; SSL
//! bridging (re-encryption with the same certificate) is (Microsoft Learn,
//! "Configure Windows Extended Protection in Exchange Server"; CSS-Exchange
//! `ExchangeExtendedProtectionManagement` docs point there). With TLS
//! ended at the load balancer, the client's channel binding token belongs
//! to the load balancer's TLS channel, not to one the server sees, so
//! Windows authentication to a virtual directory whose
//! `ExtendedProtectionTokenChecking` is `Allow` or `Require` fails (Kemp
//! KB "Extended Protection for Microsoft Exchange Server (KB5017260)":
//! "Client HTTPS > LoadMaster Virtual Service (SSL Offloaded) > Exchange
//! Server HTTP (unencrypted)" breaks). That the failure shows as HTTP
//! 401, and that `Allow` fails like `Require` for a client that sends a
//! token (Windows PowerShell's does), is UNVERIFIED. A request that needs
//! no logon (`/<vdir>/healthcheck.htm`) is not affected. Load balancers
//! probe those pages to choose servers (community-documented: UNVERIFIED,
//! see `cmdlets::web`); real ones may keep a client on one server
//! (persistence), which the lab does not model.

use serde::{Deserialize, Serialize};

/// The namespace when the plan's `[lab]` names none: the one the lab's
/// certificates name (`setup_certs`).
pub const DEFAULT_NAMESPACE: &str = "mail.contoso.local";

/// `[lab] load_balancer = { namespace = "…", tls_offloading = … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// The client-access name it answers, lower-case.
    pub namespace: String,
    /// Whether it ends TLS and sends plain HTTP on to the servers.
    pub tls_offloading: bool,
    /// How many requests it has sent on: the round-robin position.
    #[serde(default)]
    pub sent: u64,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            namespace: DEFAULT_NAMESPACE.to_string(),
            tls_offloading: false,
            sent: 0,
        }
    }
}

impl LoadBalancer {
    /// Whether `host` (a URL's host part) is this namespace.
    pub fn answers(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.namespace)
    }

    /// The next of `pool` (indexes of the servers it may use), round-robin.
    pub fn pick(&mut self, pool: &[usize]) -> Option<usize> {
        if pool.is_empty() {
            return None;
        }
        let n = u64::try_from(pool.len()).unwrap_or(1);
        let at = usize::try_from(self.sent % n).unwrap_or(0);
        self.sent += 1;
        Some(pool[at])
    }

    /// Whether an authenticated request through it fails on a server
    /// whose directory checks channel binding tokens (`token_checking`:
    /// `None`, `Allow`, `Require`).
    pub fn breaks_windows_auth(&self, token_checking: &str) -> bool {
        self.tls_offloading && !token_checking.eq_ignore_ascii_case("None")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_reaches_every_server_of_the_pool_in_turn() {
        let mut lb = LoadBalancer::default();
        let picks: Vec<usize> = (0..4).filter_map(|_| lb.pick(&[3, 5])).collect();
        assert_eq!(picks, [3, 5, 3, 5]);
        assert_eq!(lb.pick(&[]), None);
    }

    #[test]
    fn only_offloading_with_token_checking_breaks_authentication() {
        let mut lb = LoadBalancer::default();
        assert!(!lb.breaks_windows_auth("Require"));
        lb.tls_offloading = true;
        assert!(lb.breaks_windows_auth("Require"));
        assert!(lb.breaks_windows_auth("Allow"));
        assert!(!lb.breaks_windows_auth("None"));
        assert!(lb.answers("MAIL.contoso.local"));
    }
}
