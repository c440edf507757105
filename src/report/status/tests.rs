//! Tests of `status`: journals built with [`crate::report::journal_fixture`],
//! computed against the lab's three servers, with and without the lock.

use super::*;
use crate::report::journal_fixture::{failed_at_ex02_setup, lab_servers, Builder, SETUP_ERROR};

fn states(s: &Status) -> Vec<(&str, ServerState, Option<&str>)> {
    s.servers
        .iter()
        .map(|x| (x.name.as_str(), x.state, x.step.as_deref()))
        .collect()
}

fn lock() -> LockInfo {
    LockInfo {
        owner: "alice".into(),
        host: "ADMIN01".into(),
        pid: 4242,
        since: "2026-11-27T10:00:00.000Z".into(),
        command: "run".into(),
    }
}

#[test]
fn fresh_journal_is_not_started_and_every_server_pending() {
    let s = compute(&[], &lab_servers(), None);
    assert_eq!(s.overall, Overall::NotStarted);
    assert_eq!(s.runs, 0);
    assert!(s
        .servers
        .iter()
        .all(|x| x.state == ServerState::Pending && x.step.is_none() && x.error.is_none()));
    // A run that took the lock but wrote nothing yet is running.
    assert_eq!(
        compute(&[], &lab_servers(), Some(&lock())).overall,
        Overall::Running
    );
}

#[test]
fn mid_run_shows_the_step_in_progress() {
    let mut j = Builder::new();
    j.run_started("r1").whole_server("EX01", 5);
    j.started("EX02", "backup-config")
        .done("EX02", "backup-config", false, "saved")
        .started("EX02", "enter-maintenance");
    let s = compute(&j.entries, &lab_servers(), Some(&lock()));
    assert_eq!(s.overall, Overall::Running);
    assert_eq!(
        states(&s),
        vec![
            ("EX01", ServerState::Done, Some("redistribute")),
            ("EX02", ServerState::InProgress, Some("enter-maintenance")),
            ("EX03", ServerState::Pending, None),
        ]
    );
    assert_eq!(s.servers[0].steps_done, 8);
    assert_eq!(s.servers[1].steps_done, 1);
    assert_eq!(
        s.servers[1].started.as_deref(),
        Some("2026-11-27T10:00:58.000Z")
    );
    assert_eq!(s.servers[1].finished, None);
    // The same journal with the lock gone: the run died or was stopped.
    assert_eq!(
        compute(&j.entries, &lab_servers(), None).overall,
        Overall::Stopped
    );
}

/// A run stopped by Ctrl-C or SIGTERM wrote `interrupted` as its outcome.
#[test]
fn an_interrupted_run_shows_as_interrupted_until_a_run_holds_the_lock() {
    let mut j = Builder::new();
    j.run_started("r1").whole_server("EX01", 5);
    j.started("EX02", "setup")
        .observed("EX02", "setup", "setup keeps running on EX02")
        .run_finished("interrupted");
    let s = compute(&j.entries, &lab_servers(), None);
    assert_eq!(s.overall, Overall::Interrupted);
    assert_eq!(s.servers[1].state, ServerState::InProgress);
    assert!(render_table(&s, Path::new("plans/lab.toml")).contains("Rollout: interrupted"));
    assert_eq!(
        compute(&j.entries, &lab_servers(), Some(&lock())).overall,
        Overall::Running
    );
}

#[test]
fn failure_at_ex02_setup_is_reported_with_its_error() {
    let j = failed_at_ex02_setup();
    let s = compute(&j.entries, &lab_servers(), None);
    assert_eq!(s.overall, Overall::Failed);
    assert_eq!(s.last_outcome.as_deref(), Some("failed"));
    let ex02 = &s.servers[1];
    assert_eq!(ex02.state, ServerState::Failed);
    assert_eq!(ex02.step.as_deref(), Some("setup"));
    assert_eq!(ex02.error.as_deref(), Some(SETUP_ERROR));
    assert!(ex02.finished.is_some());
    assert_eq!(s.servers[2].state, ServerState::Pending);
}

#[test]
fn finished_rollout_is_done() {
    let mut j = Builder::new();
    j.run_started("r1");
    for s in ["EX01", "EX02", "EX03"] {
        j.whole_server(s, 3);
    }
    j.run_finished("done");
    let s = compute(&j.entries, &lab_servers(), None);
    assert_eq!(s.overall, Overall::Done);
    assert!(s.servers.iter().all(|x| x.state == ServerState::Done));
    assert_eq!(s.runs, 1);
}

#[test]
fn resumed_after_a_failure_the_last_outcome_wins() {
    let mut j = failed_at_ex02_setup();
    j.run_started("r2").started("EX02", "setup");
    let mid = compute(&j.entries, &lab_servers(), None);
    assert_eq!(mid.servers[1].state, ServerState::InProgress);
    assert_eq!(mid.servers[1].error, None, "the retry clears the old error");

    j.done("EX02", "setup", false, "15.2.1748.43");
    for step in [
        "reboot-after-setup",
        "exit-maintenance",
        "health",
        "redistribute",
    ] {
        j.started("EX02", step).done("EX02", step, false, "ok");
    }
    j.server_done("EX02")
        .whole_server("EX03", 2)
        .run_finished("done");
    let s = compute(&j.entries, &lab_servers(), None);
    assert_eq!(s.overall, Overall::Done);
    assert_eq!(s.runs, 2);
    assert_eq!(s.last_outcome.as_deref(), Some("done"));
    let ex02 = &s.servers[1];
    assert_eq!(ex02.state, ServerState::Done);
    assert_eq!(ex02.error, None);
    assert_eq!(ex02.steps_done, 8);
}

#[test]
fn a_server_finished_without_steps_was_skipped_and_names_match_any_case() {
    let mut j = Builder::new();
    j.run_started("r1").server_done("ex03");
    let s = compute(&j.entries, &lab_servers(), None);
    assert_eq!(s.servers[2].state, ServerState::Skipped);
    assert_eq!(s.servers[2].name, "EX03", "the plan's spelling is kept");
    assert_eq!(s.servers.len(), 3);
}

#[test]
fn servers_only_the_journal_names_are_listed_after_the_plan() {
    let mut j = Builder::new();
    j.run_started("r1").started("EX09", "backup-config");
    let s = compute(&j.entries, &lab_servers()[..1], None);
    assert_eq!(s.servers.len(), 2);
    assert!(!s.servers[1].in_plan);
    assert!(render_table(&s, Path::new("plans/lab.toml")).contains("no longer lists: EX09"));
}

#[test]
fn json_has_the_documented_fields() {
    let j = failed_at_ex02_setup();
    let out = render(
        &compute(&j.entries, &lab_servers(), None),
        Path::new("plans/lab.toml"),
        StatusFormat::Json,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["overall"], "failed");
    for server in v["servers"].as_array().unwrap() {
        for field in ["name", "state", "step", "error"] {
            assert!(server.get(field).is_some(), "{field} missing: {server}");
        }
    }
    assert_eq!(v["servers"][1]["state"], "failed");
    assert_eq!(v["servers"][1]["step"], "setup");
    assert_eq!(v["servers"][2]["state"], "pending");
    assert_eq!(v["servers"][2]["step"], serde_json::Value::Null);
    // Every key is described in docs/status.md: the JSON is an interface.
    let docs = include_str!("../../../docs/status.md");
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.extend(v["servers"][0].as_object().unwrap().keys());
    let mut with_lock = compute(&j.entries, &lab_servers(), Some(&lock()));
    with_lock.servers.clear();
    let lv = serde_json::to_value(&with_lock).unwrap();
    let lock_keys: Vec<String> = lv["lock"].as_object().unwrap().keys().cloned().collect();
    let missing: Vec<String> = keys
        .into_iter()
        .cloned()
        .chain(lock_keys)
        .filter(|k| !docs.contains(&format!("| `{k}` |")))
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

#[test]
fn table_snapshot_of_a_failure_with_the_lock_free() {
    let j = failed_at_ex02_setup();
    insta::assert_snapshot!(render_table(
        &compute(&j.entries, &lab_servers(), None),
        Path::new("plans/lab.toml")
    ));
}

#[test]
fn table_names_the_lock_holder_while_running() {
    let mut j = Builder::new();
    j.run_started("r1").started("EX01", "setup");
    let out = render_table(
        &compute(&j.entries, &lab_servers(), Some(&lock())),
        Path::new("plans/lab.toml"),
    );
    assert!(out.starts_with("Rollout: running, 1 run"), "{out}");
    assert!(
        out.contains("`cu-roll unlock plans/lab.toml --force` refuses while it runs"),
        "the advice names the real plan: {out}"
    );
    assert!(
        out.contains("Lock:    held by alice on ADMIN01 (pid 4242, `cu-roll run`) since 2026-11-27T10:00:00Z"),
        "{out}"
    );
}
