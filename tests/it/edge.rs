//! Edge Transport servers (issue 14): `plans/lab-edge.toml` rolls a DAG and
//! two Edge servers of one AD site to completion — each Edge server as its
//! local administrator, its Exchange cmdlets in a local Exchange shell on
//! it (never an Exchange remote session), after the Mailbox servers, one
//! Edge server at a time, proven by Test-EdgeSynchronization from a
//! Mailbox server; a plan without the Edge server's local account or its
//! password is refused before anything changes; and the lab's Edge server
//! refuses what a Mailbox-minded naive path would send it.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

/// The lab's password, which the lab's Edge local administrators have.
const PASSWORD: (&str, &str) = ("CU_ROLL_EDGE_PASSWORD", "lab-only-password");

fn plan() -> LabPlan {
    LabPlan::from_plans("lab-edge.toml").fast().timeouts("20s")
}

fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

#[test]
fn the_edge_lab_plan_rolls_to_completion_without_an_exchange_session_to_an_edge_server() {
    let env = Env::new();
    let plan = plan().write(&env, "lab-edge.toml");
    let p = plan.to_str().unwrap();
    let run = env.run_env(&[PASSWORD], &["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let report = env.run(&["report", p, "--format", "json"]).json();
    for s in report["servers"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(s["build"], "15.2.1748.43", "{name}");
        assert_eq!(s["maintenance"]["in_maintenance"], false, "{name}");
    }

    let records = journal(&env);
    for edge in ["EDGE01", "EDGE02"] {
        let mine = |r: &&Value| r["server"] == edge;
        let steps: Vec<&str> = records
            .iter()
            .filter(mine)
            .filter(|r| r["event"] == "step-done")
            .map(|r| r["step"].as_str().unwrap())
            .collect();
        for step in ["enter-maintenance", "setup", "exit-maintenance", "health"] {
            assert!(
                steps.contains(&step),
                "{step} not done on {edge}: {steps:?}"
            );
        }
        let kinds: Vec<&str> = records
            .iter()
            .filter(mine)
            .filter(|r| r["event"] == "changed")
            .map(|r| r["change"]["kind"].as_str().unwrap())
            .collect();
        for mailbox_only in [
            "cluster-node-suspended",
            "cluster-group-moved",
            "activation-policy",
            "activation-disabled-and-move-now",
            "messages-redirected",
            "active-databases-redistributed",
        ] {
            assert!(
                !kinds.contains(&mailbox_only),
                "{mailbox_only} on {edge}: {kinds:?}"
            );
        }
    }
    // Edge servers roll after every Mailbox server, one after the other.
    let started: Vec<&str> = records
        .iter()
        .filter(|r| r["event"] == "step-started" && r["step"] == "enter-maintenance")
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    let at = |n: &str| started.iter().position(|s| *s == n).unwrap();
    assert!(
        at("EDGE01") > at("EX02") && at("EDGE01") > at("EX03"),
        "{started:?}"
    );
    assert_eq!(at("EDGE02"), at("EDGE01") + 1, "{started:?}");

    let state = env
        .run(&["lab", "state", p, "--format", "json"])
        .expect_code(0)
        .json();
    let servers = state["servers"].as_array().unwrap();
    let sessions = |n: &str| {
        servers.iter().find(|s| s["name"] == n).unwrap()["exchange_sessions"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        sessions("EDGE01"),
        0,
        "an Exchange remote session to EDGE01"
    );
    assert_eq!(
        sessions("EDGE02"),
        0,
        "an Exchange remote session to EDGE02"
    );
    assert!(sessions("EX01") + sessions("EX02") + sessions("EX03") > 0);
    // No database and no Edge site was ever left without service.
    let events = state["availability"].as_array().unwrap();
    assert!(events.is_empty(), "{events:#?}");
}

#[test]
fn an_edge_server_without_its_local_administrator_or_password_is_refused_before_any_change() {
    let env = Env::new();
    // No local_user: refused when the plan is loaded, at the role key.
    let text = plan()
        .text()
        .replace("local_user = 'EDGE01\\Administrator'\n", "");
    let no_user = env.write_plan("no-user.toml", &text);
    let run = env
        .run_env(&[PASSWORD], &["run", no_user.to_str().unwrap(), "--yes"])
        .expect_code(2);
    assert!(
        run.stderr
            .contains("server 'EDGE01' is an Edge Transport server, which is in no domain"),
        "{}",
        run.stderr
    );
    assert!(journal(&env).is_empty());

    // The lab must simulate an Edge server where the plan has one.
    let text = plan().text().replace(
        "role = \"edge\"\nlocal_admin = 'EDGE02\\Administrator'\nedge_site = \"Default-First-Site-Name\"\n",
        "",
    );
    let mismatch = env.write_plan("mismatch.toml", &text);
    let run = env
        .run_env(&[PASSWORD], &["report", mismatch.to_str().unwrap()])
        .expect_code(2);
    assert!(
        run.stderr.contains("server 'EDGE02' is an Edge Transport server in the plan but a Mailbox server in the lab"),
        "{}",
        run.stderr
    );

    // The password's variable is not set: refused before any server is
    // touched (not at EDGE01's setup, after the DAG was rolled).
    let plan = plan().write(&env, "lab-edge.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("CU_ROLL_EDGE_PASSWORD"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("local administrator EDGE01\\Administrator"),
        "{}",
        run.stderr
    );
    let changed = journal(&env)
        .iter()
        .filter(|r| r["event"] == "changed")
        .count();
    assert_eq!(changed, 0);
}

#[test]
fn an_edge_server_has_no_exchange_remote_powershell_and_no_mailbox_cmdlets() {
    let env = Env::new();
    let plan = plan().write(&env, "lab-edge.toml");
    let p = plan.to_str().unwrap();
    // `exec --exchange` runs the command in a local Exchange shell on an
    // Edge server (an Exchange remote session there fails: below).
    let run = env.run(&[
        "exec",
        p,
        "--server",
        "EDGE01",
        "--exchange",
        "Get-ServerComponentState -Identity EDGE01 | ForEach-Object { $_.Component }",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("HubTransport"), "{}", run.stdout);

    // The naive path: the Mailbox servers' remote session, opened to the
    // Edge server itself.
    let naive = "$s = New-PSSession -ConfigurationName 'Microsoft.Exchange' -ConnectionUri 'http://edge01.contoso.local/PowerShell/' -Authentication 'Kerberos' -ErrorAction Stop; 'opened'";
    let run = env.run(&["exec", p, "--server", "EX01", "--ps", naive]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("opened"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("Connecting to remote server edge01.contoso.local failed"),
        "{}",
        run.stderr
    );
    // A Mailbox cmdlet in the Edge server's own shell is not there.
    let run = env.run(&[
        "exec", p, "--server", "EDGE01", "--ps",
        "Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.E2010'; Get-MailboxDatabaseCopyStatus",
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("'Get-MailboxDatabaseCopyStatus' is not recognized"),
        "{}",
        run.stderr
    );
    // From a Mailbox server, the Edge server's components are not there.
    let run = env.run(&[
        "exec",
        p,
        "--server",
        "EX01",
        "--exchange",
        "Get-ServerComponentState -Identity EDGE01",
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("couldn't be found"), "{}", run.stderr);
    let state = env
        .run(&["lab", "state", p, "--format", "json"])
        .expect_code(0)
        .json();
    let edge01 = state["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "EDGE01")
        .unwrap()
        .clone();
    assert_eq!(edge01["exchange_sessions"], 0);
}

#[test]
fn an_edge_server_stays_in_service_while_the_other_edge_server_of_its_site_is_out() {
    let env = Env::new();
    let plan = plan().write(&env, "lab-edge.toml");
    let p = plan.to_str().unwrap();
    // EDGE02 carries no mail (a component held Inactive by its admin).
    env.run(&[
        "exec", p, "--server", "EDGE02", "--exchange",
        "Set-ServerComponentState -Identity EDGE02 -Component HubTransport -State Inactive -Requester Functional",
    ])
    .expect_code(0);
    let run = env.run_env(&[PASSWORD], &["run", p, "--yes", "--only", "EDGE01"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("no other Edge server subscribed to site Default-First-Site-Name is in service to carry its mail while EDGE01 is out (EDGE02 is not in service)"),
        "{out}"
    );
    // EDGE01 was left carrying mail: nothing changed there but the
    // config backup (a copy of its files, taken before the gate).
    let changed: Vec<Value> = journal(&env)
        .into_iter()
        .filter(|r| r["event"] == "changed" && r["server"] == "EDGE01")
        .filter(|r| r["change"]["kind"] != "config-backed-up")
        .collect();
    assert!(changed.is_empty(), "{changed:#?}");
    let states = env
        .run(&[
            "exec", p, "--server", "EDGE01", "--exchange",
            "Get-ServerComponentState -Identity EDGE01 -Component HubTransport | ForEach-Object { $_.State.ToString() }",
        ])
        .expect_code(0);
    assert!(states.stdout.contains("Active"), "{}", states.stdout);
}
