//! The PowerShell host against `lab serve`: one powershell.exe per kept
//! shell answers many calls (the lab counts the starts), each call's
//! output and status are its own, the password reaches the script and no
//! log, `exit` and a deadline end the host and the next call starts
//! another, and an Exchange session opened in a host is reused.

use std::time::Duration;

use super::tests::{executor, lab_plan, serve, PASSWORD};
use crate::exec::{ExecError, Executor};
use crate::plan::{Scheme, Secret};

#[test]
fn one_powershell_process_answers_many_calls_each_with_its_own_output() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let ex01 = &plan.servers[0];
    for i in 0..5 {
        let out = exec.run_ps(ex01, &format!("$x = {i}\n$x * 2")).unwrap();
        assert_eq!(
            (out.stdout.trim_end(), out.exit_code),
            (&*(i * 2).to_string(), 0)
        );
    }
    // A failing call has its own error and status; the next is clean, and
    // a variable of an earlier call does not leak into it.
    let failed = exec
        .run_ps(ex01, "$ErrorActionPreference = 'Stop'\nthrow 'boom'")
        .unwrap();
    assert_eq!(failed.exit_code, 1, "{failed:?}");
    assert!(failed.stderr.contains("boom"), "{failed:?}");
    let clean = exec.run_ps(ex01, "\"[$x]\"").unwrap();
    assert_eq!(
        (
            clean.stdout.trim_end(),
            clean.exit_code,
            clean.stderr.as_str()
        ),
        ("[]", 0, "")
    );
    let t = exec.totals();
    assert_eq!((t.shells, t.commands, t.host_requests), (1, 1, 6), "{t:?}");
    assert_eq!(running.lab.counts().powershell_starts, 1);
}

#[test]
fn the_secret_reaches_the_script_and_no_log() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let ex01 = &plan.servers[0];
    let secret = Secret::new("s3cret pass".into());
    let read = "[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine())).Length";
    for _ in 0..2 {
        let out = exec.run_ps_with_secret(ex01, read, &secret).unwrap();
        assert_eq!(out.stdout.trim_end(), "11", "{out:?}");
    }
    // A script that cannot be compiled never reads the secret's line: the
    // host drops it instead of running it as a command.
    let broken = exec.run_ps_with_secret(ex01, "if (", &secret).unwrap();
    assert_eq!(broken.exit_code, 1, "{broken:?}");
    let after = exec.run_ps(ex01, "'after'").unwrap();
    assert_eq!(
        (after.stdout.trim_end(), after.stderr.as_str()),
        ("after", "")
    );
    assert_eq!(running.lab.counts().powershell_starts, 1);
    let state = running.lab.state_json();
    let log = state["servers"][0]["powershell_log"].to_string();
    assert!(!log.contains("s3cret"), "{log}");
    let b64 = crate::exec::secret_line(&secret);
    assert!(!log.contains(b64.trim_end()), "{log}");
}

#[test]
fn exit_and_a_deadline_end_the_host_and_the_next_call_starts_another() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let ex01 = &plan.servers[0];
    let out = exec.run_ps(ex01, "'bye'\nexit 7").unwrap();
    assert_eq!((out.stdout.trim_end(), out.exit_code), ("bye", 7));
    assert_eq!(exec.run_ps(ex01, "1").unwrap().stdout.trim_end(), "1");
    assert_eq!(running.lab.counts().powershell_starts, 2);
}

/// A request still unanswered at its deadline (here the host's own start
/// takes longer) terminates the host; the next call starts another.
#[test]
fn a_deadline_terminates_the_host() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab-winrm.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[lab.timings]",
        "[lab.timings]\npowershell_start = \"800ms\"",
    );
    let plan = crate::plan::parse(&text, &path).unwrap();
    let spec = lab::parse_plan_text(&text, &path).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let mut exec = executor(&running, PASSWORD, None);
    // Long-polls shorter than the start, so the deadline is seen.
    exec.options.poll_timeout = Duration::from_millis(100);
    let ex01 = &plan.servers[0];
    let slow = WinRmExecutor::run_ps_timed(&exec, ex01, "1", Some(Duration::from_millis(100)));
    assert!(matches!(slow, Err(ExecError::Timeout { .. })), "{slow:?}");
    assert_eq!(exec.run_ps(ex01, "2").unwrap().stdout.trim_end(), "2");
    assert_eq!(exec.run_ps(ex01, "3").unwrap().stdout.trim_end(), "3");
    assert_eq!(running.lab.counts().powershell_starts, 2);
}

use super::WinRmExecutor;
