//! `msiexec /update <.msp>` (an Exchange Security Update) and what
//! Exchange's `ServiceControl.ps1` does around setup and the SU: save the
//! start types of the services it touches to `C:\ExchangeSetupLogs\
//! Service*.xml`, disable and stop them, and put the saved start types
//! back (deleting the file) when the run ends well. A run that does not end
//! well leaves the whole set Disabled and the file behind. Only the SU's
//! start, its exit codes and this service bookkeeping live here; setup's
//! run is `setup`.
//!
//! Sources:
//! * The set: CSS-Exchange SetupAssist `Checks/LocalServer/
//!   Test-ExchangeServices.ps1` (MpsSvc, FMS, HostControllerService, the
//!   MSExchange services it lists, RemoteRegistry, WinMgmt) and its
//!   "Services Cache Files" check for `C:\ExchangeSetupLogs\Service*.xml`
//!   ("Delete the file and start Exchange Services"). W3SVC and IISAdmin
//!   are stopped by ServiceControl.ps1 (review real-exchange.md #6); that
//!   they are left **Disabled** too is community-reported (posh-able.com
//!   2021-03-07, iph.ch 2018-03-22), UNVERIFIED against Microsoft.
//! * Exit codes: Microsoft Learn, "MsiExec.exe and InstMsi.exe error
//!   messages": 0, 1603 ERROR_INSTALL_FAILURE, 1618
//!   ERROR_INSTALL_ALREADY_RUNNING, 1641 ERROR_SUCCESS_REBOOT_INITIATED,
//!   1642 ERROR_PATCH_TARGET_NOT_FOUND, 3010 ERROR_SUCCESS_REBOOT_REQUIRED.
//! * The file name `ServiceStartupMode.xml` is the lab's (UNVERIFIED); only
//!   the `Service*.xml` pattern is sourced. That a second run started while
//!   the services are Disabled saves "Disabled" and so restores Disabled
//!   is UNVERIFIED: it is one way the SU known issue "Exchange services may
//!   remain in a disabled state" (SU release notes) comes about.
//! * An SU installed while a reboot is pending (the CU's file renames)
//!   exits 3010 with the build raised but leaves the set Disabled
//!   (half-applied): UNVERIFIED, chosen from review #7's reasoning and the
//!   community reports above; no Microsoft page says what happens.

use super::model::{Program, ProgramKind, ServiceStatus, SetupFailure, StartType};
use super::setup::{
    MSI_INSTALL_ALREADY_RUNNING, MSI_INSTALL_FAILURE, MSI_INVALID_COMMAND_LINE,
    MSI_PACKAGE_OPEN_FAILED, MSI_PATCH_TARGET_NOT_FOUND, MSI_REBOOT_INITIATED, MSI_REBOOT_REQUIRED,
};
use super::setup_logging::msi_log;
use super::spec::{LabMediaKind, PendingReboot};
use super::world::World;

/// The services ServiceControl.ps1 disables and SetupAssist checks
/// (plus W3SVC and IISAdmin, UNVERIFIED: see the module comment).
pub const SERVICE_CONTROL_SET: [&str; 26] = [
    "MpsSvc",
    "FMS",
    "HostControllerService",
    "MSExchangeADTopology",
    "MSExchangeAntispamUpdate",
    "MSExchangeDagMgmt",
    "MSExchangeDelivery",
    "MSExchangeDiagnostics",
    "MSExchangeEdgeSync",
    "MSExchangeFastSearch",
    "MSExchangeFrontEndTransport",
    "MSExchangeHM",
    "MSExchangeIS",
    "MSExchangeMailboxAssistants",
    "MSExchangeMailboxReplication",
    "MSExchangeRepl",
    "MSExchangeRPC",
    "MSExchangeServiceHost",
    "MSExchangeSubmission",
    "MSExchangeThrottling",
    "MSExchangeTransport",
    "MSExchangeTransportLogSearch",
    "RemoteRegistry",
    "WinMgmt",
    "W3SVC",
    "IISAdmin",
];

/// Where ServiceControl.ps1 keeps the saved start types (lab name).
pub const SERVICE_STATE_FILE: &str = r"C:\ExchangeSetupLogs\ServiceStartupMode.xml";
const SETUP_LOGS: &str = r"C:\ExchangeSetupLogs";

fn in_set(name: &str) -> bool {
    SERVICE_CONTROL_SET
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

impl World {
    /// ServiceControl.ps1 Save, DisableServices, Stop: writes the start
    /// types as they are now (Disabled ones as Disabled) and disables and
    /// stops the whole set; the copies go ServiceDown.
    pub(crate) fn service_control_disable(&mut self, i: usize) {
        let now = self.now_ms;
        let mut xml = String::from("<Services>\r\n");
        for svc in &self.servers[i].services {
            if in_set(&svc.name) {
                xml.push_str(&format!(
                    "  <Service Name=\"{}\" StartType=\"{}\" />\r\n",
                    svc.name,
                    svc.start_type.as_str()
                ));
            }
        }
        xml.push_str("</Services>\r\n");
        let _ = self.create_directory(i, SETUP_LOGS);
        let _ = self.write_file(i, SERVICE_STATE_FILE, &xml, false, now);
        for svc in &mut self.servers[i].services {
            if in_set(&svc.name) {
                svc.status = ServiceStatus::Stopped;
                svc.start_type = StartType::Disabled;
            }
        }
        self.replication_stopped(i);
    }

    /// ServiceControl.ps1 AfterPatch: the saved start types back, every
    /// Automatic service started, the file deleted. Without a file nothing
    /// is restored. Returns whether a file was there.
    pub(crate) fn service_control_restore(&mut self, i: usize) -> bool {
        let Some(file) = self.file(i, SERVICE_STATE_FILE) else {
            return false;
        };
        for line in file.content.lines() {
            let attr = |key: &str| {
                let start = line.find(&format!("{key}=\""))? + key.len() + 2;
                let len = line[start..].find('"')?;
                Some(line[start..start + len].to_string())
            };
            let (Some(name), Some(kind)) = (attr("Name"), attr("StartType")) else {
                continue;
            };
            let Some(kind) = StartType::parse(&kind) else {
                continue;
            };
            if let Some(svc) = self.servers[i]
                .services
                .iter_mut()
                .find(|s| s.name.eq_ignore_ascii_case(&name))
            {
                svc.start_type = kind;
                if kind == StartType::Automatic {
                    svc.status = ServiceStatus::Running;
                }
            }
        }
        let _ = self.remove_file(i, SERVICE_STATE_FILE);
        if self.servers[i].service_running("MSExchangeRepl") {
            self.replication_started(i);
        }
        true
    }

    pub(crate) fn start_msiexec(
        &mut self,
        i: usize,
        argv: &[String],
        stdout_to: Option<String>,
        command_line: String,
    ) -> Program {
        let now = self.now_ms;
        let pid = self.take_pid();
        let mut package: Option<String> = None;
        let mut log: Option<String> = None;
        let mut silent = false;
        let mut k = 0;
        while k < argv.len() {
            let a = argv[k].to_ascii_lowercase();
            match a.as_str() {
                "/update" | "/p" => {
                    package = argv.get(k + 1).cloned();
                    k += 1;
                }
                "/quiet" | "/qn" | "/passive" | "/qb" | "/qb-" => silent = true,
                "/norestart" | "/promptrestart" | "/forcerestart" => {}
                l if l.starts_with("/l") || l == "/log" => {
                    log = argv.get(k + 1).cloned();
                    k += 1;
                }
                _ => {}
            }
            k += 1;
        }
        let media = package
            .as_deref()
            .and_then(|p| self.media_at(p))
            .filter(|m| m.kind == LabMediaKind::SecurityUpdate)
            .cloned();
        let build = media.as_ref().map_or(self.servers[i].build, |m| m.build);
        let mut p = Program {
            kind: ProgramKind::SecurityUpdate {
                build,
                path: package.clone().unwrap_or_default(),
                log,
            },
            image: "msiexec.exe".to_string(),
            pid,
            command_line,
            started_ms: now,
            readiness_ms: now,
            readiness_done: true,
            ends_ms: now + 200,
            failure: None,
            powershell_seen: None,
            tasks_logged: 0,
            stdout_to,
        };
        let installed = self.servers[i].build;
        let name = self.servers[i].name.clone();
        match (&package, &media) {
            (None, _) => {
                p.failure = Some(SetupFailure::CommandLine {
                    message: "msiexec: no /update package given".to_string(),
                });
            }
            (Some(_), None) => p.failure = Some(SetupFailure::PackageNotFound),
            // Another installation holds the Windows Installer mutex (1618).
            _ if self.trigger_fault("su-busy", &name, None) => {
                p.failure = Some(SetupFailure::MsiBusy);
            }
            (Some(_), Some(m))
                if m.build.build != installed.build || m.build.minor != installed.minor =>
            {
                p.failure = Some(SetupFailure::PatchTargetNotFound);
                p.ends_ms = now + 1_000.min(self.timings.security_update_ms.max(1));
            }
            (Some(_), Some(m)) if m.build.revision <= installed.revision => {
                // Already installed: Windows Installer has nothing to apply (UNVERIFIED exit code 0).
            }
            (Some(_), Some(_)) => {
                // Without a silent switch msiexec waits for a click no one can
                // give in session 0: it never ends.
                let took = self.timings.security_update_ms.max(1);
                p.ends_ms = if silent { now + took } else { i64::MAX / 4 };
                self.step_event(&name, "security-update");
                self.service_control_disable(i);
                p.failure = if self.fire_fault("su-interrupted", &name, None).is_some() {
                    p.ends_ms = now + (took / 2).max(1);
                    Some(SetupFailure::MsiInterrupted)
                } else if self.fire_fault("su-fails", &name, None).is_some() {
                    Some(SetupFailure::MsiFatal)
                } else if self.fire_fault("su-restarts", &name, None).is_some() {
                    Some(SetupFailure::MsiRestartInitiated)
                } else if self.servers[i].pending_reboot.is_some() {
                    Some(SetupFailure::MsiRebootPending)
                } else {
                    None
                };
            }
        }
        p
    }

    /// The SU's msiexec ends: its effects, its `/l*v` log, its exit code.
    /// `None` for an interrupted run: the machine restarts under it and
    /// the batch never writes an exit code.
    pub(crate) fn finish_security_update(&mut self, i: usize, p: &Program) -> Option<i32> {
        let now = self.now_ms;
        let ProgramKind::SecurityUpdate { build, log, .. } = &p.kind else {
            return Some(MSI_INVALID_COMMAND_LINE);
        };
        // Applicability is judged from what is installed, never from the
        // run's length (at <= 200 ms an SU looked "already installed"):
        // learn.microsoft.com/windows/win32/msi/patching-initial-installations
        // ("/p ... compares the applications currently installed ...").
        let s = &self.servers[i];
        let applies = build.minor == s.build.minor
            && build.build == s.build.build
            && build.revision > s.build.revision;
        let patched = |w: &mut World| {
            let s = &mut w.servers[i];
            s.build = *build;
            s.last_install_ms = now;
            s.pending_reboot = Some(PendingReboot::FileRename);
        };
        let code = match &p.failure {
            None if applies => {
                patched(self);
                self.service_control_restore(i);
                MSI_REBOOT_REQUIRED
            }
            None => 0,
            Some(SetupFailure::MsiRebootPending) if applies => {
                // Half-applied: the build is raised, the services stay Disabled.
                patched(self);
                MSI_REBOOT_REQUIRED
            }
            Some(SetupFailure::MsiRestartInitiated) if applies => {
                patched(self);
                self.service_control_restore(i);
                MSI_REBOOT_INITIATED
            }
            Some(SetupFailure::MsiInterrupted) => return None,
            Some(SetupFailure::MsiFatal) => MSI_INSTALL_FAILURE,
            Some(SetupFailure::MsiBusy) => MSI_INSTALL_ALREADY_RUNNING,
            Some(SetupFailure::PatchTargetNotFound) => MSI_PATCH_TARGET_NOT_FOUND,
            Some(SetupFailure::PackageNotFound) => MSI_PACKAGE_OPEN_FAILED,
            Some(_) => MSI_INVALID_COMMAND_LINE,
        };
        if let Some(path) = log {
            let text = msi_log(p, code, now);
            // An unwritable log path makes msiexec fail in reality; the lab just skips it.
            let _ = self.write_file(i, path, &text, false, now);
        }
        Some(code)
    }
}
