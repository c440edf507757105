//! Extended Protection in the pre-flight (review real-exchange.md #9;
//! issue "Real Exchange II", "Extended Protection"), through the binary on
//! `plans/lab.toml` (target 2019 CU15, whose setup turns EP on): the
//! report reads each server's EP state per virtual directory and the RPC
//! directory's `SSLOffloading`, shows it, and blocks where the upgrade
//! would break client access or the plan must say what it wants. The old
//! product read none of it: these labs were "ready" (exit 0) and setup
//! turned EP on behind a load balancer that offloads TLS.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

fn report(env: &Env, plan: LabPlan, code: i32) -> Value {
    let p = plan.write(env, "ep.toml");
    env.run(&["report", p.to_str().unwrap(), "--format", "json"])
        .expect_code(code)
        .json()
}

fn server<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

/// The text of `s`'s `extended-protection` blocker, if any.
fn ep_blocker(s: &Value) -> Option<String> {
    let codes: Vec<&str> = s["blocker_codes"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let at = codes.iter().position(|c| *c == "extended-protection")?;
    s["blockers"][at].as_str().map(str::to_string)
}

/// EX02 runs without EP; CU15 setup would turn it on. Without
/// `[rollout] extended_protection` the report blocks EX02 (not EX03, which
/// runs EP already) and says what to set; with it, EX02 is ready.
#[test]
fn a_server_without_ep_blocks_until_the_plan_says_what_setup_does() {
    let env = Env::new();
    let plan = || {
        LabPlan::new()
            .fast()
            .lab_server("EX02", "extended_protection", false)
    };
    let j = report(&env, plan(), 3);
    let ex02 = server(&j, "EX02");
    let text = ep_blocker(ex02).unwrap_or_else(|| panic!("{ex02:#}"));
    assert!(text.contains("[rollout] extended_protection"), "{text}");
    let warnings = ex02["warnings"].to_string();
    assert!(
        warnings.contains("Extended Protection: off (owa None"),
        "{warnings}"
    );
    assert!(ep_blocker(server(&j, "EX03")).is_none());
    assert!(server(&j, "EX03")["warnings"]
        .to_string()
        .contains("Extended Protection: on (owa Require, ecp Require, EWS Allow"));
    let j = report(&env, plan().rollout("extended_protection", "enable"), 0);
    assert!(ep_blocker(server(&j, "EX02")).is_none());
}

/// The plan declares TLS offloading at the load balancer: EP after setup
/// breaks authenticated client access, so the upgrade is blocked unless
/// setup is told to skip EP.
#[test]
fn tls_offloading_at_the_load_balancer_blocks_unless_setup_skips_ep() {
    let env = Env::new();
    let plan = || {
        LabPlan::new()
            .fast()
            .rollout("tls_offloading", true)
            .rollout("extended_protection", "enable")
    };
    let j = report(&env, plan(), 3);
    for name in ["EX02", "EX03"] {
        let text = ep_blocker(server(&j, name)).unwrap_or_else(|| panic!("{j:#}"));
        assert!(text.contains("tls_offloading = true"), "{text}");
    }
    let j = report(&env, plan().rollout("extended_protection", "skip"), 0);
    assert!(ep_blocker(server(&j, "EX02")).is_none());
}

/// EX03's RPC virtual directory has SSLOffloading true: CSS-Exchange's
/// EP script refuses to configure EP there, and so does the pre-flight,
/// naming the Set-OutlookAnywhere fix.
#[test]
fn rpc_ssl_offloading_blocks_a_setup_that_turns_ep_on() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .rollout("extended_protection", "enable")
        .lab_server("EX03", "rpc_ssl_offloading", true);
    let j = report(&env, plan, 3);
    let text = ep_blocker(server(&j, "EX03")).unwrap_or_else(|| panic!("{j:#}"));
    assert!(text.contains("-SSLOffloading $false"), "{text}");
    assert!(server(&j, "EX03")["warnings"]
        .to_string()
        .contains("RPC SSLOffloading True"));
    assert!(ep_blocker(server(&j, "EX02")).is_none());
}
