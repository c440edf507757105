//! The lab through the binary: exec, state, reset, PowerShell fidelity.

use crate::harness::Env;

#[test]
fn exec_runs_cmd_and_powershell_on_lab_servers() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    let run = env
        .run(&["exec", p, "--server", "EX02", "hostname"])
        .expect_code(0);
    assert_eq!(run.stdout.trim(), "EX02");
    let run = env
        .run(&[
            "exec",
            p,
            "--all",
            "--ps",
            "$PSVersionTable.PSVersion.ToString()",
        ])
        .expect_code(0);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(
        run.stdout.lines().all(|l| l.contains("5.1")),
        "{}",
        run.stdout
    );
}

#[test]
fn misspelled_cmdlet_and_parameter_fail_as_powershell_does() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    let run = env
        .run(&["exec", p, "--server", "EX01", "--ps", "Set-ServerComonentState EX01 -Component HubTransport -State Draining -Requester Maintenance"])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("The term 'Set-ServerComonentState' is not recognized"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&[
            "exec",
            p,
            "--server",
            "EX01",
            "--exchange",
            "Get-MailboxDatabaseCopyStatus -Servr EX01",
        ])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("A parameter cannot be found that matches parameter name 'Servr'."),
        "{}",
        run.stderr
    );
}

#[test]
fn lab_state_persists_and_reset_starts_over() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    env.run(&[
        "exec",
        p,
        "--server",
        "EX03",
        "--exchange",
        "Set-MailboxServer EX03 -DatabaseCopyAutoActivationPolicy Blocked",
    ])
    .expect_code(0);
    let ex03 = |report: &serde_json::Value| {
        report["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "EX03")
            .unwrap()
            .clone()
    };
    // A Blocked policy persists, and is a setting, not maintenance (review
    // real-exchange.md #10): EX03 stays ready, with a warning.
    let j = env
        .run(&["report", p, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(ex03(&j)["maintenance"]["activation_policy"], "Blocked");
    assert_eq!(ex03(&j)["maintenance"]["in_maintenance"], false);
    assert_eq!(ex03(&j)["verdict"], "ready");
    assert!(
        ex03(&j)["warnings"]
            .to_string()
            .contains("a DR member's setting"),
        "{}",
        ex03(&j)["warnings"]
    );
    env.run(&["lab", "reset", p]).expect_code(0);
    let j = env
        .run(&["report", p, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(ex03(&j)["maintenance"]["activation_policy"], "Unrestricted");
    let state = env
        .run(&["lab", "state", p, "--format", "json"])
        .expect_code(0)
        .json();
    assert!(state.is_object());
}
