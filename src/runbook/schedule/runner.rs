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

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::events::{Recorder, StepReports};
use super::order::{choose_order, dag_groups, fingerprint, fingerprint_difference, window_refusal};
use super::outcome::{
    finish, interrupted_before, interrupted_before_step, journal_failure, step_done, step_failed,
    step_interrupted, Shared,
};
use super::{Confirm, Rollout, RolloutError, RolloutOutcome};
use crate::assess::gate::{self, MemberView};
use crate::exchange::observe::StartObservation;
use crate::exchange::{self, ExchangeState};
use crate::journal::{Journal, PlanFingerprint, Record};
use crate::plan::{Redistribute, Server};
use crate::runbook::{
    steps, JournalState, Progress, RunEvent, Step, StepContext, StepError, StepErrorKind, StepId,
    StepOutcome,
};

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
        reach.pins = Some(shared.domain_controllers.clone());
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
            domain_controllers: Default::default(),
        };
        shared.recorder.append(self.run_started(fp, &order))?;
        let everyone: Vec<&Server> = order.iter().filter_map(|n| self.plan.server(n)).collect();
        // Only the selected servers roll; DAG groups keep every member, so
        // a step's peers are the whole DAG.
        let ordered: Vec<&Server> = everyone
            .iter()
            .copied()
            .filter(|s| self.selection.includes(&s.name))
            .collect();
        shared.recorder.emit(RunEvent::Started {
            servers: ordered
                .iter()
                .map(|s| (s.name.clone(), s.dag.clone()))
                .collect(),
            resumed,
        });
        let left_out: Vec<&str> = everyone
            .iter()
            .filter(|s| !self.selection.includes(&s.name))
            .map(|s| s.name.as_str())
            .collect();
        if !left_out.is_empty() {
            shared.recorder.emit(RunEvent::Note {
                server: None,
                message: format!(
                    "not rolled in this run ({}): {}; the gates still count them as DAG members",
                    self.selection.describe(),
                    left_out.join(", ")
                ),
            });
        }
        self.prepare_ad(&ordered, &shared);
        let groups = dag_groups(&everyone);
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

    /// The order chosen when the rollout began, or a fresh choice: from
    /// the pre-flight's reading while fresh, else from a new one.
    fn order(&self, prior: &JournalState) -> Vec<String> {
        if !prior.order.is_empty() {
            return prior.order.clone();
        }
        if let Some(seen) = self.observed.and_then(StartObservation::fresh) {
            return choose_order(self.plan, &seen.states);
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
            only: self.selection.only.clone(),
            exclude: self.selection.exclude.clone(),
        }
    }

    /// Before the first server: Active Directory preparation, once per
    /// rollout, on the first server to be rolled (steps::prepare_ad).
    fn prepare_ad(&self, ordered: &[&Server], shared: &Shared<'_>) {
        // Never on an Edge server: it is in no domain (steps::edge).
        let mailbox: Vec<&Server> = ordered.iter().copied().filter(|s| !s.is_edge()).collect();
        let Some(first) = steps::prepare_ad::preparation_server(
            self.target,
            &self.reach(shared, None),
            &mailbox,
            &shared.state,
        ) else {
            return;
        };
        if let Err(e) = self.run_given(&steps::PrepareAd, first, &[first], shared, false) {
            shared.fail(e);
        }
    }

    /// After the first server reached the target: the domain level its SU
    /// raises, from its installed Setup.exe (steps::prepare_ad_su); with
    /// `prepare_ad = "block"`, the command to run instead.
    fn prepare_ad_after_su(
        &self,
        server: &Server,
        shared: &Shared<'_>,
    ) -> Result<(), RolloutOutcome> {
        // An Edge server's Setup.exe cannot prepare AD: it is in no domain.
        if server.is_edge() {
            return Ok(());
        }
        let reach = self.reach(shared, None);
        if let Some(message) =
            steps::prepare_ad_su::block_note(self.plan, self.target, &reach, server)
        {
            shared.recorder.emit(RunEvent::Note {
                server: Some(server.name.clone()),
                message,
            });
            return Ok(());
        }
        if steps::prepare_ad_su::needed_on(self.plan, self.target, &reach, server)
            || shared.state.server_in_progress(&server.name)
                && shared
                    .state
                    .changes_for(&server.name)
                    .iter()
                    .any(|c| matches!(c, crate::journal::Change::InstallerStarted { step, .. } if step == StepId::PrepareAdSu.id()))
        {
            return self.run_given(&steps::PrepareAdSu, server, &[server], shared, false);
        }
        Ok(())
    }

    /// Rolls one DAG's members in order; stops at the first failure
    /// (anywhere) after finishing nothing half-way it could avoid.
    fn roll_group(&self, group: &[&Server], shared: &Shared<'_>) {
        let mut previous: Option<&Server> = None;
        for server in group {
            if shared.stopped() {
                return;
            }
            if !self.selection.includes(&server.name) {
                continue;
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
            let rolled = group
                .iter()
                .rev()
                .find(|s| self.selection.includes(&s.name));
            if let Some(last) = rolled {
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
            // The window is judged before a server starts, never during
            // one: the server in progress is always finished.
            if let Some(stop) = window_refusal(self.plan, self.clock.wall_ms(), &server.name) {
                return Err(stop);
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
        self.prepare_ad_after_su(server, shared)?;
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
        let exchange = self.reach(shared, Some(&server.name));
        crate::exchange::pin::ensure_chosen(&exchange, server);
        let mut ctx = StepContext {
            plan: self.plan,
            target: self.target,
            server,
            peers,
            exec: self.exec,
            exchange,
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
        // An Edge server: another Edge server of its AD site in service,
        // or the plan announced the downtime (steps::edge).
        if server.is_edge() {
            let reasons =
                crate::runbook::steps::edge_gate(&self.reach(shared, None), self.plan, server);
            if reasons.is_empty() {
                return Ok(());
            }
            return Err(self.refuse(step, server, reasons, shared));
        }
        // In no DAG: no other copy to keep, no member to wait for; the
        // plan acknowledged the downtime (plan::validate::downtime).
        if server.dag.is_none() {
            return Ok(());
        }
        let members: Vec<&Server> = match &server.dag {
            Some(dag) => self.plan.dag_members(dag).collect(),
            None => group.to_vec(),
        };
        let reach = self.reach(shared, None);
        // Quorum as each remaining member sees it (gate::quorum_refusals).
        let quorum_of: Vec<&str> = members
            .iter()
            .filter(|m| !m.name.eq_ignore_ascii_case(&server.name))
            .map(|m| m.name.as_str())
            .collect();
        // One DAG-wide read (observe::dag_state); when it fails, every
        // member is "cannot be checked" with its error, as when each read
        // failed alone.
        let views: Vec<MemberView> =
            match exchange::observe::dag_state(&reach, server, &members, &quorum_of) {
                Ok(seen) => seen
                    .into_iter()
                    .map(|m| MemberView {
                        name: m.name,
                        state: m.state,
                        quorum: m.quorum,
                    })
                    .collect(),
                Err(e) => members
                    .iter()
                    .map(|m| MemberView {
                        name: m.name.clone(),
                        state: Err(e.to_string()),
                        quorum: quorum_of
                            .iter()
                            .any(|q| q.eq_ignore_ascii_case(&m.name))
                            .then(|| Err(e.to_string())),
                    })
                    .collect(),
            };
        // Our own maintenance on this server (a resumed run, or the second
        // gate) is expected: only the others must be in service.
        let Err(reasons) = gate::check(&server.name, &views, &self.plan.policy) else {
            return Ok(());
        };
        Err(self.refuse(step, server, reasons, shared))
    }

    /// The gate's refusal of `step` on `server` for `reasons`: noted,
    /// journaled as the step's failure, and the rollout's outcome.
    fn refuse(
        &self,
        step: StepId,
        server: &Server,
        mut reasons: Vec<String>,
        shared: &Shared<'_>,
    ) -> RolloutOutcome {
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
        RolloutOutcome::GateRefused {
            server: server.name.clone(),
            reasons,
            before_any_change,
        }
    }
}

#[cfg(test)]
mod tests;
