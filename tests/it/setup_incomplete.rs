//! A Cumulative Update that fails after its file copy leaves ExSetup.exe at
//! the new build and only the role keys say the roles are unconfigured
//! (real-exchange review #1; ExchangeDsc `Test-ExchangeSetupPartiallyCompleted`).
//! The lab's `setup-fails` fault does exactly that. Between the failed run
//! and the next one, the pre-flight must say "previous upgrade incomplete";
//! the next run must run setup again (not skip it on the build), install
//! the security update only after that setup succeeded, and return the
//! server to service only after both.

use serde_json::Value;

use crate::faults::journal;
use crate::harness::{Env, Fault, LabPlan};
use crate::rollout::assert_rolled;

fn is(r: &Value, event: &str, server: &str, step: &str) -> bool {
    r["event"] == event && r["server"] == server && r["step"] == step
}

fn installer_started(r: &Value, server: &str, step: &str) -> bool {
    r["event"] == "changed"
        && r["server"] == server
        && r["change"]["kind"] == "installer-started"
        && r["change"]["step"] == step
}

#[test]
fn a_setup_that_failed_after_its_file_copy_runs_again_before_the_su_and_the_return_to_service() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .fault(Fault::new("setup-fails", "EX02").once())
        .write(&env, "incomplete.toml");
    let p = plan.to_str().unwrap();

    let first = env.run(&["run", p, "--yes"]).expect_code(1);
    assert!(
        first.stderr.contains("EX02 setup failed"),
        "{}",
        first.stderr
    );
    let run1 = journal(&env);
    assert!(
        !run1
            .iter()
            .any(|r| is(r, "step-done", "EX02", "exit-maintenance")),
        "EX02 went back in service after its setup failed"
    );

    // The pre-flight sees the target build on EX02, and still no
    // up-to-date server: the role keys say the upgrade is unfinished.
    let report = env.run(&["report", p, "--format", "json"]).json();
    let ex02 = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "EX02")
        .unwrap();
    assert_eq!(ex02["build"], "15.2.1748.10", "{ex02:#}");
    assert_ne!(ex02["verdict"], "up-to-date", "{ex02:#}");
    assert_eq!(ex02["needs_upgrade"], true, "{ex02:#}");
    assert!(
        ex02["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("previous upgrade incomplete")),
        "{ex02:#}"
    );

    let second = env.run(&["run", p, "--yes"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let all = journal(&env);
    let run2 = &all[run1.len()..];
    let at = |pred: &dyn Fn(&Value) -> bool, what: &str| {
        run2.iter()
            .position(pred)
            .unwrap_or_else(|| panic!("run 2 has no {what}: {run2:#?}"))
    };
    let setup_restarted = at(
        &|r| installer_started(r, "EX02", "setup"),
        "setup start on EX02",
    );
    let setup_done = at(
        &|r| is(r, "step-done", "EX02", "setup") && r["already_done"] == false,
        "setup done (not already done) on EX02",
    );
    let su_started = at(
        &|r| installer_started(r, "EX02", "security-update"),
        "security update start on EX02",
    );
    let back = at(
        &|r| is(r, "step-done", "EX02", "exit-maintenance"),
        "exit-maintenance on EX02",
    );
    assert!(setup_restarted < setup_done, "{run2:#?}");
    assert!(
        setup_done < su_started,
        "the SU went on before setup finished: {run2:#?}"
    );
    assert!(su_started < back, "{run2:#?}");
    assert_rolled(&env, p, "15.2.1748.43");
}
