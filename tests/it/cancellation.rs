//! Ctrl-C while cu-roll waits for a command's answer over WinRM (issue 13,
//! "cancellation on Ctrl-C"): the served lab withholds its answers once
//! EX02's drain has run (`command-hangs`, held 10 min of lab time), as a
//! slow cmdlet on a real server keeps its Receive waiting. The interrupt
//! ends that wait at once: exit 5 within seconds, the drain's intent
//! journaled without an outcome and without `step-failed` (so the next run
//! observes and adopts it, docs/journal.md), and once the lab's clock is
//! past the hold the next run finishes the rollout. Before the wait raced
//! the runtime's cancellation, the run went on waiting for the answer
//! after Ctrl-C (at most until the command's deadline).

#![cfg(unix)]

use std::process::{Child, Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::faults::journal;
use crate::harness::{Env, Fault, LabPlan};
use crate::lab_serve::{serve_plan, served_state};
use crate::reliability::signals::kill as signal;

const TARGET: &str = "15.2.1748.43";

/// Waits until `ready` (or fails naming `what` after two minutes).
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the served lab has started the `command-hangs` hold: the drain
/// ran, and its answer is being withheld.
fn answers_held(env: &Env) -> bool {
    let Ok(text) = std::fs::read_to_string(served_state(env).join("lab-world.json")) else {
        return false;
    };
    let Ok(world) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    world["faults"].as_array().is_some_and(|faults| {
        faults
            .iter()
            .any(|f| f["kind"] == "command-hangs" && f["active_until_ms"].is_number())
    })
}

/// The child's output once it exits, and how long that took; a child still
/// running after `bound` is killed (by its pid) and the test fails.
fn finish_within(child: Child, bound: Duration) -> (Output, Duration) {
    let pid = child.id();
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(out) => (out.expect("wait for cu-roll"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("cu-roll still ran {bound:?} after Ctrl-C: it waited for the command's answer");
        }
    }
}

#[test]
fn ctrl_c_while_an_answer_is_awaited_stops_at_once_and_the_next_run_finishes() {
    let env = Env::new();
    let plan = LabPlan::from_plans("lab-winrm.toml").fast().fault(
        Fault::new("command-hangs", "EX02")
            .once()
            .hold("10m")
            .during("EX02:enter-maintenance"),
    );
    let (_serve, path) = serve_plan(&env, plan, "lab-winrm.toml");
    let p = path.to_str().expect("UTF-8 temp path");
    let child = env.spawn(&["run", p, "--yes"]);
    wait_for("EX02 was never drained", || answers_held(&env));
    signal(&child, "INT");
    let (out, took) = finish_within(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stderr.contains("Interrupted during EX02 enter-maintenance")
            && stderr.contains("stopped waiting for the answer of a command sent to"),
        "{stderr}"
    );

    // The drain's intent stands alone: no `changed` for it, no failure.
    let records = journal(&env);
    let at = |r: &Value, event: &str| {
        r["event"] == event && r["server"] == "EX02" && r["step"] == "enter-maintenance"
    };
    let drain = records
        .iter()
        .position(|r| at(r, "intent") && r["changes"].to_string().contains("HubTransport"))
        .unwrap_or_else(|| panic!("no drain intent: {records:#?}"));
    assert!(
        !records[drain..]
            .iter()
            .any(|r| at(r, "changed") || at(r, "step-failed")),
        "{:#?}",
        &records[drain..]
    );
    let last = records.last().expect("a journal");
    assert_eq!(
        (&last["event"], &last["outcome"]),
        (&Value::from("run-finished"), &Value::from("interrupted")),
        "{last}"
    );
    assert!(!env.state_dir().join("lock").exists());

    // The lab's clock past the hold: the next run adopts the drain and
    // finishes the rollout.
    env.run_with_state(&served_state(&env), &["lab", "advance", p, "11m"])
        .expect_code(0);
    env.run(&["run", p, "--yes"]).expect_code(0);
    crate::rollout::assert_rolled(&env, p, TARGET);
}

/// Ctrl-C during the pre-flight, while every server's first Exchange read
/// waits for its session (10 min each in this lab): exit 5 within seconds
/// and nothing journaled as changed; the reads given up are no blockers
/// (before, they made the pre-flight report the servers unreadable).
#[test]
fn ctrl_c_during_the_preflight_stops_at_once_without_blockers() {
    let env = Env::new();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .fast()
        .timing("exchange_session", "10m");
    let (_serve, path) = serve_plan(&env, plan, "lab-winrm.toml");
    let p = path.to_str().expect("UTF-8 temp path");
    let child = env.spawn(&["run", p, "--yes"]);
    // The lock is taken just before the handler is installed.
    wait_for("the run never took its lock", || {
        env.state_dir().join("lock").exists()
    });
    std::thread::sleep(Duration::from_secs(1));
    signal(&child, "INT");
    let (out, took) = finish_within(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!stderr.contains("blocked"), "{stderr}");
    assert!(
        !journal(&env).iter().any(|r| r["event"] == "intent"),
        "{:#?}",
        journal(&env)
    );
}
