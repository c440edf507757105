//! What an installer run writes: the runs Exchange setup appends to
//! ExchangeSetup.log (their opening lines, the outcome lines on the thread
//! real setup logs them under, and the closing lines, as the CSS-Exchange
//! `Setup/Tests` captures have them) and the verbose msiexec log. Text
//! only; `setup.rs` decides what happened.

use super::model::Program;
use super::world::World;
use super::worldinit::{cu_revision, product_name, stamp};
use crate::build::ExchangeBuild;
use crate::setup::PATCH_TARGET_NOT_FOUND_TEXT;
use crate::setup::{MSI_INSTALL_ALREADY_RUNNING, MSI_INSTALL_FAILURE, MSI_PATCH_TARGET_NOT_FOUND};

impl World {
    /// Appends one setup run to ExchangeSetup.log: the header every run
    /// writes, then `tail` (outcome lines) and the closing lines.
    pub(crate) fn append_setup_log(&mut self, i: usize, media: &ExchangeBuild, tail: &[&str]) {
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
