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

/// Setup refuses to run beside another powershell.exe on its server, an
/// idle one included (rule ProcessNeedsToBeClosedOnUpgrade): the host the
/// task's registration left behind fails it, and `end_sessions` (which
/// the installer step calls right after the registration) lets it run.
#[test]
fn an_installer_fails_beside_a_kept_host_and_runs_once_it_is_ended() {
    use crate::exchange::act::{start_installer, InstallerTask, TaskAccount};
    for end in [false, true] {
        let (plan, spec) = lab_plan("");
        let dir = tempfile::tempdir().unwrap();
        let running = serve(&spec, dir.path(), Scheme::Http, true);
        let exec = executor(&running, PASSWORD, None);
        let ex02 = &plan.servers[1];
        let task = InstallerTask {
            task: "cu-roll-setup",
            batch_file: "setup.cmd",
            exit_file: "setup.exitcode",
        };
        let account = TaskAccount {
            user: "lab\\admin".into(),
            password: PASSWORD.into(),
        };
        let line =
            "\"D:\\Setup.exe\" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF";
        let action = start_installer("setup", &task, line, &account);
        let script = action.op.credential_script("lab\\admin");
        let secret = Secret::new(PASSWORD.into());
        let out = exec
            .run_ps_with_secret(ex02, script.text(), &secret)
            .unwrap();
        assert_eq!(out.exit_code, 0, "{out:?}");
        if end {
            exec.end_sessions(ex02);
        }
        // Poll with cmd.exe, as the step does, until the exit code is written.
        let read = crate::exchange::observe::exit_code_cmd(task.exit_file);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let code = loop {
            let out = exec.run_cmd(ex02, &read).unwrap();
            if out.exit_code == 0 && !out.stdout.trim().is_empty() {
                break out.stdout.trim().to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit code: {out:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(code, if end { "0" } else { "1" }, "end_sessions: {end}");
    }
}

/// The operator's interrupt while a call waits for its answer (here the
/// host's start, 3 s in this lab): the wait ends at once with
/// `Interrupted`, before the answer; the shell is given up, not reused. A
/// call started after the interrupt runs to its end (the step's way to its
/// next safe point), in a shell of its own. With and without the host.
#[test]
fn an_interrupt_ends_the_wait_for_an_answer_at_once() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab-winrm.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[lab.timings]", "[lab.timings]\npowershell_start = \"3s\"");
    let plan = crate::plan::parse(&text, &path).unwrap();
    let spec = lab::parse_plan_text(&text, &path).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    for ps_host in [true, false] {
        let mut exec = executor(&running, PASSWORD, None);
        let cancel = crate::runtime::Cancel::new();
        exec.options.cancel = cancel.clone();
        exec.options.ps_host = ps_host;
        let ex01 = &plan.servers[0];
        let started = std::time::Instant::now();
        let interrupted = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
            });
            exec.run_ps(ex01, "'first'")
        });
        let took = started.elapsed();
        assert!(
            matches!(&interrupted, Err(ExecError::Interrupted { server }) if server == "EX01"),
            "{interrupted:?}"
        );
        assert!(
            took < Duration::from_millis(2_500),
            "host {ps_host}: {took:?}"
        );
        let shells = exec.totals().shells;
        let after = exec.run_ps(ex01, "'second'").unwrap();
        assert_eq!(after.stdout.trim_end(), "second", "{after:?}");
        assert_eq!(
            exec.totals().shells,
            shells + 1,
            "the given-up shell is not reused"
        );
    }
}

/// An Exchange read sent again and again through one host imports its
/// cmdlets' proxies once (each `Import-PSSession` makes a temporary module
/// in the process and fetches the commands' metadata from the server); a
/// per-call powershell.exe imports every time. The session is opened once
/// in the host either way it is kept.
#[test]
fn a_host_imports_an_exchange_sessions_commands_once() {
    let op = crate::exchange::observe::read_dag_members("DAG01");
    let script = op.session_script("ex01.contoso.local", "lab\\admin");
    let secret = Secret::new(PASSWORD.into());
    for ps_host in [true, false] {
        let (plan, spec) = lab_plan("");
        let dir = tempfile::tempdir().unwrap();
        let running = serve(&spec, dir.path(), Scheme::Http, true);
        let mut exec = executor(&running, PASSWORD, None);
        exec.options.ps_host = ps_host;
        let ex02 = &plan.servers[1];
        let mut answers = Vec::new();
        for _ in 0..4 {
            let out = exec
                .run_ps_with_secret(ex02, script.text(), &secret)
                .unwrap();
            assert_eq!(out.exit_code, 0, "host {ps_host}: {out:?}");
            answers.push(out.stdout);
        }
        assert!(
            answers
                .iter()
                .all(|a| a == &answers[0] && a.contains("EX01")),
            "{answers:?}"
        );
        let c = running.lab.counts();
        let (sessions, imports) = if ps_host { (1, 1) } else { (4, 4) };
        assert_eq!(
            (c.sessions, c.imports),
            (sessions, imports),
            "host {ps_host}: {c:?}"
        );
    }
}
