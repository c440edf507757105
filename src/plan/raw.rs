//! The raw plan file: the TOML shape exactly as written, deserialised by
//! serde with no checks beyond types and key names (stage one of two).
//! Every table rejects unknown keys; values that `validate` checks later are
//! `Spanned` so its errors can point at their line. Whole tables are not
//! wrapped in `Spanned`: `toml` cannot span a table that exists only through
//! a child header (`[lab.ad]` without `[lab]`) and fails on it. Nothing here is trusted
//! by the engine: only the validated `Plan` leaves this module.

use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub rollout: RawRollout,
    pub connection: RawConnection,
    #[serde(default)]
    pub policy: RawPolicy,
    #[serde(default)]
    pub server: Vec<Spanned<RawServer>>,
    /// `[[notify]]`: its shape and checks live in `plan::notify`.
    #[serde(default)]
    pub notify: Vec<Spanned<super::notify::RawNotify>>,
    /// `[lab]` belongs to the lab crate, which parses and checks it from
    /// the same text; the product only notes that it is there.
    pub lab: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub target: Text,
    pub security_update: Option<Text>,
    pub setup_path: Text,
    pub setup_sha256: Option<Text>,
    pub su_path: Option<Text>,
    pub su_sha256: Option<Text>,
    /// Optional here only so its absence gets its own explanation.
    pub diagnostic_data: Option<Spanned<RawDiagnosticData>>,
    pub installer_account: Option<Text>,
    pub extended_protection: Option<Spanned<RawExtendedProtection>>,
    pub tls_offloading: Option<bool>,
    pub namespace: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub transport: Spanned<RawTransport>,
    pub scheme: Option<Spanned<RawScheme>>,
    pub port: Option<Spanned<u16>>,
    pub auth: Option<Spanned<RawAuth>>,
    pub user: Option<Text>,
    pub password_env: Option<Text>,
    pub password_file: Option<Text>,
    /// Accepted by the parser only to refuse it with an explanation.
    pub password: Option<Spanned<toml::Value>>,
    pub allow_unencrypted: Option<bool>,
    pub ca_file: Option<Text>,
    pub insecure_skip_verify: Option<Spanned<bool>>,
    pub powershell_path: Option<Text>,
    pub operation_timeout: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub order: Option<RawOrder>,
    pub min_healthy_copies: Option<Spanned<u32>>,
    pub override_minimum_two_copies: Option<bool>,
    pub max_copy_queue: Option<u64>,
    pub max_replay_queue: Option<u64>,
    pub min_free_space_gb: Option<u64>,
    pub redistribute: Option<RawRedistribute>,
    pub pause_between: Option<bool>,
    pub prepare_ad: Option<RawPrepareAd>,
    pub ad_replication_wait: Option<Text>,
    pub poll_interval: Option<Text>,
    pub max_parallel_dags: Option<Spanned<u32>>,
    pub not_after: Option<Text>,
    pub server_estimate: Option<Text>,
    pub content_index_deadline: Option<Text>,
    #[serde(default)]
    pub timeouts: RawTimeouts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub drain: Option<Text>,
    pub setup: Option<Text>,
    pub reboot: Option<Text>,
    pub health: Option<Text>,
    pub move_databases: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub name: Text,
    pub fqdn: Text,
    pub dag: Option<Text>,
    pub redirect_to: Option<Text>,
    pub address: Option<Text>,
    pub port: Option<Spanned<u16>>,
    /// `"announced"`: the admin has announced the downtime of a server in
    /// no DAG (`validate::downtime`).
    pub downtime: Option<Text>,
    /// `"mailbox"` (default) or `"edge"` (`validate::edge`).
    pub role: Option<Text>,
    /// An Edge server's local administrator and its password source
    /// (`validate::edge`); refused on a Mailbox server.
    pub local_user: Option<Text>,
    pub local_password_env: Option<Text>,
    pub local_password_file: Option<Text>,
}

// The choice keys below mirror the `model` enums; serde names their allowed
// values in its own error ("unknown variant `x`, expected one of …").

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawTransport {
    Winrm,
    Powershell,
    Lab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawScheme {
    Http,
    Https,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawAuth {
    Basic,
    Ntlm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawOrder {
    Plan,
    PassiveFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRedistribute {
    AfterEach,
    AtEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawPrepareAd {
    Block,
    Run,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawExtendedProtection {
    Enable,
    Skip,
    SkipEwsFrontend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawDiagnosticData {
    On,
    Off,
}
