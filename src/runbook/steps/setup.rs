//! `setup` (runbook §3): the media's `Setup.exe` by absolute path with
//! `/Mode:Upgrade` and the licence switch the media takes, run detached
//! (see `installer`). Skipped only when the build is at or past the target
//! CU *and* the role keys say no earlier upgrade stopped half-way (a failed
//! upgrade leaves ExSetup.exe at the new build: `checks::setup_pending`).
//! Success = exit code 0, the success line in the last run of
//! `ExchangeSetup.log`, no unfinished role key, and the build at the target
//! CU; a failure quotes the last run's `[ERROR]` lines.

use crate::catalog::ExchangeBuild;
use crate::exchange::ServerFacts;
use crate::plan::{ExtendedProtection, Plan, ResolvedTarget, Server};
use crate::preflight::{adprep, checks};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::installer::{self, check_batch_path, SETUP};
use super::undo::left_on;
use crate::setup_log::{Outcome, SetupLogReview};

pub struct Setup;

/// `"D:\Setup.exe" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF`
/// for media of build `media` (the target CU): the plain
/// `/IAcceptExchangeServerLicenseTerms` below the September 2021 CUs
/// (`adprep::licence_switch`).
pub fn command_line(plan: &Plan, media: ExchangeBuild) -> String {
    let ep = match (
        plan.rollout.extended_protection,
        crate::catalog::takes_extended_protection_switches(media),
    ) {
        (Some(ExtendedProtection::Skip), true) => " /DoNotEnableEP",
        (Some(ExtendedProtection::SkipEwsFrontend), true) => " /DoNotEnableEP_FEEWS",
        _ => "",
    };
    format!(
        "\"{}\" /Mode:Upgrade {}{ep}",
        plan.rollout.setup_path,
        adprep::licence_switch(plan, media)
    )
}

/// What `[rollout] extended_protection` means for media of build `media`
/// (review real-exchange.md #9): `Err` when the plan asks setup to skip EP
/// on media that has no such switch (below 2019 CU14); `Ok(Some(note))`
/// when the media turns EP on and the plan did not say so: EP breaks
/// client access through a load balancer that offloads TLS, which is why
/// Microsoft documents `/DoNotEnableEP` (Microsoft Learn, "Use unattended
/// mode in Exchange Server"; "Configure Windows Extended Protection in
/// Exchange Server": SSL offloading is not supported with EP).
pub fn extended_protection_check(
    plan: &Plan,
    media: ExchangeBuild,
) -> Result<Option<String>, String> {
    let takes = crate::catalog::takes_extended_protection_switches(media);
    match (plan.rollout.extended_protection, takes) {
        (Some(ExtendedProtection::Skip | ExtendedProtection::SkipEwsFrontend), false) => Err(format!(
            "[rollout] extended_protection asks setup not to enable Extended Protection, but the target's setup ({media}) has no /DoNotEnableEP switch (Exchange 2019 CU14 and later only): remove the key, or choose a 2019 CU14+ or SE target"
        )),
        (None, true) => Ok(Some(format!(
            "setup of {media} turns Extended Protection on (the default from Exchange 2019 CU14); if TLS is offloaded at a load balancer, client access through it breaks: set [rollout] extended_protection = \"skip\" (or \"skip-ews-frontend\"), else \"enable\" to say so"
        ))),
        _ => Ok(None),
    }
}

/// Why a finished setup does not count as success, if it does not. `log`
/// is the review of ExchangeSetup.log (`crate::setup_log`), `facts` what
/// the server says now (build and role keys).
pub fn setup_verdict(
    exit_code: i32,
    log: &SetupLogReview,
    facts: &ServerFacts,
    target: ExchangeBuild,
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
    // A watermark left behind means a role was not configured, whatever
    // the exit code said (ExchangeDsc Test-ExchangeSetupPartiallyCompleted).
    if let Some(incomplete) = facts.setup_incomplete() {
        why.push(format!(
            "the role keys say setup did not finish ({incomplete})"
        ));
    }
    // `>=` rather than `==`: a resumed run may find the SU already on top.
    // A build below the target after a "successful" run is the trap of a
    // setup.exe that was not the media's (exchange-facts.md, traps).
    match facts.build() {
        Some(build) if build < target => why.push(format!(
            "the build is {build}, below the target CU's {target}"
        )),
        Some(_) => {}
        None => why.push(format!(
            "the build cannot be read (ExSetup.exe ProductVersion {:?})",
            facts.ex_setup_version
        )),
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

/// The review of the last run of the server's setup log, read in pieces
/// (`setup_log_read`); of nothing when there is no log ([`Outcome::NoRun`]).
pub(super) fn review_log(ctx: &StepContext<'_>) -> Result<SetupLogReview, crate::exec::ExecError> {
    super::setup_log_read::review_last_run(ctx)
}

impl Step for Setup {
    fn id(&self) -> StepId {
        StepId::Setup
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        check_batch_path("setup_path", &ctx.plan.rollout.setup_path)?;
        let target = ctx.target.cu.build;
        match extended_protection_check(ctx.plan, target) {
            Err(e) => return Err(StepError::failed(e)),
            // Extended Protection is IIS's: an Edge server has no IIS.
            Ok(Some(_)) if ctx.server.is_edge() => {}
            Ok(Some(note)) => ctx.events.observed(note)?,
            Ok(None) => {}
        }
        let line = command_line(ctx.plan, target);
        let timeout = ctx.plan.policy.timeouts.setup;
        installer::drive_until(
            ctx,
            &SETUP,
            &line,
            timeout,
            |ctx| {
                let facts = ctx.server_facts()?;
                let build = match facts.build() {
                    Some(b) => b,
                    None => ctx.build()?,
                };
                Ok(match checks::setup_pending(&facts, build, target) {
                    None => Ok(format!(
                        "{} is at {build} (≥ {target}) and its role keys show setup complete: nothing to install",
                        ctx.server.name
                    )),
                    Some(why) => {
                        if facts.setup_incomplete().is_some() {
                            ctx.events.observed(format!("{}: {why}", ctx.server.name))?;
                        }
                        Err(why)
                    }
                })
            },
            |ctx, code| {
                let log = review_log(ctx)?;
                let facts = ctx.server_facts()?;
                match setup_verdict(code, &log, &facts, target) {
                    Ok(()) => Ok(format!(
                        "{} upgraded to {}",
                        ctx.server.name,
                        facts.build().map_or_else(String::new, |b| b.to_string())
                    )),
                    Err(why) => Err(StepError::failed(format!(
                        "setup failed on {}: {why}. A failed setup leaves Exchange services Disabled and components Inactive under requester Functional; the server stays out of service. Read %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log on {}, fix the cause, then run cu-roll again: the role keys show the upgrade unfinished, so it starts setup again (/Mode:Upgrade resumes it) before any security update or return to service. {}",
                        ctx.server.name,
                        ctx.server.name,
                        left_on(ctx, &[])
                    ))),
                }
            },
        )
    }

    fn scripts(
        &self,
        plan: &Plan,
        target: &ResolvedTarget,
        server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let mut out =
            installer::planned_on(plan, server, &SETUP, &command_line(plan, target.cu.build));
        let at = out.len() - 1;
        out.splice(
            at..at,
            super::setup_log_read::planned("once setup has written its exit code"),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup_log;

    const CU15: ExchangeBuild = ExchangeBuild::new(15, 2, 1748, 10);

    /// What SERVER_FACTS prints for a server at `build`, with the role keys
    /// a failed upgrade leaves when `unfinished`.
    fn facts(build: &str, unfinished: bool) -> ServerFacts {
        let roles = if unfinished {
            r#"[{"Role":"MailboxRole","UnpackedVersion":"15.2.1748.10","ConfiguredVersion":null,"Action":"BuildToBuildUpgrade","Watermark":"BridgeheadRoleSetterComponent___115c"}]"#
        } else {
            r#"[{"Role":"MailboxRole","UnpackedVersion":"15.2.1748.10","ConfiguredVersion":"15.2.1748.10"}]"#
        };
        serde_json::from_str(&format!(
            r#"{{"ComputerName":"EX02","ExSetupVersion":"{build}","SetupRoles":{roles}}}"#
        ))
        .unwrap()
    }

    const LOG_OK: &str = "[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 11:40:51.0777] [0] The Exchange Server setup operation completed successfully.\r\n";

    #[test]
    fn success_needs_exit_zero_log_line_and_build() {
        let ok = setup_log::review(LOG_OK);
        let at_target = facts("15.02.1748.010", false);
        assert_eq!(setup_verdict(0, &ok, &at_target, CU15), Ok(()));
        let e = setup_verdict(0, &ok, &facts("15.02.1544.039", false), CU15).unwrap_err();
        assert!(e.contains("below the target CU's 15.2.1748.10"), "{e}");
        let no_line = setup_log::review(&LOG_OK.replace("completed successfully", "was stopped"));
        assert!(setup_verdict(0, &no_line, &at_target, CU15)
            .unwrap_err()
            .contains("no line"));
        assert!(setup_verdict(0, &setup_log::review(""), &at_target, CU15)
            .unwrap_err()
            .contains("has no run of setup"));
    }

    #[test]
    fn failure_quotes_exit_code_and_errors() {
        let log = setup_log::review("[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 10:40:10.0100] [2] [ERROR] Access is denied.\r\n");
        let e = setup_verdict(1603, &log, &facts("15.02.1544.039", false), CU15).unwrap_err();
        assert!(e.starts_with("setup exited with code 1603"), "{e}");
        assert!(e.contains("its [ERROR] lines: Access is denied."), "{e}");
    }

    /// Exit 0 and the success line are not enough when a role key still
    /// carries a watermark: that role was never configured.
    #[test]
    fn a_watermark_left_behind_fails_setup() {
        let ok = setup_log::review(LOG_OK);
        let e = setup_verdict(0, &ok, &facts("15.02.1748.010", true), CU15).unwrap_err();
        assert!(
            e.contains("the role keys say setup did not finish (MailboxRole"),
            "{e}"
        );
    }

    /// The licence switch follows the media: plain below 2019 CU11.
    #[test]
    fn the_licence_switch_follows_the_media_build() {
        let plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        assert!(command_line(&plan, CU15)
            .ends_with(" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"));
        let cu10 = ExchangeBuild::new(15, 2, 922, 7);
        assert!(command_line(&plan, cu10)
            .ends_with(" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms"));
    }

    /// `extended_protection` becomes setup's EP switch on 2019 CU14+/SE
    /// media; asking to skip EP on older media is refused; saying nothing
    /// on CU14+ media is a warning.
    #[test]
    fn the_extended_protection_switch_follows_the_plan_and_the_media() {
        let mut plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        let cu13 = ExchangeBuild::new(15, 2, 1258, 12);
        assert!(extended_protection_check(&plan, CU15)
            .unwrap()
            .unwrap()
            .contains("turns Extended Protection on"));
        assert_eq!(extended_protection_check(&plan, cu13), Ok(None));
        plan.rollout.extended_protection = Some(ExtendedProtection::Skip);
        assert!(command_line(&plan, CU15).ends_with("_DiagnosticDataOFF /DoNotEnableEP"));
        assert!(extended_protection_check(&plan, cu13)
            .unwrap_err()
            .contains("no /DoNotEnableEP switch"));
        plan.rollout.extended_protection = Some(ExtendedProtection::SkipEwsFrontend);
        assert!(command_line(&plan, CU15).ends_with(" /DoNotEnableEP_FEEWS"));
        assert!(!command_line(&plan, cu13).contains("DoNotEnableEP"));
        plan.rollout.extended_protection = Some(ExtendedProtection::Enable);
        assert!(!command_line(&plan, CU15).contains("DoNotEnableEP"));
        assert_eq!(extended_protection_check(&plan, CU15), Ok(None));
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
        let e = setup_verdict(1, &log, &facts("15.02.1748.010", false), CU15).unwrap_err();
        assert!(
            e.contains("its failed prerequisite rules: RebootPending: Setup can't continue because a restart is pending."),
            "{e}"
        );
    }
}
