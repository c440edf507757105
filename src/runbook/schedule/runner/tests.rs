//! The runner's tests: fake steps on an unreachable DAG, the journal
//! they leave, interrupts, failures, resumes, windows and selections.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    selection: crate::plan::Selection,
    observed: Option<crate::exchange::observe::StartObservation>,
}

fn fixture() -> Fixture {
    let mut plan = crate::plan::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/lab.toml"
    )))
    .unwrap();
    plan.policy.redistribute = Redistribute::AfterEach;
    let target = crate::plan::resolve_target(&plan, crate::catalog::Catalog::embedded()).unwrap();
    Fixture {
        plan,
        target,
        dir: tempfile::tempdir().unwrap(),
        selection: crate::plan::Selection::all(),
        observed: None,
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
            selection: self.selection.clone(),
            observed: self.observed.as_ref(),
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
    let f = fixture();
    let flag = crate::runtime::Cancel::new();
    let set = flag.clone();
    let backup = FakeStep {
        id: StepId::BackupConfig,
        body: Box::new(move |_| {
            set.cancel();
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

/// `not_after`: EX01's roll fits the window and runs to its end even
/// though it ends near the window's end; EX02's estimated roll would
/// end after it, so EX02 is not started (journaled `window-reached`,
/// exit 6). With a later window, the same journal resumes at EX02.
#[test]
fn the_window_finishes_the_server_in_progress_and_starts_none_that_would_overrun() {
    use std::sync::atomic::AtomicI64;
    use std::sync::Arc;
    let mut f = fixture();
    let start = crate::runbook::system_wall_ms();
    let window = |after_min: i64| crate::plan::WindowEnd {
        text: format!("start+{after_min}m"),
        unix_ms: start + after_min * 60_000,
    };
    f.plan.policy.not_after = Some(window(90));
    f.plan.policy.server_estimate = Some(Duration::from_secs(3600));
    // Each server's roll takes 40 minutes of the window's clock.
    let ahead = Arc::new(AtomicI64::new(0));
    let moved = ahead.clone();
    let setup = FakeStep {
        id: StepId::Setup,
        body: Box::new(move |_| {
            moved.fetch_add(40 * 60_000, Ordering::SeqCst);
            Ok(StepOutcome::Done {
                detail: "fine".into(),
            })
        }),
    };
    let steps: Vec<Box<dyn Step>> = vec![Box::new(setup)];
    let read = ahead.clone();
    let clock = super::super::InterruptibleClock::new(crate::runtime::Cancel::new())
        .with_wall_offset(Some(Box::new(move || read.load(Ordering::SeqCst))));
    let (outcome, _) = f.run_on(&Unreachable, &steps, &clock);
    assert_eq!(
        outcome.unwrap(),
        RolloutOutcome::WindowReached {
            before: "EX02".into(),
            not_after: "start+90m".into(),
            estimate: Duration::from_secs(3600),
        }
    );
    let trail = f.trail();
    assert_eq!(
        trail,
        [
            "run-started",
            "step-started EX01 setup",
            "step-done EX01 setup",
            "server-done EX01",
            "run-finished window-reached"
        ]
    );
    // The next window: a later not_after resumes where it stopped.
    f.plan.policy.not_after = Some(window(24 * 60));
    let (outcome, _) = f.run_on(&Unreachable, &steps, &clock);
    assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
    let resumed = &f.trail()[trail.len()..];
    assert_eq!(resumed[1], "step-started EX02 setup", "{resumed:#?}");
}

/// `--exclude EX02`: EX02 rolls not, yet it stays EX01's and EX03's
/// peer (the steps and the gates see the whole DAG), and the journal
/// records the selection for a resumed run.
#[test]
fn an_excluded_server_is_not_rolled_but_stays_a_peer_and_the_selection_is_journaled() {
    let mut f = fixture();
    f.selection = crate::plan::Selection::resolve(&f.plan, &[], &["ex02".into()]).unwrap();
    let peers_seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = peers_seen.clone();
    let setup = FakeStep {
        id: StepId::Setup,
        body: Box::new(move |ctx| {
            let peers: Vec<String> = ctx.peers.iter().map(|p| p.name.clone()).collect();
            seen.lock().unwrap().push((ctx.server.name.clone(), peers));
            Ok(StepOutcome::Done {
                detail: "fine".into(),
            })
        }),
    };
    let (outcome, shown) = f.run(&Unreachable, &[Box::new(setup) as Box<dyn Step>]);
    assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
    assert_eq!(
        *peers_seen.lock().unwrap(),
        [
            (
                "EX01".to_string(),
                vec!["EX02".to_string(), "EX03".to_string()]
            ),
            (
                "EX03".to_string(),
                vec!["EX01".to_string(), "EX02".to_string()]
            ),
        ]
    );
    assert!(
        !f.trail().iter().any(|l| l.contains("EX02")),
        "{:#?}",
        f.trail()
    );
    assert!(
        shown
            .iter()
            .any(|e| matches!(e, RunEvent::Note { message, .. }
            if message.starts_with("not rolled in this run (--exclude EX02): EX02"))),
        "{shown:#?}"
    );
    let journal = Journal::load(&Journal::path_in(f.dir.path())).unwrap();
    let state = JournalState::from_entries(&journal.entries);
    assert_eq!(
        (state.only.len(), state.exclude.as_slice()),
        (0, ["EX02".to_string()].as_slice())
    );
}

/// A state with `actives` active copies, as the pre-flight read it.
fn with_actives(actives: usize) -> Option<ExchangeState> {
    let copies: Vec<serde_json::Value> = (0..actives)
        .map(|i| {
            serde_json::json!({"Name": format!("DB0{i}\\X"), "DatabaseName": format!("DB0{i}"),
                "MailboxServer": "X", "Status": "Mounted", "ActiveCopy": true,
                "ActivationPreference": 1, "CopyQueueLength": 0, "ReplayQueueLength": 0,
                "ContentIndexState": "Healthy"})
        })
        .collect();
    Some(
        serde_json::from_value(
            serde_json::json!({"Components": [], "ActivationPolicy": "Unrestricted",
            "ActivationDisabledAndMoveNow": false, "DatabaseAvailabilityGroup": "DAG01",
            "ClusterNodeState": "Up", "Copies": copies}),
        )
        .unwrap(),
    )
}

/// The run starts from the pre-flight's reading while it is fresh (issue
/// 13): the order follows it though the servers no longer answer; a stale
/// one is read again (here: nobody answers, so plan order).
#[test]
fn the_order_comes_from_a_fresh_preflight_reading_and_a_stale_one_is_read_again() {
    use crate::exchange::observe::StartObservation;
    let states = vec![
        ("EX01".to_string(), with_actives(2)),
        ("EX02".to_string(), with_actives(0)),
        ("EX03".to_string(), with_actives(1)),
    ];
    let order_of = |taken: std::time::Instant| {
        let mut f = fixture();
        f.observed = Some(StartObservation::new(taken, states.clone(), vec![]));
        let (outcome, _) = f.run(&Unreachable, &steps(&[StepId::Setup], None));
        assert_eq!(outcome.unwrap(), RolloutOutcome::Done);
        f.trail()
            .iter()
            .filter_map(|l| l.strip_prefix("server-done ").map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order_of(std::time::Instant::now()),
        ["EX02", "EX03", "EX01"]
    );
    let stale = std::time::Instant::now()
        .checked_sub(StartObservation::FRESH + Duration::from_secs(1))
        .unwrap();
    assert_eq!(order_of(stale), ["EX01", "EX02", "EX03"]);
}
