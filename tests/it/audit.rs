//! The audit log (`audit.jsonl` in the state directory): `exec`, `report`,
//! `backup` and `drift` append what they sent where, every line carrying
//! the invocation's run id, and never the password (which travels on the
//! scripts' stdin).

use serde_json::Value;

use crate::harness::{Env, LabPlan};

fn audit(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("audit.jsonl"))
        .expect("audit.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn commands_that_reach_servers_log_what_they_sent_where_with_a_run_id_and_no_secret() {
    let env = Env::new();
    let p = LabPlan::new().fast().write(&env, "lab.toml");
    let p = p.to_str().unwrap();
    env.run(&["exec", p, "--all", "hostname"]).expect_code(0);
    env.run(&["report", p]).expect_code(0);
    env.run(&["backup", p, "--server", "EX02"]).expect_code(0);
    env.run(&["drift", p, "--server", "EX02"]).expect_code(0);

    let lines = audit(&env);
    let mut runs: Vec<(&str, &str)> = Vec::new();
    for l in &lines {
        let run_id = l["run_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no run_id: {l}"));
        let command = l["command"].as_str().unwrap();
        assert!(l["time"].is_string(), "{l}");
        if l["event"] == "started" {
            runs.push((command, run_id));
            assert!(l["argv"].as_array().unwrap().len() > 1, "{l}");
        } else {
            assert_eq!(
                runs.last().map(|r| r.1),
                Some(run_id),
                "a line of another invocation: {l}"
            );
        }
    }
    let commands: Vec<&str> = runs.iter().map(|r| r.0).collect();
    assert_eq!(commands, ["exec", "report", "backup", "drift"]);

    // exec --all: one `sent` per server, the command itself, and its answer.
    let exec_id = runs[0].1;
    let sent: Vec<&Value> = lines
        .iter()
        .filter(|l| l["run_id"] == exec_id && l["event"] == "sent")
        .collect();
    let mut servers: Vec<&str> = sent.iter().map(|l| l["server"].as_str().unwrap()).collect();
    servers.sort_unstable();
    assert_eq!(servers, ["EX01", "EX02", "EX03"]);
    assert!(sent
        .iter()
        .all(|l| l["kind"] == "cmd" && l["first_line"] == "hostname"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["run_id"] == exec_id && l["event"] == "answered" && l["exit_code"] == 0)
            .count(),
        3
    );
    // report: Exchange cmdlets through sessions, with the secret on stdin.
    let report_id = runs[1].1;
    assert!(lines.iter().any(|l| l["run_id"] == report_id
        && l["kind"] == "powershell, a secret on stdin (not logged)"
        && !l["exchange_cmdlets"].as_array().unwrap().is_empty()));

    let text = std::fs::read_to_string(env.state_dir().join("audit.jsonl")).unwrap();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode("lab-only-password");
    assert!(
        !text.contains("lab-only-password") && !text.contains(&encoded),
        "the audit log holds the password"
    );
}
