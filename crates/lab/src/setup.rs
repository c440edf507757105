//! Installers over time: the media's Exchange `Setup.exe /Mode:Upgrade`,
//! the installed `bin\Setup.exe` a bare `setup.exe` resolves to, and
//! `msiexec /update <.msp>`. Each is a `Program` with a start, a readiness
//! milestone (setup's prerequisite analysis) and an end, applied by
//! `settle`; what each milestone changes follows exchange-facts.md §4 and
//! the real logs in microsoft/CSS-Exchange `Setup/Tests`. What a command
//! line asks for is `setup_args`; what a run writes to ExchangeSetup.log
//! is `setup_logging`.

use super::components::{ServiceState, StateStore};
use super::model::{
    AdPrepScope, PartialSetup, Program, ProgramKind, ServiceStatus, SetupFailure, StartType,
};
use super::setup_args::{prepare_request, setup_command_line_error};
use super::setup_certs::expired_certificate_lines;
use super::setup_logging::{full_version, FAILURE_TAIL, INJECTED_FAILURE};
use super::spec::{LabMediaKind, PendingReboot};
use super::world::World;
use super::worldinit::{cu_revision, services_for};
use crate::build::ExchangeBuild;

/// Exit code of a failed Exchange setup run.
pub const SETUP_FAILED: i32 = 1;
/// msiexec: success, reboot required (ERROR_SUCCESS_REBOOT_REQUIRED).
pub const MSI_REBOOT_REQUIRED: i32 = 3010;
/// msiexec: the patch targets another product version (ERROR_PATCH_TARGET_NOT_FOUND).
pub const MSI_PATCH_TARGET_NOT_FOUND: i32 = 1642;
/// msiexec: the package could not be opened (ERROR_INSTALL_PACKAGE_OPEN_FAILED).
pub const MSI_PACKAGE_OPEN_FAILED: i32 = 1619;
/// msiexec: bad command line (ERROR_INVALID_COMMAND_LINE).
pub const MSI_INVALID_COMMAND_LINE: i32 = 1639;
/// msiexec: fatal error during installation (ERROR_INSTALL_FAILURE).
pub const MSI_INSTALL_FAILURE: i32 = 1603;
/// msiexec: another installation is in progress (ERROR_INSTALL_ALREADY_RUNNING).
pub const MSI_INSTALL_ALREADY_RUNNING: i32 = 1618;
/// msiexec: success, the installer has initiated a restart (ERROR_SUCCESS_REBOOT_INITIATED).
pub const MSI_REBOOT_INITIATED: i32 = 1641;

/// The console failure line setup prints and logs (CSS-Exchange test logs).
pub const SETUP_DIDNT_COMPLETE: &str = "The Exchange Server setup operation didn't complete.  More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.";
/// The success line (runbook.md §3).
pub const SETUP_SUCCEEDED: &str = "The Exchange Server setup operation completed successfully.";
/// Windows Installer's text for ERROR_PATCH_TARGET_NOT_FOUND, as an
/// Exchange SU for another CU shows it.
pub const PATCH_TARGET_NOT_FOUND_TEXT: &str = "The upgrade patch cannot be installed by the Windows Installer service because the program to be upgraded may be missing, or the upgrade patch may update a different version of the program. Verify that the program to be upgraded exists on your computer and that you have the correct upgrade patch.";

/// Components setup takes offline (requester Functional) for an upgrade and
/// brings back when it succeeds (Tim McMichael, "Exchange 2013: In place
/// upgrade places components in an offline state", TechNet 2014).
const SETUP_COMPONENTS: [&str; 3] = ["ServerWideOffline", "Monitoring", "RecoveryActionsEnabled"];

/// Fractions of a setup run: prerequisite analysis ends at 30%; a
/// powershell.exe seen from 10% on is one rule ProcessNeedsToBeClosedOnUpgrade catches.
const READINESS_PERCENT: i64 = 30;
const WINDOW_START_PERCENT: i64 = 10;

/// Why a program line could not start an installer the lab knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAProgram {
    /// cmd: "… is not recognized as an internal or external command".
    Unknown,
}

fn is_exchange_service(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("msexchange")
}

impl World {
    pub(crate) fn take_pid(&mut self) -> u32 {
        self.next_pid += 4;
        self.next_pid
    }

    /// Recognises the program a batch line runs and starts it. `prog` is
    /// the first token (quotes removed), `args` the rest.
    pub(crate) fn start_program(
        &mut self,
        i: usize,
        prog: &str,
        args: &str,
        stdout_to: Option<String>,
    ) -> Result<Program, NotAProgram> {
        let now = self.now_ms;
        let lower = prog.to_ascii_lowercase().replace('/', "\\");
        let file = lower.rsplit('\\').next().unwrap_or(&lower).to_string();
        let installed_setup =
            format!("{}bin\\setup.exe", self.servers[i].install_path).to_ascii_lowercase();
        let argv = super::batch::arguments(args);
        let command_line = format!("\"{prog}\" {args}").trim_end().to_string();
        let base = |kind, image: &str, pid, dur: i64| Program {
            kind,
            image: image.to_string(),
            pid,
            command_line: command_line.clone(),
            started_ms: now,
            readiness_ms: now + dur * READINESS_PERCENT / 100,
            readiness_done: false,
            ends_ms: now + dur.max(1),
            failure: None,
            powershell_seen: None,
            tasks_logged: 0,
            stdout_to: stdout_to.clone(),
        };
        if let Some(m) = self
            .media_at(prog)
            .filter(|m| m.kind == LabMediaKind::Setup)
            .cloned()
        {
            if let Some(request) = prepare_request(&m.build, &argv) {
                let pid = self.take_pid();
                return Ok(self.start_ad_preparation(i, pid, &m.build, request, base));
            }
            let name = self.servers[i].name.clone();
            let pid = self.take_pid();
            let kind = ProgramKind::MediaSetup {
                build: m.build,
                path: m.path.clone(),
            };
            if let Some(message) = setup_command_line_error(&m.build, &argv) {
                let mut p = base(kind, "ExSetup.exe", pid, self.timings.setup_ms / 10);
                p.readiness_done = true;
                p.failure = Some(SetupFailure::CommandLine { message });
                return Ok(p);
            }
            let installed = self.servers[i].build;
            if (m.build.minor, m.build.build) < (installed.minor, installed.build) {
                let mut p = base(kind, "ExSetup.exe", pid, self.timings.setup_ms / 10);
                p.readiness_done = true;
                p.failure = Some(SetupFailure::Downgrade { installed });
                return Ok(p);
            }
            let resuming = self.servers[i].partial_setup.is_some();
            if m.build.build == installed.build && m.build.minor == installed.minor && !resuming {
                // The same CU: "The installed MSI is current for this version of Setup." — nothing to do.
                let mut p = base(
                    ProgramKind::InstalledSetup,
                    "ExSetup.exe",
                    pid,
                    self.timings.setup_ms / 5,
                );
                p.readiness_done = true;
                self.append_setup_log(i, &m.build, &[]);
                return Ok(p);
            }
            let dur = self
                .fire_fault("setup-hangs", &name, None)
                .unwrap_or(self.timings.setup_ms);
            let p = base(kind, "ExSetup.exe", pid, dur);
            self.step_event(&name, "setup");
            // Setup takes the server's health offline before its prerequisite
            // check and restores it if the check fails (RestoreServerOnPrereqFailure.ps1).
            self.set_setup_components(i, ServiceState::Inactive);
            self.append_upgrade_log_start(i, &m.build);
            return Ok(p);
        }
        if (file == "setup.exe" || file == "setup")
            && (!lower.contains('\\') || lower == installed_setup)
        {
            // exchange-facts.md: a bare setup.exe resolves through PATH to the
            // installed <install>\bin\Setup.exe, which "succeeds" without upgrading.
            let pid = self.take_pid();
            let installed = self.servers[i].build;
            // `/Prepare*` from the installed Setup.exe prepares AD to the
            // installed build's levels, an SU's domain level included
            // (facts::SU_DOMAIN_LEVELS): how an SU-raised level is reached.
            if let Some(request) = prepare_request(&installed, &argv) {
                return Ok(self.start_ad_preparation(i, pid, &installed, request, base));
            }
            let mut p = base(
                ProgramKind::InstalledSetup,
                "ExSetup.exe",
                pid,
                self.timings.setup_ms / 5,
            );
            p.readiness_done = true;
            if let Some(message) = setup_command_line_error(&installed, &argv) {
                p.failure = Some(SetupFailure::CommandLine { message });
            } else {
                let b = self.servers[i].build;
                self.append_setup_log(i, &b, &[]);
            }
            return Ok(p);
        }
        if file == "msiexec.exe" || file == "msiexec" {
            return Ok(self.start_msiexec(i, &argv, stdout_to, command_line));
        }
        Err(NotAProgram::Unknown)
    }

    /// `Setup.exe /Prepare*`: runs `timings.setup` (writing to AD only:
    /// the server stays in service), or fails at once on a bad command line.
    fn start_ad_preparation(
        &mut self,
        i: usize,
        pid: u32,
        build: &ExchangeBuild,
        request: Result<AdPrepScope, String>,
        base: impl Fn(ProgramKind, &str, u32, i64) -> Program,
    ) -> Program {
        let scope = *request.as_ref().unwrap_or(&AdPrepScope::Ad);
        let kind = ProgramKind::AdPreparation {
            build: *build,
            scope,
        };
        let mut p = match request {
            Ok(_) => {
                self.append_setup_log(i, build, &[]);
                let mut p = base(kind, "ExSetup.exe", pid, self.timings.setup_ms);
                if let Some(failure) = self.ad_preparation_account_failure(i) {
                    (p.failure, p.ends_ms) = (Some(failure), p.started_ms + 1);
                }
                p
            }
            Err(message) => {
                let mut p = base(kind, "ExSetup.exe", pid, self.timings.setup_ms / 10);
                p.failure = Some(SetupFailure::CommandLine { message });
                p
            }
        };
        p.readiness_done = true;
        p
    }

    /// A `/Prepare*` run ends well: the forest's levels rise to the levels
    /// setup of `build` reaches in the lab's facts table (never down): the
    /// media CU's, or the installed build's with its SU's domain level.
    /// `None` when the table does not know the CU.
    fn finish_ad_preparation(&mut self, build: ExchangeBuild, scope: AdPrepScope) -> Option<()> {
        let levels = crate::facts::prepare_levels(&build)?;
        let ad = &mut self.ad;
        if matches!(scope, AdPrepScope::Schema | AdPrepScope::Ad) {
            ad.schema_range_upper = ad.schema_range_upper.max(levels.schema_range_upper);
        }
        if scope == AdPrepScope::Ad {
            ad.org_object_version = ad.org_object_version.max(levels.org_object_version);
        }
        if matches!(scope, AdPrepScope::Ad | AdPrepScope::Domain) {
            ad.domain_object_version = ad.domain_object_version.max(levels.domain_object_version);
        }
        Some(())
    }

    /// A powershell.exe (pid) runs on server `i` now. During setup's
    /// prerequisite analysis rule ProcessNeedsToBeClosedOnUpgrade sees it.
    pub fn note_powershell(&mut self, i: usize, pid: u32) {
        let now = self.now_ms;
        if let Some(p) = self.servers[i]
            .batch
            .as_mut()
            .and_then(|b| b.program.as_mut())
        {
            let is_setup = matches!(p.kind, ProgramKind::MediaSetup { .. });
            let span = p.readiness_ms - p.started_ms;
            let window_start = p.started_ms + span * WINDOW_START_PERCENT / READINESS_PERCENT;
            if is_setup && !p.readiness_done && now >= window_start && now < p.readiness_ms {
                p.powershell_seen.get_or_insert(pid);
            }
        }
    }

    /// Setup's prerequisite analysis ends: a failed rule stops the run (the
    /// components come back); otherwise the services stop and are disabled
    /// (ServiceControl.ps1 DisableServices/Stop) and the upgrade proper begins.
    pub(crate) fn program_readiness(&mut self, i: usize) {
        let now = self.now_ms;
        let name = self.servers[i].name.clone();
        // The CCM client's pending reboot is not one of setup's rules in
        // the lab (UNVERIFIED either way: spec `PendingReboot::Ccm`).
        let pending = self.servers[i]
            .pending_reboot
            .filter(|p| *p != PendingReboot::Ccm);
        let account = self.account_rule_failure(i);
        let Some(p) = self.servers[i]
            .batch
            .as_mut()
            .and_then(|b| b.program.as_mut())
        else {
            return;
        };
        p.readiness_done = true;
        let ProgramKind::MediaSetup { build, .. } = p.kind.clone() else {
            return;
        };
        if let Some(failure) = account {
            p.failure = Some(failure);
            p.ends_ms = now + (p.ends_ms - now).clamp(1, 1_000);
            return;
        }
        let rule = match (pending, p.powershell_seen) {
            (Some(kind), _) => Some(match kind {
                PendingReboot::ComponentBasedServicing | PendingReboot::WindowsUpdate => (
                    "PendingRebootWindowsComponents",
                    "There is a pending reboot from a previous installation of a Windows Server role or feature. Please restart the computer and then run Setup again.".to_string(),
                ),
                // `Ccm` was filtered out above.
                PendingReboot::FileRename | PendingReboot::UpdateExeVolatile | PendingReboot::Ccm => (
                    "RebootPending",
                    // UNVERIFIED wording (the rule name is real: CSS-Exchange SetupLogReviewer).
                    "Setup has detected a pending reboot from a previous installation. Please restart the computer and then run Setup again.".to_string(),
                ),
            }),
            (None, Some(pid)) => Some((
                "ProcessNeedsToBeClosedOnUpgrade",
                // UNVERIFIED wording; the rule and its process-list argument are real.
                format!("Setup can't continue with the upgrade because the powershell ({pid}) has open files. Close the process, and then run Setup again."),
            )),
            (None, None) => None,
        };
        if let Some((rule, message)) = rule {
            p.failure = Some(SetupFailure::Rule {
                rule: rule.to_string(),
                message,
            });
            p.ends_ms = now + (p.ends_ms - now).clamp(1, 1_000);
            return;
        }
        let failure = if self.fire_fault("setup-fails", &name, None).is_some() {
            Some(SetupFailure::Injected)
        } else {
            self.expired_iis_certificate(i)
        };
        if let Some(failure) = failure {
            if let Some(p) = self.servers[i]
                .batch
                .as_mut()
                .and_then(|b| b.program.as_mut())
            {
                p.failure = Some(failure);
            }
        }
        // The upgrade proper begins: the role keys carry the new build as
        // unpacked, with an action and watermark, until setup finishes. A
        // resumed run keeps the first attempt's "previous" build.
        let s = &mut self.servers[i];
        if s.partial_setup.is_none() {
            s.partial_setup = Some(PartialSetup {
                previous: full_version(&s.build, s.cu_revision),
                unpacked: build,
            });
        }
        // ServiceControl.ps1 Save, DisableServices, Stop (`security_update`).
        self.service_control_disable(i);
    }

    /// Services back as a working install has them: Exchange services at
    /// their default start types, every Automatic service running.
    fn restore_services(&mut self, i: usize) {
        let defaults = services_for(self.servers[i].build.minor);
        for svc in &mut self.servers[i].services {
            if let Some(d) = defaults
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&svc.name))
            {
                if is_exchange_service(&svc.name) {
                    svc.start_type = d.start_type;
                }
            }
            if svc.start_type == StartType::Automatic {
                svc.status = ServiceStatus::Running;
            }
        }
        if self.servers[i].service_running("MSExchangeRepl") {
            self.replication_started(i);
        }
    }

    fn set_setup_components(&mut self, i: usize, state: ServiceState) {
        let now = self.now_ms;
        for c in &mut self.servers[i].components {
            if SETUP_COMPONENTS.contains(&c.component.as_str()) {
                c.set("Functional", state, now, StateStore::Both);
            }
        }
    }

    /// The program ends: its effects, its log, and its exit code (returned).
    /// `None`: the machine went down under it and no exit code is written.
    pub(crate) fn finish_program(&mut self, i: usize, p: &Program) -> Option<i32> {
        let now = self.now_ms;
        if matches!(p.kind, ProgramKind::SecurityUpdate { .. }) {
            return self.finish_security_update(i, p);
        }
        Some(match (&p.kind, &p.failure) {
            (ProgramKind::MediaSetup { build, .. }, None) => {
                let s = &mut self.servers[i];
                s.build = *build;
                s.cu_revision = cu_revision(build);
                s.last_install_ms = now;
                s.partial_setup = None;
                s.extended_protection = Some(crate::cmdlets::ExtendedProtection::after_setup(
                    *build,
                    s.extended_protection,
                    &p.command_line,
                ));
                let install = s.install_path.to_ascii_lowercase();
                s.files
                    .retain(|f| !f.path.to_ascii_lowercase().starts_with(&install));
                // Microsoft: reboot after a CU.
                s.pending_reboot = Some(PendingReboot::FileRename);
                // A CU replaces the web.config and *.exe.config files:
                // customisations are lost (runbook.md §1).
                let name = s.name.clone();
                self.revert_customisations(&name);
                // ServiceControl.ps1's saved start types back (a re-run
                // after a failure saved "Disabled"), then the Exchange
                // services at the new build's defaults.
                self.service_control_restore(i);
                self.restore_services(i);
                self.set_setup_components(i, ServiceState::Active);
                self.append_setup_log(i, build, &[SETUP_SUCCEEDED]);
                0
            }
            (
                ProgramKind::MediaSetup { build, .. },
                Some(f @ (SetupFailure::Injected | SetupFailure::ExpiredCertificate { .. })),
            ) => {
                // A critical task failed after the file copy: the new MSI and
                // binaries, ExSetup.exe included, are installed, the roles are
                // not configured (watermark kept), services stay Disabled, the
                // components stay Inactive under Functional (exchange-facts.md §5).
                // A re-run then logs "The locally installed version is <new>"
                // (CSS-Exchange ExchangeSetup_FIPS_AccessDenied.log lines 45-55).
                let s = &mut self.servers[i];
                s.build = *build;
                s.cu_revision = cu_revision(build);
                s.last_install_ms = now;
                let mut lines: Vec<String> = match f {
                    SetupFailure::ExpiredCertificate {
                        issuer,
                        subject,
                        not_before_ms,
                        not_after_ms,
                    } => expired_certificate_lines(issuer, subject, *not_before_ms, *not_after_ms)
                        .to_vec(),
                    _ => INJECTED_FAILURE.iter().map(|l| l.to_string()).collect(),
                };
                lines.extend(FAILURE_TAIL.iter().map(|l| l.to_string()));
                let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
                self.append_setup_log(i, build, &lines);
                SETUP_FAILED
            }
            (ProgramKind::MediaSetup { build, .. }, Some(SetupFailure::Rule { rule, message })) => {
                self.set_setup_components(i, ServiceState::Active);
                let failed = format!("Failed [Rule:{rule}] [Message:{message}]");
                let required = format!("[REQUIRED] {message}");
                let help = format!("Help URL: http://technet.microsoft.com/library(EXCHG.150)/ms.exch.setupreadiness.{rule}.aspx");
                let evaluated = format!("Evaluated [Rule:{rule}] [HasException:False] [Value:\"True\"] [ParentValue:\"<NULL>\"] [Thread:6] [Duration:00:00:00.0156533]");
                let lines = [
                    evaluated.as_str(),
                    failed.as_str(),
                    required.as_str(),
                    help.as_str(),
                    "Exchange Server installation failed during prereq check. Trying to restore the server state back to active.",
                    SETUP_DIDNT_COMPLETE,
                ];
                self.append_setup_log(i, build, &lines);
                SETUP_FAILED
            }
            (
                ProgramKind::MediaSetup { build, .. },
                Some(SetupFailure::Downgrade { installed }),
            ) => {
                let text = format!(
                    "[ERROR] Setup can't continue: the installed version {installed} is newer than this setup's version {build}."
                );
                self.append_setup_log(i, build, &[text.as_str(), SETUP_DIDNT_COMPLETE]);
                SETUP_FAILED
            }
            (ProgramKind::InstalledSetup, None) => {
                let b = self.servers[i].build;
                self.append_setup_log(i, &b, &[SETUP_SUCCEEDED]);
                0
            }
            (ProgramKind::AdPreparation { build, scope }, None) => {
                if self.finish_ad_preparation(*build, *scope).is_some() {
                    self.append_setup_log(i, build, &[SETUP_SUCCEEDED]);
                    0
                } else {
                    let text = format!(
                        "[ERROR] Setup {build} cannot prepare Active Directory: the lab's facts table does not know this build."
                    );
                    self.append_setup_log(i, build, &[text.as_str(), SETUP_DIDNT_COMPLETE]);
                    SETUP_FAILED
                }
            }
            (
                ProgramKind::MediaSetup { .. }
                | ProgramKind::InstalledSetup
                | ProgramKind::AdPreparation { .. },
                Some(_),
            ) => SETUP_FAILED,
            (ProgramKind::SecurityUpdate { .. }, _) => MSI_INVALID_COMMAND_LINE,
            (ProgramKind::PowerShell { exit_code }, _) => *exit_code,
        })
    }
}
