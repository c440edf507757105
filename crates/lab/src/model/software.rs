//! The plain data of what is installed and running on a simulated server
//! besides Exchange's services: the setup and security-update media, files
//! copied onto it, scheduled tasks and the program a task runs (setup,
//! msiexec, PowerShell), and what an unfinished or failed setup leaves
//! behind. Owns no behaviour; `setup.rs` and `tasks.rs` change these.

use serde::{Deserialize, Serialize};

use crate::build::ExchangeBuild;
use crate::spec::LabMediaKind;

/// What an upgrade that has not finished leaves behind (see `setup.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialSetup {
    /// The build installed before it, with its CU revision
    /// (`15.2.1544.4`): setup's "backup copy of the previously installed version".
    pub previous: String,
    /// The media build being installed.
    pub unpacked: ExchangeBuild,
}

/// A `[[lab.media]]` file, present on every server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub path: String,
    pub build: ExchangeBuild,
    pub kind: LabMediaKind,
    /// Upper-case hex, as Get-FileHash prints it.
    pub sha256: String,
}

/// A file a command wrote: content as text, and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub path: String,
    pub content: String,
    pub last_write_ms: i64,
}

/// A registered scheduled task (root folder `\`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledTask {
    pub name: String,
    /// The action's `Execute` and `Arguments`.
    pub execute: String,
    pub arguments: Option<String>,
    pub user_id: String,
    pub logon_type: String,
    pub run_level: String,
    pub running: bool,
    pub last_run_ms: Option<i64>,
    /// `LastTaskResult`: 267011 (0x41303, SCHED_S_TASK_HAS_NOT_RUN) until
    /// the first run ends, then the action's exit code.
    pub last_result: u32,
}

/// A running batch file: the lines still to run after the current program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRun {
    /// The scheduled task that started it, if any.
    pub task: Option<String>,
    /// Lines not yet run, in order.
    pub lines: Vec<String>,
    /// `%ERRORLEVEL%`: the last program's exit code.
    pub errorlevel: i32,
    pub program: Option<Program>,
}

/// A program the lab runs over time: Exchange setup or msiexec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub kind: ProgramKind,
    /// Image name as tasklist shows it (`ExSetup.exe`, `msiexec.exe`).
    pub image: String,
    pub pid: u32,
    /// The command line as the batch gave it.
    pub command_line: String,
    pub started_ms: i64,
    /// Setup's prerequisite analysis ends here: rules are judged, then the
    /// services stop and the components go offline.
    pub readiness_ms: i64,
    pub readiness_done: bool,
    pub ends_ms: i64,
    /// Why the run fails, once known.
    pub failure: Option<SetupFailure>,
    /// A `powershell.exe` seen on the server during prerequisite analysis (its pid).
    pub powershell_seen: Option<u32>,
    /// Where the program's console output goes (`> file`), if redirected.
    pub stdout_to: Option<String>,
    /// How many of an upgrade's task lines it has logged so far
    /// (`setup_logging::UPGRADE_TASKS`).
    #[serde(default)]
    pub tasks_logged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProgramKind {
    /// The media's Setup.exe (`/Mode:Upgrade`) installing `build`.
    MediaSetup { build: ExchangeBuild, path: String },
    /// The installed `<install>\bin\Setup.exe` (a bare `setup.exe`): it
    /// "succeeds" without upgrading anything.
    InstalledSetup,
    /// A Setup.exe preparing Active Directory (`/PrepareSchema`,
    /// `/PrepareAD`, `/PrepareAllDomains`) to the levels setup of `build`
    /// reaches: the media's (its CU's), or the installed `bin\Setup.exe`'s
    /// (its build's, an SU's domain level included).
    AdPreparation {
        build: ExchangeBuild,
        scope: AdPrepScope,
    },
    /// A `powershell.exe` task action whose script has done its work but
    /// runs on for the time that work takes (`ServerHost::spend`: e.g.
    /// RedistributeActiveDatabases.ps1's database moves); it then exits
    /// with `exit_code`. The lab applies the work's effects when the script
    /// runs, not when the process ends (a simplification).
    PowerShell { exit_code: i32 },
    /// `msiexec /update <msp>` installing `build`.
    SecurityUpdate {
        build: ExchangeBuild,
        path: String,
        /// `/l*v <file>`: the verbose log msiexec writes.
        log: Option<String>,
    },
}

/// What a `/Prepare*` run prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdPrepScope {
    /// `/PrepareSchema` (`/ps`): the schema only.
    Schema,
    /// `/PrepareAD` (`/p`): the schema when needed, the organisation, and
    /// the local domain (the lab forest has one domain).
    Ad,
    /// `/PrepareAllDomains` (`/pad`) or `/PrepareDomain` (`/pd`): the
    /// domain's Microsoft Exchange System Objects container.
    Domain,
}

/// Why a setup or update run fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SetupFailure {
    /// A command-line problem found before anything starts (console text).
    CommandLine { message: String },
    /// A prerequisite rule failed (rule name, message).
    Rule { rule: String, message: String },
    /// The injected `setup-fails` fault: a critical task failed mid-run.
    Injected,
    /// An expired certificate is bound to IIS (`setup_certs`): mid-run too.
    ExpiredCertificate {
        issuer: String,
        subject: String,
        not_before_ms: i64,
        not_after_ms: i64,
    },
    /// The media is older than the installed CU.
    Downgrade { installed: ExchangeBuild },
    /// msiexec: the .msp belongs to another CU (exit 1642).
    PatchTargetNotFound,
    /// msiexec: the .msp is not there (exit 1619).
    PackageNotFound,
    /// The `su-fails` fault: exit 1603, the services left Disabled.
    MsiFatal,
    /// The `su-busy` fault: another installation runs (exit 1618).
    MsiBusy,
    /// The `su-restarts` fault: the SU installs, then restarts the
    /// machine itself (exit 1641).
    MsiRestartInitiated,
    /// The `su-interrupted` fault: the machine restarts part-way; no exit
    /// code, the services left Disabled.
    MsiInterrupted,
    /// Started while a reboot was pending: exit 3010 with the build raised,
    /// but the services left Disabled (UNVERIFIED, `security_update`).
    MsiRebootPending,
}
