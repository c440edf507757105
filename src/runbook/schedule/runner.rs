//! Drives a rollout: checks a resumed run against the plan it began with,
//! journals the start, runs Active Directory preparation once, then rolls
//! each DAG's members one at a time on a worker of [`crate::pool`] (DAGs
//! side by side up to `max_parallel_dags`), observing the DAG for the
//! availability gate before a server leaves service, and journals every
//! step before and after. The first failure anywhere stops every DAG at
//! its next server. An interrupt (Ctrl-C, SIGTERM, seen through the
//! clock) stops every DAG at a safe point: before its next step, or in a
//! step's wait. Decisions it takes from `order` and `assess::gate`; it
//! spawns no threads of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::events::{Recorder, StepReports};
use super::order::{choose_order, dag_groups, fingerprint, fingerprint_difference};
use super::{Confirm, Rollout, RolloutError, RolloutOutcome};
use crate::assess::gate::{self, MemberView};
use crate::exchange::{self, ExchangeState};
use crate::journal::{Journal, JournalError, PlanFingerprint, Record};
use crate::plan::{Redistribute, Server};
use crate::runbook::{
    steps, JournalState, Progress, RunEvent, Step, StepContext, StepError, StepErrorKind, StepId,
    StepOutcome,
};

/// Shared, lock-protected state of one run.
struct Shared<'p> {
    recorder: Recorder<'p>,
    confirm: Mutex<&'p mut dyn Confirm>,
    stop: AtomicBool,
    outcome: Mutex<Option<RolloutOutcome>>,
    /// What the journal held when this run began.
    state: JournalState,
    /// True once this rollout (this run or an earlier one) changed anything.
    changed_anything: AtomicBool,
    /// Servers between their first step and done (or failed): in cu-roll's
    /// maintenance, so never the Exchange peer of another server.
    rolling: Mutex<Vec<String>>,
}

impl Shared<'_> {
    /// Records the first failure; later ones (other DAGs) are kept out,
    /// except that every DAG's interrupt adds what it leaves running.
    fn fail(&self, outcome: RolloutOutcome) {
        self.stop.store(true, Ordering::SeqCst);
        let mut o = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        match (o.as_mut(), outcome) {
            (None, outcome) => *o = Some(outcome),
            (
                Some(RolloutOutcome::Interrupted { at, still_running }),
                RolloutOutcome::Interrupted {
                    at: later,
                    still_running: more,
                },
            ) => {
                if at.is_none() {
                    *at = later;
                }
                still_running.extend(more);
            }
            _ => {}
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn before_any_change(&self) -> bool {
        !self.changed_anything.load(Ordering::SeqCst)
    }

    fn rolling(&self) -> MutexGuard<'_, Vec<String>> {
        self.rolling.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Rollout<'_> {
    /// How Exchange is reached right now: every plan server a candidate
    /// peer but those being rolled (in cu-roll's maintenance), so a server
    /// in maintenance never serves another's Exchange cmdlets. `own` (a
    /// step's own server) stays in service only when it is the plan's only
    /// server: then it is its own peer (the contract), in maintenance or not.
    fn reach(&self, shared: &Shared<'_>, own: Option<&str>) -> crate::exchange::Reach<'_> {
        let alone = self.plan.servers.len() == 1;
        let mut reach = crate::exchange::Reach::new(self.exec, self.credential, &self.plan.servers);
        reach.out_of_service = shared
            .rolling()
            .iter()
            .filter(|n| !(alone && own.is_some_and(|o| o.eq_ignore_ascii_case(n))))
            .cloned()
            .collect();
        reach
    }

    /// Runs (or resumes) the rollout. The caller holds the plan's lock and
    /// has passed the pre-flight gate for a fresh start.
    pub fn run(
        &self,
        journal: Journal,
        prior: JournalState,
        progress: &mut dyn Progress,
        confirm: &mut dyn Confirm,
    ) -> Result<RolloutOutcome, RolloutError> {
        let started = Instant::now();
        let fp = fingerprint(self.plan, self.target);
        if let Some(old) = &prior.fingerprint {
            if let Some(what) = fingerprint_difference(old, &fp) {
                return Err(RolloutError::PlanChanged {
                    what,
                    journal: journal.path().display().to_string(),
                });
            }
        }
        let resumed = prior.fingerprint.is_some();
        let order = self.order(&prior);
        let shared = Shared {
            recorder: Recorder::new(journal, progress),
            confirm: Mutex::new(confirm),
            stop: AtomicBool::new(false),
            outcome: Mutex::new(None),
            changed_anything: AtomicBool::new(prior.any_change),
            rolling: Mutex::new(Vec::new()),
            state: prior,
        };
        shared.recorder.append(self.run_started(fp, &order))?;
        let ordered: Vec<&Server> = order.iter().filter_map(|n| self.plan.server(n)).collect();
        shared.recorder.emit(RunEvent::Started {
            servers: ordered
                .iter()
                .map(|s| (s.name.clone(), s.dag.clone()))
                .collect(),
            resumed,
        });
        self.prepare_ad(&ordered, &shared);
        let groups = dag_groups(&ordered);
        let workers = self.plan.policy.max_parallel_dags as usize;
        crate::pool::for_each_bounded(&groups, workers, |group| {
            self.roll_group(group, &shared);
        });
        if !shared.stopped() && !self.clock.interrupted() {
            let state = &shared.state;
            if let Some(failed) = super::final_check::check(
                self.target,
                &self.reach(&shared, None),
                &ordered,
                state,
                &shared.recorder,
            ) {
                shared.fail(failed);
            }
        }
        finish(shared, started)
    }

    /// The order chosen when the rollout began, or a fresh choice.
    fn order(&self, prior: &JournalState) -> Vec<String> {
        if !prior.order.is_empty() {
            return prior.order.clone();
        }
        let reach = crate::exchange::Reach::new(self.exec, self.credential, &self.plan.servers);
        let states: Vec<(String, Option<ExchangeState>)> = self
            .plan
            .servers
            .iter()
            .map(|s| (s.name.clone(), exchange::exchange_state(&reach, s).ok()))
            .collect();
        choose_order(self.plan, &states)
    }

    fn run_started(&self, plan: PlanFingerprint, order: &[String]) -> Record {
        Record::RunStarted {
            run_id: self.run_id.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            plan,
            host: std::env::var("COMPUTERNAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            pid: std::process::id(),
            order: order.to_vec(),
        }
    }

    /// Before the first server: Active Directory preparation, once per
    /// rollout, on the first server to be rolled (steps::prepare_ad).
    fn prepare_ad(&self, ordered: &[&Server], shared: &Shared<'_>) {
        let Some(first) = steps::prepare_ad::preparation_server(
            self.target,
            &self.reach(shared, None),
            ordered,
            &shared.state,
        ) else {
            return;
        };
        if let Err(e) = self.run_given(&steps::PrepareAd, first, &[first], shared, false) {
            shared.fail(e);
        }
    }

    /// Rolls one DAG's members in order; stops at the first failure
    /// (anywhere) after finishing nothing half-way it could avoid.
    fn roll_group(&self, group: &[&Server], shared: &Shared<'_>) {
        let mut previous: Option<&Server> = None;
        for server in group {
            if shared.stopped() {
                return;
            }
            if self.clock.interrupted() {
                shared.fail(interrupted_before(None));
                return;
            }
            if shared.state.server_done(&server.name) {
                shared.recorder.emit(RunEvent::ServerSkipped {
                    server: server.name.clone(),
                    reason: "finished in an earlier run".into(),
                });
                continue;
            }
            if let Err(e) = self.roll_server(server, group, previous, shared) {
                shared.fail(e);
                return;
            }
            previous = Some(server);
        }
        if self.plan.policy.redistribute == Redistribute::AtEnd
            && !shared.stopped()
            && !self.clock.interrupted()
        {
            if let Some(last) = group.last() {
                if let Err(e) = self.run_step(StepId::Redistribute, last, group, shared, true) {
                    shared.fail(e);
                }
            }
        }
    }

    fn roll_server(
        &self,
        server: &Server,
        group: &[&Server],
        previous: Option<&Server>,
        shared: &Shared<'_>,
    ) -> Result<(), RolloutOutcome> {
        if !shared.state.server_in_progress(&server.name) {
            if self.skip_if_at_target(server, shared) {
                return Ok(());
            }
            if let Some(done) = previous {
                let go_on = shared
                    .confirm
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .next_server(&done.name, &server.name);
                if !go_on {
                    return Err(RolloutOutcome::Paused {
                        before: server.name.clone(),
                    });
                }
            }
        }
        let start = Instant::now();
        shared.rolling().push(server.name.clone());
        shared.recorder.emit(RunEvent::ServerStarted {
            server: server.name.clone(),
        });
        for step in self.steps {
            let id = step.id();
            if !step.applies(self.plan, self.target) {
                continue;
            }
            if id == StepId::Redistribute && self.plan.policy.redistribute == Redistribute::AtEnd {
                continue;
            }
            if self.clock.interrupted() {
                return Err(interrupted_before_step(shared, server, id));
            }
            self.run_step(id, server, group, shared, false)?;
        }
        shared
            .recorder
            .append(Record::ServerDone {
                server: server.name.clone(),
            })
            .map_err(|e| journal_failure(server, StepId::Health, &e))?;
        shared.rolling().retain(|n| n != &server.name);
        shared.recorder.emit(RunEvent::ServerFinished {
            server: server.name.clone(),
            elapsed: start.elapsed(),
        });
        Ok(())
    }

    /// True (journaled and shown) when `server` is already at the target:
    /// nothing to do on it.
    fn skip_if_at_target(&self, server: &Server, shared: &Shared<'_>) -> bool {
        let Ok(facts) = exchange::server_facts(&self.reach(shared, None), server) else {
            return false;
        };
        let build = facts
            .ex_setup_version
            .as_deref()
            .and_then(|v| v.parse::<crate::catalog::ExchangeBuild>().ok());
        let at_target = build.is_some_and(|b| b >= self.target.build());
        if !at_target {
            return false;
        }
        let reason = format!("already at {} or later", self.target.build());
        let _ = shared.recorder.append(Record::ServerSkipped {
            server: server.name.clone(),
            reason: reason.clone(),
        });
        shared.recorder.emit(RunEvent::ServerSkipped {
            server: server.name.clone(),
            reason,
        });
        true
    }

    fn run_step(
        &self,
        id: StepId,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
        dag_wide: bool,
    ) -> Result<(), RolloutOutcome> {
        let step = self
            .steps
            .iter()
            .find(|s| s.id() == id)
            .expect("step is registered");
        self.run_given(step.as_ref(), server, group, shared, dag_wide)
    }

    /// Runs `step` on `server`, journaled; `run_step` for a registered step.
    fn run_given(
        &self,
        step: &dyn Step,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
        dag_wide: bool,
    ) -> Result<(), RolloutOutcome> {
        let id = step.id();
        if shared.state.step_done(&server.name, id.id()) && !dag_wide {
            shared.recorder.emit(RunEvent::StepSkipped {
                server: server.name.clone(),
                step: id,
                reason: "done in an earlier run".into(),
            });
            return Ok(());
        }
        // A reboot cu-roll already asked for (journaled before it was
        // sent) passed its gate then: the server is down by cu-roll's own
        // hand, in progress, and the step waits for it to come back.
        if matches!(id, StepId::EnterMaintenance | StepId::RebootBeforeSetup)
            && !shared.state.reboot_requested(&server.name, id.id())
        {
            self.gate(id, server, group, shared)?;
        }
        shared
            .recorder
            .append(Record::StepStarted {
                server: server.name.clone(),
                step: id.id().into(),
            })
            .map_err(|e| journal_failure(server, id, &e))?;
        shared.recorder.emit(RunEvent::StepStarted {
            server: server.name.clone(),
            step: id,
        });
        let started = Instant::now();
        match self.run_in_context(step, server, group, shared) {
            Ok(outcome) => step_done(shared, server, id, &outcome, started),
            Err(err) if err.kind == StepErrorKind::Interrupted => {
                Err(step_interrupted(shared, server, id, err))
            }
            Err(err) => Err(step_failed(shared, server, id, err, started)),
        }
    }

    /// Builds the step's context (peers, what cu-roll changed on the server
    /// so far, the journaling adapter) and runs the step.
    fn run_in_context(
        &self,
        step: &dyn Step,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
    ) -> Result<StepOutcome, StepError> {
        let peers: Vec<&Server> = group
            .iter()
            .copied()
            .filter(|p| p.name != server.name)
            .collect();
        let mut prior_changes = shared.state.changes_for(&server.name);
        prior_changes.extend(shared.recorder.changes_this_run(&server.name));
        let mut events = StepReports {
            recorder: &shared.recorder,
            server: server.name.clone(),
            step: step.id(),
            changed_anything: &shared.changed_anything,
        };
        let mut ctx = StepContext {
            plan: self.plan,
            target: self.target,
            server,
            peers,
            exec: self.exec,
            exchange: self.reach(shared, Some(&server.name)),
            clock: self.clock,
            events: &mut events,
            prior_changes,
            observed_before: shared
                .state
                .baseline(&server.name)
                .or_else(|| shared.recorder.baseline_this_run(&server.name)),
        };
        step.run(&mut ctx)
    }

    /// Observes every member of the DAG and checks the availability gate.
    fn gate(
        &self,
        step: StepId,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
    ) -> Result<(), RolloutOutcome> {
        let members: Vec<&Server> = match &server.dag {
            Some(dag) => self.plan.dag_members(dag).collect(),
            None => group.to_vec(),
        };
        let reach = self.reach(shared, None);
        let views: Vec<MemberView> = members
            .iter()
            .map(|m| MemberView {
                name: m.name.clone(),
                state: exchange::exchange_state(&reach, m).map_err(|e| e.to_string()),
                // Quorum as each remaining member sees it (gate::quorum_refusals).
                quorum: server
                    .dag
                    .as_deref()
                    .filter(|_| !m.name.eq_ignore_ascii_case(&server.name))
                    .map(|dag| {
                        exchange::observe::quorum(&reach, m, dag).map_err(|e| e.to_string())
                    }),
            })
            .collect();
        // Our own maintenance on this server (a resumed run, or the second
        // gate) is expected: only the others must be in service.
        let Err(mut reasons) = gate::check(&server.name, &views, &self.plan.policy) else {
            return Ok(());
        };
        let mut own = shared.state.changes_for(&server.name);
        own.extend(shared.recorder.changes_this_run(&server.name));
        reasons.extend(crate::assess::service::own_maintenance_note(
            &server.name,
            &own,
        ));
        let before_any_change = shared.before_any_change();
        for r in &reasons {
            shared.recorder.emit(RunEvent::Note {
                server: Some(server.name.clone()),
                message: format!("gate: {r}"),
            });
        }
        // Journaled as the guarded step's failure, so `status` shows where
        // the rollout stands and why.
        let _ = shared.recorder.append(Record::StepFailed {
            server: server.name.clone(),
            step: step.id().into(),
            error: format!("gate refused: {}", reasons.join("; ")),
        });
        Err(RolloutOutcome::GateRefused {
            server: server.name.clone(),
            reasons,
            before_any_change,
        })
    }
}

/// Journals and shows a step that ended well.
fn step_done(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    outcome: &StepOutcome,
    started: Instant,
) -> Result<(), RolloutOutcome> {
    let already_done = matches!(outcome, StepOutcome::AlreadyDone { .. });
    shared
        .recorder
        .append(Record::StepDone {
            server: server.name.clone(),
            step: id.id().into(),
            already_done,
            detail: outcome.detail().to_string(),
        })
        .map_err(|e| journal_failure(server, id, &e))?;
    shared.recorder.emit(RunEvent::StepFinished {
        server: server.name.clone(),
        step: id,
        already_done,
        detail: outcome.detail().to_string(),
        elapsed: started.elapsed(),
    });
    Ok(())
}

/// Journals and shows a failed step; what the rollout ends with.
fn step_failed(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    err: StepError,
    started: Instant,
) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::StepFailed {
        server: server.name.clone(),
        step: id.id().into(),
        error: err.message.clone(),
    });
    shared.recorder.emit(RunEvent::StepFailed {
        server: server.name.clone(),
        step: id,
        error: err.message.clone(),
        elapsed: started.elapsed(),
    });
    if err.kind == StepErrorKind::GateRefused {
        RolloutOutcome::GateRefused {
            server: server.name.clone(),
            reasons: vec![err.message],
            before_any_change: shared.before_any_change(),
        }
    } else {
        RolloutOutcome::StepFailed {
            server: server.name.clone(),
            step: id,
            error: err.message,
        }
    }
}

/// Stopped by an interrupt before the next server: nothing runs on a
/// server on cu-roll's behalf.
fn interrupted_before(at: Option<(String, StepId)>) -> RolloutOutcome {
    RolloutOutcome::Interrupted {
        at,
        still_running: Vec::new(),
    }
}

/// Stopped by an interrupt between two steps of a server: journaled, so
/// the journal says where the run stopped; nothing was started for `id`.
fn interrupted_before_step(shared: &Shared<'_>, server: &Server, id: StepId) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::Observed {
        server: server.name.clone(),
        step: id.id().into(),
        what: format!(
            "interrupted before this step began: nothing was started for it on {}",
            server.name
        ),
    });
    interrupted_before(Some((server.name.clone(), id)))
}

/// Journals a step stopped by an interrupt in a wait. It is not a failure:
/// the step stays in progress, and a resumed run picks it up where its
/// observations say it stands (an installer is re-attached to).
fn step_interrupted(
    shared: &Shared<'_>,
    server: &Server,
    id: StepId,
    err: StepError,
) -> RolloutOutcome {
    let _ = shared.recorder.append(Record::Observed {
        server: server.name.clone(),
        step: id.id().into(),
        what: err.message.clone(),
    });
    shared.recorder.emit(RunEvent::Note {
        server: Some(server.name.clone()),
        message: err.message.clone(),
    });
    RolloutOutcome::Interrupted {
        at: Some((server.name.clone(), id)),
        still_running: vec![err.message],
    }
}

/// Journals how the run ended and shows it; the run's outcome.
fn finish(shared: Shared<'_>, started: Instant) -> Result<RolloutOutcome, RolloutError> {
    let outcome = shared
        .outcome
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .unwrap_or(RolloutOutcome::Done);
    let (ok, message, label) = summary(&outcome);
    shared.recorder.finish(
        Record::RunFinished {
            outcome: label.to_string(),
        },
        RunEvent::Finished {
            ok,
            message,
            elapsed: started.elapsed(),
        },
    )?;
    Ok(outcome)
}

/// Whether the run ended well, its last line, and its journal label.
fn summary(outcome: &RolloutOutcome) -> (bool, String, &'static str) {
    match outcome {
        RolloutOutcome::Done => (true, "every server is at the target".to_string(), "done"),
        // The failure's whole text is printed once, at the end of the run
        // (and is in the journal and the log); this line only names it.
        RolloutOutcome::StepFailed { server, step, .. } => {
            (false, format!("{server} {step} failed"), "step-failed")
        }
        RolloutOutcome::GateRefused { server, .. } => (
            false,
            format!("the gate refused to take {server} out of service"),
            "gate-refused",
        ),
        RolloutOutcome::Paused { before } => (
            false,
            format!("stopped before {before} at your request"),
            "paused",
        ),
        RolloutOutcome::Interrupted { at, still_running } => {
            let place = match at {
                Some((server, step)) => format!(" during {server} {step}"),
                None => " before the next server".to_string(),
            };
            let running = if still_running.is_empty() {
                String::new()
            } else {
                format!(": {}", still_running.join("; "))
            };
            (false, format!("interrupted{place}{running}"), "interrupted")
        }
    }
}

fn journal_failure(server: &Server, step: StepId, e: &JournalError) -> RolloutOutcome {
    RolloutOutcome::StepFailed {
        server: server.name.clone(),
        step,
        error: format!("journal: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;
    use crate::exec::{ExecError, ExecOutput, Executor};
    use crate::journal::Change;
    use crate::plan::Plan;
    use crate::plan::ResolvedTarget;
    use crate::runbook::{PlannedCommand, SystemClock};

    /// Every server is unreachable: the runner then orders by plan, finds
    /// no server at the target and no AD preparation to run, and a gate
    /// cannot see the DAG.
    struct Unreachable;

    impl Executor for Unreachable {
        fn run_ps(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            Err(ExecError::Unreachable {
                server: server.name.clone(),
                detail: "test".into(),
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
        fn run_cmd(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
            self.run_ps(server, script)
        }
    }

    type Body = dyn Fn(&mut StepContext<'_>) -> Result<StepOutcome, StepError> + Send + Sync;

    /// A step that does what its body says.
    struct FakeStep {
        id: StepId,
        body: Box<Body>,
    }

    impl Step for FakeStep {
        fn id(&self) -> StepId {
            self.id
        }
        fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
            (self.body)(ctx)
        }
        fn scripts(
            &self,
            _: &Plan,
            _: &ResolvedTarget,
            _: &Server,
            _: &[&Server],
        ) -> Vec<PlannedCommand> {
            Vec::new()
        }
    }

    /// Steps that journal one change each and succeed, except on `fails_on`.
    fn steps(ids: &[StepId], fails_on: Option<&'static str>) -> Vec<Box<dyn Step>> {
        ids.iter()
            .map(|&id| {
                let body = move |ctx: &mut StepContext<'_>| {
                    if fails_on == Some(ctx.server.name.as_str()) {
                        return Err(StepError::failed(format!("{id} broke")));
                    }
                    ctx.events.changed(Change::ServiceRestarted {
                        service: id.id().into(),
                    })?;
                    Ok(StepOutcome::Done {
                        detail: "fine".into(),
                    })
                };
                Box::new(FakeStep {
                    id,
                    body: Box::new(body),
                }) as Box<dyn Step>
            })
            .collect()
    }

    #[derive(Default)]
    struct Shown(Vec<RunEvent>);

    impl Progress for Shown {
        fn event(&mut self, event: &RunEvent) {
            self.0.push(event.clone());
        }
    }

    struct Fixture {
        plan: Plan,
        target: ResolvedTarget,
        dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let mut plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        plan.policy.redistribute = Redistribute::AfterEach;
        let target =
            crate::plan::resolve_target(&plan, crate::catalog::Catalog::embedded()).unwrap();
        Fixture {
            plan,
            target,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    impl Fixture {
        /// Runs (or resumes, from the journal in `dir`) with `steps`.
        fn run(
            &self,
            exec: &dyn Executor,
            steps: &[Box<dyn Step>],
        ) -> (Result<RolloutOutcome, RolloutError>, Vec<RunEvent>) {
            self.run_on(exec, steps, &SystemClock)
        }

        fn run_on(
            &self,
            exec: &dyn Executor,
            steps: &[Box<dyn Step>],
            clock: &dyn crate::runbook::Clock,
        ) -> (Result<RolloutOutcome, RolloutError>, Vec<RunEvent>) {
            let (journal, loaded) = Journal::open(self.dir.path()).unwrap();
            let credential = crate::exchange::Credential {
                user: "lab\\admin".into(),
                secret: crate::plan::Secret::new("lab-only-password".into()),
            };
            let rollout = Rollout {
                plan: &self.plan,
                target: &self.target,
                exec,
                credential: &credential,
                steps,
                clock,
                run_id: "test".into(),
            };
            let mut shown = Shown::default();
            let outcome = rollout.run(
                journal,
                JournalState::from_entries(&loaded.entries),
                &mut shown,
                &mut crate::runbook::schedule::AlwaysYes,
            );
            (outcome, shown.0)
        }

        /// The journal, one `event server step` line per record.
        fn trail(&self) -> Vec<String> {
            let path = Journal::path_in(self.dir.path());
            Journal::load(&path)
                .unwrap()
                .entries
                .iter()
                .map(|e| {
                    let v = serde_json::to_value(&e.record).unwrap();
                    ["event", "server", "step", "outcome"]
                        .iter()
                        .filter_map(|k| v.get(*k).and_then(|s| s.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        }
    }

    #[test]
    fn every_step_is_journaled_before_and_after_with_its_changes_server_by_server() {
        let f = fixture();
        let (outcome, shown) = f.run(&Unreachable, &steps(&[StepId::Setup], None));
        assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
        let mut expected = vec!["run-started".to_string()];
        for s in ["EX01", "EX02", "EX03"] {
            expected.extend([
                format!("step-started {s} setup"),
                format!("changed {s} setup"),
                format!("step-done {s} setup"),
                format!("server-done {s}"),
            ]);
        }
        expected.push("run-finished done".into());
        assert_eq!(f.trail(), expected);
        assert!(
            matches!(shown.last(), Some(RunEvent::Finished { ok: true, .. })),
            "{shown:?}"
        );
    }

    /// Ctrl-C while EX01's first step runs: the run stops before the
    /// next step, journals where (an `observed` record at EX01 setup, then
    /// `run-finished interrupted`), and a resume picks up at that step.
    #[test]
    fn an_interrupt_stops_before_the_next_step_and_the_journal_says_where() {
        use std::sync::Arc;
        let f = fixture();
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let backup = FakeStep {
            id: StepId::BackupConfig,
            body: Box::new(move |_| {
                set.store(true, Ordering::SeqCst);
                Ok(StepOutcome::Done {
                    detail: "fine".into(),
                })
            }),
        };
        let setup = steps(&[StepId::Setup], None).pop().unwrap();
        let both: Vec<Box<dyn Step>> = vec![Box::new(backup), setup];
        let clock = super::super::InterruptibleClock::new(flag);
        let (outcome, _) = f.run_on(&Unreachable, &both, &clock);
        assert_eq!(
            outcome.unwrap(),
            RolloutOutcome::Interrupted {
                at: Some(("EX01".into(), StepId::Setup)),
                still_running: Vec::new(),
            }
        );
        let trail = f.trail();
        assert_eq!(
            trail[trail.len() - 3..],
            [
                "step-done EX01 backup-config",
                "observed EX01 setup",
                "run-finished interrupted"
            ]
        );
        let (outcome, _) = f.run(&Unreachable, &steps(&[StepId::Setup], None));
        assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
        assert_eq!(f.trail()[trail.len() + 1], "step-started EX01 setup");
    }

    #[test]
    fn the_first_failure_stops_the_rollout_and_a_resume_repeats_nothing_done() {
        let f = fixture();
        let ids = [StepId::BackupConfig, StepId::Setup];
        let (outcome, _) = f.run(&Unreachable, &steps(&ids, Some("EX02")));
        assert_eq!(
            outcome.unwrap(),
            RolloutOutcome::StepFailed {
                server: "EX02".into(),
                step: StepId::BackupConfig,
                error: "backup-config broke".into(),
            }
        );
        let trail = f.trail();
        assert!(!trail.iter().any(|l| l.contains("EX03")), "{trail:#?}");
        assert_eq!(trail.last().unwrap(), "run-finished step-failed");

        let (outcome, shown) = f.run(&Unreachable, &steps(&ids, None));
        assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
        let resumed = &f.trail()[trail.len()..];
        assert_eq!(resumed[0], "run-started");
        assert!(
            !resumed.iter().any(|l| l.contains("EX01")),
            "EX01 finished in the first run: {resumed:#?}"
        );
        assert_eq!(resumed[1], "step-started EX02 backup-config");
        assert!(
            shown.contains(&RunEvent::ServerSkipped {
                server: "EX01".into(),
                reason: "finished in an earlier run".into(),
            }),
            "{shown:#?}"
        );
    }

    /// The gate guards enter-maintenance: an unreadable DAG shuts it, and
    /// since nothing was changed yet the refusal says so (exit 3).
    #[test]
    fn a_gate_that_cannot_see_the_dag_refuses_before_any_change() {
        let f = fixture();
        let (outcome, _) = f.run(&Unreachable, &steps(&[StepId::EnterMaintenance], None));
        let RolloutOutcome::GateRefused {
            server,
            reasons,
            before_any_change,
        } = outcome.unwrap()
        else {
            panic!("the gate should refuse");
        };
        assert_eq!(server, "EX01");
        assert!(before_any_change);
        assert!(
            reasons.iter().any(|r| r.contains("EX02 cannot be checked")),
            "{reasons:?}"
        );
        assert_eq!(
            f.trail(),
            [
                "run-started",
                "step-failed EX01 enter-maintenance",
                "run-finished gate-refused"
            ]
        );
    }

    #[test]
    fn a_resume_with_a_changed_plan_is_refused_before_anything_runs() {
        let mut f = fixture();
        let ids = [StepId::Setup];
        f.run(&Unreachable, &steps(&ids, Some("EX01"))).0.unwrap();
        let before = f.trail();
        f.plan.servers.pop();
        let (outcome, shown) = f.run(&Unreachable, &steps(&ids, None));
        let err = outcome.unwrap_err().to_string();
        assert!(
            err.contains("servers were [EX01@DAG01, EX02@DAG01, EX03@DAG01]"),
            "{err}"
        );
        assert_eq!(f.trail(), before);
        assert!(shown.is_empty(), "{shown:?}");
    }

    #[test]
    fn dags_roll_side_by_side_up_to_max_parallel_dags() {
        let mut f = fixture();
        f.plan.servers.truncate(2);
        f.plan.servers[1].dag = Some("DAG02".into());
        f.plan.policy.max_parallel_dags = 2;
        // Setup returns only when a member of each DAG is in it at the
        // same time: the runner really rolls the two DAGs side by side.
        let inside = AtomicUsize::new(0);
        let meet = move |_: &mut StepContext<'_>| {
            inside.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(10);
            while inside.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if inside.load(Ordering::SeqCst) >= 2 {
                Ok(StepOutcome::Done {
                    detail: "met".into(),
                })
            } else {
                Err(StepError::failed("the other DAG never came"))
            }
        };
        let steps: Vec<Box<dyn Step>> = vec![Box::new(FakeStep {
            id: StepId::Setup,
            body: Box::new(meet),
        })];
        let (outcome, _) = f.run(&Unreachable, &steps);
        assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
    }
}
