//! DAG membership in the pre-flight: the lab's DAG01 has EX01, EX02 and
//! EX03 (its world answers `Get-DatabaseAvailabilityGroup` with them); a
//! plan that lists only two of them is blocked with code
//! `dag-membership`, showing both lists, by `report` and by `run` (before
//! anything changes).

use crate::harness::{Env, LabPlan};

/// plans/lab.toml without EX03's `[[server]]` (its `[[lab.server]]`
/// stays: the lab's DAG still has three members).
fn plan_without_ex03(env: &Env) -> std::path::PathBuf {
    let mut doc: toml_edit::DocumentMut = LabPlan::new().fast().text().parse().unwrap();
    let servers = doc["server"].as_array_of_tables_mut().unwrap();
    let i = servers
        .iter()
        .position(|t| t["name"].as_str() == Some("EX03"))
        .expect("EX03 in plans/lab.toml");
    servers.remove(i);
    env.write_plan("lab.toml", &doc.to_string())
}

#[test]
fn a_dag_member_missing_from_the_plan_blocks_with_both_lists() {
    let env = Env::new();
    let p = plan_without_ex03(&env);
    let p = p.to_str().unwrap();
    let report = env.run(&["report", p, "--format", "json"]).expect_code(3);
    let json = report.json();
    assert_eq!(json["verdict"], "blocked", "{json:#}");
    assert_eq!(json["blocker_codes"], serde_json::json!(["dag-membership"]));
    let text = json["blockers"][0].as_str().unwrap();
    assert!(
        text.contains("EX03 is a member the plan does not list")
            && text.contains("Servers): EX01, EX02, EX03; the plan's DAG01: EX01, EX02"),
        "{text}"
    );
    let run = env.run(&["run", p]).expect_code(3);
    assert!(
        run.stderr
            .contains("EX03 is a member the plan does not list"),
        "{}",
        run.stderr
    );
}

/// The review's case: a plan that leaves out `dag` made the gate refuse
/// with "DB01 would keep 0 healthy copies" although DB01 had three; now
/// the pre-flight says what is wrong.
#[test]
fn a_dag_member_the_plan_calls_standalone_is_named() {
    let env = Env::new();
    let mut doc: toml_edit::DocumentMut = LabPlan::new().fast().text().parse().unwrap();
    for s in doc["server"].as_array_of_tables_mut().unwrap().iter_mut() {
        s.remove("dag");
        // Without a dag the plan must also acknowledge downtime to load
        // (plan::validate::downtime); the pre-flight then names the lie.
        s["downtime"] = toml_edit::value("announced");
    }
    let p = env.write_plan("lab.toml", &doc.to_string());
    let report = env
        .run(&["report", p.to_str().unwrap(), "--format", "json"])
        .expect_code(3);
    let json = report.json();
    for s in json["servers"].as_array().unwrap() {
        let codes = s["blocker_codes"].as_array().unwrap();
        let i = codes
            .iter()
            .position(|c| c == "dag-membership")
            .unwrap_or_else(|| panic!("{s:#}"));
        let text = s["blockers"][i].as_str().unwrap();
        assert!(
            text.starts_with("a member of DAG01 (Get-MailboxServer), but the plan gives it no dag"),
            "{text}"
        );
    }
}
