//! The pre-flight version report's data: what `cu-roll report` found on
//! every server and what it concluded, and the stable codes of its
//! blockers. The JSON form of these types is a documented, stable
//! interface (`docs/report.md`): rename nothing casually, and say `null`
//! (`None`) where nothing is known rather than a guess.

use serde::Serialize;

/// Defined with the assessments that fill them; part of this report too.
pub use crate::assess::checks::{ComponentState, CopyHealth, MaintenanceState};

/// The version of the JSON form (`schema_version`): raised when a field
/// changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
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
    /// Plan-wide blockers (for example AD preparation still to run). Add
    /// them with [`Report::block`], which keeps `blocker_codes` beside.
    pub blockers: Vec<String>,
    /// The stable code of each blocker, in the same order.
    pub blocker_codes: Vec<BlockerCode>,
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
    /// `None` when the levels could not be read.
    pub needs_prepare_schema: Option<bool>,
    pub needs_prepare_ad: Option<bool>,
    pub needs_prepare_domain: Option<bool>,
    /// The exact commands to run, in order, with the licence switch.
    pub commands: Vec<String>,
    /// The preparation for a domain level the target's SU raises, which
    /// only the installed `Bin\Setup.exe` of a server with the SU reaches
    /// (`preflight::adprep::after_su_needed`): when, where and the command.
    /// Absent when not needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_security_update: Option<String>,
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
    /// `None` when the build could not be read.
    pub needs_upgrade: Option<bool>,
    pub os: Option<String>,
    pub prerequisites: Vec<Prerequisite>,
    /// `None` when the server's facts could not be read.
    pub pending_reboot: Option<bool>,
    /// Which indicators say a reboot is pending (registry key or value names).
    pub pending_reboot_reasons: Vec<String>,
    pub system_drive_free_gb: Option<f64>,
    /// The drive Exchange is installed on (`MsiInstallPath`'s, e.g. `D:`),
    /// when it is not the system drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_drive: Option<String>,
    /// Free space on `install_drive`, GB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_drive_free_gb: Option<f64>,
    /// `None` when the server's Exchange state could not be read.
    pub maintenance: Option<MaintenanceState>,
    /// The database copies this server holds.
    pub copies: Vec<CopyHealth>,
    /// Messages in this server's queues, not counting shadow-redundancy and poison.
    pub queued_messages: Option<u64>,
    pub verdict: Verdict,
    /// Every reason the server is blocked, in words an admin understands.
    /// Add them with [`ServerReport::block`], which keeps `blocker_codes`
    /// beside.
    pub blockers: Vec<String>,
    /// The stable code of each blocker, in the same order.
    pub blocker_codes: Vec<BlockerCode>,
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

impl ServerReport {
    /// Adds a blocker: its text and its code, side by side.
    pub fn block(&mut self, code: BlockerCode, text: String) {
        self.blockers.push(text);
        self.blocker_codes.push(code);
    }

    /// Whether the server is known to need the upgrade (unknown: no).
    pub fn needs_upgrade_known(&self) -> bool {
        self.needs_upgrade == Some(true)
    }
}

impl Report {
    /// Adds a plan-wide blocker: its text and its code, side by side.
    pub fn block(&mut self, code: BlockerCode, text: String) {
        self.blockers.push(text);
        self.blocker_codes.push(code);
    }
}

impl Prerequisite {
    /// The blocker code when this prerequisite is not met.
    pub fn blocker_code(&self) -> BlockerCode {
        let name = self.name.as_str();
        if name.starts_with(".NET") {
            BlockerCode::PrereqDotnet
        } else if name.starts_with("Visual C++") {
            BlockerCode::PrereqVcredist
        } else if name.starts_with("UCMA") {
            BlockerCode::PrereqUcma
        } else if name.starts_with("IIS URL Rewrite") {
            BlockerCode::PrereqUrlRewrite
        } else {
            BlockerCode::PrereqOs
        }
    }
}

/// What kind of thing blocks, as a code that scripts can match on: the
/// text beside it may be reworded, the code stays (docs/report.md lists
/// them). Serialised as the strings in `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockerCode {
    /// The server could not be queried (unreachable, refused, setup running).
    Unreachable,
    /// No readable ExSetup.exe version: Exchange missing or broken.
    NoExchange,
    /// The installed build is not in the catalogue.
    UnknownBuild,
    /// No supported path from the installed build to the target.
    UpgradePath,
    PrereqDotnet,
    /// The installed CU and the target share no supported .NET version:
    /// an intermediate CU (or Microsoft's documented shortcut) comes first.
    DotnetPath,
    PrereqVcredist,
    PrereqUcma,
    PrereqUrlRewrite,
    /// The Windows Server version is not supported by the target.
    PrereqOs,
    /// Less free space on the system drive than the policy asks.
    DiskSpace,
    /// Already in maintenance, not by cu-roll.
    InMaintenance,
    /// A database copy on the server is unhealthy or behind.
    CopyUnhealthy,
    /// A database would keep too few healthy copies while it is down.
    Redundancy,
    /// Setup or SU media missing, of the wrong version, or a hash mismatch.
    Media,
    /// An expired certificate is bound to an IIS site: setup stops on it.
    CertificateIisExpired,
    /// The organisation's Exchange Auth certificate has expired.
    CertificateAuthExpired,
    /// Extended Protection would break client access, or the plan must say
    /// what setup does about it (`preflight::ep`).
    ExtendedProtection,
    /// Plan-wide: Active Directory preparation must run first.
    AdPreparation,
    /// Plan-wide: the AD levels could not be read.
    AdUnreadable,
    /// A DAG's members (Get-DatabaseAvailabilityGroup) differ from the
    /// plan's (plan-wide), or a server's DAG (Get-MailboxServer) differs
    /// from its `dag` in the plan (per server).
    DagMembership,
}

impl BlockerCode {
    /// Every code, in the order docs/report.md lists them.
    pub const ALL: [BlockerCode; 21] = [
        BlockerCode::Unreachable,
        BlockerCode::NoExchange,
        BlockerCode::UnknownBuild,
        BlockerCode::UpgradePath,
        BlockerCode::PrereqDotnet,
        BlockerCode::DotnetPath,
        BlockerCode::PrereqVcredist,
        BlockerCode::PrereqUcma,
        BlockerCode::PrereqUrlRewrite,
        BlockerCode::PrereqOs,
        BlockerCode::DiskSpace,
        BlockerCode::InMaintenance,
        BlockerCode::CopyUnhealthy,
        BlockerCode::Redundancy,
        BlockerCode::Media,
        BlockerCode::CertificateIisExpired,
        BlockerCode::CertificateAuthExpired,
        BlockerCode::ExtendedProtection,
        BlockerCode::AdPreparation,
        BlockerCode::AdUnreadable,
        BlockerCode::DagMembership,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockerCode::Unreachable => "unreachable",
            BlockerCode::NoExchange => "no-exchange",
            BlockerCode::UnknownBuild => "unknown-build",
            BlockerCode::UpgradePath => "upgrade-path",
            BlockerCode::PrereqDotnet => "prereq.dotnet",
            BlockerCode::DotnetPath => "dotnet-path",
            BlockerCode::PrereqVcredist => "prereq.vcredist",
            BlockerCode::PrereqUcma => "prereq.ucma",
            BlockerCode::PrereqUrlRewrite => "prereq.url-rewrite",
            BlockerCode::PrereqOs => "prereq.os",
            BlockerCode::DiskSpace => "disk-space",
            BlockerCode::InMaintenance => "in-maintenance",
            BlockerCode::CopyUnhealthy => "copy-unhealthy",
            BlockerCode::Redundancy => "redundancy",
            BlockerCode::Media => "media",
            BlockerCode::CertificateIisExpired => "certificate.iis-expired",
            BlockerCode::CertificateAuthExpired => "certificate.auth-expired",
            BlockerCode::ExtendedProtection => "extended-protection",
            BlockerCode::AdPreparation => "ad-preparation",
            BlockerCode::AdUnreadable => "ad-unreadable",
            BlockerCode::DagMembership => "dag-membership",
        }
    }
}

impl Serialize for BlockerCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_list_every_blocker_code_in_order() {
        let docs = include_str!("../../docs/report.md");
        let listed: Vec<&str> = docs
            .lines()
            .skip_while(|l| !l.starts_with("### Blocker codes"))
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .collect();
        let codes: Vec<&str> = BlockerCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, codes);
    }

    #[test]
    fn each_prerequisite_has_its_own_code() {
        let code = |name: &str| {
            Prerequisite {
                name: name.into(),
                required: String::new(),
                found: String::new(),
                ok: false,
            }
            .blocker_code()
            .as_str()
        };
        // The names `assess`/`preflight::checks::prerequisites` gives them.
        assert_eq!(code(".NET Framework"), "prereq.dotnet");
        assert_eq!(code("Visual C++ 2012"), "prereq.vcredist");
        assert_eq!(code("Visual C++ 2013"), "prereq.vcredist");
        assert_eq!(code("UCMA 4.0"), "prereq.ucma");
        assert_eq!(code("IIS URL Rewrite 2.1"), "prereq.url-rewrite");
        assert_eq!(code("Windows Server"), "prereq.os");
    }
}
