//! The rolling scheduler: one member at a time per DAG (DAGs in parallel up
//! to `max_parallel_dags`), each server through the runbook's steps, every
//! step journaled before and after, gates before a server is taken out of
//! service and again right before the irreversible part. A resumed run
//! replays the journal: finished steps are not repeated, an interrupted
//! step runs its observe → decide loop again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::events::{Progress, RunEvent};
use super::progress_state::JournalState;
use super::step::{Clock, Step, StepContext, StepError, StepErrorKind, StepEvents, StepId};
use crate::assess::gate::{self, MemberView};
use crate::exchange::{self, ExchangeState};
use crate::exec::Executor;
use crate::journal::{Change, Journal, JournalError, PlanFingerprint, Record};
use crate::plan::{Order, Plan, Redistribute, Server};
use crate::preflight::ResolvedTarget;

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// Every server is at the target and healthy.
    Done,
    /// A step failed; the journal says where; running again resumes.
    StepFailed {
        server: String,
        step: StepId,
        error: String,
    },
    /// A gate refused. `before_any_change` is true when cu-roll has changed
    /// nothing at all in this rollout yet (exit 3), false mid-rollout (exit 1).
    GateRefused {
        server: String,
        reasons: Vec<String>,
        before_any_change: bool,
    },
    /// The user declined to go on at a `pause_between` prompt.
    Paused { before: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the plan changed since this rollout began ({what}); finish it with the plan it started with, or move {journal} aside to start a new rollout")]
    PlanChanged { what: String, journal: String },
}

/// Asks whether to go on to the next server (`pause_between`).
pub trait Confirm: Send {
    /// True to go on.
    fn next_server(&mut self, done: &str, next: &str) -> bool;
}

/// Never asks: `--yes`, or `pause_between = false`.
pub struct AlwaysYes;

impl Confirm for AlwaysYes {
    fn next_server(&mut self, _: &str, _: &str) -> bool {
        true
    }
}

/// Everything the scheduler works with.
pub struct Rollout<'a> {
    pub plan: &'a Plan,
    pub target: &'a ResolvedTarget,
    pub exec: &'a dyn Executor,
    pub steps: &'a [Box<dyn Step>],
    pub clock: &'a dyn Clock,
    pub run_id: String,
}

/// The plan as the journal fingerprints it.
pub fn fingerprint(plan: &Plan, target: &ResolvedTarget) -> PlanFingerprint {
    PlanFingerprint {
        servers: plan
            .servers
            .iter()
            .map(|s| format!("{}@{}", s.name, s.dag.as_deref().unwrap_or("-")))
            .collect(),
        target_build: target.build().to_string(),
        target_name: target.name(),
    }
}

/// What changed between two fingerprints, in words.
fn fingerprint_difference(old: &PlanFingerprint, new: &PlanFingerprint) -> Option<String> {
    let mut diffs = Vec::new();
    if old.target_build != new.target_build {
        diffs.push(format!(
            "target was {} ({}), now {} ({})",
            old.target_name, old.target_build, new.target_name, new.target_build
        ));
    }
    if old.servers != new.servers {
        diffs.push(format!(
            "servers were [{}], now [{}]",
            old.servers.join(", "),
            new.servers.join(", ")
        ));
    }
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

/// The servers in the order they will be rolled: plan order, or fewest
/// active databases first (passive-first), ties kept in plan order.
pub fn choose_order(plan: &Plan, states: &[(String, Option<ExchangeState>)]) -> Vec<String> {
    let mut servers: Vec<(usize, &Server)> = plan.servers.iter().enumerate().collect();
    if plan.policy.order == Order::PassiveFirst {
        let actives = |name: &str| {
            states
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, s)| s.as_ref())
                .map_or(usize::MAX, |s| {
                    s.copies.iter().filter(|c| c.active_copy).count()
                })
        };
        servers.sort_by_key(|(i, s)| (actives(&s.name), *i));
    }
    servers.into_iter().map(|(_, s)| s.name.clone()).collect()
}

/// Shared, lock-protected state of one run.
struct Shared<'p> {
    journal: Mutex<Journal>,
    progress: Mutex<&'p mut dyn Progress>,
    confirm: Mutex<&'p mut dyn Confirm>,
    stop: AtomicBool,
    outcome: Mutex<Option<RolloutOutcome>>,
    /// What the journal held when this run began.
    state: JournalState,
    /// Changes made by this run, per server (upper-cased), in order.
    run_changes: Mutex<std::collections::HashMap<String, Vec<Change>>>,
}

impl Shared<'_> {
    fn emit(&self, e: RunEvent) {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .event(&e);
    }

    fn append(&self, r: Record) -> Result<(), JournalError> {
        self.journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .append(r)
            .map(|_| ())
    }

    /// Records the first failure; later ones (other DAGs) are kept out.
    fn fail(&self, outcome: RolloutOutcome) {
        self.stop.store(true, Ordering::SeqCst);
        let mut o = self
            .outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if o.is_none() {
            *o = Some(outcome);
        }
    }
}

/// Journals a step's changes and observations as they happen.
struct Events<'s, 'p> {
    shared: &'s Shared<'p>,
    server: String,
    step: StepId,
    changed_anything: &'s AtomicBool,
}

impl StepEvents for Events<'_, '_> {
    fn changed(&mut self, change: Change) -> Result<(), StepError> {
        self.changed_anything.store(true, Ordering::SeqCst);
        self.shared
            .append(Record::Changed {
                server: self.server.clone(),
                step: self.step.id().into(),
                change: change.clone(),
            })
            .map_err(|e| {
                StepError::failed(format!("the journal could not record a change: {e}"))
            })?;
        self.shared
            .run_changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(self.server.to_ascii_uppercase())
            .or_default()
            .push(change);
        Ok(())
    }

    fn observed(&mut self, what: String) -> Result<(), StepError> {
        self.shared.emit(RunEvent::Note {
            server: Some(self.server.clone()),
            message: what.clone(),
        });
        self.shared
            .append(Record::Observed {
                server: self.server.clone(),
                step: self.step.id().into(),
                what,
            })
            .map_err(|e| {
                StepError::failed(format!("the journal could not record an observation: {e}"))
            })
    }

    fn progress(&mut self, message: &str) {
        self.shared.emit(RunEvent::StepProgress {
            server: self.server.clone(),
            step: self.step,
            message: message.to_string(),
        });
    }
}

impl Rollout<'_> {
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
        let order = if prior.order.is_empty() {
            let states: Vec<(String, Option<ExchangeState>)> = self
                .plan
                .servers
                .iter()
                .map(|s| (s.name.clone(), exchange::exchange_state(self.exec, s).ok()))
                .collect();
            choose_order(self.plan, &states)
        } else {
            prior.order.clone()
        };
        let shared = Shared {
            journal: Mutex::new(journal),
            progress: Mutex::new(progress),
            confirm: Mutex::new(confirm),
            stop: AtomicBool::new(false),
            outcome: Mutex::new(None),
            state: prior,
            run_changes: Mutex::new(std::collections::HashMap::new()),
        };
        shared.append(Record::RunStarted {
            run_id: self.run_id.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            plan: fp,
            host: std::env::var("COMPUTERNAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            pid: std::process::id(),
            order: order.clone(),
        })?;
        let ordered: Vec<&Server> = order.iter().filter_map(|n| self.plan.server(n)).collect();
        shared.emit(RunEvent::Started {
            servers: ordered
                .iter()
                .map(|s| (s.name.clone(), s.dag.clone()))
                .collect(),
            resumed,
        });

        // Group by DAG (standalone servers each form their own group).
        let mut groups: Vec<Vec<&Server>> = Vec::new();
        for s in &ordered {
            match groups
                .iter_mut()
                .find(|g| g[0].dag.is_some() && g[0].dag == s.dag)
            {
                Some(g) => g.push(s),
                None => groups.push(vec![s]),
            }
        }
        let changed_anything = AtomicBool::new(shared.state.any_change);
        // Before the first server: Active Directory preparation, once per
        // rollout, on the first server to be rolled (steps::prepare_ad).
        if let Some(first) = super::steps::prepare_ad::preparation_server(
            self.target,
            self.exec,
            &ordered,
            &shared.state,
        ) {
            if let Err(e) = self.run_given(
                &super::steps::PrepareAd,
                first,
                &[first],
                &shared,
                &changed_anything,
                false,
            ) {
                shared.fail(e);
            }
        }
        let workers = self.plan.policy.max_parallel_dags as usize;
        crate::pool::for_each_bounded(&groups, workers, |group| {
            self.roll_group(group, &shared, &changed_anything);
        });

        let outcome = shared
            .outcome
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unwrap_or(RolloutOutcome::Done);
        let (ok, message, label) = match &outcome {
            RolloutOutcome::Done => (true, "every server is at the target".to_string(), "done"),
            RolloutOutcome::StepFailed {
                server,
                step,
                error,
            } => (
                false,
                format!("{server} {step} failed: {error}"),
                "step-failed",
            ),
            RolloutOutcome::GateRefused {
                server, reasons, ..
            } => (
                false,
                format!(
                    "gate refused to take {server} out of service: {}",
                    reasons.join("; ")
                ),
                "gate-refused",
            ),
            RolloutOutcome::Paused { before } => (
                false,
                format!("stopped before {before} at your request"),
                "paused",
            ),
        };
        let mut journal = shared
            .journal
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        journal.append(Record::RunFinished {
            outcome: label.to_string(),
        })?;
        shared
            .progress
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .event(&RunEvent::Finished {
                ok,
                message,
                elapsed: started.elapsed(),
            });
        Ok(outcome)
    }

    /// Rolls one DAG's members in order; stops at the first failure
    /// (anywhere) after finishing nothing half-way it could avoid.
    fn roll_group(&self, group: &[&Server], shared: &Shared<'_>, changed_anything: &AtomicBool) {
        let mut previous: Option<&Server> = None;
        for server in group {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            if shared.state.server_done(&server.name) {
                shared.emit(RunEvent::ServerSkipped {
                    server: server.name.clone(),
                    reason: "finished in an earlier run".into(),
                });
                continue;
            }
            if let Err(e) = self.roll_server(server, group, previous, shared, changed_anything) {
                shared.fail(e);
                return;
            }
            previous = Some(server);
        }
        if self.plan.policy.redistribute == Redistribute::AtEnd
            && !shared.stop.load(Ordering::SeqCst)
        {
            if let Some(last) = group.last() {
                if let Err(e) = self.run_step(
                    StepId::Redistribute,
                    last,
                    group,
                    shared,
                    changed_anything,
                    true,
                ) {
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
        changed_anything: &AtomicBool,
    ) -> Result<(), RolloutOutcome> {
        let in_progress = shared.state.server_in_progress(&server.name);
        if !in_progress {
            // Already at the target: nothing to do on this server.
            if let Ok(facts) = exchange::server_facts(self.exec, server) {
                let build = facts
                    .ex_setup_version
                    .as_deref()
                    .and_then(crate::preflight::checks::parse_build);
                if build.is_some_and(|b| b >= self.target.build()) {
                    let reason = format!("already at {} or later", self.target.build());
                    let _ = shared.append(Record::ServerSkipped {
                        server: server.name.clone(),
                        reason: reason.clone(),
                    });
                    shared.emit(RunEvent::ServerSkipped {
                        server: server.name.clone(),
                        reason,
                    });
                    return Ok(());
                }
            }
            if let Some(done) = previous {
                let go_on = shared
                    .confirm
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .next_server(&done.name, &server.name);
                if !go_on {
                    return Err(RolloutOutcome::Paused {
                        before: server.name.clone(),
                    });
                }
            }
        }
        let start = Instant::now();
        shared.emit(RunEvent::ServerStarted {
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
            self.run_step(id, server, group, shared, changed_anything, false)?;
        }
        shared
            .append(Record::ServerDone {
                server: server.name.clone(),
            })
            .map_err(|e| journal_failure(server, StepId::Health, &e))?;
        shared.emit(RunEvent::ServerFinished {
            server: server.name.clone(),
            elapsed: start.elapsed(),
        });
        Ok(())
    }

    fn run_step(
        &self,
        id: StepId,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
        changed_anything: &AtomicBool,
        dag_wide: bool,
    ) -> Result<(), RolloutOutcome> {
        let step = self
            .steps
            .iter()
            .find(|s| s.id() == id)
            .expect("step is registered");
        self.run_given(
            step.as_ref(),
            server,
            group,
            shared,
            changed_anything,
            dag_wide,
        )
    }

    /// Runs `step` on `server`, journaled; `run_step` for a registered step.
    fn run_given(
        &self,
        step: &dyn Step,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
        changed_anything: &AtomicBool,
        dag_wide: bool,
    ) -> Result<(), RolloutOutcome> {
        let id = step.id();
        if shared.state.step_done(&server.name, id.id()) && !dag_wide {
            shared.emit(RunEvent::StepSkipped {
                server: server.name.clone(),
                step: id,
                reason: "done in an earlier run".into(),
            });
            return Ok(());
        }
        if matches!(id, StepId::EnterMaintenance | StepId::RebootBeforeSetup) {
            self.gate(id, server, group, shared, changed_anything)?;
        }
        shared
            .append(Record::StepStarted {
                server: server.name.clone(),
                step: id.id().into(),
            })
            .map_err(|e| journal_failure(server, id, &e))?;
        shared.emit(RunEvent::StepStarted {
            server: server.name.clone(),
            step: id,
        });
        let started = Instant::now();
        let peers: Vec<&Server> = group
            .iter()
            .copied()
            .filter(|p| p.name != server.name)
            .collect();
        let mut prior_changes = shared.state.changes_for(&server.name);
        prior_changes.extend(
            shared
                .run_changes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&server.name.to_ascii_uppercase())
                .cloned()
                .unwrap_or_default(),
        );
        let mut events = Events {
            shared,
            server: server.name.clone(),
            step: id,
            changed_anything,
        };
        let mut ctx = StepContext {
            plan: self.plan,
            target: self.target,
            server,
            peers,
            exec: self.exec,
            clock: self.clock,
            events: &mut events,
            prior_changes,
        };
        match step.run(&mut ctx) {
            Ok(outcome) => {
                let already_done = matches!(outcome, super::StepOutcome::AlreadyDone { .. });
                shared
                    .append(Record::StepDone {
                        server: server.name.clone(),
                        step: id.id().into(),
                        already_done,
                        detail: outcome.detail().to_string(),
                    })
                    .map_err(|e| journal_failure(server, id, &e))?;
                shared.emit(RunEvent::StepFinished {
                    server: server.name.clone(),
                    step: id,
                    already_done,
                    detail: outcome.detail().to_string(),
                    elapsed: started.elapsed(),
                });
                Ok(())
            }
            Err(err) => {
                let _ = shared.append(Record::StepFailed {
                    server: server.name.clone(),
                    step: id.id().into(),
                    error: err.message.clone(),
                });
                shared.emit(RunEvent::StepFailed {
                    server: server.name.clone(),
                    step: id,
                    error: err.message.clone(),
                    elapsed: started.elapsed(),
                });
                Err(if err.kind == StepErrorKind::GateRefused {
                    RolloutOutcome::GateRefused {
                        server: server.name.clone(),
                        reasons: vec![err.message],
                        before_any_change: !changed_anything.load(Ordering::SeqCst),
                    }
                } else {
                    RolloutOutcome::StepFailed {
                        server: server.name.clone(),
                        step: id,
                        error: err.message,
                    }
                })
            }
        }
    }

    /// Observes every member of the DAG and checks the availability gate.
    fn gate(
        &self,
        step: StepId,
        server: &Server,
        group: &[&Server],
        shared: &Shared<'_>,
        changed_anything: &AtomicBool,
    ) -> Result<(), RolloutOutcome> {
        let members: Vec<&Server> = match &server.dag {
            Some(dag) => self.plan.dag_members(dag).collect(),
            None => group.to_vec(),
        };
        let views: Vec<MemberView> = members
            .iter()
            .map(|m| MemberView {
                name: m.name.clone(),
                state: exchange::exchange_state(self.exec, m).map_err(|e| e.to_string()),
            })
            .collect();
        // Our own maintenance on this server (a resumed run, or the second
        // gate) is expected: only the others must be in service.
        match gate::check(&server.name, &views, &self.plan.policy) {
            Ok(()) => Ok(()),
            Err(reasons) => {
                let before_any_change = !changed_anything.load(Ordering::SeqCst);
                for r in &reasons {
                    shared.emit(RunEvent::Note {
                        server: Some(server.name.clone()),
                        message: format!("gate: {r}"),
                    });
                }
                // Journaled as the guarded step's failure, so `status` shows
                // where the rollout stands and why.
                let _ = shared.append(Record::StepFailed {
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
    use super::*;
    use crate::exchange::CopyObs;

    fn plan() -> Plan {
        crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap()
    }

    fn state(actives: usize) -> ExchangeState {
        ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies: (0..actives)
                .map(|i| CopyObs {
                    name: format!("DB0{i}\\X"),
                    database_name: format!("DB0{i}"),
                    mailbox_server: "X".into(),
                    status: "Mounted".into(),
                    active_copy: true,
                    activation_suspended: false,
                    activation_preference: Some(1),
                    copy_queue_length: Some(0),
                    replay_queue_length: Some(0),
                    content_index_state: "NotApplicable".into(),
                    replay_lag_enabled: false,
                })
                .collect(),
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    #[test]
    fn passive_first_rolls_the_fewest_actives_first_keeping_plan_order_on_ties() {
        let plan = plan();
        let states = vec![
            ("EX01".to_string(), Some(state(2))),
            ("EX02".to_string(), Some(state(1))),
            ("EX03".to_string(), Some(state(1))),
        ];
        assert_eq!(choose_order(&plan, &states), ["EX02", "EX03", "EX01"]);
        // A server that could not be read goes last rather than first.
        let states = vec![
            ("EX01".to_string(), Some(state(2))),
            ("EX02".to_string(), None),
            ("EX03".to_string(), Some(state(0))),
        ];
        assert_eq!(choose_order(&plan, &states), ["EX03", "EX01", "EX02"]);
    }

    #[test]
    fn plan_order_is_kept_when_asked() {
        let mut plan = plan();
        plan.policy.order = Order::Plan;
        let states = vec![("EX01".to_string(), Some(state(2)))];
        assert_eq!(choose_order(&plan, &states), ["EX01", "EX02", "EX03"]);
    }

    #[test]
    fn a_changed_target_or_server_list_is_described() {
        let a = PlanFingerprint {
            servers: vec!["EX01@DAG01".into()],
            target_build: "15.2.1748.43".into(),
            target_name: "Exchange Server 2019 CU15 Feb26SU".into(),
        };
        assert_eq!(fingerprint_difference(&a, &a.clone()), None);
        let mut b = a.clone();
        b.target_build = "15.2.1748.42".into();
        b.servers.push("EX02@DAG01".into());
        let d = fingerprint_difference(&a, &b).unwrap();
        assert!(
            d.contains("target was") && d.contains("servers were"),
            "{d}"
        );
    }
}
