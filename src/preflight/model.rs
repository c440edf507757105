//! The pre-flight version report's data: what `cu-roll report` found on
//! every server and what it concluded. The JSON form of these types is a
//! documented, stable interface (`docs/report.md`): rename nothing casually.

use serde::Serialize;

/// Defined with the assessments that fill them; part of this report too.
pub use crate::assess::checks::{ComponentState, CopyHealth, MaintenanceState};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// cu-roll's version that made the report.
    pub tool_version: String,
    /// When the report was made, RFC 3339 UTC.
    pub generated_at: String,
    /// The plan file the report was made for.
    pub plan: String,
    pub target: TargetInfo,
    /// Active Directory preparation the target needs before the first server.
    pub ad_preparation: AdPreparation,
    pub servers: Vec<ServerReport>,
    /// Plan-wide blockers (for example AD preparation still to run).
    pub blockers: Vec<String>,
    /// `ready` when no server is blocked and there are no plan-wide blockers.
    pub verdict: OverallVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetInfo {
    /// e.g. `Exchange Server 2019 CU15 Feb26SU`.
    pub name: String,
    /// The build every server should end at (CU build, or the SU's build when one is asked for).
    pub build: String,
    /// The CU part, e.g. `Exchange Server 2019 CU15`, and its build.
    pub cu_name: String,
    pub cu_build: String,
    /// The SU asked for (`Feb26SU`), if any, with its build.
    pub security_update: Option<String>,
    pub security_update_build: Option<String>,
    /// Release date of the target (SU's date when an SU is included), `YYYY-MM-DD`.
    pub released: Option<String>,
    /// Warnings that apply to the target itself (e.g. Extended Protection, end of support).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdPreparation {
    /// Levels found in AD, when they could be read.
    pub found: Option<AdLevels>,
    /// Levels the target needs.
    pub required: AdLevels,
    pub needs_prepare_schema: bool,
    pub needs_prepare_ad: bool,
    pub needs_prepare_domain: bool,
    /// The exact commands to run, in order, with the licence switch.
    pub commands: Vec<String>,
    /// Why the levels could not be read, when they could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AdLevels {
    pub schema_range_upper: u32,
    pub org_object_version: u32,
    pub domain_object_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Needs the upgrade and nothing stops it.
    Ready,
    /// Already at (or beyond) the target.
    UpToDate,
    /// Something must be fixed first; see `blockers`.
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverallVerdict {
    Ready,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub fqdn: String,
    pub dag: Option<String>,
    /// `ExSetup.exe` version, short form (`15.2.1544.39`); `None` when unreachable.
    pub build: Option<String>,
    /// `Exchange Server 2019 CU14 Feb26SU`, or why the build is not known.
    pub build_name: Option<String>,
    pub needs_upgrade: bool,
    pub os: Option<String>,
    pub prerequisites: Vec<Prerequisite>,
    pub pending_reboot: bool,
    /// Which indicators say a reboot is pending (registry key or value names).
    pub pending_reboot_reasons: Vec<String>,
    pub system_drive_free_gb: Option<f64>,
    pub maintenance: MaintenanceState,
    /// The database copies this server holds.
    pub copies: Vec<CopyHealth>,
    /// Messages in this server's queues, not counting shadow-redundancy and poison.
    pub queued_messages: Option<u64>,
    pub verdict: Verdict,
    /// Every reason the server is blocked, in words an admin understands.
    pub blockers: Vec<String>,
    /// Things worth knowing that do not block.
    pub warnings: Vec<String>,
    /// Set when the server could not be queried at all.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prerequisite {
    /// e.g. `.NET Framework`, `Visual C++ 2012`, `UCMA 4.0`, `IIS URL Rewrite`, `Windows Server`.
    pub name: String,
    /// What the target needs, in words (`4.8 (Release 528040) or later`).
    pub required: String,
    /// What the server has (`4.8.1 (Release 533320)`, `not installed`).
    pub found: String,
    pub ok: bool,
}
