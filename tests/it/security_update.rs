//! The security update after the CU, end to end on the lab (review
//! real-exchange.md #6, #7, #18, L6). The lab behaves as its sources say
//! (`crates/lab/src/security_update.rs`): a CU leaves a reboot pending; an
//! SU installed over it is half-applied and leaves ServiceControl.ps1's
//! service set Disabled (UNVERIFIED); `su-fails` exits 1603 with a verbose
//! log and leaves the set Disabled; `su-busy` exits 1618; `su-restarts`
//! exits 1641 and restarts the machine; `su-interrupted` restarts the
//! machine part-way with no exit code. Each test here fails on the product
//! before this change (it installed the SU straight after setup, knew no
//! 1618/1641, wrote no log and looked only at MSExchange* Automatic
//! services).

use serde_json::Value;

use crate::faults::journal;
use crate::harness::{Env, Fault, LabPlan};
use crate::rollout::assert_rolled;

const TARGET: &str = "15.2.1748.43";

/// The services ServiceControl.ps1 disables, as the lab's world holds them
/// on `server`: (name, start type, status).
fn services(env: &Env, server: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(env.state_dir().join("lab-world.json")).unwrap();
    let w: Value = serde_json::from_str(&text).unwrap();
    let s = w["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .unwrap();
    s["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["start_type"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every service of the set is Automatic and running on every server.
fn assert_services_back(env: &Env) {
    for server in ["EX01", "EX02", "EX03"] {
        for name in [
            "RemoteRegistry",
            "WinMgmt",
            "MpsSvc",
            "FMS",
            "HostControllerService",
            "W3SVC",
            "MSExchangeIS",
            "MSExchangeTransport",
        ] {
            let found = services(env, server)
                .into_iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                .unwrap_or_else(|| panic!("{server} has no {name}"));
            assert_eq!(
                (found.1.as_str(), found.2.as_str()),
                ("Automatic", "Running"),
                "{server} {name}"
            );
        }
    }
}

fn changed<'a>(records: &'a [Value], server: &str, kind: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["event"] == "changed" && r["server"] == server && r["change"]["kind"] == kind)
        .collect()
}

fn observed(records: &[Value], server: &str, needle: &str) -> bool {
    records
        .iter()
        .any(|r| r["server"] == server && r.to_string().contains(needle) && r["event"] != "changed")
}

/// The CU leaves a reboot pending; cu-roll reboots before the SU, so the
/// SU is not half-applied and every service comes back.
#[test]
fn the_su_waits_for_a_reboot_after_the_cu() {
    let env = Env::new();
    let plan = LabPlan::new().fast().timeouts("20s").write(&env, "su.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = journal(&env);
    // EX01 is at the target already (skipped).
    for server in ["EX02", "EX03"] {
        let reboot = j
            .iter()
            .position(|r| {
                r["server"] == server
                    && r["change"]["kind"] == "reboot-requested"
                    && r["change"]["step"] == "security-update"
            })
            .unwrap_or_else(|| panic!("{server}: no reboot before the SU"));
        let su = j
            .iter()
            .position(|r| {
                r["server"] == server
                    && r["change"]["kind"] == "installer-started"
                    && r["change"]["step"] == "security-update"
            })
            .unwrap();
        assert!(reboot < su, "{server}: the reboot comes after the SU");
        assert!(changed(&j, server, "service-start-type").is_empty());
    }
    assert_rolled(&env, p, TARGET);
    assert_services_back(&env);
}

/// 1603: the failure names the lines of the /l*v log; the SU leaves the
/// set Disabled, the next run installs it again (which restores what it
/// saved: Disabled) and exit-maintenance sets the set back, journaling the
/// before-state first.
#[test]
fn a_failed_su_shows_its_log_and_the_services_it_left_disabled_are_repaired() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .fault(Fault::new("su-fails", "EX02").once())
        .write(&env, "su-fails.toml");
    let p = plan.to_str().unwrap();
    let first = env.run(&["run", p, "--yes"]).expect_code(1);
    assert!(
        first.stderr.contains("msiexec exited with code 1603"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("Return value 3"), "{}", first.stderr);
    let run1 = journal(&env).len();
    let second = env.run(&["run", p, "--yes"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let all = journal(&env);
    let repairs = changed(&all[run1..], "EX02", "service-start-type");
    assert!(
        repairs
            .iter()
            .any(|r| r["change"]["service"] == "RemoteRegistry"
                && r["change"]["from"] == "Disabled"
                && r["change"]["to"] == "Automatic"),
        "{repairs:#?}"
    );
    assert_rolled(&env, p, TARGET);
    assert_services_back(&env);
}

/// 1618: another installation runs; the SU is started again until it can.
#[test]
fn another_installation_in_progress_is_waited_out() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .fault(Fault::new("su-busy", "EX02").once().hold("2s"))
        .write(&env, "su-busy.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(observed(&journal(&env), "EX02", "1618"));
    assert_rolled(&env, p, TARGET);
}

/// 1641: the installer restarted the machine; cu-roll waits for the boot
/// and sends no Restart-Computer of its own for it.
#[test]
fn a_restart_the_installer_initiated_is_waited_for() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .fault(Fault::new("su-restarts", "EX02").once())
        .write(&env, "su-restarts.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = journal(&env);
    assert!(observed(&j, "EX02", "1641"));
    let su = j
        .iter()
        .position(|r| {
            r["server"] == "EX02"
                && r["change"]["kind"] == "installer-started"
                && r["change"]["step"] == "security-update"
        })
        .unwrap();
    let finished = j
        .iter()
        .position(|r| {
            r["server"] == "EX02"
                && r["change"]["kind"] == "installer-finished"
                && r["change"]["step"] == "security-update"
        })
        .unwrap();
    assert!(changed(&j[su..finished], "EX02", "reboot-requested").is_empty());
    assert_rolled(&env, p, TARGET);
    assert_services_back(&env);
}

/// The machine restarts under the SU: the step says so, with the services
/// left Disabled and ServiceControl's file; the next run installs the SU
/// again and exit-maintenance repairs what is still Disabled.
#[test]
fn an_interrupted_su_is_reported_and_installed_again() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        // A reboot longer than a poll, as real ones are: cu-roll sees the
        // server drop out under the SU.
        .timing("reboot", "2s")
        .fault(Fault::new("su-interrupted", "EX02").once())
        .write(&env, "su-interrupted.toml");
    let p = plan.to_str().unwrap();
    let first = env.run(&["run", p, "--yes"]).expect_code(1);
    for needle in [
        "ended without writing an exit code",
        "services left Disabled: ",
        "RemoteRegistry",
        "ServiceStartupMode.xml",
    ] {
        assert!(first.stderr.contains(needle), "{needle}: {}", first.stderr);
    }
    let second = env.run(&["run", p, "--yes"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(!changed(&journal(&env), "EX02", "service-start-type").is_empty());
    assert_rolled(&env, p, TARGET);
    assert_services_back(&env);
}
