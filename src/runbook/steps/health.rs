//! `health` (runbook §5, exchange-facts.md §5): the server may hand over to
//! the next one only when Test-ServiceHealth, Test-MAPIConnectivity and
//! Test-ReplicationHealth all pass, every copy on it is Mounted or Healthy
//! with queues under the policy limits (lagged copies exempt from the
//! replay limit) and its content index Healthy or NotApplicable, every
//! component is Active but those inactive by design, and the build is the
//! target's. It waits up to `timeouts.health` (copies resynchronise after
//! a reboot), then names every failing check. It changes nothing.

use crate::catalog::ExchangeBuild;
use crate::exchange::observe::{self, read_server_facts, run_health_tests};
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

impl Step for Health {
    fn id(&self) -> StepId {
        StepId::Health
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let target = ctx.target.build();
        let mut last = Vec::new();
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
                    Ok(health_problems(
                        &tests,
                        &state,
                        build,
                        target,
                        &ctx.plan.policy,
                    ))
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
        let when = "at every poll until healthy";
        let tests = if server.dag.is_none() {
            super::standalone::run_health_tests(&server.name)
        } else {
            run_health_tests(&server.name)
        };
        let mut out = vec![PlannedCommand::ps(when, &tests)];
        out.extend(PlannedCommand::exchange_state(when, &server.name));
        out.push(PlannedCommand::ps(when, &read_server_facts()));
        out
    }
}
