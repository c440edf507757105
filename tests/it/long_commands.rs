//! Long commands and the transport's bootloader (review real-exchange.md
//! #4, #5, lab items L4, L8). The lab's `Restart-Service
//! MSExchangeTransport` takes `[lab.timings] transport_restart` (default
//! 90 s) of the script's time, charged against the caller's command
//! deadline: past it, the in-process lab kills the script as the WinRM
//! transport's command timeout does, leaving transport Stopped. After a
//! start, Get-Queue and Redirect-Message fail for `transport_startup`
//! (ExchangeDsc waits for the bootloader for this reason), and
//! Redirect-Message's `-Target` must be a member in service. On the
//! product before this change every command had the plan's 60 s
//! `operation_timeout`, so the first transport restart was killed and
//! enter-maintenance failed; with a quick restart, Redirect-Message went
//! out straight after it and failed; and a server with nothing queued in
//! the pre-drain snapshot got no redirect at all.

use serde_json::Value;

use crate::faults::journal;
use crate::harness::{Env, LabPlan};
use crate::rollout::assert_rolled;

const TARGET: &str = "15.2.1748.43";

fn world(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.state_dir().join("lab-world.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every server's `Redirect-Message -Target` as the lab kept it.
fn redirect_targets(env: &Env) -> Vec<(String, Option<String>)> {
    world(env)["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["redirect_target"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The 90 s transport restart outlasts the plan's 60 s operation_timeout:
/// the restart carries its own deadline, so the whole rollout completes.
#[test]
fn a_transport_restart_longer_than_the_operation_timeout_completes() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timing("transport_restart", "90s")
        .connection("operation_timeout", "60s")
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_rolled(&env, p, TARGET);
    // Review #14: the members dropped their shadow copies of each rolled
    // server's mail before it went down (ExchangeDsc's discard heartbeat).
    for s in world(&env)["servers"].as_array().unwrap() {
        for q in s["queues"].as_array().unwrap() {
            let hop = q["next_hop_domain"].as_str().unwrap();
            if q["kind"] == "Shadow" && hop != "ex01.contoso.local" {
                assert_eq!(q["message_count"], 0, "{} shadow for {hop}", s["name"]);
            }
        }
    }
}

/// The same restart cut by a deadline shorter than it: the lab kills the
/// script there and leaves transport Stopped; the step fails with a
/// timeout, and the next run (the restart's own deadline now longer) only
/// starts the stopped service and carries on.
#[test]
fn a_restart_cut_off_leaves_transport_stopped_and_the_next_run_starts_it() {
    let env = Env::new();
    let slow = LabPlan::new()
        .fast()
        .timing("transport_restart", "20m")
        .write(&env, "lab.toml");
    let p = slow.to_str().unwrap();
    let first = env.run(&["run", p, "--yes"]);
    assert_ne!(first.code, 0, "{}", first.stdout);
    let said = format!("{}{}", first.stdout, first.stderr);
    assert!(said.contains("did not answer within"), "{said}");
    let stopped = world(&env)["servers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["services"].as_array().unwrap().iter())
        .any(|v| v["name"] == "MSExchangeTransport" && v["status"] == "Stopped");
    assert!(stopped, "the killed restart left transport Stopped");
    // This time transport starts in 5 s (the world keeps its timings: set
    // them where the lab keeps them).
    let path = env.state_dir().join("lab-world.json");
    let mut w = world(&env);
    w["timings"]["transport_restart_ms"] = Value::from(5_000);
    std::fs::write(&path, serde_json::to_string(&w).unwrap()).unwrap();
    let second = env.run(&["run", p, "--yes"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_rolled(&env, p, TARGET);
    let started_again = journal(&env)
        .iter()
        .any(|e| e.to_string().contains("\"kind\":\"service-restarted\""));
    assert!(started_again, "the owed restart is journaled once done");
}

/// Nothing queued anywhere before the drain: every server rolled still gets a
/// Redirect-Message (manage-dags sends it unconditionally), sent only once
/// Get-Queue answers after the restart (a 2 s bootloader here), to a
/// member in service.
#[test]
fn every_server_redirects_after_the_bootloader_even_with_empty_queues() {
    let env = Env::new();
    let mut plan = LabPlan::new()
        .fast()
        .timing("transport_restart", "10s")
        .timing("transport_startup", "2s");
    for s in ["EX01", "EX02", "EX03"] {
        plan = plan.lab_server(s, "queue_messages", 0);
    }
    let plan = plan.write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_rolled(&env, p, TARGET);
    // EX01 is at the target already (skipped); the two others were rolled.
    for (name, target) in redirect_targets(&env)
        .into_iter()
        .filter(|(n, _)| n != "EX01")
    {
        let target = target.unwrap_or_else(|| panic!("{name} redirected nothing"));
        assert!(
            target.ends_with(".contoso.local") && !target.starts_with(&name.to_ascii_lowercase()),
            "{name} -> {target}"
        );
    }
}
