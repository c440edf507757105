//! Resume after each lab fault kind (`times = 1`): the first run stops
//! (exit 1) naming the server, step and cause; the second run completes
//! without repeating a step the first one finished — asserted from the
//! journal — and leaves the DAG rolled with an empty availability record.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{repo, Env};
use crate::rollout::assert_rolled;

/// The fault hold (docs/lab.md): longer than every policy timeout below,
/// so the first run gives up while the fault lasts.
const HOLD: &str = "4s";
const HOLD_SECS: u64 = 4;

/// plans/lab.toml with fast lab timings, short policy timeouts, and `extra`
/// appended (fault sections, policy overrides).
pub(crate) fn plan_with(extra: &str, min_healthy_copies: u32) -> String {
    let text = std::fs::read_to_string(repo().join("plans/lab.toml")).unwrap();
    let text = text
        .replace(
            "drain = \"2m\"\nsetup = \"5m\"\nreboot = \"2m\"\nhealth = \"2m\"\nmove_databases = \"2m\"",
            "drain = \"2s\"\nsetup = \"3s\"\nreboot = \"2s\"\nhealth = \"2s\"\nmove_databases = \"2s\"",
        )
        .replace("setup = \"3s\"\nreboot = \"1s\"", "setup = \"1s\"\nreboot = \"300ms\"")
        .replace("security_update = \"1s\"", "security_update = \"300ms\"")
        .replace("poll_interval = \"200ms\"", "poll_interval = \"100ms\"")
        .replace("min_healthy_copies = 1", &format!("min_healthy_copies = {min_healthy_copies}"));
    assert!(
        text.contains("setup = \"3s\"\nreboot = \"2s\""),
        "plans/lab.toml timeouts changed: update this test"
    );
    format!("{text}\n{extra}\n")
}

pub(crate) fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs the plan twice (sleeping `pause` between), asserting the first run
/// stops naming `expect` (all substrings) and the second completes without
/// repeating finished steps.
fn fail_then_resume(name: &str, fault: &str, min_copies: u32, expect: &[&str], pause: Duration) {
    let env = Env::new();
    let plan = env.write_plan(&format!("{name}.toml"), &plan_with(fault, min_copies));
    let p = plan.to_str().unwrap();

    let first = env.run(&["run", p]).expect_code(1);
    for e in expect {
        assert!(
            first.stderr.contains(e),
            "{name}: first run's error lacks {e:?}:\n{}",
            first.stderr
        );
    }
    assert!(
        first
            .stderr
            .contains("run the same command again to resume"),
        "{}",
        first.stderr
    );
    let status = env
        .run(&["status", p, "--format", "json"])
        .expect_code(0)
        .json();
    assert!(
        status["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["state"] == "failed" && !s["error"].is_null()),
        "{name}: status shows no failed server: {status:#}"
    );

    std::thread::sleep(pause);
    let runs_before = journal(&env).len();
    let second = env.run(&["run", p]);
    assert_eq!(
        second.code, 0,
        "{name}: second run did not complete:\n{}",
        second.stderr
    );

    let all = journal(&env);
    let (run1, run2) = all.split_at(runs_before);
    let done_in_run1: Vec<(String, String)> = run1
        .iter()
        .filter(|r| r["event"] == "step-done")
        .map(|r| {
            (
                r["server"].as_str().unwrap().into(),
                r["step"].as_str().unwrap().into(),
            )
        })
        .collect();
    for r in run2.iter().filter(|r| r["event"] == "step-started") {
        let key = (
            r["server"].as_str().unwrap().to_string(),
            r["step"].as_str().unwrap().to_string(),
        );
        assert!(
            !done_in_run1.contains(&key),
            "{name}: second run repeated finished step {key:?}"
        );
    }
    assert!(
        run2.iter().any(|r| r["event"] == "step-started"),
        "{name}: the second run started no step at all"
    );
    assert_rolled(&env, p, "15.2.1748.43");
}

pub(crate) fn fault(kind: &str, server: &str, more: &str) -> String {
    format!("[[lab.fault]]\nserver = \"{server}\"\nkind = \"{kind}\"\ntimes = 1\n{more}\n")
}

fn after_hold() -> Duration {
    Duration::from_secs(HOLD_SECS)
}

#[test]
fn resume_after_setup_fails() {
    fail_then_resume(
        "setup-fails",
        &fault("setup-fails", "EX02", ""),
        1,
        &["EX02 setup failed", "[ERROR]"],
        Duration::ZERO,
    );
}

#[test]
fn resume_after_setup_hangs() {
    fail_then_resume(
        "setup-hangs",
        &fault("setup-hangs", "EX02", &format!("hold = \"{HOLD}\"")),
        1,
        &["EX02 setup failed", "still"],
        after_hold(),
    );
}

#[test]
fn resume_after_reboot_hangs() {
    fail_then_resume(
        "reboot-hangs",
        &fault("reboot-hangs", "EX02", &format!("hold = \"{HOLD}\"")),
        1,
        &["EX02 reboot-before-setup failed"],
        after_hold(),
    );
}

#[test]
fn resume_after_queue_stuck() {
    fail_then_resume(
        "queue-stuck",
        &fault("queue-stuck", "EX02", &format!("hold = \"{HOLD}\"")),
        1,
        &["EX02 enter-maintenance failed", "queue"],
        after_hold(),
    );
}

#[test]
fn resume_after_move_blocked() {
    fail_then_resume(
        "move-blocked",
        &fault("move-blocked", "EX02", &format!("hold = \"{HOLD}\"")),
        1,
        &["EX02 enter-maintenance failed", "DB02"],
        after_hold(),
    );
}

#[test]
fn resume_after_health_fails() {
    fail_then_resume(
        "health-fails",
        &fault("health-fails", "EX02", &format!("hold = \"{HOLD}\"")),
        1,
        &["EX02 health failed"],
        after_hold(),
    );
}

/// A copy elsewhere fails while EX02 finishes: with min_healthy_copies = 2
/// the gate before EX03 refuses (DB03 would keep only EX02's copy), mid-rollout,
/// so exit 1 — and the second run, once the copy is back, completes.
#[test]
fn resume_after_copy_fails_and_the_gate_refuses_mid_rollout() {
    fail_then_resume(
        "copy-fails",
        &fault(
            "copy-fails",
            "EX01",
            &format!("database = \"DB03\"\nduring = \"EX02:health\"\nhold = \"{HOLD}\""),
        ),
        2,
        &["DB03", "EX01"],
        after_hold(),
    );
}

#[test]
fn a_plan_changed_between_runs_stops_and_says_so() {
    let env = Env::new();
    let text = plan_with(&fault("setup-fails", "EX02", ""), 1);
    let plan = env.write_plan("changed.toml", &text);
    let p = plan.to_str().unwrap();
    env.run(&["run", p]).expect_code(1);
    // Next quarter's target written into the same plan mid-rollout.
    env.write_plan(
        "changed.toml",
        &text.replacen(
            "security_update = \"latest\"",
            "security_update = \"Dec25SU\"",
            1,
        ),
    );
    let run = env.run(&["run", p]).expect_code(2);
    assert!(
        run.stderr
            .contains("the plan changed since this rollout began"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Dec25SU"), "{}", run.stderr);
}
