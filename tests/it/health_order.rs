//! Health in the right order (review real-exchange.md #12, #25): the
//! `health` step proves the server healthy before `redistribute` moves its
//! databases back, and Test-MAPIConnectivity runs with `-IncludePassive`
//! (then the server holds passive copies only; the lab, as Microsoft Learn
//! documents, tests active copies only without it). On the product before
//! this change, `redistribute` came first, so a server that failed health
//! already held its preferred databases again, and a passive copy whose
//! MAPI logon failed was never tested. Health also requests each
//! protocol's `/<vdir>/healthcheck.htm` on the server (review #12): before
//! that, a front end that answered 503 (OWA's application pool stopped)
//! passed every check.

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

/// OWA's application pool on EX02 is stopped after the CU: its health page
/// answers 503 while every cmdlet check passes. Health requests the page
/// and stops the run naming it; before the client-access probe the run
/// carried on with OWA down on EX02.
#[test]
fn a_health_page_that_answers_503_stops_the_rollout() {
    let env = Env::new();
    let plan =
        plan_with(Fault::new("owa-pool-stopped", "EX02").hold("10m")).write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("https://ex02.contoso.local/owa/healthcheck.htm did not answer 200 OK"),
        "{said}"
    );
    assert!(said.contains("(503) Server Unavailable"), "{said}");
    assert!(said.contains("EX02 health failed"), "{said}");
    assert_eq!(world(&env)["availability"], Value::Array(vec![]));
}

/// EX02's copies pass `health`, then once the balance has made DB02 active
/// on EX02 its MAPI logon fails. The databases EX02 now hosts are tested
/// after `redistribute` (without `-IncludePassive`: the active copies), and
/// the run stops naming DB02. Before this check nothing tested them, and
/// the run went on to the next server.
#[test]
fn a_database_that_fails_its_logon_after_the_balance_stops_the_rollout() {
    let env = Env::new();
    let fault = Fault::new("mapi-fails", "EX02")
        .during("EX02:redistribute")
        .hold("10m");
    let plan = plan_with(fault).write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("After the balance"), "{said}");
    assert!(
        said.contains("Test-MAPIConnectivity: DB02 on EX02"),
        "{said}"
    );
    assert!(said.contains("EX02 redistribute failed"), "{said}");
    assert_eq!(world(&env)["availability"], Value::Array(vec![]));
}
