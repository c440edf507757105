//! Health in the right order (review real-exchange.md #12, #25): the
//! `health` step proves the server healthy before `redistribute` moves its
//! databases back, and Test-MAPIConnectivity runs with `-IncludePassive`
//! (then the server holds passive copies only; the lab, as Microsoft Learn
//! documents, tests active copies only without it). On the product before
//! this change, `redistribute` came first, so a server that failed health
//! already held its preferred databases again, and a passive copy whose
//! MAPI logon failed was never tested.

use serde_json::Value;

use crate::harness::{Env, Fault, LabPlan};

fn world(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.state_dir().join("lab-world.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Where `database` is mounted now.
fn active_on(env: &Env, database: &str) -> String {
    world(env)["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == database)
        .unwrap()["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "Mounted")
        .map(|c| c["server"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn plan_with(fault: Fault) -> LabPlan {
    LabPlan::new().fast().timeout("health", "2s").fault(fault)
}

/// EX02 fails its health checks for ten minutes after the CU: the run stops
/// at EX02's `health` with DB02 (preferred on EX02) still served by a peer.
#[test]
fn a_server_that_fails_health_gets_no_database_back() {
    let env = Env::new();
    let plan = plan_with(Fault::new("health-fails", "EX02").hold("10m")).write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("EX02 health failed"), "{said}");
    assert_ne!(active_on(&env, "DB02"), "EX02", "{said}");
    assert!(
        !active_on(&env, "DB02").is_empty(),
        "DB02 is mounted somewhere"
    );
    assert_eq!(world(&env)["availability"], Value::Array(vec![]));
}

/// The MAPI logon to EX02's passive copy of DB01 fails: health tests it
/// (`-IncludePassive`) and stops the run naming it.
#[test]
fn a_passive_copy_that_fails_its_mapi_logon_stops_the_rollout() {
    let env = Env::new();
    let fault = Fault::new("mapi-fails", "EX02")
        .database("DB01")
        .hold("10m");
    let plan = plan_with(fault).write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("Test-MAPIConnectivity: DB01"), "{said}");
    assert!(said.contains("EX02 health failed"), "{said}");
}
