//! `plans/lab-two-dag.toml`: two DAGs in one lab world, rolled at once
//! (`max_parallel_dags = 2`). Both reach the target, the lab's
//! availability record stays empty (no false "members out together"
//! across DAGs), and the journal shows the two DAGs' work overlapping.

use crate::faults::journal;
use crate::harness::{Env, LabPlan};

const DAG01: [&str; 3] = ["EX01", "EX02", "EX03"];

/// The first `step-started` and the last `step-done` time (RFC 3339 with
/// milliseconds, which sort as text) of the servers in `members`.
fn span(records: &[serde_json::Value], members: &[&str]) -> (String, String) {
    let at = |event: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["event"] == event)
            .filter(|r| members.iter().any(|m| r["server"] == *m))
            .map(|r| r["at"].as_str().unwrap().to_string())
            .collect()
    };
    let start = at("step-started")
        .into_iter()
        .min()
        .expect("a step started");
    let end = at("step-done").into_iter().max().expect("a step finished");
    (start, end)
}

#[test]
fn two_dags_roll_in_parallel_with_an_empty_availability_record() {
    let env = Env::new();
    // Fast work, but setup long enough that the two DAGs' windows cannot
    // miss each other by scheduling luck.
    let plan = LabPlan::from_plans("lab-two-dag.toml")
        .fast()
        .timing("setup", "400ms")
        .write(&env, "lab-two-dag.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p]).expect_code(0);
    assert!(run.stdout.contains("EX12"), "{}", run.stdout);

    let state = env.run(&["lab", "state", p]).expect_code(0).json();
    assert_eq!(
        state["availability"],
        serde_json::Value::Array(vec![]),
        "availability record: {:#}",
        state["availability"]
    );
    for s in state["servers"].as_array().unwrap() {
        assert_eq!(s["build"], "15.2.1748.43", "{}", s["name"]);
        let dag = if DAG01.iter().any(|m| s["name"] == *m) {
            "DAG01"
        } else {
            "DAG02"
        };
        assert_eq!(s["dag"], dag, "{}", s["name"]);
    }

    let records = journal(&env);
    let (a_start, a_end) = span(&records, &DAG01);
    let (b_start, b_end) = span(&records, &["EX11", "EX12", "EX13"]);
    assert!(
        a_start < b_end && b_start < a_end,
        "the DAGs did not overlap: DAG01 {a_start}..{a_end}, DAG02 {b_start}..{b_end}"
    );
}
