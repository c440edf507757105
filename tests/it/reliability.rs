//! A rollout you can trust at 3 a.m.: fast lab timings that once broke
//! the security update.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

/// The journal's records, parsed.
fn journal(env: &Env) -> Vec<Value> {
    let text = std::fs::read_to_string(env.state_dir().join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

/// Regression: with `security_update` at 200 ms or less the lab judged
/// "already installed" by the run's length, so msiexec exited 0 and left
/// the build at the CU's (the rollout stopped at EX02 security-update with
/// "the build is 15.2.1748.10, not 15.2.1748.43").
#[test]
fn a_security_update_faster_than_200ms_still_installs() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timing("security_update", "50ms")
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(0);
    crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    let su_done = journal(&env)
        .into_iter()
        .filter(|e| e["event"] == "step-done" && e["step"] == "security-update")
        .count();
    assert_eq!(su_done, 2, "EX02 and EX03 each ran the security update");
}
