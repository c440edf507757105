//! The binary over WinRM: `cu-roll lab serve` in one process, `cu-roll
//! report` and `cu-roll exec` over the WinRM transport in others, with the
//! same verdicts as the in-process lab.

use std::process::Command;

use crate::harness::{repo, Env, LabPlan};
use crate::lab_serve::{free_base_port, serve};

#[test]
fn report_over_winrm_matches_the_lab() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .ports(port)
        .write(&env, "lab-winrm.toml");
    let (_serve, lines) = serve(&env, &plan);
    assert_eq!(
        lines,
        [
            format!("EX01 http://127.0.0.1:{port}/wsman"),
            format!("EX02 http://127.0.0.1:{}/wsman", port + 1),
            format!("EX03 http://127.0.0.1:{}/wsman", port + 2),
        ]
    );
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(0);
    let json = run.json();
    let text = json.to_string();
    assert!(
        text.contains("\"EX02\"") && text.contains("ready"),
        "{text}"
    );

    let run = env
        .run(&[
            "exec",
            plan.to_str().unwrap(),
            "--server",
            "EX03",
            "hostname",
        ])
        .expect_code(0);
    assert!(run.stdout.contains("EX03"), "{}", run.stdout);
}

#[test]
fn a_wrong_password_fails_clearly_without_showing_it() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .ports(port)
        .connection("password_env", "CUROLL_IT_WRONG_PASSWORD")
        .write(&env, "lab-winrm.toml");
    let (_serve, _) = serve(&env, &plan);
    let run = env.run(&[
        "exec",
        plan.to_str().unwrap(),
        "--server",
        "EX01",
        "hostname",
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("authentication failed for lab\\admin on EX01"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-password") && !run.stdout.contains("not-the-password"));
}

/// A wrong password is tried on one server only (each try is a failed
/// logon against the account: lockout), and said once, exit 2: by
/// `report` and by `run`, never as "no server could be reached".
#[test]
fn a_wrong_password_stops_at_the_first_server_and_is_said_once() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .ports(port)
        .connection("password_env", "CUROLL_IT_WRONG_PASSWORD")
        .write(&env, "lab-winrm.toml");
    let (_serve, _) = serve(&env, &plan);
    let p = plan.to_str().unwrap();
    for args in [vec!["report", p], vec!["run", p, "--yes"]] {
        let out = env.run(&args).expect_code(2);
        assert_eq!(
            out.stderr
                .matches("authentication failed for lab\\admin")
                .count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(
                "stopped before trying the other servers, so that the account is not locked out"
            ),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("could be reached"), "{}", out.stderr);
    }
}

#[test]
fn report_over_sealed_ntlm() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm-ntlm.toml")
        .ports(port)
        .write(&env, "lab-winrm-ntlm.toml");
    let (_serve, lines) = serve(&env, &plan);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(0);
    assert!(run.json().to_string().contains("ready"), "{}", run.stdout);
}

/// `transport = "powershell"` through the shim that stands in for
/// powershell.exe (tests/winrm/powershell_shim.py); needs python3.
#[test]
fn powershell_transport_through_the_shim() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED powershell_transport_through_the_shim: python3 is not installed");
        return;
    }
    let env = Env::new();
    let lab = env.plan("lab.toml");
    let shim = repo().join("tests/winrm/powershell_shim.py");
    let plan = LabPlan::new()
        .connection("transport", "powershell")
        .connection("powershell_path", shim.display().to_string())
        // The installer's account (never SYSTEM): the lab's.
        .connection("user", "lab\\admin")
        .connection("password_env", "CUROLL_LAB_PASSWORD")
        .write(&env, "lab-ps.toml");
    let shim_env = [
        // The session's and the installer's password (the lab's).
        ("CUROLL_LAB_PASSWORD", "lab-only-password".to_string()),
        ("CUROLL_SHIM_BIN", env!("CARGO_BIN_EXE_cu-roll").to_string()),
        ("CUROLL_SHIM_PLAN", lab.display().to_string()),
        (
            "CUROLL_SHIM_STATE",
            env.path().join("shim-state").display().to_string(),
        ),
    ];
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cu-roll"))
            .args(args)
            .arg("--state-dir")
            .arg(env.state_dir())
            .envs(shim_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run cu-roll");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let plan = plan.to_str().unwrap();
    let (code, stdout, stderr) = run(&["report", plan, "--format", "json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ready"), "{stdout}");
    let (code, stdout, stderr) = run(&["exec", plan, "--server", "EX02", "hostname"]);
    assert_eq!((code, stdout.trim()), (0, "EX02"), "{stderr}");
    assert!(stderr.contains("exit code 0"), "{stderr}");
    let (code, _, stderr) = run(&["exec", plan, "--server", "EX02", "--ps", "Get-NoSuchThing"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("Get-NoSuchThing") && stderr.contains("exit code 1"),
        "{stderr}"
    );
}

/// Issue 4's end-to-end check: the whole rollout over WinRM (Basic, then
/// sealed NTLM) against `lab serve`, with the same result as in-process and
/// an empty availability record.
fn full_rollout_over(plan_name: &str) {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans(plan_name)
        .fast()
        .ports(port)
        .write(&env, plan_name);
    let (_serve, lines) = serve(&env, &plan);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    let state = env
        .run_with_state(&env.path().join("served-state"), &["lab", "state", p])
        .expect_code(0)
        .json();
    assert_eq!(
        state["availability"],
        serde_json::Value::Array(vec![]),
        "{:#}",
        state["availability"]
    );
    for s in state["servers"].as_array().unwrap() {
        assert_eq!(s["build"], "15.2.1748.43", "{}", s["name"]);
    }
    let logged = crate::rollout::assert_no_secret_logged(&state, "lab-only-password");
    assert!(logged > 100, "the lab logged {logged} events");
    // The client kept a connection and a shell per server across calls:
    // before it did, every command opened its own of each.
    let log = std::fs::read_to_string(env.state_dir().join("cu-roll.log")).expect("cu-roll.log");
    let totals = log
        .lines()
        .rfind(|l| l.contains("winrm transport totals"))
        .unwrap_or_else(|| panic!("no transport totals logged:\n{log}"));
    let count = |name: &str| -> u64 {
        let re = regex::Regex::new(&format!(r#"\b{name}\W+(\d+)"#)).unwrap();
        re.captures(totals)
            .and_then(|c| c[1].parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {totals}"))
    };
    let (connections, shells) = (count("connections"), count("shells"));
    let calls = count("commands") + count("host_requests");
    eprintln!("{plan_name}: {totals}");
    assert!(
        calls > 100 && connections * 10 <= calls && shells * 10 <= calls,
        "{connections} connections and {shells} shells for {calls} calls: {totals}"
    );
}

/// Issue 13, sessions that last: over `lab serve` (in this process, so its
/// counters are at hand) a rollout starts few powershell.exe and opens few
/// Exchange sessions per server, because each kept shell runs one
/// long-lived PowerShell host. Before the host, every PowerShell call
/// started one (hundreds per server) and every Exchange call opened a
/// session (dozens per server).
#[test]
fn a_rollout_starts_few_powershell_processes_and_exchange_sessions() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .fast()
        .ports(port)
        .write(&env, "lab-winrm.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    let spec = lab::parse_plan_text(&text, &plan).unwrap().unwrap();
    let options = lab::winrm::ServeOptions::new(lab::winrm::Scheme::Http);
    let running =
        lab::winrm::start(&spec, &spec.dag, &env.path().join("served-state"), options).unwrap();
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(run.stdout.contains("done"), "{}", run.stdout);
    let c = running.lab.counts();
    let servers = running.urls.len() as u64;
    eprintln!("{servers} servers: {c:?}");
    // Dozens of PowerShell calls per server (81 with the DAG-wide reads of
    // "calls that scale"), so one start per call would be far above the
    // bound below.
    assert!(c.calls > 50 * servers, "{c:?}");
    // Per server: a host per shell, a new shell after each of the two
    // reboots, a second shell when two calls overlap (pre-flight), and
    // the rare call that ends its host. Before: one start per call.
    assert!(
        c.powershell_starts <= 12 * servers,
        "{} powershell.exe starts for {} calls on {servers} servers",
        c.powershell_starts,
        c.calls
    );
    // Exchange calls reuse the host's session: one per host at most.
    assert!(
        c.sessions <= c.powershell_starts,
        "{} Exchange sessions for {} powershell.exe starts",
        c.sessions,
        c.powershell_starts
    );
    // ... and its imported proxies: a host imports a cmdlet into a session
    // once (5.3 imports per session here, for the handful of cmdlet sets
    // the steps use), not once per call (every Exchange call did before).
    assert!(
        c.imports <= 8 * c.sessions,
        "{} Import-PSSession for {} Exchange sessions ({} calls)",
        c.imports,
        c.sessions,
        c.calls
    );
    let state = env
        .run_with_state(&env.path().join("served-state"), &["lab", "state", p])
        .expect_code(0)
        .json();
    assert_eq!(state["availability"], serde_json::Value::Array(vec![]));
    crate::rollout::assert_no_secret_logged(&state, "lab-only-password");
}

#[test]
fn full_rollout_over_winrm_basic() {
    full_rollout_over("lab-winrm.toml");
}

#[test]
fn full_rollout_over_winrm_sealed_ntlm() {
    full_rollout_over("lab-winrm-ntlm.toml");
}

/// Nothing listens on the plan's ports: every server is unreachable. What
/// could not be read is `null` (not `false`), each blocker has its code,
/// and the error is said once.
#[test]
fn unreachable_servers_are_null_where_nothing_is_known() {
    let env = Env::new();
    let port = free_base_port();
    let plan = LabPlan::from_plans("lab-winrm.toml")
        .ports(port)
        .write(&env, "lab-winrm.toml");
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(3);
    let j = run.json();
    assert_eq!(j["schema_version"], 1);
    for s in j["servers"].as_array().unwrap() {
        for field in ["needs_upgrade", "pending_reboot", "maintenance", "build"] {
            assert!(s[field].is_null(), "{field}: {s:#}");
        }
        assert_eq!(
            s["blocker_codes"],
            serde_json::json!(["unreachable"]),
            "{s:#}"
        );
        let error = s["error"].as_str().expect("an error");
        let first = error.split("; ").next().unwrap();
        assert_eq!(error.matches(first).count(), 1, "said twice: {error}");
    }
    assert!(j["ad_preparation"]["needs_prepare_ad"].is_null(), "{j:#}");
}
