//! Resume after each lab fault kind (`times = 1`): the first run stops
//! (exit 1) naming the server, step and cause; the second run completes
//! without repeating a step the first one finished — asserted from the
//! journal — and leaves the DAG rolled with an empty availability record.

use serde_json::Value;

use crate::harness::{Env, Fault, LabPlan};
use crate::rollout::assert_rolled;

/// The fault hold (docs/lab.md), in lab time: far longer than the policy
/// timeout the fault runs into, so the first run gives up while the fault
/// lasts however slow the machine; the test then moves the lab's clock past
/// it (`cu-roll lab advance`) instead of waiting.
const HOLD: &str = "2m";

/// plans/lab.toml with fast lab timings, the timeouts a resumed run
/// needs (generous: fast work finishes long before them), and `short` —
/// the `[policy.timeouts]` entry the fault runs into — at 1 s.
fn plan_with(short: Option<&str>) -> LabPlan {
    let plan = LabPlan::new().fast().timeouts("20s");
    match short {
        Some(key) => plan.timeout(key, "1s"),
        None => plan,
    }
}

pub(crate) fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `plan` twice (moving the lab's clock past every fault's hold
/// between), asserting the first run stops naming `expect` (all
/// substrings) and the second completes without repeating finished steps.
fn fail_then_resume(name: &str, plan: LabPlan, expect: &[&str]) {
    let env = Env::new();
    let plan = plan.write(&env, &format!("{name}.toml"));
    let p = plan.to_str().unwrap();

    let first = env.run(&["run", p, "--yes"]).expect_code(1);
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
        // The last run stopped on a failed step: status exits 1 as it did.
        .expect_code(1)
        .json();
    assert!(
        status["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["state"] == "failed" && !s["error"].is_null()),
        "{name}: status shows no failed server: {status:#}"
    );

    env.run(&["lab", "advance", p, HOLD]).expect_code(0);
    let runs_before = journal(&env).len();
    let second = env.run(&["run", p, "--yes"]);
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

/// A `times = 1` fault of `kind` on `server` with the long hold.
fn held(kind: &str, server: &str) -> Fault {
    Fault::new(kind, server).once().hold(HOLD)
}

#[test]
fn resume_after_setup_fails() {
    fail_then_resume(
        "setup-fails",
        plan_with(None).fault(Fault::new("setup-fails", "EX02").once()),
        &["EX02 setup failed", "[ERROR]"],
    );
}

#[test]
fn resume_after_setup_hangs() {
    fail_then_resume(
        "setup-hangs",
        plan_with(Some("setup")).fault(held("setup-hangs", "EX02")),
        &["EX02 setup failed", "still"],
    );
}

#[test]
fn resume_after_reboot_hangs() {
    fail_then_resume(
        "reboot-hangs",
        plan_with(Some("reboot")).fault(held("reboot-hangs", "EX02")),
        &["EX02 reboot-before-setup failed"],
    );
}

#[test]
fn resume_after_queue_stuck() {
    fail_then_resume(
        "queue-stuck",
        plan_with(Some("drain")).fault(held("queue-stuck", "EX02")),
        &["EX02 enter-maintenance failed", "queue"],
    );
}

#[test]
fn resume_after_move_blocked() {
    fail_then_resume(
        "move-blocked",
        plan_with(Some("move_databases")).fault(held("move-blocked", "EX02")),
        &["EX02 enter-maintenance failed", "DB02"],
    );
}

#[test]
fn resume_after_health_fails() {
    fail_then_resume(
        "health-fails",
        plan_with(Some("health")).fault(held("health-fails", "EX02")),
        &["EX02 health failed"],
    );
}

/// A copy elsewhere fails while EX02 finishes: with min_healthy_copies = 2
/// the gate before EX03 refuses (DB03 would keep only EX02's copy), mid-rollout,
/// so exit 1 — and the second run, once the copy is back, completes.
#[test]
fn resume_after_copy_fails_and_the_gate_refuses_mid_rollout() {
    fail_then_resume(
        "copy-fails",
        plan_with(None).policy("min_healthy_copies", 2).fault(
            held("copy-fails", "EX01")
                .database("DB03")
                .during("EX02:health"),
        ),
        &["DB03", "EX01"],
    );
}

#[test]
fn a_plan_changed_between_runs_stops_and_says_so() {
    let env = Env::new();
    let plan = plan_with(None).fault(Fault::new("setup-fails", "EX02").once());
    let path = plan.write(&env, "changed.toml");
    let p = path.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(1);
    // Next quarter's target written into the same plan mid-rollout.
    plan.rollout("security_update", "Dec25SU")
        .write(&env, "changed.toml");
    let run = env.run(&["run", p, "--yes"]).expect_code(2);
    assert!(
        run.stderr
            .contains("the plan changed since this rollout began"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Dec25SU"), "{}", run.stderr);
}
