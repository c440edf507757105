//! Pre-flight checks and the version report: what every server runs, what
//! the target needs, and whether anything would stop `run`. Read-only: this
//! module only sends the observation scripts of `exchange`.

pub mod adprep;
pub mod certs;
pub mod checks;
mod ep;
pub mod media;
mod membership;
pub mod model;
mod observe;

use crate::assess::checks::{
    configuration_notes, content_index_ok, copy_health, copy_problem, maintenance,
    maintenance_reasons,
};
use crate::catalog::{self, Catalog, ExchangeBuild};
use crate::exchange::{self, AdLevelsObs, ExchangeState, QueryError, ServerFacts};
use crate::exec::Executor;
use crate::plan::{Plan, PrepareAd, ResolvedTarget, Server};
use model::{
    AdLevels, AdPreparation, BlockerCode, OverallVerdict, Report, ServerReport, TargetInfo, Verdict,
};
use observe::{observe_all, reachable, Observed};

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

fn server_report(
    plan: &Plan,
    catalog: &Catalog,
    target: &ResolvedTarget,
    server: &Server,
    obs: &Observed,
    all: &[Observed],
) -> ServerReport {
    let mut report = ServerReport {
        name: server.name.clone(),
        fqdn: server.fqdn.clone(),
        dag: server.dag.clone(),
        build: None,
        build_name: None,
        needs_upgrade: None,
        os: None,
        prerequisites: Vec::new(),
        pending_reboot: None,
        pending_reboot_reasons: Vec::new(),
        system_drive_free_gb: None,
        install_drive: None,
        install_drive_free_gb: None,
        maintenance: None,
        copies: Vec::new(),
        queued_messages: None,
        verdict: Verdict::Blocked,
        blockers: Vec::new(),
        blocker_codes: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let mut errors: Vec<String> = Vec::new();
    let mut note = |e: &QueryError| {
        // Facts and state fail alike when the server is unreachable: say it once.
        let text = e.to_string();
        if !errors.contains(&text) {
            errors.push(text);
        }
    };
    match &obs.facts {
        Ok(facts) => apply_facts(plan, catalog, target, server, facts, &mut report),
        Err(e) => note(e),
    }
    match &obs.state {
        Ok(state) => apply_state(plan, server, state, &mut report, all, &plan.servers),
        Err(e) => note(e),
    }
    if !errors.is_empty() {
        report.block(
            BlockerCode::Unreachable,
            format!("could not read the server: {}", errors.join("; ")),
        );
        report.error = Some(errors.join("; "));
    }
    report.verdict = checks::verdict(&report.blockers, report.needs_upgrade_known());
    report
}

fn apply_facts(
    plan: &Plan,
    catalog: &Catalog,
    target: &ResolvedTarget,
    server: &Server,
    facts: &ServerFacts,
    r: &mut ServerReport,
) {
    r.os = facts.os_caption.clone();
    r.pending_reboot_reasons = facts.pending_reboot.clone();
    r.pending_reboot = Some(!facts.pending_reboot.is_empty());
    checks::free_space(facts, r);
    let Some(build) = facts
        .ex_setup_version
        .as_deref()
        .and_then(|v| v.parse::<ExchangeBuild>().ok())
    else {
        let text = format!(
            "no readable ExSetup.exe version ({:?}): is Exchange installed?",
            facts.ex_setup_version
        );
        r.block(BlockerCode::NoExchange, text);
        return;
    };
    r.build = Some(build.to_string());
    let (name, unknown) = checks::identify(catalog, build);
    r.build_name = Some(name);
    if let Some(text) = unknown {
        r.block(BlockerCode::UnknownBuild, text);
    }
    let incomplete = facts.setup_incomplete();
    let needs_upgrade = checks::setup_pending(facts, build, target.build()).is_some();
    r.needs_upgrade = Some(needs_upgrade);
    r.prerequisites = checks::prerequisites(facts, target, server.is_edge());
    if let Some(why) = incomplete {
        r.warnings.push(format!(
            "{}: {} ({why}); the rollout runs setup /Mode:Upgrade again on it, and neither installs the security update nor returns it to service before setup completes",
            r.name,
            checks::PREVIOUS_UPGRADE_INCOMPLETE
        ));
    }
    if needs_upgrade {
        if let Err(why) = catalog::check_upgrade_path(build, &target.cu, catalog) {
            r.block(BlockerCode::UpgradePath, why);
        }
        let unmet: Vec<_> = r.prerequisites.iter().filter(|p| !p.ok).cloned().collect();
        for p in unmet {
            // The text names no server: every place that shows it does.
            let text = format!(
                "{} does not meet {}: found {}, requires {}",
                p.name,
                target.cu.display_name(),
                p.found,
                p.required
            );
            r.block(p.blocker_code(), text);
        }
        if let Some(text) = checks::dotnet_path_blocker(catalog, facts, build, target) {
            r.block(BlockerCode::DotnetPath, text);
        }
        r.warnings.extend(checks::dotnet_warning(facts, target));
        r.warnings.extend(checks::dotnet_interval_warning(
            catalog, facts, build, target,
        ));
        for text in checks::too_little_space(r, plan.policy.min_free_space_gb) {
            r.block(BlockerCode::DiskSpace, text);
        }
        if r.pending_reboot == Some(true) {
            // The rollout reboots before setup (runbook §3), which clears it.
            r.warnings.push(format!(
                "a reboot is pending ({}); the rollout reboots the server before setup",
                r.pending_reboot_reasons.join(", ")
            ));
        }
    } else if build > target.build() {
        r.warnings.push(format!(
            "already beyond the target ({build} > {}): the rollout leaves it alone",
            target.build()
        ));
    }
}

fn apply_state(
    plan: &Plan,
    server: &Server,
    state: &ExchangeState,
    r: &mut ServerReport,
    all: &[Observed],
    servers: &[Server],
) {
    let m = maintenance(state);
    if m.in_maintenance {
        let text = format!(
            "already in maintenance ({}): finish or undo that maintenance before a rollout starts; cu-roll does not clear maintenance it did not start",
            maintenance_reasons(&m).join("; ")
        );
        r.block(BlockerCode::InMaintenance, text);
    }
    r.maintenance = Some(m);
    r.copies = copy_health(state, &plan.policy);
    let problems: Vec<String> = r
        .copies
        .iter()
        .filter(|c| !c.ok)
        .map(|c| copy_problem(c, &plan.policy))
        .collect();
    for text in problems {
        r.block(BlockerCode::CopyUnhealthy, text);
    }
    if let Some(m) = &r.maintenance {
        let notes = configuration_notes(m, &r.copies);
        r.warnings.extend(notes);
    }
    for c in r
        .copies
        .iter()
        .filter(|c| !content_index_ok(&c.content_index_state))
    {
        r.warnings.push(format!(
            "content index of {} is {}",
            c.name, c.content_index_state
        ));
    }
    r.queued_messages = Some(state.queued_messages());
    if server.dag.is_none() && r.needs_upgrade_known() && !r.copies.is_empty() {
        r.warnings.push(format!(
            "in no DAG (downtime = \"announced\"): {} offline while {} is rolled",
            r.copies
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            server.name
        ));
    }
    if r.needs_upgrade_known() {
        for text in redundancy_blockers(plan, server, state, all, servers) {
            r.block(BlockerCode::Redundancy, text);
        }
    }
}

/// Databases that would keep fewer healthy copies on the other members of
/// the server's DAG than the gate asks for while this server is down
/// (`assess::gate::redundancy_refusals`). The pre-flight counts the plan's
/// members of the DAG as running; the gate reads the DAG's own `Servers`
/// and `StoppedMailboxServers`.
fn redundancy_blockers(
    plan: &Plan,
    server: &Server,
    state: &ExchangeState,
    all: &[Observed],
    servers: &[Server],
) -> Vec<String> {
    // In no DAG: its databases have one copy, and the plan acknowledged
    // their downtime (plan::validate::downtime); the report says so.
    if server.dag.is_none() {
        return Vec::new();
    }
    let same_dag = |other: &Server| match (&server.dag, &other.dag) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    };
    let others: Vec<(&str, &ExchangeState)> = servers
        .iter()
        .zip(all)
        .filter(|(other, _)| !other.name.eq_ignore_ascii_case(&server.name) && same_dag(other))
        .filter_map(|(other, obs)| obs.state.as_ref().ok().map(|st| (other.name.as_str(), st)))
        .collect();
    let running = servers.iter().filter(|o| same_dag(o)).count();
    crate::assess::gate::redundancy_refusals(&server.name, state, &others, running, &plan.policy)
}

/// The certificate checks' blockers and warnings (server below the target
/// only: setup and the update are what an expired certificate breaks).
fn apply_certs(obs: &Observed, r: &mut ServerReport) {
    let Some(found) = &obs.certs else { return };
    let f = certs::findings(found);
    for (code, text) in f.blockers {
        r.block(code, text);
    }
    r.warnings.extend(f.warnings);
    r.verdict = checks::verdict(&r.blockers, r.needs_upgrade_known());
}

/// The media check's blockers (server below the target only).
/// Extended Protection (`ep`), on servers that will be upgraded.
fn apply_ep(plan: &Plan, target: &ResolvedTarget, obs: &Observed, r: &mut ServerReport) {
    let Some(found) = &obs.ep else { return };
    let f = ep::findings(plan, target.cu.build, found);
    for (code, text) in f.blockers {
        r.block(code, text);
    }
    r.warnings.extend(f.warnings);
    r.verdict = checks::verdict(&r.blockers, r.needs_upgrade_known());
}

fn apply_media(
    plan: &Plan,
    catalog: &Catalog,
    target: &ResolvedTarget,
    obs: &Observed,
    ad_prep_runs: bool,
    r: &mut ServerReport,
) {
    let (Some(found), Ok(facts)) = (&obs.media, &obs.facts) else {
        return;
    };
    let Some(build) = facts.build() else { return };
    let mut needs = media::MediaNeeds::of(plan, target, build, ad_prep_runs);
    // An unfinished upgrade needs the setup media whatever the build says.
    needs.setup |= facts.setup_incomplete().is_some();
    let texts = match found {
        Ok(m) => media::media_blockers(plan, target, catalog, &r.name, m, needs),
        Err(e) if needs.setup || needs.su => {
            vec![format!(
                "could not check the setup media on {}: {e}",
                r.name
            )]
        }
        Err(_) => Vec::new(),
    };
    for text in texts {
        r.block(BlockerCode::Media, text);
    }
    r.verdict = checks::verdict(&r.blockers, r.needs_upgrade_known());
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
