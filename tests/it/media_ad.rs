//! Setup media, SU-only rollouts and Active Directory preparation through
//! the binary on the lab: wrong media blocks before any change (exit 3),
//! a CU already installed rolls the SU alone, and `prepare_ad` blocks or
//! runs the preparation once before the first server.

use serde_json::Value;

use crate::harness::{Env, LabPlan, Run};
use crate::rollout::assert_rolled;

/// plans/lab.toml with fast lab timings and timeouts the fast work never
/// reaches: the variants below say only what they change.
fn plan() -> LabPlan {
    LabPlan::new().fast().timeouts("20s")
}

fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

fn lab_state(env: &Env, plan: &str) -> Value {
    env.run(&["lab", "state", plan, "--format", "json"])
        .expect_code(0)
        .json()
}

fn build_of(state: &Value, server: &str) -> String {
    state["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .unwrap_or_else(|| panic!("{server} not in the lab state"))["build"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Exit 3 from `run`, nothing journaled as changed, the lab's servers
/// still at their starting builds, and every `expect` in the message.
#[track_caller]
fn blocked_before_any_change(env: &Env, plan: &str, expect: &[&str]) -> Run {
    let run = env.run(&["run", plan, "--yes"]).expect_code(3);
    for e in expect {
        assert!(
            run.stderr.contains(e),
            "{e:?} missing from:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(
        !journal(env).iter().any(|r| r["event"] == "changed"),
        "a refused run journaled a change: {:#?}",
        journal(env)
    );
    let state = lab_state(env, plan);
    assert_eq!(build_of(&state, "EX02"), "15.2.1544.39");
    assert_eq!(build_of(&state, "EX03"), "15.2.1544.39");
    run
}

#[test]
fn wrong_media_version_blocks_before_any_change() {
    let env = Env::new();
    // The staged Setup.exe is CU14's, not CU15's.
    let plan = plan()
        .media("D:\\Setup.exe", "build", "15.2.1544.4")
        .write(&env, "wrong-media.toml");
    let p = plan.to_str().unwrap();
    blocked_before_any_change(
        &env,
        p,
        &[
            "EX02",
            "EX03",
            "D:\\Setup.exe",
            "15.2.1544.4",
            "15.2.1748.10",
        ],
    );
    // The report shows the same blocker under each server (and exits 3).
    let report = env
        .run(&["report", p, "--format", "json"])
        .expect_code(3)
        .json();
    let ex02 = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "EX02")
        .unwrap();
    assert_eq!(ex02["verdict"], "blocked");
    assert!(
        ex02["blockers"].as_array().unwrap().iter().any(|b| b
            .as_str()
            .unwrap()
            .contains("setup media D:\\Setup.exe on EX02 is version 15.2.1544.4")),
        "{:#}",
        ex02["blockers"]
    );
    // EX01 is already at the target: its media do not matter.
    let ex01 = &report["servers"][0];
    assert_eq!(ex01["verdict"], "up-to-date", "{ex01:#}");
}

#[test]
fn wrong_setup_sha256_blocks_before_any_change() {
    let env = Env::new();
    let wrong = "0123456789abcdef".repeat(4);
    let plan = plan()
        .rollout("setup_sha256", wrong.as_str())
        .write(&env, "wrong-hash.toml");
    blocked_before_any_change(
        &env,
        plan.to_str().unwrap(),
        &["EX02", "D:\\Setup.exe", "setup_sha256", &wrong],
    );
}

#[test]
fn the_right_setup_sha256_passes() {
    let env = Env::new();
    // docs/lab.md: the lab's default hash of a media file is the SHA-256 of
    // "<path>|<build>"; give it explicitly so the plan can name it.
    let hash = "ab".repeat(32);
    let plan = plan()
        .rollout("setup_sha256", hash.as_str())
        .media("D:\\Setup.exe", "sha256", hash.to_uppercase())
        .write(&env, "right-hash.toml");
    env.run(&["report", plan.to_str().unwrap()]).expect_code(0);
}

#[test]
fn a_missing_security_update_blocks_before_any_change() {
    let env = Env::new();
    let plan = plan()
        .rollout("su_path", "C:\\Updates\\Missing.msp")
        .write(&env, "missing-su.toml");
    blocked_before_any_change(
        &env,
        plan.to_str().unwrap(),
        &["C:\\Updates\\Missing.msp does not exist on EX02"],
    );
}

#[test]
fn su_only_rollout_installs_the_security_update_alone() {
    let env = Env::new();
    // EX02 runs CU15 without any SU, EX03 CU15 Oct25SU; the target is CU15
    // with its latest SU (Feb26SU, 15.2.1748.43).
    let plan = plan()
        .lab_server("EX02", "build", "15.2.1748.10")
        .lab_server("EX03", "build", "15.2.1748.39")
        .write(&env, "su-only.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(0);
    let state = lab_state(&env, p);
    assert_eq!(build_of(&state, "EX02"), "15.2.1748.43", "{}", run.stderr);
    assert_eq!(build_of(&state, "EX03"), "15.2.1748.43");
    let records = journal(&env);
    for server in ["EX02", "EX03"] {
        let done = |step: &str| {
            records
                .iter()
                .find(|r| r["event"] == "step-done" && r["server"] == server && r["step"] == step)
                .unwrap_or_else(|| panic!("{server} {step} not done: {records:#?}"))
                .clone()
        };
        assert_eq!(done("setup")["already_done"], true, "{server} setup ran");
        assert_eq!(
            done("security-update")["already_done"],
            false,
            "{server} SU not installed"
        );
        assert!(
            !records.iter().any(|r| r["event"] == "changed"
                && r["server"] == server
                && r["change"]["kind"] == "installer-started"
                && r["change"]["step"] == "setup"),
            "{server}: setup was started on a server already at the CU"
        );
    }
    assert_rolled(&env, p, "15.2.1748.43");
}

/// The organisation one object version below what CU15 needs (16763).
fn org_below() -> LabPlan {
    plan().ad("org_object_version", 16762)
}

#[test]
fn prepare_ad_block_stops_with_the_command_and_where_to_run_it() {
    let env = Env::new();
    let plan = org_below().write(&env, "ad-block.toml");
    let p = plan.to_str().unwrap();
    blocked_before_any_change(
        &env,
        p,
        &[
            "D:\\Setup.exe /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF",
            "domain contoso.local",
            "site Default-First-Site-Name",
            "dc01.contoso.local",
        ],
    );
    let state = lab_state(&env, p);
    assert_eq!(state["ad"]["org_object_version"], 16762);
}

#[test]
fn prepare_ad_run_prepares_once_before_the_first_server() {
    let env = Env::new();
    let plan = org_below()
        .policy("prepare_ad", "run")
        .policy("ad_replication_wait", "200ms")
        .write(&env, "ad-run.toml");
    let p = plan.to_str().unwrap();
    let first = env.run(&["run", p, "--yes"]).expect_code(0);
    let state = lab_state(&env, p);
    assert_eq!(state["ad"]["org_object_version"], 16763, "{}", first.stderr);
    assert_eq!(state["ad"]["schema_range_upper"], 17003);
    assert_eq!(state["ad"]["domain_object_version"], 13243);

    let records = journal(&env);
    let prep: Vec<&Value> = records
        .iter()
        .filter(|r| r["step"] == "prepare-ad")
        .collect();
    let started: Vec<&&Value> = prep
        .iter()
        .filter(|r| r["event"] == "step-started")
        .collect();
    assert_eq!(started.len(), 1, "{prep:#?}");
    let done = prep
        .iter()
        .find(|r| r["event"] == "step-done")
        .expect("prepare-ad done");
    assert_eq!(done["already_done"], false);
    let commands: Vec<&str> = prep
        .iter()
        .filter(|r| r["event"] == "changed" && r["change"]["kind"] == "installer-started")
        .map(|r| r["change"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        vec!["\"D:\\Setup.exe\" /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"]
    );
    // Before the first server: the preparation precedes every other step.
    let first_step = records
        .iter()
        .find(|r| r["event"] == "step-started")
        .unwrap();
    assert_eq!(first_step["step"], "prepare-ad");
    assert_rolled(&env, p, "15.2.1748.43");

    // A second run prepares nothing again.
    let before = journal(&env).len();
    env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(
        !journal(&env)[before..]
            .iter()
            .any(|r| r["step"] == "prepare-ad"),
        "the second run touched prepare-ad again"
    );
}
