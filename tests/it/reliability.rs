//! A rollout you can trust at 3 a.m.: fast lab timings that once broke
//! the security update, Ctrl-C and SIGTERM, the OS lock, and a journal
//! whose tail is damaged.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

/// The journal's records, parsed.
fn journal(env: &Env) -> Vec<Value> {
    let text = std::fs::read_to_string(env.state_dir().join("journal.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

/// Regression: with `security_update` at 200 ms or less the lab judged
/// "already installed" by the run's length, so msiexec exited 0 and left
/// the build at the CU's (the rollout stopped at EX02 security-update with
/// "the build is 15.2.1748.10, not 15.2.1748.43").
#[test]
fn a_security_update_faster_than_200ms_still_installs() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timing("security_update", "50ms")
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(0);
    crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    let su_done = journal(&env)
        .into_iter()
        .filter(|e| e["event"] == "step-done" && e["step"] == "security-update")
        .count();
    assert_eq!(su_done, 2, "EX02 and EX03 each ran the security update");
}

/// Ctrl-C and SIGTERM sent to a real `cu-roll run` (`kill -INT`, `kill -TERM`).
#[cfg(unix)]
pub(crate) mod signals {
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    use super::journal;
    use crate::harness::{Env, Fault, LabPlan};

    /// Waits until a journal line contains `needle` (or panics after 60 s).
    fn wait_for_journal(env: &Env, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text =
                std::fs::read_to_string(env.state_dir().join("journal.jsonl")).unwrap_or_default();
            if text.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle} in the journal:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`INT`, `TERM`, …) to the child, by its pid.
    pub(crate) fn kill(child: &Child, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the child (at most 30 s); its exit code and stderr.
    fn finish(child: Child) -> (i32, String, Duration) {
        let start = Instant::now();
        let out = child.wait_with_output().expect("wait for cu-roll");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            start.elapsed(),
        )
    }

    /// `status` as JSON; `code` is the exit code it must give (the last
    /// run's: 5 interrupted, also when it ended without recording how;
    /// 7 running).
    fn status(env: &Env, plan: &str, code: i32) -> serde_json::Value {
        env.run(&["status", plan, "--format", "json"])
            .expect_code(code)
            .json()
    }

    /// The `observed` records a run left, as (server, step, what).
    fn observed(env: &Env) -> Vec<(String, String, String)> {
        journal(env)
            .iter()
            .filter(|r| r["event"] == "observed")
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("server"), s("step"), s("what"))
            })
            .collect()
    }

    /// The interrupted run's last record says `interrupted`.
    fn assert_ended_interrupted(env: &Env) {
        let records = journal(env);
        let last = records.last().expect("a journal");
        assert_eq!(last["event"], "run-finished", "{last}");
        assert_eq!(last["outcome"], "interrupted", "{last}");
    }

    /// Ctrl-C (SIGINT) while setup runs on a server: a safe stop (exit 5),
    /// setup left running by design, journaled at that server's `setup`
    /// step, the lock released, `status` interrupted. The lab's clock is
    /// then moved past setup (`lab advance`, no waiting) and the next run
    /// re-attaches to setup and finishes the rollout.
    #[test]
    fn ctrl_c_during_setup_stops_with_exit_5_and_the_next_run_finishes() {
        let env = Env::new();
        let plan = LabPlan::new()
            .fast()
            .timing("setup", "20s")
            .write(&env, "lab.toml");
        let p = plan.to_str().unwrap();
        let child = env.spawn(&["run", p, "--yes"]);
        wait_for_journal(&env, "\"installer-started\"");
        kill(&child, "INT");
        let (code, stderr, took) = finish(child);
        assert_eq!(code, 5, "{stderr}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(
            stderr.contains("stopping at the next safe point"),
            "{stderr}"
        );
        assert!(
            stderr.contains("Interrupted during EX02 setup; setup keeps running on EX02"),
            "{stderr}"
        );
        assert_ended_interrupted(&env);
        let at_setup: Vec<_> = observed(&env)
            .into_iter()
            .filter(|(server, step, what)| {
                server == "EX02" && step == "setup" && what.contains("keeps running")
            })
            .collect();
        assert_eq!(at_setup.len(), 1, "{:?}", observed(&env));
        let s = status(&env, p, 5);
        assert_eq!(s["overall"], "interrupted", "{s:#}");
        assert!(s["lock"].is_null(), "{s:#}");
        assert!(!env.state_dir().join("lock").exists());

        env.run(&["lab", "advance", p, "30s"]).expect_code(0);
        env.run(&["run", p, "--yes"]).expect_code(0);
        crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    }

    /// SIGTERM (a service manager stopping cu-roll) while enter-maintenance
    /// waits for EX02's active copies to move off, which the lab holds
    /// mounted (`move-blocked`, held for 2 min of lab time; the timeouts are
    /// longer, so only the signal ends the wait): exit 5 naming EX02
    /// enter-maintenance, journaled there, without the timeout's advice.
    /// EX02 is left half in maintenance, which the journal explains: once
    /// the lab's clock is past the hold, the next run finishes the step and
    /// the rollout, every server back in service.
    #[test]
    fn sigterm_in_a_wait_stops_at_once_and_the_next_run_finishes() {
        let env = Env::new();
        let plan = LabPlan::new()
            .fast()
            .timeouts("10m")
            .fault(Fault::new("move-blocked", "EX02").once().hold("2m"))
            .write(&env, "lab.toml");
        let p = plan.to_str().unwrap();
        let child = env.spawn(&["run", p, "--yes"]);
        // The last change before the move: the wait begins (or the signal
        // is seen at its first poll).
        wait_for_journal(&env, "\"policy\":\"Blocked\"");
        kill(&child, "TERM");
        let (code, stderr, took) = finish(child);
        assert_eq!(code, 5, "{stderr}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(
            stderr.contains("Interrupted during EX02 enter-maintenance"),
            "{stderr}"
        );
        for advice in [
            "Still mounted on",
            "[policy.timeouts]",
            "Move-ActiveMailboxDatabase",
        ] {
            assert!(
                !stderr.contains(advice),
                "an interrupt is no timeout ({advice}): {stderr}"
            );
        }
        assert_ended_interrupted(&env);
        assert!(
            observed(&env)
                .iter()
                .any(|(server, step, what)| server == "EX02"
                    && step == "enter-maintenance"
                    && what.starts_with(
                        "stopped while moving every active database copy off on EX02; "
                    )),
            "{:?}",
            observed(&env)
        );
        assert_eq!(status(&env, p, 5)["overall"], "interrupted");

        env.run(&["lab", "advance", p, "3m"]).expect_code(0);
        env.run(&["run", p, "--yes"]).expect_code(0);
        crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    }

    /// A second Ctrl-C ends the run at once; the journal still reads whole.
    #[test]
    fn a_second_ctrl_c_stops_at_once_with_the_journal_whole() {
        let env = Env::new();
        let plan = LabPlan::new()
            .fast()
            .timing("setup", "20s")
            .write(&env, "lab.toml");
        let p = plan.to_str().unwrap();
        let child = env.spawn(&["run", p, "--yes"]);
        wait_for_journal(&env, "\"installer-started\"");
        kill(&child, "INT");
        // Again and again until it is gone: the safe stop takes a moment
        // (the run report, the summary), and a second signal ends it there.
        let mut child = child;
        for _ in 0..200 {
            if child.try_wait().expect("poll cu-roll").is_some() {
                break;
            }
            kill(&child, "INT");
            std::thread::sleep(Duration::from_millis(2));
        }
        let (code, stderr, took) = finish(child);
        assert_eq!(code, 5, "{stderr}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(stderr.contains("stopping at once"), "{stderr}");
        // Every line is a whole record, numbered in order.
        for (i, r) in journal(&env).iter().enumerate() {
            assert_eq!(r["seq"], i as u64 + 1, "{r}");
        }
        assert!(status(&env, p, 5)["lock"].is_null());
    }

    /// The lock is the OS's: `unlock --force` refuses while the run lives,
    /// deleting the lock file lets no second run in, and a killed run's
    /// lock dies with it (the next run takes over without `unlock`).
    #[test]
    fn the_lock_holds_while_the_run_lives_and_dies_with_it() {
        let env = Env::new();
        let plan = LabPlan::new()
            .fast()
            .timing("setup", "20s")
            .write(&env, "lab.toml");
        let p = plan.to_str().unwrap();
        let child = env.spawn(&["run", p, "--yes"]);
        wait_for_journal(&env, "\"installer-started\"");
        let pid = child.id().to_string();
        // A second run fails fast, naming the holder: pid, host, since.
        let started = Instant::now();
        let second = env.run(&["run", p, "--yes"]).expect_code(4);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(env.state_dir().join("lock")).unwrap())
                .unwrap();
        for part in [
            "another cu-roll holds the lock".to_string(),
            format!("(pid {pid}, `cu-roll run`)"),
            format!(" on {} ", record["host"].as_str().unwrap()),
            format!("since {}", record["since"].as_str().unwrap()),
            format!("`cu-roll status {p}` shows where it stands"),
        ] {
            assert!(second.stderr.contains(&part), "{part:?}: {}", second.stderr);
        }
        let refused = env.run(&["unlock", p, "--force"]).expect_code(4);
        assert!(
            refused.stderr.contains("held by a running cu-roll"),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains(&pid), "{}", refused.stderr);
        std::fs::remove_file(env.state_dir().join("lock")).unwrap();
        let third = env.run(&["run", p, "--yes"]).expect_code(4);
        assert!(
            third.stderr.contains("another cu-roll holds the lock"),
            "{}",
            third.stderr
        );
        assert_eq!(status(&env, p, 7)["overall"], "running");
        kill(&child, "KILL");
        let (code, _, _) = finish(child);
        assert_eq!(code, -1, "killed by SIGKILL");
        // Killed before it could record how it ended: interrupted (5).
        assert!(status(&env, p, 5)["lock"].is_null());
        env.run(&["unlock", p, "--force"]).expect_code(0);
    }

    /// A record left by a killed run does not block the next one.
    #[test]
    fn a_killed_runs_lock_record_is_taken_over_by_the_next_run() {
        let env = Env::new();
        let plan = LabPlan::new().fast().write(&env, "lab.toml");
        let p = plan.to_str().unwrap();
        let child = env.spawn(&["run", p, "--yes"]);
        wait_for_journal(&env, "\"run-started\"");
        let pid = child.id().to_string();
        kill(&child, "KILL");
        finish(child);
        assert!(
            env.state_dir().join("lock").exists(),
            "SIGKILL leaves the record"
        );
        let next = env.run(&["run", p, "--yes"]).expect_code(0);
        assert!(
            next.stderr.contains(&format!("(pid {pid}"))
                && next.stderr.contains("ended without releasing the lock"),
            "{}",
            next.stderr
        );
        crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    }
}
