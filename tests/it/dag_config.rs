//! Legitimate DAG configurations (review real-exchange.md #10, #11) through
//! the binary on `plans/lab-dr.toml`: a DR member blocked from activation
//! for good and a lagged, activation-suspended copy are rolled like any
//! other, the DR member's policy is left as it was, and quorum that would
//! not survive a member leaving shuts the gate before any change.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

fn server<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

/// The old product called EX04 "already in maintenance" (its policy is
/// Blocked) and its lagged copy unhealthy (activation-suspended), and
/// refused the whole DAG with exit 3 before any change.
#[test]
fn report_calls_the_dr_member_and_the_lagged_copy_normal() {
    let env = Env::new();
    let plan = env.plan("lab-dr.toml");
    let p = plan.to_str().unwrap();
    let j = env
        .run(&["report", p, "--format", "json"])
        .expect_code(0)
        .json();
    let ex04 = server(&j, "EX04");
    assert_eq!(ex04["verdict"], "ready", "{ex04:#}");
    assert_eq!(ex04["maintenance"]["in_maintenance"], false);
    assert_eq!(ex04["maintenance"]["activation_policy"], "Blocked");
    let lagged = ex04["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "DB01\\EX04")
        .unwrap();
    assert_eq!(lagged["lagged"], true, "{lagged:#}");
    assert_eq!(lagged["activation_suspended"], true, "{lagged:#}");
    assert_eq!(lagged["ok"], true, "{lagged:#}");
    assert!(
        lagged["replay_queue_length"].as_u64().unwrap() > 50,
        "a lagged copy holds its lag un-replayed: {lagged:#}"
    );
    let warnings = ex04["warnings"].to_string();
    assert!(
        warnings.contains("is Blocked (a DR member's setting"),
        "{warnings}"
    );
    assert!(
        warnings.contains("DB01\\\\EX04 is a lagged copy"),
        "{warnings}"
    );
}

#[test]
fn a_dr_member_and_a_lagged_copy_are_rolled_and_left_as_they_were() {
    let env = Env::new();
    let plan = LabPlan::from_plans("lab-dr.toml")
        .fast()
        .write(&env, "lab-dr.toml");
    let p = plan.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(0);
    let j = env
        .run(&["report", p, "--format", "json"])
        .expect_code(0)
        .json();
    for s in j["servers"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["build"], "15.2.1748.43", "{name}");
        assert_eq!(s["maintenance"]["in_maintenance"], false, "{name}");
        let policy = if name == "EX04" {
            "Blocked"
        } else {
            "Unrestricted"
        };
        assert_eq!(s["maintenance"]["activation_policy"], policy, "{name}");
        for c in s["copies"].as_array().unwrap() {
            assert_eq!(c["ok"], true, "{name}: {c:#}");
            let preferred = c["activation_preference"] == 1;
            assert_eq!(c["active"].as_bool().unwrap(), preferred, "{name}: {c:#}");
        }
    }
    // The lagged copy is still lagged and suspended for activation.
    let ex04 = server(&j, "EX04");
    let lagged = ex04["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "DB01\\EX04")
        .unwrap();
    assert_eq!(
        (&lagged["lagged"], &lagged["activation_suspended"]),
        (&Value::Bool(true), &Value::Bool(true)),
        "{lagged:#}"
    );
    let state = env
        .run(&["lab", "state", p, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        state["availability"],
        Value::Array(vec![]),
        "availability record: {:#}",
        state["availability"]
    );
}

/// Four members: the witness votes. While it cannot be reached, the
/// remaining members fail QuorumGroup/FileShareQuorum and the gate refuses
/// before the first member leaves (the old gate never looked).
#[test]
fn an_unreachable_witness_shuts_the_gate_before_any_change() {
    let env = Env::new();
    let plan = LabPlan::from_plans("lab-dr.toml")
        .fast()
        .lab("witness_reachable", false)
        .write(&env, "lab-dr.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("FileShareQuorum"), "{all}");
    assert!(
        all.contains("WitnessShareInUse InvalidConfiguration"),
        "{all}"
    );
    let j = env.run(&["report", p, "--format", "json"]).json();
    for s in j["servers"].as_array().unwrap() {
        assert_eq!(s["maintenance"]["in_maintenance"], false, "{s:#}");
    }
}
