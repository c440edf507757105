//! Pre-flight checks and the version report: what every server runs, what
//! the target needs, and whether anything would stop `run`. Read-only: this
//! module only sends the observation scripts of `exchange`. Each server's
//! own line of the report is judged in `server`.

pub mod adprep;
pub mod certs;
pub mod checks;
mod ep;
pub mod media;
mod membership;
pub mod model;
mod observe;
mod server;

use crate::catalog::{self, Catalog, ExchangeBuild};
use crate::exchange::{self, AdLevelsObs};
use crate::exec::Executor;
use crate::plan::{Plan, PrepareAd, ResolvedTarget, Server};
use model::{
    AdLevels, AdPreparation, BlockerCode, OverallVerdict, Report, ServerReport, TargetInfo, Verdict,
};
use observe::{observe_all, reachable, Observed};
use server::{apply_certs, apply_ep, apply_media, server_report};

/// Queries every server (concurrently, bounded) and builds the report.
/// Exchange cmdlets go through an Exchange session on a peer: any other
/// server that answers cmd and is not running setup (the target itself
/// only when alone), with `credential`.
pub fn build_report(
    plan: &Plan,
    exec: &dyn Executor,
    credential: &exchange::Credential,
    catalog: &Catalog,
    target: &ResolvedTarget,
    generated_at: String,
) -> Report {
    build_report_observing(plan, exec, credential, catalog, target, generated_at).0
}

/// [`build_report`], also returning every server's state as read, for the
/// start of the run (`exchange::observe::StartObservation`).
pub fn build_report_observing(
    plan: &Plan,
    exec: &dyn Executor,
    credential: &exchange::Credential,
    catalog: &Catalog,
    target: &ResolvedTarget,
    generated_at: String,
) -> (Report, exchange::observe::StartObservation) {
    let taken = std::time::Instant::now();
    let (reach, busy) = reachable(plan, exec, credential);
    let observed = observe_all(plan, &reach, target, &busy);
    let start = exchange::observe::StartObservation::new(
        taken,
        plan.servers
            .iter()
            .zip(&observed)
            .map(|(s, o)| (s.name.clone(), o.state.as_ref().ok().cloned()))
            .collect(),
        plan.servers
            .iter()
            .zip(&busy)
            .filter(|(_, b)| **b == Some(true))
            .map(|(s, _)| s.name.clone())
            .collect(),
    );
    let ad = ad_preparation(plan, &reach, target, &observed);
    let ad_prep_runs = plan.policy.prepare_ad == PrepareAd::Run && !ad.commands.is_empty();
    let servers: Vec<ServerReport> = plan
        .servers
        .iter()
        .zip(&observed)
        .map(|(server, obs)| {
            let mut r = server_report(plan, catalog, target, server, obs, &observed);
            apply_certs(obs, &mut r);
            apply_ep(plan, target, obs, &mut r);
            apply_media(plan, catalog, target, obs, ad_prep_runs, &mut r);
            membership::apply(server, obs.state.as_ref().ok(), &mut r);
            r
        })
        .collect();
    let mut report = Report {
        schema_version: model::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at,
        plan: plan.path.display().to_string(),
        target: target_info(target, &servers, catalog),
        ad_preparation: ad,
        servers,
        blockers: Vec::new(),
        blocker_codes: Vec::new(),
        verdict: OverallVerdict::Blocked,
    };
    if plan.policy.prepare_ad == PrepareAd::Block && !report.ad_preparation.commands.is_empty() {
        // Where to run it: best effort, the commands are the blocker.
        let place =
            first_reachable(plan, &observed).and_then(|s| adprep::schema_master(&reach, s).ok());
        let text = adprep::block_message(
            &target.cu.display_name(),
            &report.ad_preparation.commands,
            place.as_ref(),
        );
        report.block(BlockerCode::AdPreparation, text);
    }
    if let Some(e) = report.ad_preparation.error.clone() {
        report.block(
            BlockerCode::AdUnreadable,
            format!("could not read the Active Directory levels: {e}"),
        );
    }
    let answered: Vec<&str> = plan
        .servers
        .iter()
        .zip(&observed)
        .filter(|(_, o)| o.state.is_ok())
        .map(|(s, _)| s.name.as_str())
        .collect();
    for text in membership::dag_blockers(plan, &reach, &answered) {
        report.block(BlockerCode::DagMembership, text);
    }
    if report.blockers.is_empty() && report.servers.iter().all(|s| s.verdict != Verdict::Blocked) {
        report.verdict = OverallVerdict::Ready;
    }
    (report, start)
}

/// The first server whose facts could be read (AD is read through it).
/// The first Mailbox server that answered: an Edge server is in no domain
/// and cannot read Active Directory.
fn first_reachable<'p>(plan: &'p Plan, observed: &[Observed]) -> Option<&'p Server> {
    plan.servers
        .iter()
        .zip(observed)
        .find(|(s, o)| o.facts.is_ok() && !s.is_edge())
        .map(|(s, _)| s)
}

fn ad_preparation(
    plan: &Plan,
    reach: &exchange::Reach<'_>,
    target: &ResolvedTarget,
    observed: &[Observed],
) -> AdPreparation {
    let levels = target.cu.ad_with(target.su.as_ref());
    let required = AdLevels {
        schema_range_upper: levels.schema_range_upper,
        org_object_version: levels.org_object_version,
        domain_object_version: levels.domain_object_version,
    };
    let mut prep = AdPreparation {
        found: None,
        required,
        needs_prepare_schema: None,
        needs_prepare_ad: None,
        needs_prepare_domain: None,
        commands: Vec::new(),
        after_security_update: None,
        error: None,
    };
    // Read AD from the first server that answered at all.
    let Some(server) = first_reachable(plan, observed) else {
        // Say why: "reached" is not the only way to fail (a refused
        // account, a timeout, an answer cu-roll cannot read).
        let first = plan
            .servers
            .iter()
            .zip(observed)
            .find_map(|(s, o)| o.facts.as_ref().err().map(|e| format!("{}: {e}", s.name)));
        prep.error = Some(match first {
            Some(why) => format!("no server's facts could be read (the first: {why})"),
            None => "the plan has no server to read them through".into(),
        });
        return prep;
    };
    match exchange::ad_levels(reach, server) {
        Ok(AdLevelsObs {
            schema_range_upper,
            org_object_version,
            domain_object_version,
        }) => {
            let found = AdLevels {
                schema_range_upper,
                org_object_version,
                domain_object_version,
            };
            prep.found = Some(found);
            let need = catalog::prep_needed(
                catalog::AdLevels {
                    schema_range_upper,
                    org_object_version,
                    domain_object_version,
                },
                target.cu.ad_with(target.su.as_ref()),
            );
            prep.needs_prepare_schema = Some(need.schema);
            prep.needs_prepare_ad = Some(need.ad);
            prep.needs_prepare_domain = Some(need.domain);
            // What the media can reach runs before the first server; an
            // SU-raised domain level only after the first SU (adprep).
            let media_need = adprep::need(catalog_levels(found), adprep::media_levels(target));
            prep.commands = adprep::switches(media_need)
                .into_iter()
                .map(|sw| adprep::admin_command(plan, target.cu.build, sw))
                .collect();
            if adprep::after_su_needed(catalog_levels(found), target) {
                prep.after_security_update = Some(adprep::after_su_instruction(plan, target));
            }
        }
        Err(e) => prep.error = Some(e.to_string()),
    }
    prep
}

fn catalog_levels(l: AdLevels) -> catalog::AdLevels {
    catalog::AdLevels {
        schema_range_upper: l.schema_range_upper,
        org_object_version: l.org_object_version,
        domain_object_version: l.domain_object_version,
    }
}

fn target_info(target: &ResolvedTarget, servers: &[ServerReport], catalog: &Catalog) -> TargetInfo {
    let mut notes = Vec::new();
    if !target.cu.support.eq_ignore_ascii_case("current") {
        notes.push(format!(
            "{} support status: {}",
            target.cu.display_name(),
            target.cu.support
        ));
    }
    if target.cu.enables_extended_protection {
        let from_older = servers.iter().filter(|s| s.needs_upgrade_known()).any(|s| {
            s.build
                .as_deref()
                .and_then(|v| v.parse::<ExchangeBuild>().ok())
                .and_then(|b| catalog.cu_for_build(b))
                .is_some_and(|cu| !cu.enables_extended_protection)
        });
        if from_older {
            notes.push(format!(
                "{} turns on Extended Protection by default: authentication breaks through load balancers or proxies that do not pass channel binding (SSL offloading); check them first",
                target.cu.display_name()
            ));
        }
    }
    let newer: Vec<&str> = servers
        .iter()
        .filter(|s| {
            s.build
                .as_deref()
                .and_then(|v| v.parse::<ExchangeBuild>().ok())
                .is_some_and(|b| {
                    matches!(
                        catalog.identify(b),
                        catalog::BuildIdentity::UnknownNewer { .. }
                    )
                })
        })
        .map(|s| s.name.as_str())
        .collect();
    if !newer.is_empty() {
        notes.push(format!(
            "cu-roll's catalogue{} is older than the newest update a server shows ({} run{} a build newer than anything it lists): update the catalogue with `cu-roll catalog update`",
            checks::catalog_date(catalog),
            newer.join(", "),
            if newer.len() == 1 { "s" } else { "" }
        ));
    }
    TargetInfo {
        name: target.name(),
        build: target.build().to_string(),
        cu_name: target.cu.display_name(),
        cu_build: target.cu.build.to_string(),
        security_update: target.su.as_ref().map(|s| s.name.clone()),
        security_update_build: target.su.as_ref().map(|s| s.build.to_string()),
        released: Some(target.released().to_string()),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{ExecError, ExecOutput};

    /// Answers cmd with "ExSetup.exe is running" on EX02 and counts every
    /// PowerShell script sent to EX02.
    struct MidUpgrade {
        ps_to_ex02: std::sync::atomic::AtomicUsize,
    }

    impl Executor for MidUpgrade {
        fn run_ps(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            if server.name == "EX02" {
                self.ps_to_ex02
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(ExecOutput {
                stdout: String::new(),
                stderr: "not modelled".into(),
                exit_code: 1,
            })
        }
        fn run_ps_with_secret(
            &self,
            server: &Server,
            script: &str,
            _: &crate::plan::Secret,
        ) -> Result<ExecOutput, ExecError> {
            self.run_ps(server, script)
        }
        fn run_cmd(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            let stdout = if server.name == "EX02" {
                "\"ExSetup.exe\",\"4242\",\"Services\",\"0\",\"312,004 K\"\r\n"
            } else {
                "INFO: No tasks are running which match the specified criteria.\r\n"
            };
            Ok(ExecOutput {
                stdout: stdout.into(),
                stderr: String::new(),
                exit_code: 0,
            })
        }
    }

    /// An admin checking the report mid-upgrade must not start PowerShell on
    /// the server running setup (ProcessNeedsToBeClosedOnUpgrade).
    #[test]
    fn report_sends_no_powershell_to_a_server_running_setup() {
        let plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        let catalog = Catalog::embedded();
        let target = crate::plan::resolve_target(&plan, catalog).unwrap();
        let exec = MidUpgrade {
            ps_to_ex02: 0.into(),
        };
        let credential = exchange::Credential {
            user: "lab\\admin".into(),
            secret: crate::plan::Secret::new("lab-only-password".into()),
        };
        let report = build_report(&plan, &exec, &credential, catalog, &target, "now".into());
        assert_eq!(exec.ps_to_ex02.load(std::sync::atomic::Ordering::SeqCst), 0);
        let ex02 = report.servers.iter().find(|s| s.name == "EX02").unwrap();
        assert!(
            ex02.error
                .as_deref()
                .unwrap()
                .contains("setup is running on EX02"),
            "{ex02:#?}"
        );
    }
}
