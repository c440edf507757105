//! The steps the lab already supports (maintenance in and out, DAG
//! balance), run end to end against the in-process lab over a temporary
//! state directory, with the real clock (the lab's timings are short).
//! Reboots, setup and the SU arrive in the lab separately; their steps
//! are covered by the `FakeExec` tests until then.

use super::testkit::{context, lab_plan, reach, target, Recorder};
use super::*;
use crate::commands::LabExecutor;
use crate::exchange::exchange_state;
use crate::runbook::{StepOutcome, SystemClock};

#[test]
fn maintenance_in_and_out_and_a_balance_on_the_lab() {
    let plan = lab_plan();
    let target = target(&plan);
    let dir = tempfile::tempdir().unwrap();
    let exec = LabExecutor::for_plan(dir.path(), &plan);
    let clock = SystemClock;
    let ex02 = plan.server("EX02").unwrap();

    let mut ev = Recorder::default();
    let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev, vec![]);
    let out = EnterMaintenance.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let s = exchange_state(&reach(&exec, &plan), ex02).unwrap();
    assert_eq!(s.activation_policy, "Blocked");
    assert_eq!(s.cluster_node_state.as_deref(), Some("Paused"));
    assert!(s.copies.iter().all(|c| c.status != "Mounted"));

    // Running it again changes nothing.
    let mut prior = ev.changes.clone();
    let mut ev2 = Recorder::default();
    let mut ctx = context(
        &plan,
        &target,
        "EX02",
        &exec,
        &clock,
        &mut ev2,
        prior.clone(),
    );
    let again = EnterMaintenance.run(&mut ctx);
    assert!(
        matches!(again, Ok(StepOutcome::AlreadyDone { .. })),
        "{again:?}"
    );
    assert!(ev2.changes.is_empty());

    let mut ev3 = Recorder::default();
    let mut ctx = context(
        &plan,
        &target,
        "EX02",
        &exec,
        &clock,
        &mut ev3,
        prior.clone(),
    );
    let out = ExitMaintenance.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let s = exchange_state(&reach(&exec, &plan), ex02).unwrap();
    assert_eq!(s.activation_policy, "Unrestricted");
    assert_eq!(s.cluster_node_state.as_deref(), Some("Up"));
    assert!(!s.activation_disabled_and_move_now);
    prior.extend(ev3.changes);

    let mut ev4 = Recorder::default();
    let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev4, prior);
    let out = Redistribute.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let s = exchange_state(&reach(&exec, &plan), ex02).unwrap();
    let db02 = s.copies.iter().find(|c| c.database_name == "DB02").unwrap();
    assert_eq!(
        db02.status, "Mounted",
        "DB02 is back on its preference-1 copy"
    );
    let report = exec.lab().state_json();
    assert_eq!(
        report["availability"],
        serde_json::json!([]),
        "no database without a mounted copy, no copy activated on a Blocked server"
    );
}

#[test]
fn a_member_already_at_the_target_is_healthy_on_the_lab() {
    let plan = lab_plan();
    let target = target(&plan);
    let dir = tempfile::tempdir().unwrap();
    let exec = LabExecutor::for_plan(dir.path(), &plan);
    let mut ev = Recorder::default();
    let mut ctx = context(&plan, &target, "EX01", &exec, &SystemClock, &mut ev, vec![]);
    let out = Health.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
}

/// Review real-exchange.md #16 on the lab: a copy an admin suspended before
/// the night (`Suspend-MailboxDatabaseCopy`, the lab's model of it) is
/// still Suspended after maintenance in and out, and reported; cu-roll's
/// old exit resumed every suspended copy.
#[test]
fn a_copy_suspended_before_maintenance_stays_suspended_on_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    // The lab plan with DB01's copy on EX02 suspended by the admin.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab.toml"),
    )
    .unwrap()
    .replacen(
        "active = \"EX01\"",
        "active = \"EX01\"\ncopy_status = { \"EX02\" = \"Suspended\" }",
        1,
    );
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, text).unwrap();
    let plan = crate::plan::load(&path).unwrap();
    let target = target(&plan);
    let exec = LabExecutor::for_plan(dir.path(), &plan);
    let clock = SystemClock;
    let ex02 = plan.server("EX02").unwrap();
    let s = exchange_state(&reach(&exec, &plan), ex02).unwrap();
    assert!(s.copies.iter().any(|c| c.status == "Suspended"), "{s:?}");

    let mut ev = Recorder::default();
    let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev, vec![]);
    let out = EnterMaintenance.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let before = ctx.observed_before.clone();
    assert!(
        before
            .as_ref()
            .is_some_and(|b| b.copy_suspended("DB01\\EX02")),
        "{before:?} {:?}",
        ev.observed
    );
    let prior = ev.changes.clone();

    let mut ev2 = Recorder::default();
    let mut ctx = context(&plan, &target, "EX02", &exec, &clock, &mut ev2, prior);
    ctx.observed_before = before;
    let out = ExitMaintenance.run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let s = exchange_state(&reach(&exec, &plan), ex02).unwrap();
    let db01 = s.copies.iter().find(|c| c.database_name == "DB01").unwrap();
    assert_eq!(db01.status, "Suspended", "{s:?}");
    assert!(
        ev2.observed.iter().any(|o| o.contains("as it was before")),
        "{:?}",
        ev2.observed
    );
}

/// The lab plan's text with `edit` applied, loaded from a plan file in `dir`.
fn edited_lab_plan(dir: &std::path::Path, edit: impl Fn(String) -> String) -> crate::plan::Plan {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab.toml"),
    )
    .unwrap();
    let path = dir.join("lab.toml");
    std::fs::write(&path, edit(text)).unwrap();
    crate::plan::load(&path).unwrap()
}

/// Review real-exchange.md #21 on the lab: Active Manager suppresses the
/// move of DB02 back to EX02 (fault `moves-suppressed`). The redistribution
/// reports each database's result and the suppression as a warning and
/// ends; cu-roll's old step waited for DB02 and failed at the deadline.
#[test]
fn a_suppressed_move_is_a_warning_on_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let plan = edited_lab_plan(dir.path(), |t| {
        t.replace("move_databases = \"2m\"", "move_databases = \"15s\"")
            + "\n[[lab.fault]]\nserver = \"EX02\"\nkind = \"moves-suppressed\"\ndatabase = \"DB02\"\ntimes = 1\nhold = \"1m\"\n"
    });
    let target = target(&plan);
    let exec = LabExecutor::for_plan(dir.path(), &plan);
    let clock = SystemClock;
    let mut prior = Vec::new();
    let mut last = Recorder::default();
    let steps: [&dyn Step; 3] = [&EnterMaintenance, &ExitMaintenance, &Redistribute];
    let mut outcome = None;
    for step in steps {
        let mut ev = Recorder::default();
        let mut ctx = context(
            &plan,
            &target,
            "EX02",
            &exec,
            &clock,
            &mut ev,
            prior.clone(),
        );
        let out = step.run(&mut ctx);
        outcome = Some(out.clone());
        assert!(
            matches!(out, Ok(StepOutcome::Done { .. })),
            "{out:?} {:?}",
            ev.observed
        );
        prior.extend(ev.changes.clone());
        last = ev;
    }
    let detail = outcome.unwrap().unwrap().detail().to_string();
    assert!(detail.contains("suppressed the move of DB02"), "{detail}");
    assert!(
        last.observed
            .iter()
            .any(|o| o.contains("RedistributeActiveDatabases.ps1: ") && o.contains("DB02")),
        "per-database results kept: {:?}",
        last.observed
    );
}

/// Review real-exchange.md #24 on the lab: after the reboot the Cluster
/// service starts late (fault `clussvc-starts-late`). The server is back
/// only once ClusSvc runs too (Resume-ClusterNode comes next); cu-roll's
/// old judgement looked at `MSExchange*` services only and said "back"
/// with the Cluster service still stopped.
#[test]
fn the_server_is_back_only_with_the_cluster_service_on_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let plan = edited_lab_plan(dir.path(), |t| {
        t + "\n[[lab.fault]]\nserver = \"EX02\"\nkind = \"clussvc-starts-late\"\ntimes = 1\nhold = \"4s\"\n"
    });
    let target = target(&plan);
    let exec = LabExecutor::for_plan(dir.path(), &plan);
    let mut ev = Recorder::default();
    let mut ctx = context(&plan, &target, "EX02", &exec, &SystemClock, &mut ev, vec![]);
    let out = Reboot::before_setup().run(&mut ctx);
    assert!(matches!(out, Ok(StepOutcome::Done { .. })), "{out:?}");
    let world = exec.lab().world();
    let ex02 = world.servers.iter().find(|s| s.name == "EX02").unwrap();
    let clussvc = ex02.services.iter().find(|s| s.name == "ClusSvc").unwrap();
    assert_eq!(
        format!("{:?}", clussvc.status),
        "Running",
        "the step said the server is back with ClusSvc not running"
    );
}
