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
//! those inactive by design, and the build is the target's. It runs before
//! `redistribute` (review real-exchange.md #12: prove the server healthy
//! before databases move back to it), so it waits up to `timeouts.health`
//! (copies resynchronise after a reboot), then names every failing check.
//! It changes nothing.

use crate::catalog::ExchangeBuild;
use crate::exchange::observe::{self, read_server_facts, read_service_set, run_health_tests};
use crate::exchange::observe::{ServiceSetObs, EXPECTED_START_TYPE};
use crate::exchange::{same, ExchangeState, HealthTestsObs};
use crate::plan::{Plan, Policy, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

use super::exit_maintenance::INACTIVE_BY_DESIGN;

pub struct Health;

/// Every failing check, in words; empty = healthy.
pub fn health_problems(
    tests: &HealthTestsObs,
    state: &ExchangeState,
    build: ExchangeBuild,
    target: ExchangeBuild,
    policy: &Policy,
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
        if !same(&c.content_index_state, "Healthy")
            && !same(&c.content_index_state, "NotApplicable")
            && !content_index_catching_up(c, build)
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
/// unless asked). The pre-flight accepts them too (`preflight/checks.rs`
/// `content_index_ok`). How long it may last is UNVERIFIED.
fn content_index_catching_up(c: &crate::exchange::CopyObs, build: ExchangeBuild) -> bool {
    build.major == 15
        && build.minor == 1
        && (same(&c.content_index_state, "Crawling")
            || same(&c.content_index_state, "HealthyAndUpgrading"))
}

/// What is healthy enough to go on but worth saying: the 2016 content
/// index still catching up after the CU.
pub fn health_warnings(state: &ExchangeState, build: ExchangeBuild) -> Vec<String> {
    state
        .copies
        .iter()
        .filter(|c| content_index_catching_up(c, build))
        .map(|c| {
            format!(
                "copy {} content index {} (normal for hours after an Exchange 2016 CU)",
                c.name, c.content_index_state
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

impl Step for Health {
    fn id(&self) -> StepId {
        StepId::Health
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        if ctx.server.is_edge() {
            return super::edge::health(ctx);
        }
        let target = ctx.target.build();
        let mut last = Vec::new();
        let mut warnings = Vec::new();
        let waited = ctx.wait_until(
            "waiting for every health check to pass",
            ctx.plan.policy.timeouts.health,
            |ctx| {
                let observed = (|| -> Result<Vec<String>, StepError> {
                    let tests = if ctx.server.dag.is_none() {
                        super::standalone::health_tests(ctx)?
                    } else {
                        observe::health_tests(&ctx.exchange, ctx.server)?
                    };
                    let state = ctx.exchange_state()?;
                    let build = ctx.build()?;
                    let services: ServiceSetObs = ctx.query(&read_service_set())?;
                    let mut p = health_problems(&tests, &state, build, target, &ctx.plan.policy);
                    p.extend(service_problems(&services));
                    if p.is_empty() {
                        warnings = health_warnings(&state, build);
                    }
                    Ok(p)
                })();
                last = match observed {
                    Ok(p) => p,
                    // A test that cannot even run (store still starting) is
                    // a failing check, not a reason to stop waiting.
                    Err(e) => vec![format!("the health checks could not run: {e}")],
                };
                if last.is_empty() {
                    return Ok(Some(()));
                }
                ctx.events
                    .progress(&format!("{} checks failing", last.len()));
                Ok(None)
            },
        );
        waited.map_err(|e| {
            e.with_context(&format!(
                "Failing: {}. The server is back in service but not healthy; the rollout stops here so no other member goes down. Fix these, then run cu-roll again",
                last.join("; ")
            ))
        })?;
        for w in warnings {
            ctx.events.observed(w)?;
        }
        Ok(StepOutcome::Done {
            detail: format!("{} healthy at {target}", ctx.server.name),
        })
    }

    fn scripts(
        &self,
        _plan: &Plan,
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
        out
    }
}
