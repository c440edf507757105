//! The `[lab]` section exactly as written (stage one of two): serde shapes
//! with spans, unknown keys refused. `Document` reads a whole plan file but
//! keeps only `[lab]` and the `[[server]]` names, so the lab parses its own
//! section from the plan's text without knowing the rest of the plan.

use indexmap::IndexMap;
use planfile::Text;
use serde::Deserialize;
use toml::Spanned;

/// A plan file as the lab sees it: other sections are ignored here (the
/// product checks them).
#[derive(Debug, Deserialize)]
pub struct Document {
    pub lab: Option<RawLab>,
    #[serde(default)]
    pub server: Vec<Spanned<PlanServer>>,
}

/// A `[[server]]` of the plan: the name and FQDN a lab server must match,
/// and its DAG (the lab's DAG defaults to the first one named).
#[derive(Debug, Deserialize)]
pub struct PlanServer {
    pub name: Text,
    pub fqdn: Text,
    pub dag: Option<Text>,
    /// `"edge"` for an Edge Transport server (must match the lab's).
    pub role: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLab {
    pub dag: Option<Text>,
    pub base_port: Option<Spanned<u16>>,
    pub username: Option<Text>,
    pub password: Option<Text>,
    pub org_management: Option<bool>,
    /// Whether the DAG's file share witness answers (default true).
    pub witness_reachable: Option<bool>,
    /// The client namespace's load balancer (`crate::load_balancer`).
    pub load_balancer: Option<RawLabLoadBalancer>,
    #[serde(default)]
    pub ad: RawLabAd,
    #[serde(default)]
    pub timings: RawLabTimings,
    #[serde(default)]
    pub server: Vec<Spanned<RawLabServer>>,
    #[serde(default)]
    pub database: Vec<Spanned<RawLabDatabase>>,
    #[serde(default)]
    pub fault: Vec<Spanned<RawLabFault>>,
    #[serde(default)]
    pub media: Vec<Spanned<RawLabMedia>>,
    #[serde(default)]
    pub certificate: Vec<Spanned<RawLabCertificate>>,
}

/// `[lab] load_balancer = { namespace = "…", tls_offloading = true }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabLoadBalancer {
    pub namespace: Option<Text>,
    pub tls_offloading: Option<bool>,
}

/// A `[[lab.certificate]]`: an Exchange certificate on some or all lab
/// servers, bound to IIS and/or the organisation's Auth configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabCertificate {
    pub thumbprint: Text,
    pub subject: Text,
    pub issuer: Option<Text>,
    pub not_before: Option<Text>,
    pub not_after: Text,
    #[serde(default)]
    pub bound_to: Vec<Text>,
    pub servers: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabMedia {
    pub path: Text,
    pub build: Text,
    pub sha256: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabAd {
    pub schema_range_upper: Option<u32>,
    pub org_object_version: Option<u32>,
    pub domain_object_version: Option<u32>,
    pub organization: Option<Text>,
    pub domain_dn: Option<Text>,
    /// FQDNs of the domain's controllers (default one, `dc01.<domain>`).
    pub domain_controllers: Option<Vec<Text>>,
    /// AD replication delay between them (default `"15s"`).
    pub replication_delay: Option<Text>,
    /// Those of them that do not answer (default none).
    pub unreachable_domain_controllers: Option<Vec<Text>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabTimings {
    pub setup: Option<Text>,
    pub reboot: Option<Text>,
    pub drain_per_message: Option<Text>,
    pub database_move: Option<Text>,
    pub security_update: Option<Text>,
    pub resync: Option<Text>,
    pub call_latency: Option<Text>,
    pub powershell_start: Option<Text>,
    pub exchange_session: Option<Text>,
    pub import_session: Option<Text>,
    pub transport_restart: Option<Text>,
    pub transport_startup: Option<Text>,
    pub redistribute_per_move: Option<Text>,
    pub output_per_mb: Option<Text>,
    pub start_sleep_divisor: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabServer {
    pub name: Text,
    pub fqdn: Text,
    pub build: Text,
    pub dotnet_release: u32,
    pub os: Text,
    pub vcredist_2012: Option<u32>,
    pub vcredist_2013: Option<u32>,
    pub ucma: bool,
    pub url_rewrite: bool,
    pub pending_reboot: Option<super::PendingReboot>,
    pub system_drive_free_gb: u64,
    pub install_drive_free_gb: Option<u64>,
    pub ccm_client: Option<bool>,
    pub staging_folder_open: Option<bool>,
    pub setup_log_earlier_mb: Option<u32>,
    #[serde(default)]
    pub queue_messages: u32,
    /// Unified Messaging calls in progress at the start (Exchange 2016).
    #[serde(default)]
    pub um_calls: u32,
    #[serde(default)]
    pub custom_app_settings: IndexMap<String, Text>,
    pub port: Option<Spanned<u16>>,
    /// `DatabaseCopyAutoActivationPolicy` at the start (default Unrestricted).
    pub activation_policy: Option<Text>,
    /// A Mailbox server in no DAG (`standalone.rs`); default false.
    pub standalone: Option<bool>,
    /// Extended Protection on at the start (default: the build's).
    pub extended_protection: Option<bool>,
    /// The RPC virtual directory's `SSLOffloading` (default false).
    pub rpc_ssl_offloading: Option<bool>,
    /// `"edge"`: an Edge Transport server (`edge.rs`); default Mailbox.
    pub role: Option<Text>,
    /// An Edge server's local administrator, e.g. `EDGE01\Administrator`.
    pub local_admin: Option<Text>,
    /// The AD site an Edge server is subscribed to (`Get-EdgeSubscription`).
    pub edge_site: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabDatabase {
    pub name: Text,
    pub copies: Spanned<Vec<Text>>,
    pub active: Text,
    #[serde(default)]
    pub copy_status: IndexMap<String, Spanned<super::LabCopyStatus>>,
    /// Lagged copies: server → replay lag (`"7d"`, `"12h"`).
    #[serde(default)]
    pub replay_lag: IndexMap<String, Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabFault {
    pub server: Text,
    pub kind: Text,
    pub times: Option<Spanned<u32>>,
    pub database: Option<Text>,
    pub during: Option<Text>,
    pub hold: Option<Text>,
}
