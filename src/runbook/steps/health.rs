//! `health` (runbook §5, exchange-facts.md §5): the server may hand over to
//! the next one only when Test-ServiceHealth, Test-MAPIConnectivity (every
//! copy, passive included, and at least one tested) and
//! Test-ReplicationHealth all pass, every service an installer stops is
//! back (not Disabled, Automatic ones running: the set CSS-Exchange
//! SetupAssist checks, which Test-ServiceHealth's role lists do not cover),
//! every copy on it is Mounted or Healthy with queues under the policy
//! limits (lagged copies exempt from the replay limit) and its content
//! index Healthy or NotApplicable (on Exchange 2016 `Crawling` and
//! `HealthyAndUpgrading` are a warning), every component is Active but
//! those inactive by design, every client-access health page
//! (`/<vdir>/healthcheck.htm`, requested on the server by its FQDN:
//! `observe::client_access`) answers 200, and the build is the target's.
//! It runs before
//! `redistribute` (review real-exchange.md #12: prove the server healthy
//! before databases move back to it), so it waits up to `timeouts.health`
//! (copies resynchronise after a reboot), then names every failing check.
//! Once they pass, when the plan names its client namespace, authenticated
//! requests go through the load balancer (`health_namespace`).
//! It changes nothing.

use crate::catalog::ExchangeBuild;
use crate::exchange::observe::EXPECTED_START_TYPE;
use crate::exchange::observe::{self, read_server_facts, read_service_set, run_health_tests};
use crate::exchange::observe::{read_health_pages, ClientAccessObs, ServiceSetObs};
use crate::exchange::{same, ExchangeState, HealthTestsObs};
use crate::plan::{Plan, Policy, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::exit_maintenance::INACTIVE_BY_DESIGN;

pub struct Health;

/// How far the server is into its content-index allowance: the time since
/// its last boot (the CU's reboot), when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinceBoot(pub Option<std::time::Duration>);

impl SinceBoot {
    /// From `LastBootUpTime` (round-trip UTC) and the wall clock now.
    pub fn from_facts(last_boot: Option<&str>, now_ms: i64) -> SinceBoot {
        let booted = last_boot
            .and_then(|b| humantime::parse_rfc3339_weak(b.trim().trim_end_matches('Z')).ok());
        let now = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
        SinceBoot(booted.and_then(|b| now.duration_since(b).ok()))
    }

    /// Still within `deadline`; an unknown boot time counts as within (the
    /// allowance is a warning's, and the boot time is read at every poll).
    fn within(self, deadline: std::time::Duration) -> bool {
        self.0.is_none_or(|d| d < deadline)
    }
}

/// Every failing check, in words; empty = healthy.
pub fn health_problems(
    tests: &HealthTestsObs,
    state: &ExchangeState,
    build: ExchangeBuild,
    target: ExchangeBuild,
    policy: &Policy,
    since_boot: SinceBoot,
) -> Vec<String> {
    let mut out = Vec::new();
    for r in &tests.service_health {
        if !r.required_services_running {
            out.push(format!(
                "Test-ServiceHealth: {} is missing services {}",
                r.role,
                r.services_not_running.join(", ")
            ));
        }
    }
    // An empty result tested nothing: never a pass (review #12).
    if tests.mapi_connectivity.is_empty() {
        out.push("Test-MAPIConnectivity -IncludePassive tested no database copy on the server (nothing proven)".into());
    }
    for m in &tests.mapi_connectivity {
        if !same(&m.result, "Success") {
            out.push(format!(
                "Test-MAPIConnectivity: {} {}{}",
                m.database,
                m.result,
                m.error
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map_or(String::new(), |e| format!(" ({e})"))
            ));
        }
    }
    for r in &tests.replication_health {
        if !same(&r.result, "Passed") {
            out.push(format!(
                "Test-ReplicationHealth: {} {}{}",
                r.check,
                r.result,
                r.error
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map_or(String::new(), |e| format!(" ({e})"))
            ));
        }
    }
    for c in &state.copies {
        if !same(&c.status, "Mounted") && !same(&c.status, "Healthy") {
            out.push(format!("copy {} is {}", c.name, c.status));
        }
        if let Some(q) = c.copy_queue_length.filter(|q| *q > policy.max_copy_queue) {
            out.push(format!(
                "copy {} CopyQueueLength {q} > {}",
                c.name, policy.max_copy_queue
            ));
        }
        // A lagged copy's replay queue is its lag (CopyObs::lagged).
        if !c.lagged() {
            if let Some(q) = c
                .replay_queue_length
                .filter(|q| *q > policy.max_replay_queue)
            {
                out.push(format!(
                    "copy {} ReplayQueueLength {q} > {}",
                    c.name, policy.max_replay_queue
                ));
            }
        }
        let catching_up = content_index_catching_up(c, build);
        if catching_up && !since_boot.within(policy.content_index_deadline) {
            out.push(format!(
                "copy {} content index still {} more than {} after the server booted ([policy] content_index_deadline)",
                c.name,
                c.content_index_state,
                humantime::format_duration(policy.content_index_deadline)
            ));
        } else if !same(&c.content_index_state, "Healthy")
            && !same(&c.content_index_state, "NotApplicable")
            && !catching_up
        {
            out.push(format!(
                "copy {} content index {}",
                c.name, c.content_index_state
            ));
        }
    }
    for c in &state.components {
        if !INACTIVE_BY_DESIGN.iter().any(|x| same(x, &c.component)) && !same(&c.state, "Active") {
            out.push(format!("component {} is {}", c.component, c.state));
        }
    }
    if build != target {
        out.push(format!("build is {build}, not the target {target}"));
    }
    out
}

/// Exchange 2016 (15.1) re-crawls after a CU: `Crawling` and
/// `HealthyAndUpgrading` are normal for hours then (review real-exchange.md
/// #25; DagCommonLibrary's `Test-DagTargetCopy` ignores the content index
/// unless asked). The pre-flight accepts them too (`assess::checks`
/// `content_index_ok`). How long it may last is UNVERIFIED: the plan's
/// `content_index_deadline` after the server's last boot (default 12 h)
/// turns the warning into a failure.
fn content_index_catching_up(c: &crate::exchange::CopyObs, build: ExchangeBuild) -> bool {
    build.major == 15
        && build.minor == 1
        && (same(&c.content_index_state, "Crawling")
            || same(&c.content_index_state, "HealthyAndUpgrading"))
}

/// What is healthy enough to go on but worth saying: the 2016 content
/// index still catching up after the CU, with the deadline it must meet.
pub fn health_warnings(
    state: &ExchangeState,
    build: ExchangeBuild,
    deadline: std::time::Duration,
) -> Vec<String> {
    state
        .copies
        .iter()
        .filter(|c| content_index_catching_up(c, build))
        .map(|c| {
            format!(
                "copy {} content index {} (normal for hours after an Exchange 2016 CU; health fails if it still is {} after the server booted: [policy] content_index_deadline)",
                c.name,
                c.content_index_state,
                humantime::format_duration(deadline)
            )
        })
        .collect()
}

/// The installer's service set not back: any Disabled (CSS-Exchange
/// SetupAssist Test-ExchangeServices flags it), any Automatic one not
/// running, and leftover `Service*.xml` files ("Delete the file and start
/// Exchange Services").
pub fn service_problems(set: &ServiceSetObs) -> Vec<String> {
    let mut out: Vec<String> = set
        .disabled()
        .into_iter()
        .map(|s| {
            format!(
                "service {} is Disabled (expected {EXPECTED_START_TYPE})",
                s.name
            )
        })
        .collect();
    out.extend(
        set.stopped()
            .into_iter()
            .filter(|s| same(&s.start_type, "Automatic"))
            .map(|s| format!("service {} is {}, not Running", s.name, s.status)),
    );
    out.extend(
        set.leftover_files
            .iter()
            .map(|f| format!("setup's service cache file {f} is still there")),
    );
    out
}

/// Client-access health pages that did not answer 200 OK (review
/// real-exchange.md #12): the front end of that protocol is not in service
/// here, whatever the cmdlets say.
pub fn client_access_problems(pages: &ClientAccessObs) -> Vec<String> {
    pages
        .pages
        .iter()
        .filter(|p| !p.ok())
        .map(|p| {
            let why = match (p.status_code, p.error.as_deref().filter(|e| !e.is_empty())) {
                (_, Some(e)) => e.to_string(),
                (Some(c), None) => format!("HTTP {c}"),
                (None, None) => "no answer".to_string(),
            };
            format!("{} did not answer 200 OK: {why}", p.url)
        })
        .collect()
}

/// Waits up to `timeouts.health` until `check` finds no problem (a check
/// that cannot run counts as failing: the store may still be starting);
/// on a timeout the error names the last problems, then says `then`.
/// Shared by a Mailbox server's and an Edge server's `health`.
pub(super) fn wait_healthy(
    ctx: &mut StepContext<'_>,
    what: &str,
    then: &str,
    mut check: impl FnMut(&mut StepContext<'_>) -> Result<Vec<String>, StepError>,
) -> Result<(), StepError> {
    let mut last = Vec::new();
    let waited = ctx.wait_until(what, ctx.plan.policy.timeouts.health, |ctx| {
        last = match check(ctx) {
            Ok(p) => p,
            Err(e) => vec![format!("the health checks could not run: {e}")],
        };
        if last.is_empty() {
            return Ok(Some(()));
        }
        ctx.events
            .progress(&format!("{} checks failing", last.len()));
        Ok(None)
    });
    waited.map_err(|e| e.with_context(&format!("Failing: {}. {then}", last.join("; "))))
}

impl Step for Health {
    fn id(&self) -> StepId {
        StepId::Health
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        if ctx.server.is_edge() {
            return super::edge::health(ctx);
        }
        let target = ctx.target.build();
        let mut warnings = Vec::new();
        wait_healthy(
            ctx,
            "waiting for every health check to pass",
            "The server is back in service but not healthy; the rollout stops here so no other member goes down. Fix these, then run cu-roll again",
            |ctx| {
                let tests = if ctx.server.dag.is_none() {
                    super::standalone::health_tests(ctx)?
                } else {
                    observe::health_tests(&ctx.exchange, ctx.server)?
                };
                let state = ctx.exchange_state()?;
                let facts = ctx.server_facts()?;
                let build = facts.build().ok_or_else(|| {
                    StepError::failed(format!(
                        "cannot read the Exchange build (ExSetup.exe ProductVersion was {:?})",
                        facts.ex_setup_version
                    ))
                })?;
                let since_boot = SinceBoot::from_facts(
                    facts.last_boot_up_time.as_deref(),
                    ctx.clock.wall_ms(),
                );
                let services: ServiceSetObs = ctx.query(&read_service_set())?;
                let pages: ClientAccessObs = ctx.query(&read_health_pages(&ctx.server.fqdn))?;
                let policy = &ctx.plan.policy;
                let mut p = health_problems(&tests, &state, build, target, policy, since_boot);
                p.extend(service_problems(&services));
                p.extend(client_access_problems(&pages));
                if p.is_empty() {
                    warnings = health_warnings(&state, build, policy.content_index_deadline);
                }
                Ok(p)
            },
        )?;
        for w in warnings {
            ctx.events.observed(w)?;
        }
        let mut detail = format!("{} healthy at {target}", ctx.server.name);
        if let Some(checked) = super::health_namespace::check(ctx)? {
            detail.push_str(&format!("; {checked}"));
        }
        Ok(StepOutcome::Done { detail })
    }

    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        if server.is_edge() {
            return super::edge::health_scripts(server);
        }
        let when = "at every poll until healthy";
        let tests = if server.dag.is_none() {
            super::standalone::run_health_tests(&server.name)
        } else {
            run_health_tests(&server.name)
        };
        let mut out = vec![PlannedCommand::ps(when, &tests)];
        out.extend(PlannedCommand::exchange_state(when, &server.name));
        out.push(PlannedCommand::ps(when, &read_server_facts()));
        out.push(PlannedCommand::ps(when, &read_service_set()));
        out.push(PlannedCommand::ps(when, &read_health_pages(&server.fqdn)));
        out.extend(super::health_namespace::planned(plan));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::CopyObs;
    use std::time::Duration;

    const HOUR: Duration = Duration::from_secs(3600);

    fn crawling_2016() -> ExchangeState {
        ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies: vec![CopyObs {
                activation_preference: Some(2),
                content_index_state: "Crawling".into(),
                ..CopyObs::test_copy("DB01", "EX02", "Healthy", false)
            }],
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    fn passing_tests() -> HealthTestsObs {
        serde_json::from_str(
            r#"{"ServiceHealth":[],"MapiConnectivity":[{"Database":"DB01","Result":"Success","Error":""}],"ReplicationHealth":[]}"#,
        )
        .unwrap()
    }

    /// Review #25: after a 2016 CU a crawling content index is a warning
    /// until `content_index_deadline` after the boot, then a failure.
    #[test]
    fn a_crawling_2016_content_index_warns_until_its_deadline_then_fails() {
        let build: ExchangeBuild = "15.1.2507.6".parse().unwrap();
        let mut policy = super::super::testkit::lab_plan().policy;
        policy.content_index_deadline = 12 * HOUR;
        let state = crawling_2016();
        let check = |since| health_problems(&passing_tests(), &state, build, build, &policy, since);
        assert!(check(SinceBoot(Some(HOUR))).is_empty());
        assert!(
            check(SinceBoot(None)).is_empty(),
            "boot time unknown: a warning"
        );
        assert_eq!(
            check(SinceBoot(Some(13 * HOUR))),
            ["copy DB01\\EX02 content index still Crawling more than 12h after the server booted ([policy] content_index_deadline)"]
        );
        let w = health_warnings(&state, build, policy.content_index_deadline);
        assert!(
            w[0].contains("health fails if it still is 12h after the server booted"),
            "{w:?}"
        );
        // Not on 2019: there Crawling is a failure at once.
        let e19: ExchangeBuild = "15.2.1748.10".parse().unwrap();
        assert_eq!(
            health_problems(
                &passing_tests(),
                &state,
                e19,
                e19,
                &policy,
                SinceBoot(Some(HOUR))
            ),
            ["copy DB01\\EX02 content index Crawling"]
        );
    }

    #[test]
    fn the_time_since_boot_comes_from_last_boot_up_time() {
        let boot = "2026-01-01T10:00:00.0000000Z";
        let now = 1_767_261_600_000 + 3_600_000; // 2026-01-01T11:00:00Z
        assert_eq!(
            SinceBoot::from_facts(Some(boot), now),
            SinceBoot(Some(HOUR))
        );
        assert_eq!(SinceBoot::from_facts(Some("garbage"), now), SinceBoot(None));
        assert_eq!(SinceBoot::from_facts(None, now), SinceBoot(None));
    }

    #[test]
    fn a_health_page_not_answering_200_is_named_with_its_error() {
        let pages: ClientAccessObs = serde_json::from_str(
            r#"{"Pages":[
            {"Vdir":"owa","Url":"https://ex01.contoso.local/owa/healthcheck.htm","StatusCode":200,"Error":null},
            {"Vdir":"ecp","Url":"https://ex01.contoso.local/ecp/healthcheck.htm","StatusCode":null,"Error":"The remote server returned an error: (503) Server Unavailable."}]}"#,
        )
        .unwrap();
        assert_eq!(
            client_access_problems(&pages),
            ["https://ex01.contoso.local/ecp/healthcheck.htm did not answer 200 OK: The remote server returned an error: (503) Server Unavailable."]
        );
    }
}
