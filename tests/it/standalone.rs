//! A Mailbox server in no DAG (issue 14, "Servers outside a DAG"):
//! `plans/lab-standalone.toml` rolls to completion — the DAG's members as
//! always, EX04 with its own runbook (no cluster, no moves, no
//! redistribute), its queued mail redirected to a DAG member, its one
//! database offline only while it is out of service — and a plan that
//! does not acknowledge the downtime is refused when loaded.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

fn plan() -> LabPlan {
    LabPlan::from_plans("lab-standalone.toml")
        .fast()
        .timeouts("20s")
}

fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

#[test]
fn the_standalone_lab_plan_rolls_to_completion() {
    let env = Env::new();
    let plan = plan().write(&env, "lab-standalone.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let report = env.run(&["report", p, "--format", "json"]).json();
    for s in report["servers"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["build"], "15.2.1748.43", "{name}");
        assert_eq!(s["maintenance"]["in_maintenance"], false, "{name}");
        for c in s["copies"].as_array().unwrap() {
            assert_eq!(c["ok"], true, "{name}: {c:#}");
        }
    }

    let records = journal(&env);
    let ex04 = |r: &&Value| r["server"] == "EX04";
    let steps: Vec<&str> = records
        .iter()
        .filter(ex04)
        .filter(|r| r["event"] == "step-done")
        .map(|r| r["step"].as_str().unwrap())
        .collect();
    for step in ["enter-maintenance", "setup", "exit-maintenance", "health"] {
        assert!(steps.contains(&step), "{step} not done on EX04: {steps:?}");
    }
    // No DAG action on EX04: nothing paused, moved, blocked or rebalanced.
    let kinds: Vec<&str> = records
        .iter()
        .filter(ex04)
        .filter(|r| r["event"] == "changed")
        .map(|r| r["change"]["kind"].as_str().unwrap())
        .collect();
    for dag_only in [
        "cluster-node-suspended",
        "cluster-group-moved",
        "activation-policy",
        "activation-disabled-and-move-now",
        "active-databases-redistributed",
    ] {
        assert!(!kinds.contains(&dag_only), "{dag_only} on EX04: {kinds:?}");
    }
    assert!(kinds.contains(&"messages-redirected"), "{kinds:?}");

    let state = env
        .run(&["lab", "state", p, "--format", "json"])
        .expect_code(0)
        .json();
    let server = |n: &str| {
        state["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };
    // Its queued mail went to a DAG member in service.
    let target = server("EX04")["redirect_target"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        [
            "ex01.contoso.local",
            "ex02.contoso.local",
            "ex03.contoso.local"
        ]
        .contains(&target.as_str()),
        "{target}"
    );
    // The only unavailability: DB05 (EX04's one copy) while EX04 was out,
    // closed since; never a DAG database, never two members out together.
    let events = state["availability"].as_array().unwrap();
    assert!(!events.is_empty(), "DB05 was never recorded offline");
    for e in events {
        assert_eq!(e["kind"], "no-mounted-copy", "{e:#}");
        assert_eq!(e["subject"], "DB05", "{e:#}");
        assert!(e["until_ms"].is_i64(), "still offline: {e:#}");
    }
}

#[test]
fn a_server_in_no_dag_without_announced_downtime_is_refused_at_load() {
    let env = Env::new();
    let text = plan().text().replace("downtime = \"announced\"\n", "");
    let plan = env.write_plan("no-downtime.toml", &text);
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(2);
    let line = text.lines().position(|l| l == "name = \"EX04\"").unwrap() + 1;
    assert!(
        run.stderr.contains(&format!("no-downtime.toml:{line}:8")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("server 'EX04' is in no DAG"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("downtime = \"announced\""),
        "{}",
        run.stderr
    );
    assert!(journal(&env).is_empty());
}
