//! `setup` (runbook §3): the media's `Setup.exe` by absolute path with
//! `/Mode:Upgrade` and the plan's diagnostic-data licence switch, run
//! detached (see `installer`). Skipped when the build is already at or past
//! the target CU. Success = exit code 0, the success line in the last run
//! of `ExchangeSetup.log`, and the build now at the target CU; a failure
//! quotes the last run's `[ERROR]` lines.

use crate::exchange::observe::templates::CMD_SETUP_LOG;
use crate::plan::{DiagnosticData, Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::installer::{self, check_batch_path, SETUP};
use super::undo::left_on;
use crate::setup_log::{self, Outcome, SetupLogReview};

pub struct Setup;

/// `"D:\Setup.exe" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF`.
/// The plain `/IAcceptExchangeServerLicenseTerms` fails since the
/// September 2021 CUs (exchange-facts.md §4).
pub fn command_line(plan: &Plan) -> String {
    let licence = match plan.rollout.diagnostic_data {
        DiagnosticData::On => "ON",
        DiagnosticData::Off => "OFF",
    };
    format!(
        "\"{}\" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticData{licence}",
        plan.rollout.setup_path
    )
}

/// Why a finished setup does not count as success, if it does not. `log`
/// is the review of ExchangeSetup.log (`crate::setup_log`).
pub fn setup_verdict(
    exit_code: i32,
    log: &SetupLogReview,
    build: crate::catalog::ExchangeBuild,
    target: crate::catalog::ExchangeBuild,
) -> Result<(), String> {
    let mut why = Vec::new();
    if exit_code != 0 {
        why.push(format!("setup exited with code {exit_code}"));
    }
    match log.outcome {
        Outcome::NoRun => why.push("ExchangeSetup.log has no run of setup in it".to_string()),
        Outcome::Succeeded => {}
        _ => why.push("the last run in ExchangeSetup.log has no line 'The Exchange Server setup operation completed successfully.'".to_string()),
    }
    why.extend(log_failures(log));
    // `>=` rather than `==`: a resumed run may find the SU already on top.
    // A build below the target after a "successful" run is the trap of a
    // setup.exe that was not the media's (exchange-facts.md, traps).
    if build < target {
        why.push(format!(
            "the build is {build}, below the target CU's {target}"
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join("; "))
    }
}

/// The last run's failed readiness rules and `[ERROR]` lines, at most five
/// of each, for an error message.
pub(super) fn log_failures(log: &SetupLogReview) -> Vec<String> {
    let quote = |title: &str, items: &[String]| {
        let shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
        let more = items.len().saturating_sub(shown.len());
        format!(
            "{title}: {}{}",
            shown.join(" | "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        )
    };
    let mut out = Vec::new();
    if !log.failed_rules.is_empty() {
        out.push(quote("its failed prerequisite rules", &log.rule_failures()));
    }
    if !log.errors.is_empty() {
        out.push(quote("its [ERROR] lines", &log.errors));
    }
    out
}

/// The review of the log `CMD_SETUP_LOG` printed, or of nothing when the
/// command failed (no log: [`Outcome::NoRun`]).
pub(super) fn review_log(out: &crate::exec::ExecOutput) -> SetupLogReview {
    setup_log::review(if out.exit_code == 0 { &out.stdout } else { "" })
}

impl Step for Setup {
    fn id(&self) -> StepId {
        StepId::Setup
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        check_batch_path("setup_path", &ctx.plan.rollout.setup_path)?;
        let line = command_line(ctx.plan);
        let target = ctx.target.cu.build;
        let timeout = ctx.plan.policy.timeouts.setup;
        installer::drive(ctx, &SETUP, &line, target, timeout, |ctx, code| {
            let log = review_log(&ctx.exec.run_cmd(ctx.server, CMD_SETUP_LOG)?);
            let build = ctx.build()?;
            match setup_verdict(code, &log, build, target) {
                Ok(()) => Ok(format!("{} upgraded to {build}", ctx.server.name)),
                Err(why) => Err(StepError::failed(format!(
                    "setup failed on {}: {why}. A failed setup leaves Exchange services Disabled and components Inactive under requester Functional; the server stays out of service. Read %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log on {}, fix the cause, then run cu-roll again: it starts setup again, and /Mode:Upgrade resumes a partial upgrade. {}",
                    ctx.server.name,
                    ctx.server.name,
                    left_on(ctx, &[])
                ))),
            }
        })
    }

    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        _server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let mut out = installer::planned(plan, &SETUP, &command_line(plan));
        out.insert(
            out.len() - 1,
            PlannedCommand::cmd(
                "once setup has written its exit code: the log's last run",
                CMD_SETUP_LOG,
            ),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ExchangeBuild;

    const CU15: ExchangeBuild = ExchangeBuild::new(15, 2, 1748, 10);

    const LOG_OK: &str = "[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 11:40:51.0777] [0] The Exchange Server setup operation completed successfully.\r\n";

    #[test]
    fn success_needs_exit_zero_log_line_and_build() {
        let ok = setup_log::review(LOG_OK);
        assert_eq!(setup_verdict(0, &ok, CU15, CU15), Ok(()));
        let old = ExchangeBuild::new(15, 2, 1544, 39);
        let e = setup_verdict(0, &ok, old, CU15).unwrap_err();
        assert!(e.contains("below the target CU's 15.2.1748.10"), "{e}");
        let no_line = setup_log::review(&LOG_OK.replace("completed successfully", "was stopped"));
        assert!(setup_verdict(0, &no_line, CU15, CU15)
            .unwrap_err()
            .contains("no line"));
        assert!(setup_verdict(0, &setup_log::review(""), CU15, CU15)
            .unwrap_err()
            .contains("has no run of setup"));
    }

    #[test]
    fn failure_quotes_exit_code_and_errors() {
        let log = setup_log::review("[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 10:40:10.0100] [2] [ERROR] Access is denied.\r\n");
        let e = setup_verdict(1603, &log, ExchangeBuild::new(15, 2, 1544, 39), CU15).unwrap_err();
        assert!(e.starts_with("setup exited with code 1603"), "{e}");
        assert!(e.contains("its [ERROR] lines: Access is denied."), "{e}");
    }

    /// A run stopped by the prerequisite analysis has no `[ERROR]` line: its
    /// rule failures must still reach the admin.
    #[test]
    fn prerequisite_failures_are_quoted() {
        let log = setup_log::review("\
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:02:40.0934] [1] Failed [Rule:RebootPending] [Message:Setup can't continue because a restart is pending.]\r
[02/10/2026 09:02:40.0934] [1] [REQUIRED] Setup can't continue because a restart is pending.\r
");
        let e = setup_verdict(1, &log, CU15, CU15).unwrap_err();
        assert!(
            e.contains("its failed prerequisite rules: RebootPending: Setup can't continue because a restart is pending."),
            "{e}"
        );
    }
}
