//! What an installer run writes: the runs Exchange setup appends to
//! ExchangeSetup.log (their opening lines, the outcome lines on the thread
//! real setup logs them under, and the closing lines, as the CSS-Exchange
//! `Setup/Tests` captures have them) and the verbose msiexec log. Text
//! only; `setup.rs` decides what happened.

use super::model::{Program, ProgramKind, SetupFailure};
use super::world::World;
use super::worldinit::{cu_revision, product_name, stamp};
use crate::build::ExchangeBuild;
use crate::setup::PATCH_TARGET_NOT_FOUND_TEXT;
use crate::setup::{MSI_INSTALL_ALREADY_RUNNING, MSI_INSTALL_FAILURE, MSI_PATCH_TARGET_NOT_FOUND};

/// The tasks an upgrade of a 2019 Mailbox server announces, in order, as
/// `Setup will run the task '<task>'` lines on thread 0: the first two
/// during the prerequisite analysis, the rest after it. The names and the
/// announcement are the captures' (`ExchangeSetup_InvalidWKObjectException.log`
/// lines 77 and 349, `ExchangeSetup_MSI_3.log` line 64,
/// `ExchangeSetup_ADServiceNotStarted.log` line 123; the role tasks'
/// `Ending processing Install-<role>Role` lines in the others); that a run
/// announces exactly these, in this order, is UNVERIFIED (the captures are
/// cut before a run's end), and a real run counts more work units (16 in
/// `ExchangeSetup_ADUpdated_NoOrgMan.log`).
pub const UPGRADE_TASKS: [&str; 9] = [
    "Start-PreConfiguration",
    "test-SetupPrerequisites",
    "install-msipackage",
    "Install-AdminToolsRole",
    "Install-BridgeheadRole",
    "Install-ClientAccessRole",
    "Install-MailboxRole",
    "Install-FrontendTransportRole",
    "Install-CafeRole",
];

/// How many of [`UPGRADE_TASKS`] run before the prerequisite analysis ends.
const TASKS_BEFORE_READINESS: usize = 2;

/// The task during which the injected failure stops setup (the transport
/// service does not start: `INJECTED_FAILURE`).
const FAILING_TASK: &str = "Install-BridgeheadRole";

impl World {
    /// Appends the start of an upgrade run to ExchangeSetup.log: the header
    /// with its work units; the task lines follow as the run goes on
    /// ([`World::log_due_tasks`]).
    pub(crate) fn append_upgrade_log_start(&mut self, i: usize, media: &ExchangeBuild) {
        self.append_run(i, media, &[], Some(UPGRADE_TASKS.len()));
    }

    /// Appends one setup run to ExchangeSetup.log: the header every run
    /// writes, then `tail` (outcome lines) and the closing lines.
    pub(crate) fn append_setup_log(&mut self, i: usize, media: &ExchangeBuild, tail: &[&str]) {
        self.append_run(i, media, tail, None);
    }

    /// When the next task line of server `i`'s program is due: tasks are
    /// spread over the run, the first ones before its readiness milestone.
    /// `None` when it logs no (more) task lines.
    pub(crate) fn next_task_ms(p: &Program) -> Option<i64> {
        if !matches!(p.kind, ProgramKind::MediaSetup { .. }) {
            return None;
        }
        let k = p.tasks_logged;
        let stop = match &p.failure {
            None => UPGRADE_TASKS.len(),
            Some(SetupFailure::Injected | SetupFailure::ExpiredCertificate { .. }) => {
                UPGRADE_TASKS.iter().position(|t| *t == FAILING_TASK)? + 1
            }
            // A readiness rule stops the run after its prerequisite analysis.
            Some(SetupFailure::Rule { .. }) => TASKS_BEFORE_READINESS,
            Some(_) => 0,
        };
        // The tasks after the prerequisite analysis wait for its verdict.
        if k >= stop || (k >= TASKS_BEFORE_READINESS && !p.readiness_done) {
            return None;
        }
        let (start, ready, end) = (p.started_ms, p.readiness_ms, p.ends_ms);
        let due = if k < TASKS_BEFORE_READINESS {
            let k = i64::try_from(k + 1).ok()?;
            start + (ready - start) * k / i64::try_from(TASKS_BEFORE_READINESS + 1).ok()?
        } else {
            let after = i64::try_from(UPGRADE_TASKS.len() - TASKS_BEFORE_READINESS).ok()?;
            let k = i64::try_from(k - TASKS_BEFORE_READINESS).ok()?;
            ready + (end - ready) * k / after
        };
        // Never at or past the end: the run's outcome lines close it.
        (due < end).then_some(due)
    }

    /// Logs the task lines of server `i`'s program that are due by now.
    pub(crate) fn log_due_tasks(&mut self, i: usize) {
        let now = self.now_ms;
        let mut lines = Vec::new();
        if let Some(p) = self.servers[i]
            .batch
            .as_mut()
            .and_then(|b| b.program.as_mut())
        {
            while let Some(due) = Self::next_task_ms(p).filter(|d| *d <= now) {
                lines.push(format!(
                    "{} [0] Setup will run the task '{}'\r\n",
                    stamp(due),
                    UPGRADE_TASKS[p.tasks_logged]
                ));
                p.tasks_logged += 1;
            }
        }
        if !lines.is_empty() {
            let s = &mut self.servers[i];
            s.setup_log.push_str(&lines.concat());
            s.setup_log_written_ms = now;
        }
    }

    fn append_run(
        &mut self,
        i: usize,
        media: &ExchangeBuild,
        tail: &[&str],
        work_units: Option<usize>,
    ) {
        let now = self.now_ms;
        let user = self.logged_on_user(i);
        let s = &mut self.servers[i];
        let installed = full_version(&s.build, s.cu_revision);
        let previous = s.partial_setup.as_ref().map(|p| p.previous.clone());
        let mut out = String::new();
        let mut line = |text: &str| {
            out.push_str(&format!("{} [{}] {text}\r\n", stamp(now), log_thread(text)));
        };
        if tail.is_empty() {
            // A run's opening lines (CSS-Exchange test logs, exchange-facts.md §4).
            line("**********************************************");
            line(&format!("Starting {} Setup", product_name(media)));
            line("**********************************************");
            line("Local time zone: (UTC) Coordinated Universal Time.");
            line("Operating system version: Microsoft Windows NT 6.2.9200.0.");
            line(&format!(
                "Setup version: {}.",
                full_version(media, cu_revision(media))
            ));
            line(&format!("Logged on user: {user}."));
            line("Command Line Parameter Name='mode', Value='Upgrade'.");
            // A run after an unfinished upgrade names the build before it
            // (ExchangeSetup_FIPS_AccessDenied.log line 45).
            if let Some(previous) = previous {
                line(&format!(
                    "The backup copy of the previously installed version is '{previous}'."
                ));
            }
            line("The installation mode is set to: 'BuildToBuildUpgrade'.");
            line(&format!("The locally installed version is {installed}."));
            // ExchangeSetup_ADUpdated_NoOrgMan.log line 62.
            if let Some(n) = work_units {
                line(&format!(
                    "UpgradeModeDataHandler has {n} handlers and {n} work units"
                ));
            }
            line("Performing Microsoft Exchange Server Prerequisite Check");
        } else {
            for t in tail {
                line(t);
            }
            line("End of Setup");
            line("**********************************************");
        }
        s.setup_log.push_str(&out);
        s.setup_log_written_ms = now;
    }
}

/// `15.2.1544.4`: a build with the given revision, as setup logs versions.
pub(crate) fn full_version(build: &ExchangeBuild, revision: u32) -> String {
    format!("{}.{}.{}.{revision}", build.major, build.minor, build.build)
}

/// The thread number setup logs a line under: the component tasks and the
/// readiness rules run on `[1]`, the console's own lines on `[0]`
/// (CSS-Exchange `ExchangeSetup_Service_Disabled.log`,
/// `ExchangeSetup_Reboot_Pending.log`).
fn log_thread(text: &str) -> u8 {
    let task = [
        "[ERROR",
        "Setup is stopping now",
        "Finished executing component tasks",
        "Evaluated [Rule:",
        "Failed [Rule:",
        "[REQUIRED]",
        "Help URL:",
    ];
    u8::from(task.iter().any(|p| text.starts_with(p)))
}

/// The verbose msiexec log the lab writes for `/l*v <file>`.
pub(crate) fn msi_log(p: &Program, code: i32, now: i64) -> String {
    let when = stamp(now);
    let mut out = format!("=== Verbose logging started: {when}  Build type: SHIP UNICODE 5.00.10011.00  Calling process: C:\\Windows\\system32\\msiexec.exe ===\r\n");
    out.push_str(&format!(
        "MSI (c) {when}: Command line: {}\r\n",
        p.command_line
    ));
    if code == MSI_INSTALL_FAILURE {
        // The lines a failed patch's verbose log carries (Windows Installer's
        // standard wording: a custom action's error, "Return value 3", the
        // product line with the error code).
        out.push_str(&format!("MSI (s) {when}: Executing op: ActionStart(Name=StopServices,Description=Stopping Exchange services)\r\n"));
        out.push_str("CustomAction StopServices returned actual error code 1603 (note this may not be 100% accurate if translation happened inside sandbox)\r\n");
        out.push_str(&format!(
            "Action ended {when}: InstallFinalize. Return value 3.\r\n"
        ));
        out.push_str(&format!("MSI (s) {when}: Product: Microsoft Exchange Server - Update could not be installed. Error code 1603.\r\n"));
    }
    if code == MSI_INSTALL_ALREADY_RUNNING {
        out.push_str(&format!("MSI (c) {when}: Another installation is in progress. You must complete that installation before continuing this one.\r\n"));
    }
    if code == MSI_PATCH_TARGET_NOT_FOUND {
        out.push_str(&format!("MSI (c) {when}: Product: Microsoft Exchange Server -- {PATCH_TARGET_NOT_FOUND_TEXT}\r\n"));
    }
    out.push_str(&format!(
        "MSI (c) {when}: MainEngineThread is returning {code}\r\n=== Verbose logging stopped: {when} ===\r\n"
    ));
    out
}

/// The `setup-fails` fault's error lines: a critical task fails after the
/// file copy (the transport service does not start).
pub(crate) const INJECTED_FAILURE: [&str; 3] = [
    "[ERROR] The following error was generated when \"$error.Clear(); Start-SetupService -ServiceName MSExchangeTransport\" was run: \"System.TimeoutException: Service 'MSExchangeTransport' failed to reach status 'Running' on this server.\".",
    "[ERROR] Service 'MSExchangeTransport' failed to reach status 'Running' on this server.",
    "[ERROR-REFERENCE] Id=BridgeheadRoleSetterComponent___115c1108e99e4560bd2c03c0fec99908 Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup",
];

/// What setup logs after a critical error mid-run.
pub(crate) const FAILURE_TAIL: [&str; 3] = [
    "Setup is stopping now because of one or more critical errors.",
    "Finished executing component tasks.",
    crate::setup::SETUP_DIDNT_COMPLETE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{SETUP_DIDNT_COMPLETE, SETUP_SUCCEEDED};

    /// Setup's console lines on [0], its tasks and rules on [1], as the
    /// CSS-Exchange captures have them.
    #[test]
    fn task_lines_are_logged_on_thread_one() {
        assert_eq!(log_thread(SETUP_DIDNT_COMPLETE), 0);
        assert_eq!(log_thread(SETUP_SUCCEEDED), 0);
        assert_eq!(log_thread("[ERROR] Access is denied."), 1);
        assert_eq!(log_thread("[ERROR-REFERENCE] Id=x"), 1);
        assert_eq!(log_thread("Failed [Rule:RebootPending] [Message:x]"), 1);
        assert_eq!(log_thread("End of Setup"), 0);
    }
}
