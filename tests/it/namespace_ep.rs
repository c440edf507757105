//! Extended Protection behind a load balancer that offloads TLS, seen by
//! *authenticated* requests (review real-exchange.md #9, lab item L10;
//! issue "Real Exchange II", "Extended Protection"). The lab's load
//! balancer (`[lab] load_balancer`) offloads TLS; the plan does not
//! declare it (`tls_offloading` unset) and lets 2019 CU15 setup turn EP
//! on (`extended_protection = "enable"`), so the pre-flight has nothing to
//! object to. Health pages need no logon and were requested on the server,
//! so the product before this change completed the rollout with every
//! authenticated request through the namespace refused. With `[rollout]
//! namespace` the `health` step sends authenticated requests through the
//! load balancer and stops at the first upgraded server.

use crate::harness::{Env, LabPlan};

fn offloading_plan() -> LabPlan {
    let lb: toml_edit::Value = "{ namespace = \"mail.contoso.local\", tls_offloading = true }"
        .parse()
        .unwrap();
    LabPlan::new()
        .fast()
        .rollout("extended_protection", "enable")
        .lab("load_balancer", lb)
        .lab_server("EX01", "extended_protection", false)
        .lab_server("EX02", "extended_protection", false)
        .lab_server("EX03", "extended_protection", false)
}

/// An authenticated EWS request through the namespace, sent on `server`.
fn through_namespace(env: &Env, plan: &std::path::Path, server: &str) -> String {
    let run = env.run(&[
        "exec",
        plan.to_str().unwrap(),
        "--server",
        server,
        "--ps",
        "try { (Invoke-WebRequest -Uri 'https://mail.contoso.local/EWS/Exchange.asmx' -UseDefaultCredentials -UseBasicParsing).StatusCode } catch { $_.Exception.Message }",
    ]);
    format!("{}{}", run.stdout, run.stderr)
}

/// Without `[rollout] namespace` (all the product before this change could
/// do): the rollout ends "done", and authenticated access through the load
/// balancer is broken, while the same request before the rollout worked.
#[test]
fn without_the_namespace_the_rollout_completes_with_logons_broken() {
    let env = Env::new();
    let plan = offloading_plan().write(&env, "lab.toml");
    let before = through_namespace(&env, &plan, "EX01");
    assert!(before.contains("200"), "{before}");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let after = through_namespace(&env, &plan, "EX01");
    assert!(after.contains("(401) Unauthorized"), "{after}");
}

/// With `[rollout] namespace`: the first server's `health` fails on the
/// 401, naming Extended Protection, the offloading and the fix; the
/// rollout stops there (no other server is taken down).
#[test]
fn with_the_namespace_health_stops_at_the_first_server_on_a_401() {
    let env = Env::new();
    let plan = offloading_plan()
        .rollout("namespace", "mail.contoso.local")
        .write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(said.contains("health failed"), "{said}");
    for word in [
        "401 Unauthorized",
        "Extended Protection",
        "offloads TLS",
        "/DoNotEnableEP",
    ] {
        assert!(said.contains(word), "{word}: {said}");
    }
    // Only the first server was upgraded: the others never left service.
    let w: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.state_dir().join("lab-world.json")).unwrap(),
    )
    .unwrap();
    let upgraded: Vec<&str> = w["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["extended_protection"] == "on")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(upgraded.len(), 1, "{upgraded:?}\n{said}");
}

/// The probe runs when the plan names the namespace and the load balancer
/// does not offload TLS: every logon is accepted and the rollout ends.
#[test]
fn with_the_namespace_and_no_offloading_the_rollout_completes() {
    let env = Env::new();
    let lb: toml_edit::Value = "{ tls_offloading = false }".parse().unwrap();
    let plan = offloading_plan()
        .lab("load_balancer", lb)
        .rollout("namespace", "mail.contoso.local")
        .write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{said}");
    assert!(
        said.contains("authenticated requests through mail.contoso.local accepted"),
        "{said}"
    );
}
