//! The rollout through the binary on the lab: full run, re-run, dry run,
//! lock, status, plan changes.

use std::collections::HashSet;

use serde_json::Value;

use crate::harness::{Env, LabPlan, Run};

/// The journal's records, parsed.
fn journal(env: &Env) -> Vec<Value> {
    let text = std::fs::read_to_string(env.state_dir().join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

fn report(env: &Env, plan: &str) -> Value {
    let run = env.run(&["report", plan, "--format", "json"]);
    assert!(
        run.code == 0 || run.code == 3,
        "report failed: {}",
        run.stderr
    );
    run.json()
}

fn lab_state(env: &Env, plan: &str) -> Value {
    env.run(&["lab", "state", plan, "--format", "json"])
        .expect_code(0)
        .json()
}

/// Asserts what a finished rollout must leave: every server at the target,
/// out of maintenance, every database on its preference-1 copy, and an
/// empty availability record.
#[track_caller]
pub fn assert_rolled(env: &Env, plan: &str, target_build: &str) {
    let r = report(env, plan);
    for s in r["servers"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["build"], target_build, "{name} build");
        assert_eq!(
            s["maintenance"]["in_maintenance"], false,
            "{name}: {:#}",
            s["maintenance"]
        );
        assert_eq!(
            s["maintenance"]["activation_policy"], "Unrestricted",
            "{name}"
        );
        assert_eq!(s["maintenance"]["cluster_node"], "Up", "{name}");
        for c in s["copies"].as_array().unwrap() {
            let preferred = c["activation_preference"] == 1;
            assert_eq!(c["active"].as_bool().unwrap(), preferred, "{name}: {c:#}");
            assert_eq!(c["ok"], true, "{name}: {c:#}");
        }
    }
    let state = lab_state(env, plan);
    assert_eq!(
        state["availability"],
        Value::Array(vec![]),
        "availability record: {:#}",
        state["availability"]
    );
}

/// The lab's PowerShell logs after a rollout (`lab state`: `servers[].
/// powershell_log`, the newest 128 events of each kind per server) hold
/// no password: no script text (4104) has it, plain or as its base64
/// stdin line, and no logged parameter value (4103) has it, with no
/// exception: the setup and redistribution tasks are registered through
/// the Task Scheduler's COM objects, whose method arguments the lab does
/// not log. No script loaded the Exchange snap-in. Returns how many
/// events were read.
#[track_caller]
pub fn assert_no_secret_logged(state: &Value, password: &str) -> usize {
    use base64::Engine;
    let line = base64::engine::general_purpose::STANDARD.encode(password);
    let mut events = 0;
    for s in state["servers"].as_array().unwrap() {
        let name = &s["name"];
        let log = &s["powershell_log"];
        for e in log["script_blocks"].as_array().expect("4104 events") {
            let text = e["message"].as_str().unwrap();
            events += 1;
            assert!(
                !text.contains(password) && !text.contains(&line),
                "{name}: 4104 holds the password:\n{text}"
            );
            assert!(
                !text.contains("Add-PSSnapin"),
                "{name}: a script loaded the snap-in:\n{text}"
            );
        }
        for e in log["invocations"].as_array().expect("4103 events") {
            let text = e["message"].as_str().unwrap();
            events += 1;
            assert!(
                !text.contains(password) && !text.contains(&line),
                "{name}: 4103 holds the password:\n{text}"
            );
        }
    }
    events
}

/// The logs keep the newest 128 events of each kind per server, so after
/// a whole rollout the task registrations have scrolled out of them. A run
/// stopped by `fault` on EX02 keeps the one that names `task` (by cmdlet
/// or COM object) in EX02's 4103 log, and no event holds the password.
fn registration_logs_no_password(fault: &str, task: &str) {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .fault(crate::harness::Fault::new(fault, "EX02").once())
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    run_plan(&env, p).expect_code(1);
    let state = lab_state(&env, p);
    let ex02 = state["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "EX02")
        .unwrap();
    let calls: Vec<&str> = ex02["powershell_log"]["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        calls.iter().any(|m| m.contains(task)),
        "the registration of {task} is still in the log: {calls:#?}"
    );
    assert_no_secret_logged(&state, "lab-only-password");
}

#[test]
fn the_installer_task_registration_logs_no_password() {
    registration_logs_no_password("setup-fails", "cu-roll-setup");
}

fn run_plan(env: &Env, plan: &str) -> Run {
    env.run(&["run", plan, "--yes"])
}

#[test]
fn full_rollout_upgrades_every_server_and_keeps_every_database_mounted() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let run = run_plan(&env, p).expect_code(0);
    assert!(
        run.stdout.contains("EX02") && run.stdout.contains("EX03"),
        "summary: {}",
        run.stdout
    );
    assert_rolled(&env, p, "15.2.1748.43");
    let logged = assert_no_secret_logged(&lab_state(&env, p), "lab-only-password");
    assert!(logged > 100, "the lab logged {logged} events");

    // EX01 was already at the target: skipped, never touched.
    let j = journal(&env);
    assert!(j
        .iter()
        .any(|r| r["event"] == "server-skipped" && r["server"] == "EX01"));
    assert!(!j
        .iter()
        .any(|r| r["event"] == "step-started" && r["server"] == "EX01"));
    // Every step of EX02 and EX03 ran once, in the contract's order.
    for server in ["EX02", "EX03"] {
        let steps: Vec<&str> = j
            .iter()
            .filter(|r| r["event"] == "step-done" && r["server"] == server)
            .map(|r| r["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "backup-config",
                "enter-maintenance",
                "reboot-before-setup",
                "setup",
                "security-update",
                "reboot-after-setup",
                "exit-maintenance",
                "health",
                "redistribute"
            ],
            "{server}"
        );
    }
    // A run report was written, naming the customisation the CU reverted
    // on EX02 (plans/lab.toml: BackEndProxyTimeout in OWA's web.config).
    let run_report: Value = serde_json::from_str(
        &std::fs::read_to_string(env.state_dir().join("run-report.json")).unwrap(),
    )
    .unwrap();
    let drift = run_report["config_drift"]
        .as_array()
        .expect("config_drift in the run report");
    let ex02 = drift
        .iter()
        .find(|d| d["server"] == "EX02")
        .expect("EX02 drift");
    assert_eq!(
        ex02["reverted"][0]["key"], "BackEndProxyTimeout",
        "{ex02:#}"
    );
    assert_eq!(ex02["reverted"][0]["backup_value"], "00:05:00", "{ex02:#}");
    let ex03 = drift
        .iter()
        .find(|d| d["server"] == "EX03")
        .expect("EX03 drift");
    assert_eq!(ex03["reverted"], Value::Array(vec![]), "{ex03:#}");
    let md = std::fs::read_to_string(env.state_dir().join("run-report.md")).unwrap();
    assert!(md.contains("BackEndProxyTimeout"), "{md}");
    // The command to put it back names this plan, not `PLAN` (review #17).
    let put_back = format!("`cu-roll restore-config {p} --server EX02 --key BackEndProxyTimeout`");
    assert!(md.contains(&put_back), "{md}");
    let text = env.run(&["drift", p, "--server", "EX02"]).expect_code(0);
    assert!(text.stdout.contains(&put_back), "{}", text.stdout);
    assert!(
        run.stderr
            .contains("reverted appSettings 'BackEndProxyTimeout'"),
        "{}",
        run.stderr
    );

    // The same through `cu-roll drift`, and put back with `restore-config`.
    let drift = env
        .run(&["drift", p, "--server", "EX02", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(drift["schema_version"], 1);
    assert_eq!(drift["servers"][0]["server"], "EX02");
    let restore = env
        .run(&[
            "restore-config",
            p,
            "--server",
            "EX02",
            "--key",
            "BackEndProxyTimeout",
            "--yes",
        ])
        .expect_code(0);
    assert!(
        restore.stderr.contains("00:05:00"),
        "the change is shown first: {}",
        restore.stderr
    );
    let after = env
        .run(&["drift", p, "--server", "EX02", "--format", "json"])
        .expect_code(0)
        .json();
    let reverted: Vec<&Value> = after["servers"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["app_settings"].as_array().unwrap())
        .filter(|s| s["reverted"] == true)
        .collect();
    assert!(
        reverted.is_empty(),
        "still reverted after restore: {reverted:#?}"
    );
    assert!(journal(&env)
        .iter()
        .any(|r| r["event"] == "changed" && r["change"]["kind"] == "app-setting-restored"));

    // Running again finds nothing to do and starts no step.
    let before = journal(&env).len();
    run_plan(&env, p).expect_code(0);
    let after = journal(&env);
    assert!(
        !after[before..].iter().any(|r| r["event"] == "step-started"),
        "a finished rollout started steps again: {:#?}",
        &after[before..]
    );

    let status = env
        .run(&["status", p, "--format", "json"])
        .expect_code(0)
        .json();
    let servers = status["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3);
    for s in servers {
        assert!(s["state"] == "done" || s["state"] == "skipped", "{s:#}");
        assert!(s["error"].is_null(), "{s:#}");
    }
}

/// The dry run knows the journal: after a finished rollout it shows no
/// server being rolled, as the run itself then does nothing.
#[test]
fn after_a_finished_rollout_the_dry_run_has_nothing_to_do() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    run_plan(&env, p).expect_code(0);
    let dry = env.run(&["run", p, "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout.contains("The journal holds a finished rollout")
            && dry
                .stdout
                .contains("Nothing to do: no server would be changed."),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("==="), "{}", dry.stdout);
}

/// Mid-rollout, the dry run shows the rollout resumed: its order, and
/// what is left of the server in progress.
#[test]
fn mid_rollout_the_dry_run_shows_what_a_resume_would_do() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    // Dies right after EX02's third change, in enter-maintenance.
    let crashed = env.run_env(
        &[("CU_ROLL_TEST_CRASH_AFTER_CHANGE", "3")],
        &["run", p, "--yes"],
    );
    assert_ne!(crashed.code, 0, "{}", crashed.stderr);
    let dry = env.run(&["run", p, "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout
            .contains("The journal holds this rollout unfinished"),
        "{}",
        dry.stdout
    );
    let ex02 = dry
        .stdout
        .lines()
        .find(|l| l.contains("1. EX02"))
        .unwrap_or_else(|| panic!("{}", dry.stdout));
    assert!(
        ex02.contains("8 steps")
            && ex02.contains("resumes after 1 finished step; left: enter-maintenance,"),
        "{ex02}"
    );
    let ex02_steps = dry
        .stdout
        .split("=== EX02")
        .nth(1)
        .and_then(|rest| rest.split("=== EX03").next())
        .unwrap_or_else(|| panic!("{}", dry.stdout));
    assert!(
        !ex02_steps.contains("--- backup-config") && ex02_steps.contains("--- enter-maintenance"),
        "{ex02_steps}"
    );
}

#[test]
fn dry_run_prints_every_command_and_changes_nothing() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    let before = report(&env, p);
    // By default: the plan view, then each step's intent and its commands
    // one line each.
    let run = env.run(&["run", p, "--dry-run"]).expect_code(0);
    for expected in [
        "Order (passive-first: fewest active databases first):",
        "EX01  DAG01  skipped: already at 15.2.1748.43 or later",
        "Steps on each server: backup-config, enter-maintenance,",
        "Expected duration: up to about",
        "--- enter-maintenance: drain transport",
        "if HubTransport is not yet held by requester Maintenance: Set-ServerComponentState",
        "Suspend-ClusterNode",
        "Redirect-Message",
        "--- setup: run Setup.exe /Mode:Upgrade",
    ] {
        assert!(
            run.stdout.contains(expected),
            "dry run lacks {expected:?}:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("=== EX01"), "EX01 has nothing to do");
    assert!(run.stdout.lines().count() < 200, "{}", run.stdout);
    // --scripts: the exact commands, and none for another Exchange version.
    let scripts = env
        .run(&["run", p, "--dry-run", "--scripts"])
        .expect_code(0);
    for expected in [
        "Set-ServerComponentState -Identity 'EX02' -Component 'HubTransport' -State 'Draining' -Requester 'Maintenance'",
        "Redirect-Message -Server 'EX02'",
        "Suspend-ClusterNode -Name 'EX02'",
        "Set-MailboxServer -Identity 'EX03' -DatabaseCopyAutoActivationPolicy 'Blocked'",
        "/Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF",
        "RedistributeActiveDatabases.ps1",
        "Test-ReplicationHealth",
    ] {
        assert!(scripts.stdout.contains(expected), "--scripts lacks {expected:?}:\n{}", scripts.stdout);
    }
    assert!(
        !scripts.stdout.contains("# Exchange 2016"),
        "an Exchange 2016 branch for a 2019 target"
    );
    assert!(
        !env.state_dir().join("journal.jsonl").exists(),
        "dry run wrote a journal"
    );
    let after = report(&env, p);
    for (b, a) in before["servers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(after["servers"].as_array().unwrap())
    {
        assert_eq!(b["build"], a["build"]);
        assert_eq!(b["maintenance"], a["maintenance"]);
        let active = |s: &Value| -> HashSet<String> {
            s["copies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["active"] == true)
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(active(b), active(a), "dry run moved a database");
    }
}

#[test]
fn status_before_any_run_says_not_started() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let status = env
        .run(&["status", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(0)
        .json();
    for s in status["servers"].as_array().unwrap() {
        assert_eq!(s["state"], "pending", "{s:#}");
    }
}

#[test]
fn blocked_plan_is_refused_before_any_change_with_exit_3() {
    let env = Env::new();
    let plan = env.plan("lab-blocked.toml");
    let p = plan.to_str().unwrap();
    let run = run_plan(&env, p).expect_code(3);
    assert!(
        run.stderr.contains("EX03") && run.stderr.contains(".NET Framework"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    let j = journal(&env);
    assert!(!j.iter().any(|r| r["event"] == "changed"), "{j:#?}");
}

#[test]
fn backup_writes_a_verified_zip_and_verify_catches_corruption() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["backup", p, "--server", "EX02"]).expect_code(0);
    let zip = run.stdout.split('\t').nth(1).expect("zip path").to_string();
    assert!(
        run.stdout.contains("26 files") && run.stdout.contains("verified"),
        "{}",
        run.stdout
    );
    env.run(&["backup", "verify", &zip]).expect_code(0);
    let mut bytes = std::fs::read(&zip).unwrap();
    // 64 bytes from the middle: one byte there may fall in a local header's
    // copy of a file name, which verify does not read (it reads the
    // central directory); 64 reach into that entry's compressed data.
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&zip, bytes).unwrap();
    let bad = env.run(&["backup", "verify", &zip]).expect_code(1);
    assert!(bad.stderr.contains(&zip), "{}", bad.stderr);
}

/// A run asks at a terminal before it changes anything (and, with
/// pause_between, before each next server); without one it refuses to
/// start unless --yes says not to ask.
#[test]
fn a_run_without_a_terminal_refuses_to_start_unless_yes() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .policy("pause_between", true)
        .write(&env, "pause.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p]).expect_code(2);
    assert!(
        run.stderr.contains("no terminal to confirm")
            && run.stderr.contains("pass --yes")
            && run.stderr.contains("pause_between"),
        "{}",
        run.stderr
    );
    // The bare form too.
    env.run(&[p]).expect_code(2);
    assert!(
        !env.state_dir().join("journal.jsonl").exists(),
        "refused before the journal"
    );
    env.run(&["run", p, "--yes"]).expect_code(0);
}
