//! `security-update`: the SU `.msp` for the new CU, when the target has one
//! and the plan gives its path — `msiexec /update "<su_path>" /quiet
//! /norestart`, run detached like setup (see `installer`). Skipped when the
//! build is already at or past the SU's. Never installed over an upgrade
//! the role keys show unfinished (a failed CU leaves ExSetup.exe at the new
//! build, and msiexec would take the SU: "the installed MSI is current"):
//! the step fails and `setup` runs again on the next run. Exit 0, or 3010
//! (success, reboot required: `reboot-after-setup` follows), and the build
//! then equal to the SU's build.

use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::installer::{self, check_batch_path, SECURITY_UPDATE};
use super::undo::left_on;

pub struct SecurityUpdate;

pub fn command_line(su_path: &str) -> String {
    format!("msiexec /update \"{su_path}\" /quiet /norestart")
}

/// What a Windows Installer exit code means, for messages.
pub fn msi_exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        3010 => "success, reboot required",
        1603 => {
            "fatal error during installation (run the .msp elevated; see the Windows Installer log)"
        }
        1618 => "another installation is in progress",
        1642 => "the update does not apply to the installed product (an SU for a different CU?)",
        1638 => "another version of this product is already installed",
        _ => "failure",
    }
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
        installer::drive_until(
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
            |ctx, code| {
                let build = ctx.build()?;
                let exit_ok = code == 0 || code == 3010;
                if exit_ok && build == su.build {
                    return Ok(format!(
                        "{} updated to {} ({build})",
                        ctx.server.name, su.name
                    ));
                }
                let mut why = Vec::new();
                if !exit_ok {
                    why.push(format!(
                        "msiexec exited with code {code} ({})",
                        msi_exit_meaning(code)
                    ));
                }
                if build != su.build {
                    why.push(format!(
                        "the build is {build}, not {} ({})",
                        su.build, su.name
                    ));
                }
                Err(StepError::failed(format!(
                "the security update failed on {}: {}. Fix the cause, then run cu-roll again (it installs the update again). {}",
                ctx.server.name,
                why.join("; "),
                left_on(ctx, &[])
            )))
            },
        )
    }

    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        _server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        match &plan.rollout.su_path {
            Some(path) => installer::planned(plan, &SECURITY_UPDATE, &command_line(path)),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_msp_runs_quietly_without_restarting() {
        assert_eq!(
            command_line("C:\\Updates\\Exchange2019-CU15-Feb26SU.msp"),
            "msiexec /update \"C:\\Updates\\Exchange2019-CU15-Feb26SU.msp\" /quiet /norestart"
        );
        assert!(msi_exit_meaning(1642).contains("different CU"));
    }
}
