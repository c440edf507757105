//! `prepare-ad`: Active Directory preparation before the first server
//! (`[policy] prepare_ad = "run"`). Not a per-server step: the scheduler
//! runs it once per rollout, on the first server to be rolled, before that
//! server's first step, and journals it under that server. It reads the
//! forest's levels, runs the first `/Prepare*` still needed
//! (`Setup.exe /PrepareSchema|/PrepareAD|/PrepareAllDomains` with the
//! licence switch) detached and polled exactly like `setup` (see
//! `installer`), repeats while another is needed, then waits
//! `ad_replication_wait` and requires the levels at the target's. With
//! `prepare_ad = "block"` it refuses (exit 3 before any change) with the
//! exact commands and where to run them.

use crate::catalog::AdLevels;
use crate::exchange;
use crate::exchange::observe::read_ad_levels;
use crate::journal::Change;
use crate::plan::{Plan, PrepareAd as PrepareAdPolicy, ResolvedTarget, Server};
use crate::preflight::adprep::{self, PrepSwitch};
use crate::runbook::{
    JournalState, PlannedCommand, Step, StepContext, StepError, StepErrorKind, StepId, StepOutcome,
};

use super::installer::{self, check_batch_path, InstallerSpec};

pub struct PrepareAd;

pub const PREPARE_AD: InstallerSpec = InstallerSpec {
    step: StepId::PrepareAd,
    what: "Active Directory preparation",
    task: "cu-roll-prepare-ad",
    batch_file: "prepare-ad.cmd",
    exit_file: "prepare-ad.exitcode",
    // Setup.exe /Prepare* runs ExSetup.exe, as an upgrade does.
    exsetup: true,
};

/// The levels this step prepares: what the target CU's media reaches. A
/// domain level the target's SU raises is reached only after the first
/// server has the SU, from its installed `Bin\Setup.exe` (`prepare_ad_su`).
fn required(target: &ResolvedTarget) -> AdLevels {
    adprep::media_levels(target)
}

pub(super) fn levels_text(l: AdLevels) -> String {
    format!(
        "schema rangeUpper {}, organisation objectVersion {}, domain objectVersion {}",
        l.schema_range_upper, l.org_object_version, l.domain_object_version
    )
}

pub(super) fn read_levels(ctx: &StepContext<'_>) -> Result<AdLevels, StepError> {
    let l = exchange::ad_levels(&ctx.exchange, ctx.server)?;
    Ok(AdLevels {
        schema_range_upper: l.schema_range_upper,
        org_object_version: l.org_object_version,
        domain_object_version: l.domain_object_version,
    })
}

/// Whether cu-roll started a preparation in this rollout (journal).
fn started_before(changes: &[Change]) -> bool {
    changes.iter().any(
        |c| matches!(c, Change::InstallerStarted { step, .. } if step == StepId::PrepareAd.id()),
    )
}

/// Which server runs the preparation in this run, if it must run at all:
/// `None` when the journal says it is done, when no server still needs the
/// upgrade, or when the forest is already at the target's levels. A
/// preparation an earlier run started is resumed on the server it started
/// on; otherwise the first server (in rollout order, not yet done) below
/// the target runs it. When the levels cannot be read the step runs anyway
/// and reports why. While an installer cu-roll started may still run on a
/// server, nothing is sent to any server here (and `None` is answered).
pub fn preparation_server<'s>(
    target: &ResolvedTarget,
    reach: &exchange::Reach<'_>,
    ordered: &[&'s Server],
    state: &JournalState,
) -> Option<&'s Server> {
    if state
        .steps_done
        .iter()
        .any(|(_, step)| step == StepId::PrepareAd.id())
    {
        return None;
    }
    if let Some(s) = ordered
        .iter()
        .find(|s| started_before(&state.changes_for(&s.name)))
    {
        return Some(s);
    }
    // An installer cu-roll started and has not evaluated (setup, the SU)
    // may still run: no PowerShell may reach that server (setup's rule
    // ProcessNeedsToBeClosedOnUpgrade fails beside one), and a rollout
    // that got as far as an installer has already decided on AD
    // preparation before its first server.
    if ordered.iter().any(|s| {
        let changes = state.changes_for(&s.name);
        [StepId::Setup, StepId::SecurityUpdate]
            .iter()
            .any(|step| super::installer::installer_pending(&changes, step.id()))
    }) {
        return None;
    }
    let first = ordered.iter().copied().find(|s| {
        !state.server_done(&s.name)
            && exchange::server_facts(reach, s)
                .ok()
                .and_then(|f| f.build())
                .is_some_and(|b| b < target.build())
    })?;
    match exchange::ad_levels(reach, first) {
        Ok(l) => {
            let found = AdLevels {
                schema_range_upper: l.schema_range_upper,
                org_object_version: l.org_object_version,
                domain_object_version: l.domain_object_version,
            };
            adprep::need(found, required(target)).any().then_some(first)
        }
        Err(_) => Some(first),
    }
}

/// The refusal for `prepare_ad = "block"` (a resumed run, where the
/// pre-flight gate does not run again).
fn blocked(ctx: &StepContext<'_>, switches: &[PrepSwitch]) -> StepError {
    let commands: Vec<String> = switches
        .iter()
        .map(|s| adprep::admin_command(ctx.plan, ctx.target.cu.build, *s))
        .collect();
    let place = adprep::schema_master(&ctx.exchange, ctx.server).ok();
    StepError::new(
        StepErrorKind::GateRefused,
        adprep::block_message(&ctx.target.cu.display_name(), &commands, place.as_ref()),
    )
}

/// Runs one `/Prepare*` switch through the installer mechanism.
fn run_switch(
    ctx: &mut StepContext<'_>,
    switch: PrepSwitch,
    required: AdLevels,
) -> Result<StepOutcome, StepError> {
    let line = adprep::batch_command(ctx.plan, ctx.target.cu.build, switch);
    let timeout = ctx.plan.policy.timeouts.setup;
    installer::drive_until(
        ctx,
        &PREPARE_AD,
        &line,
        timeout,
        |ctx| {
            let found = read_levels(ctx)?;
            Ok(if switch.needed_by(adprep::need(found, required)) {
                Err(format!(
                    "Active Directory is still at {}",
                    levels_text(found)
                ))
            } else {
                Ok(format!(
                    "{} is not needed: Active Directory is at {}",
                    switch.switch(),
                    levels_text(found)
                ))
            })
        },
        |ctx, code| {
            if code == 0 {
                return Ok(format!(
                    "{} finished on {}",
                    switch.switch(),
                    ctx.server.name
                ));
            }
            Err(preparation_failed(ctx, switch.switch(), code)?)
        },
    )
}

/// A `/Prepare*` run that exited `code` (non-zero): the log's failures and
/// what to do.
pub(super) fn preparation_failed(
    ctx: &StepContext<'_>,
    switch: &str,
    code: i32,
) -> Result<StepError, StepError> {
    let log = super::setup::review_log(ctx)?;
    let errors: String = super::setup::log_failures(&log)
        .iter()
        .map(|f| format!("; {f}"))
        .collect();
    Ok(StepError::failed(format!(
        "{switch} failed on {} with exit code {code}{errors}. Nothing on the servers was changed. Read %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log on {}; the account needs Schema Admins and Enterprise Admins, and the server must be in the schema master's domain and site. Fix the cause, then run cu-roll again (it runs the preparation again), or run the command yourself and set prepare_ad = \"block\"",
        ctx.server.name,
        ctx.server.name
    )))
}

/// After a preparation: waits `ad_replication_wait`, then requires the
/// levels at `required`. Setup wrote to one domain controller; the servers
/// read whichever is nearest (exchange-facts.md §3).
pub(super) fn after_replication(
    ctx: &mut StepContext<'_>,
    required: AdLevels,
) -> Result<AdLevels, StepError> {
    let wait = ctx.plan.policy.ad_replication_wait;
    if !wait.is_zero() {
        ctx.events.progress(&format!(
            "waiting {} for Active Directory replication",
            humantime::format_duration(wait)
        ));
        ctx.clock.sleep(wait);
        if ctx.clock.interrupted() {
            // The sleep ended early: reading the levels now would call
            // an unfinished replication a failure.
            return Err(StepError::interrupted(format!(
                "stopped while waiting for Active Directory replication after the preparation from {}; the next run reads the levels again",
                ctx.server.name
            )));
        }
    }
    let found = read_levels(ctx)?;
    if adprep::need(found, required).any() {
        return Err(StepError::failed(format!(
            "after the Active Directory preparation and {} of waiting for replication, {} still reads {} (the target needs {}): wait for replication (repadmin /syncall), then run cu-roll again",
            humantime::format_duration(wait),
            ctx.server.name,
            levels_text(found),
            levels_text(required)
        )));
    }
    Ok(found)
}

impl Step for PrepareAd {
    fn id(&self) -> StepId {
        StepId::PrepareAd
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        check_batch_path("setup_path", &ctx.plan.rollout.setup_path)?;
        let required = required(ctx.target);
        let mut ran = started_before(&ctx.prior_changes);
        let mut last: Option<PrepSwitch> = None;
        loop {
            let found = read_levels(ctx)?;
            let switches = adprep::switches(adprep::need(found, required));
            let Some(&switch) = switches.first() else {
                break;
            };
            if ctx.plan.policy.prepare_ad == PrepareAdPolicy::Block {
                return Err(blocked(ctx, &switches));
            }
            if last == Some(switch) {
                return Err(StepError::failed(format!(
                    "{} ended well on {} but Active Directory is still at {} (the target needs {}): the domain controller {} reads may not have the change yet, or setup prepared another forest. Check the levels, then run cu-roll again",
                    switch.switch(),
                    ctx.server.name,
                    levels_text(found),
                    levels_text(required),
                    ctx.server.name
                )));
            }
            last = Some(switch);
            if let StepOutcome::Done { .. } = run_switch(ctx, switch, required)? {
                ran = true;
            }
        }
        if !ran {
            return Ok(StepOutcome::AlreadyDone {
                detail: format!(
                    "Active Directory is already at the levels {} needs: nothing to prepare",
                    ctx.target.cu.display_name()
                ),
            });
        }
        let found = after_replication(ctx, required)?;
        Ok(StepOutcome::Done {
            detail: format!(
                "Active Directory prepared for {} from {}: {}",
                ctx.target.cu.display_name(),
                ctx.server.name,
                levels_text(found)
            ),
        })
    }

    fn scripts(
        &self,
        plan: &Plan,
        target: &ResolvedTarget,
        _server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let mut out = vec![PlannedCommand::ps(
            "first, and after each preparation: the forest's levels",
            &read_ad_levels(),
        )];
        if plan.policy.prepare_ad == PrepareAdPolicy::Block {
            out.push(PlannedCommand::ps(
                "when a preparation is needed (prepare_ad = \"block\": refuse, naming where to run it)",
                &adprep::schema_master_op(),
            ));
            return out;
        }
        // The installer's plan, with "done" judged by the AD levels.
        out.extend(
            installer::planned(plan, &PREPARE_AD, &adprep::batch_command(plan, target.cu.build, PrepSwitch::Ad))
                .into_iter()
                .map(|mut c| {
                    if c.when.starts_with("when nothing runs") {
                        c = PlannedCommand::ps(
                            "when nothing runs and no exit code waits: the forest's levels again",
                            &read_ad_levels(),
                        );
                    } else if c.when.starts_with("if there is something to install") {
                        c.when = "if a preparation is still needed (the first of /PrepareSchema, /PrepareAD, /PrepareAllDomains; /PrepareAD shown): write the batch and start it as a scheduled task".into();
                    }
                    c
                }),
        );
        out.extend(super::setup_log_read::planned(
            "when the preparation exits non-zero",
        ));
        out.push(PlannedCommand::ps(
            "after ad_replication_wait: the forest's levels, which must be the target's",
            &read_ad_levels(),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_installer_this_step_started_counts() {
        let setup = Change::InstallerStarted {
            step: "setup".into(),
            task: "cu-roll-setup".into(),
            command: "x".into(),
        };
        assert!(!started_before(std::slice::from_ref(&setup)));
        let prep = Change::InstallerStarted {
            step: "prepare-ad".into(),
            task: PREPARE_AD.task.into(),
            command: "x".into(),
        };
        assert!(started_before(&[setup, prep]));
    }

    #[test]
    fn every_script_parses_and_is_snapshotted() {
        use crate::runbook::PlannedText;
        let mut plan = super::super::testkit::lab_plan();
        let target = super::super::testkit::target(&plan);
        let mut text = String::new();
        for policy in [PrepareAdPolicy::Run, PrepareAdPolicy::Block] {
            plan.policy.prepare_ad = policy;
            let server = plan.server("EX02").unwrap().clone();
            for planned in PrepareAd.scripts(&plan, &target, &server, &[]) {
                text.push_str(&format!("==== {policy:?} — {}\n", planned.when));
                match &planned.command {
                    PlannedText::PowerShell(script) => {
                        if let Err(errors) = lab::pwsh::syntax_check(script.text()) {
                            panic!("{} does not parse: {errors:?}", planned.when);
                        }
                        text.push_str(script.text());
                    }
                    PlannedText::Cmd(line) => text.push_str(&format!("[cmd] {line}\n")),
                }
            }
        }
        insta::assert_snapshot!("prepare_ad_scripts", text);
    }

    /// The lab forest one CU behind, `prepare_ad = "run"`, no replication wait.
    fn lab_setup() -> (Plan, lab::LabSpec, tempfile::TempDir) {
        let mut plan = super::super::testkit::lab_plan();
        plan.policy.prepare_ad = PrepareAdPolicy::Run;
        plan.policy.ad_replication_wait = std::time::Duration::ZERO;
        let text = crate::plan::read(&plan.path).unwrap();
        let mut spec = crate::commands::lab::spec_of(&plan, &text)
            .unwrap()
            .unwrap();
        spec.ad.org_object_version = 16762;
        spec.timings.setup = std::time::Duration::from_millis(300);
        (plan, spec, tempfile::tempdir().unwrap())
    }

    fn org_level(exec: &crate::commands::LabExecutor, plan: &Plan) -> u32 {
        exchange::ad_levels(
            &super::super::testkit::reach(exec, plan),
            plan.server("EX02").unwrap(),
        )
        .unwrap()
        .org_object_version
    }

    #[test]
    fn a_preparation_left_running_by_a_crash_is_re_attached_not_restarted() {
        use super::super::testkit::{context, target, Recorder};
        let (plan, mut spec, dir) = lab_setup();
        // Long enough to still run when the step first looks, on a loaded
        // machine (each look is an Exchange session script now).
        spec.timings.setup = std::time::Duration::from_secs(2);
        let target = target(&plan);
        let exec = crate::commands::LabExecutor::open(dir.path(), &spec, "DAG01").unwrap();
        let line = adprep::batch_command(&plan, target.cu.build, PrepSwitch::Ad);
        // The run that crashed: it started the task and journaled that.
        let ex02 = plan.server("EX02").unwrap();
        let out = crate::exec::Executor::run_ps_with_secret(
            &exec,
            ex02,
            PREPARE_AD
                .start(
                    &line,
                    &installer::TaskAccount {
                        user: "lab\\admin".into(),
                        password: String::new(),
                    },
                )
                .op
                .credential_script("lab\\admin")
                .text(),
            &crate::plan::Secret::new("lab-only-password".into()),
        )
        .unwrap();
        assert!(out.success(), "{}", out.stderr);
        let started = Change::InstallerStarted {
            step: "prepare-ad".into(),
            task: PREPARE_AD.task.into(),
            command: line.clone(),
        };

        let mut ev = Recorder::default();
        let clock = crate::runbook::SystemClock;
        let mut ctx = context(
            &plan,
            &target,
            "EX02",
            &exec,
            &clock,
            &mut ev,
            vec![started.clone()],
        );
        let outcome = PrepareAd.run(&mut ctx);
        assert!(
            matches!(outcome, Ok(StepOutcome::Done { .. })),
            "{outcome:?}"
        );
        assert_eq!(org_level(&exec, &plan), 16763);
        assert!(
            ev.observed.iter().any(|o| o.contains("re-attaching")),
            "{:?}",
            ev.observed
        );
        assert!(
            !ev.changes
                .iter()
                .any(|c| matches!(c, Change::InstallerStarted { .. })),
            "started again: {:?}",
            ev.changes
        );

        // A fresh look (nothing journaled) finds nothing to do.
        let mut ev = Recorder::default();
        let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev, vec![]);
        let again = PrepareAd.run(&mut ctx);
        assert!(
            matches!(again, Ok(StepOutcome::AlreadyDone { .. })),
            "{again:?}"
        );
        assert!(ev.changes.is_empty());
    }

    #[test]
    fn block_refuses_with_the_commands_as_a_gate() {
        use super::super::testkit::{context, target, Recorder};
        let (mut plan, spec, dir) = lab_setup();
        plan.policy.prepare_ad = PrepareAdPolicy::Block;
        let target = target(&plan);
        let exec = crate::commands::LabExecutor::open(dir.path(), &spec, "DAG01").unwrap();
        let mut ev = Recorder::default();
        let clock = crate::runbook::SystemClock;
        let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev, vec![]);
        let err = PrepareAd.run(&mut ctx).unwrap_err();
        assert_eq!(err.kind, StepErrorKind::GateRefused);
        assert!(err.message.contains("/PrepareAD"), "{}", err.message);
        assert!(
            err.message.contains("site Default-First-Site-Name"),
            "{}",
            err.message
        );
        assert_eq!(org_level(&exec, &plan), 16762, "nothing was prepared");
        assert!(ev.changes.is_empty());
    }

    #[test]
    fn levels_read_as_an_admin_writes_them() {
        assert_eq!(
            levels_text(AdLevels {
                schema_range_upper: 17003,
                org_object_version: 16763,
                domain_object_version: 13243
            }),
            "schema rangeUpper 17003, organisation objectVersion 16763, domain objectVersion 13243"
        );
    }
}
