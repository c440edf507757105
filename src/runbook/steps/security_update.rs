//! `security-update`: the SU `.msp` for the new CU, when the target has one
//! and the plan gives its path — `msiexec /update "<su_path>" /quiet
//! /norestart /l*v "%SystemDrive%\cu-roll\su.log"`, run detached like setup
//! (see `installer`). Skipped when the build is already at or past the
//! SU's. Never installed over an upgrade the role keys show unfinished (a
//! failed CU leaves ExSetup.exe at the new build, and msiexec would take
//! the SU: "the installed MSI is current"): the step fails and `setup` runs
//! again on the next run.
//!
//! Before the SU the pending-reboot keys are read again, and any set (a
//! CU always leaves one) means a reboot first (`su_reboot`): community
//! practice and exchange-facts.md §4 ("After CU: reboot; install the SU"),
//! not a Microsoft requirement (review real-exchange.md #7).
//!
//! Exit codes (Microsoft Learn, "MsiExec.exe and InstMsi.exe error
//! messages"): 0 and 3010 (success, reboot required: `reboot-after-setup`
//! follows) with the build then the SU's; 1641 (success, the installer
//! *initiated* a restart): wait for the boot, send nothing else; 1618
//! (another installation in progress): start again after a poll interval
//! until `timeouts.setup` from the first attempt; 1642 (the patch does not
//! fit the installed CU): a clear error naming the CU; 1603: the relevant
//! lines of the `/l*v` log are shown. An SU that ends without an exit code
//! (the machine restarted under it) is reported with the services it left
//! Disabled and its `Service*.xml` files; the next run installs it again.

use std::cell::RefCell;

use crate::exchange::observe::{self, ServiceSetObs};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::installer::{self, check_batch_path, INTERRUPTED, SECURITY_UPDATE};
use super::su_reboot;
use super::undo::left_on;

pub struct SecurityUpdate;

/// Where msiexec writes its verbose log (cmd expands `%SystemDrive%` in
/// the batch; the folder is cu-roll's, which the batch lives in).
pub const SU_LOG: &str = "%SystemDrive%\\cu-roll\\su.log";

/// ERROR_INSTALL_ALREADY_RUNNING: retried.
pub const MSI_BUSY: i32 = 1618;
/// ERROR_SUCCESS_REBOOT_INITIATED: wait for the boot.
pub const MSI_REBOOT_INITIATED: i32 = 1641;

pub fn command_line(su_path: &str) -> String {
    format!("msiexec /update \"{su_path}\" /quiet /norestart /l*v \"{SU_LOG}\"")
}

/// cmd.exe: the SU's verbose log (read only after msiexec has ended).
pub fn read_log_cmd() -> String {
    format!("type \"{SU_LOG}\"")
}

/// What a Windows Installer exit code means, for messages.
pub fn msi_exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        3010 => "success, reboot required",
        1641 => "success, the installer initiated a restart",
        1603 => "fatal error during installation",
        1618 => "another installation is already in progress",
        1642 => "the update does not apply to the installed product (an SU for a different CU?)",
        1638 => "another version of this product is already installed",
        _ => "failure",
    }
}

/// The lines of a verbose msiexec log that say what failed: a custom
/// action's error code, `Return value 3` (an action failed), the
/// product's "could not be installed … Error code" line, `Error 1xxx`
/// messages. At most 12, in log order.
pub fn log_failure_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("return value 3")
                || l.contains("error code")
                || l.contains("another installation is in progress")
                || l.contains(": error 1")
                || l.contains("could not be installed")
        })
        .map(|l| l.trim().to_string())
        .take(12)
        .collect()
}

impl Step for SecurityUpdate {
    fn id(&self) -> StepId {
        StepId::SecurityUpdate
    }

    fn applies(&self, plan: &Plan, target: &ResolvedTarget) -> bool {
        target.su.is_some() && plan.rollout.su_path.is_some()
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let (Some(su), Some(path)) = (ctx.target.su.clone(), ctx.plan.rollout.su_path.clone())
        else {
            return Ok(StepOutcome::AlreadyDone {
                detail: "the plan asks for no security update".into(),
            });
        };
        check_batch_path("su_path", &path)?;
        let line = command_line(&path);
        let timeout = ctx.plan.policy.timeouts.setup;
        if !installer::installer_pending(&ctx.prior_changes, SECURITY_UPDATE.step.id()) {
            // Nothing of ours runs: PowerShell may read the pending-reboot keys.
            su_reboot::reboot_if_pending(ctx, su.build)?;
        }
        let deadline = ctx.clock.now() + timeout;
        loop {
            let boot_before = RefCell::new(None::<String>);
            let result = installer::drive_until(
                ctx,
                &SECURITY_UPDATE,
                &line,
                timeout,
                |ctx| {
                    let facts = ctx.server_facts()?;
                    if let Some(why) = facts.setup_incomplete() {
                        return Err(StepError::failed(format!(
                            "{}: {} ({why}): the security update is not installed over an unfinished Cumulative Update. Run cu-roll again: its setup step runs setup /Mode:Upgrade again first. {}",
                            ctx.server.name,
                            crate::preflight::checks::PREVIOUS_UPGRADE_INCOMPLETE,
                            left_on(ctx, &[])
                        )));
                    }
                    *boot_before.borrow_mut() = facts.last_boot_up_time.clone();
                    let build = match facts.build() {
                        Some(b) => b,
                        None => ctx.build()?,
                    };
                    Ok(if build >= su.build {
                        Ok(format!(
                            "{} is at {build} (≥ {}): nothing to install",
                            ctx.server.name, su.build
                        ))
                    } else {
                        Err(format!("the build is still {build}"))
                    })
                },
                |ctx, code| evaluate(ctx, code, &su, boot_before.borrow().as_deref()),
            );
            match result {
                Err(e) if e.message.starts_with(BUSY) && ctx.clock.now() < deadline => {
                    ctx.events.observed(format!(
                        "{}: another installation is in progress (msiexec exit code 1618): starting the security update again after {}",
                        ctx.server.name,
                        humantime::format_duration(ctx.plan.policy.poll_interval)
                    ))?;
                    ctx.clock.sleep(ctx.plan.policy.poll_interval);
                }
                Err(e) if e.message.starts_with(BUSY) => {
                    return Err(StepError::failed(format!(
                        "{} until the [policy.timeouts] setup limit: {}",
                        e.message.trim_start_matches(BUSY),
                        left_on(ctx, &[])
                    )))
                }
                Err(e) if e.message.contains(INTERRUPTED) => return Err(interrupted(ctx, e)),
                other => return other,
            }
        }
    }

    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let Some(path) = &plan.rollout.su_path else {
            return Vec::new();
        };
        let mut out = su_reboot::planned();
        out.extend(installer::planned_on(
            plan,
            server,
            &SECURITY_UPDATE,
            &command_line(path),
        ));
        out.push(PlannedCommand::cmd(
            "after exit code 1603 (cmd only): the verbose log, for the lines that say what failed",
            read_log_cmd(),
        ));
        out.push(PlannedCommand::ps(
            "after an SU that ended without an exit code: the services it left Disabled, and its Service*.xml files",
            &observe::read_service_set(),
        ));
        out
    }
}

/// Marks the 1618 error so the retry loop recognises it.
const BUSY: &str = "[1618] ";

/// The exit code, judged (module comment).
fn evaluate(
    ctx: &mut StepContext<'_>,
    code: i32,
    su: &crate::catalog::SuInfo,
    boot_before: Option<&str>,
) -> Result<String, StepError> {
    if code == MSI_BUSY {
        return Err(StepError::failed(format!(
            "{BUSY}the security update could not start on {}: msiexec exited with code 1618 ({}); another Windows Installer installation (Windows Update, another product) runs there",
            ctx.server.name,
            msi_exit_meaning(code)
        )));
    }
    if code == MSI_REBOOT_INITIATED {
        // The installer restarts the machine itself: wait for it to come
        // back, and send nothing else (no Restart-Computer).
        ctx.events.observed(format!(
            "{}: msiexec exited with 1641 (the installer initiated a restart): waiting for the boot",
            ctx.server.name
        ))?;
        super::reboot::wait_back(ctx, boot_before.unwrap_or_default())?;
    }
    let build = ctx.build()?;
    let exit_ok = code == 0 || code == 3010 || code == MSI_REBOOT_INITIATED;
    if exit_ok && build == su.build {
        return Ok(format!(
            "{} updated to {} ({build}){}",
            ctx.server.name,
            su.name,
            if code == MSI_REBOOT_INITIATED {
                "; the installer restarted it"
            } else {
                ""
            }
        ));
    }
    let mut why = Vec::new();
    if !exit_ok {
        why.push(format!(
            "msiexec exited with code {code} ({})",
            msi_exit_meaning(code)
        ));
    }
    if code == 1642 {
        why.push(format!(
            "the .msp at su_path does not fit the CU installed ({build}): give the {} package built for this CU",
            su.name
        ));
    }
    if build != su.build {
        why.push(format!(
            "the build is {build}, not {} ({})",
            su.build, su.name
        ));
    }
    if code == 1603 {
        why.push(log_excerpt(ctx));
    }
    Err(StepError::failed(format!(
        "the security update failed on {}: {}. Fix the cause, then run cu-roll again (it installs the update again). {}",
        ctx.server.name,
        why.join("; "),
        left_on(ctx, &[])
    )))
}

/// The failure lines of the verbose log, or why there are none.
fn log_excerpt(ctx: &StepContext<'_>) -> String {
    match ctx.exec.run_cmd(ctx.server, &read_log_cmd()) {
        Ok(out) if out.exit_code == 0 => {
            let lines = log_failure_lines(&out.stdout);
            if lines.is_empty() {
                format!("the log {SU_LOG} names no failing action; read it on the server")
            } else {
                format!("from {SU_LOG}: {}", lines.join(" | "))
            }
        }
        _ => format!("the log {SU_LOG} could not be read"),
    }
}

/// An SU that ended without an exit code: what it left behind, read now
/// that nothing runs.
fn interrupted(ctx: &mut StepContext<'_>, e: StepError) -> StepError {
    let left = match ctx.query::<ServiceSetObs>(&observe::read_service_set()) {
        Ok(obs) => {
            let disabled: Vec<&str> = obs.disabled().iter().map(|s| s.name.as_str()).collect();
            format!(
                "services left Disabled: {}; leftover files: {}",
                if disabled.is_empty() {
                    "none".into()
                } else {
                    disabled.join(", ")
                },
                if obs.leftover_files.is_empty() {
                    "none".into()
                } else {
                    obs.leftover_files.join(", ")
                }
            )
        }
        Err(read) => format!("the services could not be read ({})", read.message),
    };
    e.with_context(&format!(
        "{left}. The next run of cu-roll installs the security update again; its exit-maintenance step then sets back to Automatic what cu-roll's installers left Disabled"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_msp_runs_quietly_without_restarting_and_logs() {
        assert_eq!(
            command_line("C:\\Updates\\Exchange2019-CU15-Feb26SU.msp"),
            "msiexec /update \"C:\\Updates\\Exchange2019-CU15-Feb26SU.msp\" /quiet /norestart /l*v \"%SystemDrive%\\cu-roll\\su.log\""
        );
        assert!(msi_exit_meaning(1642).contains("different CU"));
        assert!(msi_exit_meaning(1641).contains("initiated a restart"));
    }

    #[test]
    fn the_failing_lines_of_a_verbose_log_are_picked() {
        let log = "=== Verbose logging started\r\nMSI (s) (A4:B8): Doing action: StopServices\r\nCustomAction StopServices returned actual error code 1603 (note this may not be 100% accurate)\r\nAction ended 10:00:01: InstallFinalize. Return value 3.\r\nProperty(S): ProductCode = {x}\r\nMSI (s): Product: Microsoft Exchange Server - Update could not be installed. Error code 1603.\r\n";
        let lines = log_failure_lines(log);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].contains("Return value 3"));
        assert!(log_failure_lines("Property(S): X = 1\r\n").is_empty());
    }
}
