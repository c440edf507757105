//! Where a running setup is, from the marker lines of `ExchangeSetup.log`
//! (the progress a console run of setup shows, which an unattended run
//! only logs): the task it runs now, shown under the name the admin knows
//! from setup's own screen, and which of its work units that is.
//!
//! Input is the output of [`CMD_SETUP_STAGE`]: the log's marker lines
//! only (cmd.exe has no `tail`, and while setup runs cu-roll polls with
//! cmd.exe alone, see `runbook::steps::installer`; `findstr` reads the
//! file on the server and sends back a few dozen lines per run, not the
//! tens of MB the log grows to). Pure text in, stage out; it decides
//! nothing about the rollout.
//!
//! What the captures (CSS-Exchange `Setup/Tests`, MIT; copies in
//! `tests/fixtures/real/setup-logs/`) show:
//! - each run logs `UpgradeModeDataHandler has 16 handlers and 16 work
//!   units` before its prerequisite check (`ExchangeSetup_ADUpdated_NoOrgMan.log`
//!   line 62: 16 for the six roles of a 2019 Mailbox server);
//! - each task setup runs is announced on thread 0 as `Setup will run the
//!   task 'Install-BridgeheadRole'` (`ExchangeSetup_ADServiceNotStarted.log`
//!   line 123), `'Start-PreConfiguration'`, `'test-SetupPrerequisites'`,
//!   `'install-msipackage'` (`ExchangeSetup_MSI_3.log` line 64),
//!   `'Install-ExchangeOrganization'` (a `/PrepareAD` run);
//! - the role list setup shows (`Mailbox role: Transport service`, …) is
//!   logged in the order of the `-Roles` it passes to its tasks
//!   (`BridgeheadRole`, `ClientAccessRole`, `MailboxRole`,
//!   `FrontendTransportRole`, `CafeRole`: `ExchangeSetup_ADUpdated_NoOrgMan.log`
//!   lines 53-60 and 68), which gives each `Install-<role>Role` task its
//!   screen name.
//!
//! UNVERIFIED: that the announced tasks are exactly the counted work units
//! (the captures are cut before a run's end), so the step number is the
//! count of tasks announced so far, capped at the total.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::parse::last_run;

/// The cmd.exe command that prints the marker lines of every run in the
/// log (the last run is picked here). `/L` literal, `/I` because findstr
/// can miss matches of several case-sensitive literal strings of different
/// lengths (UNVERIFIED: a findstr limitation documented by its users, not
/// by Microsoft).
pub const CMD_SETUP_STAGE: &str = r#"findstr /L /I /C:"Starting Microsoft Exchange Server" /C:" work units" /C:"Setup will run the task '" /C:"Performing Microsoft Exchange Server Prerequisite Check" "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#;

/// Where the last run of setup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStage {
    /// What setup's screen would call it (`Mailbox role: Transport
    /// service`), or the task's own name when there is no screen name.
    pub name: String,
    /// Tasks announced so far in this run (1 = the first); 0 while setup
    /// has announced none yet.
    pub step: usize,
    /// The run's work units, when logged.
    pub of: Option<usize>,
}

impl fmt::Display for SetupStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match (self.step, self.of) {
            (0, _) => Ok(()),
            (step, Some(of)) => write!(f, " (step {} of {of})", step.min(of)),
            (step, None) => write!(f, " (step {step})"),
        }
    }
}

static WORK_UNITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\w+ModeDataHandler has \d+ handlers and (\d+) work units").expect("valid regex")
});
static TASK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Setup will run the task '([^']+)'").expect("valid regex"));

/// The stage of the last run in `markers` (the output of
/// [`CMD_SETUP_STAGE`], or any text holding those lines); `None` when it
/// has no run, or the run has not yet reached its prerequisite check.
pub fn current_stage(markers: &str) -> Option<SetupStage> {
    let run = last_run(markers)?;
    let mut of = None;
    let mut step = 0;
    let mut name = None;
    for line in &run.lines {
        if let Some(c) = WORK_UNITS.captures(line.text) {
            of = c[1].parse().ok();
        } else if let Some(c) = TASK.captures(line.text) {
            step += 1;
            name = Some(screen_name(&c[1]));
        } else if name.is_none()
            && line
                .text
                .starts_with("Performing Microsoft Exchange Server Prerequisite Check")
        {
            name = Some("prerequisite check".to_string());
        }
    }
    Some(SetupStage {
        name: name?,
        step,
        of,
    })
}

/// The name setup's screen gives a task (the role list of the captures,
/// see the module doc); others keep their own name, said as a task.
fn screen_name(task: &str) -> String {
    let known = match task.to_ascii_lowercase().as_str() {
        "install-languages" | "install-languagepacks" => "Languages",
        "install-admintoolsrole" => "Management tools",
        "install-bridgeheadrole" => "Mailbox role: Transport service",
        "install-clientaccessrole" => "Mailbox role: Client Access service",
        "install-unifiedmessagingrole" => "Mailbox role: Unified Messaging service",
        "install-mailboxrole" => "Mailbox role: Mailbox service",
        "install-frontendtransportrole" => "Mailbox role: Front End Transport service",
        "install-caferole" => "Mailbox role: Client Access Front End service",
        "test-setupprerequisites" => "prerequisite check",
        // `-packagepath '…\exchangeserver.msi'` (ExchangeSetup_MSI_3.log line 65).
        "install-msipackage" => "copying the Exchange files (install-msipackage)",
        _ => return format!("task {task}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/real/setup-logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// What `findstr` would send back: the marker lines only.
    fn markers(log: &str) -> String {
        let keys = [
            "Starting Microsoft Exchange Server",
            " work units",
            "Setup will run the task '",
            "Performing Microsoft Exchange Server Prerequisite Check",
        ];
        log.lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                keys.iter().any(|k| l.contains(&k.to_ascii_lowercase()))
            })
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn a_real_upgrade_in_its_transport_role_task() {
        let log = fixture("ExchangeSetup_ADServiceNotStarted.log");
        let stage = current_stage(&markers(&log)).unwrap();
        assert_eq!(stage.name, "Mailbox role: Transport service");
        // The whole log gives the same answer as its marker lines.
        assert_eq!(current_stage(&log), Some(stage));
    }

    #[test]
    fn a_real_run_copying_its_files_counts_its_work_units() {
        let stage = current_stage(&markers(&fixture("ExchangeSetup_MSI_3.log"))).unwrap();
        assert_eq!(stage.of, Some(15));
        assert_eq!(stage.step, 1);
        assert_eq!(
            stage.to_string(),
            "copying the Exchange files (install-msipackage) (step 1 of 15)"
        );
    }

    #[test]
    fn a_run_in_its_prerequisite_check_and_one_not_started() {
        let text = "\
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:01:30.0000] [0] UpgradeModeDataHandler has 16 handlers and 16 work units\r
[02/10/2026 09:01:30.0100] [0] Performing Microsoft Exchange Server Prerequisite Check\r
";
        let stage = current_stage(text).unwrap();
        assert_eq!(stage.to_string(), "prerequisite check");
        assert_eq!(
            current_stage(&text[..text.find("[02/10/2026 09:01:30").unwrap()]),
            None
        );
        assert_eq!(current_stage(""), None);
    }

    /// Only the last run counts; a task not on setup's screen keeps its
    /// name; the step never passes the total.
    #[test]
    fn the_last_run_counts_and_unknown_tasks_keep_their_name() {
        let text = "\
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:01:30.0000] [0] UpgradeModeDataHandler has 2 handlers and 2 work units\r
[02/10/2026 09:02:00.0000] [0] Setup will run the task 'Install-MailboxRole'\r
[02/10/2026 10:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 10:01:30.0000] [0] UpgradeModeDataHandler has 2 handlers and 2 work units\r
[02/10/2026 10:02:00.0000] [0] Setup will run the task 'Start-PreConfiguration'\r
[02/10/2026 10:02:10.0000] [0] Setup will run the task 'test-SetupPrerequisites'\r
[02/10/2026 10:03:00.0000] [0] Setup will run the task 'Start-PostSetup'\r
";
        let stage = current_stage(text).unwrap();
        assert_eq!(stage.to_string(), "task Start-PostSetup (step 2 of 2)");
        assert_eq!(stage.step, 3);
    }
}
