//! The validated plan: what the engine sees once `plan::load` has checked
//! every value. Nothing here holds unchecked user text: server names are
//! NetBIOS names, FQDNs are DNS names, DAG names are validated the same way
//! as server names, and paths are absolute Windows paths.

use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::ExchangeBuild;
pub use crate::plan::notify::{NotifyEvent, NotifyFormat, NotifyTarget, WebhookUrl};

/// A fully validated rollout plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Where the plan file was read from (used to name the state directory).
    pub path: PathBuf,
    pub rollout: Rollout,
    pub connection: Connection,
    pub policy: Policy,
    /// Servers in plan order. Every name is unique (case-insensitive).
    pub servers: Vec<Server>,
    /// Where webhook notifications go (`[[notify]]`), in plan order.
    pub notify: Vec<NotifyTarget>,
    /// Whether the plan has a `[lab]` section (the lab crate reads it, at
    /// the command edge; the engine never sees it).
    pub has_lab: bool,
}

/// How the target is written in the plan: a catalogue id or an exact build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A catalogue id such as `2019-CU15` or `SE-RTM`.
    CuId(String),
    /// An exact four-part build such as `15.2.1748.10`.
    Build(ExchangeBuild),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityUpdateChoice {
    /// The newest SU/HU the catalogue lists for the target CU.
    Latest,
    /// CU only.
    None,
    /// A named SU/HU of the target CU, e.g. `Feb26SU`.
    Named(String),
}

/// `[rollout] extended_protection`: what 2019 CU14+/SE setup does about
/// Extended Protection (review real-exchange.md #9): `Enable` is setup's
/// default; `Skip` passes `/DoNotEnableEP`, `SkipEwsFrontend`
/// `/DoNotEnableEP_FEEWS` (EP off for EWS on the front end only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendedProtection {
    Enable,
    Skip,
    SkipEwsFrontend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticData {
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub target: TargetSpec,
    pub security_update: SecurityUpdateChoice,
    /// Absolute local path of the media's `Setup.exe` on each server, e.g. `D:\Setup.exe`.
    pub setup_path: String,
    /// Lower-case hex sha256 of `Setup.exe`, when given.
    pub setup_sha256: Option<String>,
    /// Absolute local path of the SU `.msp` on each server, when given.
    pub su_path: Option<String>,
    /// Lower-case hex sha256 of the SU `.msp`, when given.
    pub su_sha256: Option<String>,
    pub diagnostic_data: DiagnosticData,
    /// `None`: not said; setup on 2019 CU14+/SE media then turns EP on.
    pub extended_protection: Option<ExtendedProtection>,
    /// `[rollout] tls_offloading`: whether the load balancer in front of
    /// the servers terminates TLS (Extended Protection is not supported
    /// then). `None`: not said.
    pub tls_offloading: Option<bool>,
    /// `[rollout] namespace`: the client-access name the load balancer
    /// answers (e.g. `mail.contoso.local`), lower-case. When given, the
    /// `health` step sends an authenticated request through it
    /// (docs/steps/health.md); `None`: no such probe.
    pub namespace: Option<String>,
    /// Whose identity the detached installer task (setup, the SU, AD
    /// preparation) runs under.
    pub installer_account: InstallerAccount,
}

/// The account the installer's scheduled task runs as. Setup needs
/// Organization Management rights (and Schema/Enterprise Admins for AD
/// preparation); SYSTEM acts in Active Directory as the server's computer
/// account, which has neither, and setup refuses it (Failed
/// [Rule:DelegatedMailboxFirstInstall], [Rule:GlobalUpdateRequired]: the
/// CSS-Exchange captures in tests/fixtures/real/setup-logs/). So there is
/// no SYSTEM here: a plan asking for it is refused when it is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallerAccount {
    /// `[connection] user`, with the connection's password source (the task
    /// is registered with the account and its password). WinRM: the account cu-roll
    /// logs on as; PowerShell: the installer's account only (the connection
    /// itself is the signed-in user).
    ConnectionUser,
    /// The transport's own account, whose password the transport holds
    /// (`Executor::installer_account`): the lab transport's `[lab] username`.
    Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WinRm,
    PowerShell,
    Lab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Ntlm,
}

/// Where the connection secret comes from. Never the plan itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    None,
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub transport: Transport,
    pub scheme: Scheme,
    /// Defaults to 5985 for http, 5986 for https.
    pub port: u16,
    pub auth: AuthMethod,
    pub user: Option<String>,
    pub secret: SecretSource,
    pub allow_unencrypted: bool,
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Path of `powershell.exe` for `transport = "powershell"`.
    pub powershell_path: Option<String>,
    /// How long one remote command may take before it is abandoned.
    pub operation_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Plan,
    PassiveFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redistribute {
    AfterEach,
    AtEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrepareAd {
    Block,
    Run,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeouts {
    pub drain: Duration,
    pub setup: Duration,
    pub reboot: Duration,
    pub health: Duration,
    pub move_databases: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub order: Order,
    /// Healthy copies every database must keep on the other members while
    /// a server is out, when more than StartDagServerMaintenance.ps1's
    /// rule asks (`assess::gate::required_copies`); it never lowers it.
    pub min_healthy_copies: Option<u32>,
    /// `-overrideMinimumTwoCopies` of StartDagServerMaintenance.ps1: one
    /// healthy copy left is enough, whatever the DAG's size.
    pub override_minimum_two_copies: bool,
    /// Largest CopyQueueLength a healthy copy may have (default 10).
    pub max_copy_queue: u64,
    /// Largest ReplayQueueLength a healthy non-lagged copy may have (default 50).
    pub max_replay_queue: u64,
    /// Least free space on the system drive and the install drive, in GB (default 30).
    pub min_free_space_gb: u64,
    pub redistribute: Redistribute,
    pub pause_between: bool,
    pub prepare_ad: PrepareAd,
    /// How long to wait after an AD preparation cu-roll ran, for it to
    /// replicate, before re-reading the levels (default 15 minutes).
    pub ad_replication_wait: Duration,
    pub timeouts: Timeouts,
    /// How often waits re-observe the server.
    pub poll_interval: Duration,
    /// How many DAGs may roll at once (one member per DAG at a time).
    pub max_parallel_dags: u32,
    /// The end of the maintenance window: no server starts whose estimated
    /// roll would end after it (`super::window`).
    pub not_after: Option<super::window::WindowEnd>,
    /// How long one server's roll is expected to take, when the plan says
    /// (`Policy::estimated_server_duration` has the default).
    pub server_estimate: Option<Duration>,
    /// How long after a server's last boot (the CU's reboot) an Exchange
    /// 2016 content index may stay `Crawling` or `HealthyAndUpgrading`
    /// with only a warning; past it `health` fails (review
    /// real-exchange.md #25). Default 12 hours: a judgement, UNVERIFIED.
    pub content_index_deadline: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// NetBIOS name, as written in the plan (e.g. `EX01`).
    pub name: String,
    /// DNS name, e.g. `ex01.contoso.local`.
    pub fqdn: String,
    /// DAG name; `None` for a standalone server.
    pub dag: Option<String>,
    /// FQDN of the member that takes this server's queued mail, when set.
    pub redirect_to: Option<String>,
    /// Where cu-roll's own WinRM connection goes when not to `fqdn` (an IP
    /// address or another DNS name); Exchange and Kerberos still use `fqdn`.
    pub address: Option<String>,
    /// The WinRM port for this server when not `[connection] port`.
    pub port: Option<u16>,
    /// `Some` for an Edge Transport server (`role = "edge"`): the local
    /// administrator cu-roll logs on to it as (docs/rollout.md, "Edge
    /// Transport servers"); `None` for a Mailbox server.
    pub edge: Option<EdgeAccount>,
}

/// An Edge Transport server's local administrator (`[[server]]
/// local_user` and `local_password_env`/`local_password_file`): an Edge
/// server is in no domain, so the domain account of `[connection]` does
/// not exist there. The password is read from its source when needed,
/// never from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeAccount {
    pub user: String,
    pub secret: SecretSource,
}

impl Server {
    /// An Edge Transport server (`role = "edge"`).
    pub fn is_edge(&self) -> bool {
        self.edge.is_some()
    }
}

impl Plan {
    /// The Edge Transport servers, in plan order.
    pub fn edge_servers(&self) -> impl Iterator<Item = &Server> + '_ {
        self.servers.iter().filter(|s| s.is_edge())
    }

    /// The servers of one DAG, in plan order.
    pub fn dag_members<'a>(&'a self, dag: &'a str) -> impl Iterator<Item = &'a Server> + 'a {
        self.servers.iter().filter(move |s| {
            s.dag
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(dag))
        })
    }

    /// The distinct DAG names, in order of first appearance.
    pub fn dags(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.servers {
            if let Some(d) = &s.dag {
                if !out.iter().any(|x| x.eq_ignore_ascii_case(d)) {
                    out.push(d.clone());
                }
            }
        }
        out
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}
