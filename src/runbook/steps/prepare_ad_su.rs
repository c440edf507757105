//! `prepare-ad-su`: Active Directory preparation for a domain level the
//! target's Security Update raises (review real-exchange.md #8). The CU's
//! media reaches only the CU's levels (`prepare-ad` runs those before the
//! first server); May 2022's SU on 2016 CU22/CU23 and 2019 CU11/CU12 raises
//! the domain objectVersion to 13243, which only `/PrepareAllDomains` run
//! from the **installed** `%ExchangeInstallPath%Bin\Setup.exe` of a server
//! that has the SU reaches (`preflight::adprep::after_su_needed` cites the
//! sources). Not a per-server step: the scheduler runs it once, on the
//! first server that reached the target (SU installed, back in service),
//! before that server is journaled done, and journals it under that server.
//! It runs through the installer mechanism exactly as `setup` and
//! `prepare-ad` do — a scheduled task under the installer's account (the
//! admin's credential), never SYSTEM — then waits `ad_replication_wait` and
//! requires the SU's domain level. It never runs with `prepare_ad =
//! "block"` (the scheduler shows the command instead).

use crate::catalog::AdLevels;
use crate::exchange;
use crate::exchange::observe::read_ad_levels;
use crate::plan::{Plan, PrepareAd as PrepareAdPolicy, ResolvedTarget, Server};
use crate::preflight::adprep;
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::installer::{self, InstallerSpec};
use super::prepare_ad::{after_replication, levels_text, preparation_failed, read_levels};

pub struct PrepareAdSu;

pub const PREPARE_AD_SU: InstallerSpec = InstallerSpec {
    step: StepId::PrepareAdSu,
    what: "Active Directory preparation for the security update",
    task: "cu-roll-prepare-ad-su",
    batch_file: "prepare-ad-su.cmd",
    exit_file: "prepare-ad-su.exitcode",
    // The installed Setup.exe runs ExSetup.exe, as the media's does.
    exsetup: true,
};

/// The levels after the preparation: the target's with its SU.
fn required(target: &ResolvedTarget) -> AdLevels {
    target.cu.ad_with(target.su.as_ref())
}

/// Whether the scheduler runs this step on `server`, which has just
/// reached the target: only when the target's SU raises the domain level
/// (no AD read otherwise) and the forest is below it. When the levels
/// cannot be read the step runs and says why.
pub fn needed_on(
    plan: &Plan,
    target: &ResolvedTarget,
    reach: &exchange::Reach<'_>,
    server: &Server,
) -> bool {
    if plan.policy.prepare_ad == PrepareAdPolicy::Block || !adprep::su_raises_domain(target) {
        return false;
    }
    match exchange::ad_levels(reach, server) {
        Ok(l) => adprep::after_su_needed(
            AdLevels {
                schema_range_upper: l.schema_range_upper,
                org_object_version: l.org_object_version,
                domain_object_version: l.domain_object_version,
            },
            target,
        ),
        Err(_) => true,
    }
}

/// With `prepare_ad = "block"`: what the scheduler shows once the first
/// server has the SU (`None` when nothing is needed or it cannot tell).
pub fn block_note(
    plan: &Plan,
    target: &ResolvedTarget,
    reach: &exchange::Reach<'_>,
    server: &Server,
) -> Option<String> {
    if plan.policy.prepare_ad != PrepareAdPolicy::Block || !adprep::su_raises_domain(target) {
        return None;
    }
    let l = exchange::ad_levels(reach, server).ok()?;
    let found = AdLevels {
        schema_range_upper: l.schema_range_upper,
        org_object_version: l.org_object_version,
        domain_object_version: l.domain_object_version,
    };
    adprep::after_su_needed(found, target).then(|| {
        format!(
            "{} now has the security update; prepare_ad = \"block\": run on {}, as a member of Enterprise Admins: {}",
            server.name,
            server.name,
            adprep::after_su_command(plan, target)
        )
    })
}

impl Step for PrepareAdSu {
    fn id(&self) -> StepId {
        StepId::PrepareAdSu
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let required = required(ctx.target);
        let facts = exchange::server_facts(&ctx.exchange, ctx.server)?;
        if facts.build().is_none_or(|b| b < ctx.target.build()) {
            return Err(StepError::failed(format!(
                "{} does not have {} yet, and only its installed Setup.exe reaches the domain level the update raises: run cu-roll again once the update is installed",
                ctx.server.name,
                ctx.target.name()
            )));
        }
        let line = adprep::after_su_command(ctx.plan, ctx.target);
        let timeout = ctx.plan.policy.timeouts.setup;
        let switch = adprep::PrepSwitch::AllDomains.switch();
        let outcome = installer::drive_until(
            ctx,
            &PREPARE_AD_SU,
            &line,
            timeout,
            |ctx| {
                let found = read_levels(ctx)?;
                Ok(if adprep::after_su_needed(found, ctx.target) {
                    Err(format!(
                        "Active Directory is still at {}",
                        levels_text(found)
                    ))
                } else {
                    Ok(format!(
                        "the security update's domain level is already there: Active Directory is at {}",
                        levels_text(found)
                    ))
                })
            },
            |ctx, code| {
                if code == 0 {
                    return Ok(format!(
                        "{switch} from the installed Setup.exe finished on {}",
                        ctx.server.name
                    ));
                }
                Err(preparation_failed(ctx, switch, code)?)
            },
        )?;
        if let StepOutcome::AlreadyDone { .. } = outcome {
            return Ok(outcome);
        }
        let found = after_replication(ctx, required)?;
        Ok(StepOutcome::Done {
            detail: format!(
                "Active Directory prepared for {} from {}'s installed Setup.exe: {}",
                ctx.target.name(),
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
            "after the first server reached the target: the forest's levels",
            &read_ad_levels(),
        )];
        out.extend(installer::planned(
            plan,
            &PREPARE_AD_SU,
            &adprep::after_su_command(plan, target),
        ));
        out.extend(super::setup_log_read::planned(
            "when the preparation exits non-zero",
        ));
        out.push(PlannedCommand::ps(
            "after ad_replication_wait: the forest's levels, which must be the target's with its update",
            &read_ad_levels(),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_runs_the_installed_setup_with_the_targets_licence_switch() {
        let mut plan = super::super::testkit::lab_plan();
        plan.rollout.diagnostic_data = crate::plan::DiagnosticData::Off;
        let target = super::super::testkit::target(&plan);
        assert_eq!(
            adprep::after_su_command(&plan, &target),
            "\"%ExchangeInstallPath%Bin\\Setup.exe\" /PrepareAllDomains /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"
        );
    }
}
