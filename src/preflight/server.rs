//! One server's line of the pre-flight report: its build, facts and state
//! as observed, the checks that block or note it (maintenance, copies,
//! redundancy while it is down, certificates, Extended Protection, media),
//! and its verdict. Read-only: it judges what `observe` read and must not
//! send anything to a server.

use super::model::{BlockerCode, ServerReport, Verdict};
use super::observe::Observed;
use super::{certs, checks, ep, media};
use crate::assess::checks::{
    configuration_notes, content_index_ok, copy_health, copy_problem, maintenance,
    maintenance_reasons,
};
use crate::catalog::{self, Catalog, ExchangeBuild};
use crate::exchange::{ExchangeState, QueryError, ServerFacts};
use crate::plan::{Plan, ResolvedTarget, Server};

pub(super) fn server_report(
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
pub(super) fn apply_certs(obs: &Observed, r: &mut ServerReport) {
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
pub(super) fn apply_ep(plan: &Plan, target: &ResolvedTarget, obs: &Observed, r: &mut ServerReport) {
    let Some(found) = &obs.ep else { return };
    let f = ep::findings(plan, target.cu.build, found);
    for (code, text) in f.blockers {
        r.block(code, text);
    }
    r.warnings.extend(f.warnings);
    r.verdict = checks::verdict(&r.blockers, r.needs_upgrade_known());
}

pub(super) fn apply_media(
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
