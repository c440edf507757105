//! The maintenance window (`[policy] not_after`) end to end: the server in
//! progress is finished, the next one (whose estimated roll would end
//! after the window) is not started, the run exits 6 and `status` says so;
//! a later window resumes. Time is the lab's: the test moves it with
//! `cu-roll lab advance` while a setup runs, instead of waiting.

use std::time::Duration;

use crate::faults::journal;
use crate::harness::{Env, LabPlan};
use crate::rollout::assert_rolled;

/// Each server's setup takes 40 minutes of lab time, the plan estimates a
/// server at one hour, and the window ends `window` after now (in the
/// +01:00 zone, as an operator in Paris would write it).
fn plan(window: Duration) -> LabPlan {
    LabPlan::new()
        .fast()
        .timeouts("60s")
        .timing("setup", "40m")
        .policy("server_estimate", "1h")
        .policy("not_after", local_time(window))
}

/// Now + `after`, as `YYYY-MM-DDTHH:MM:SS+01:00`.
fn local_time(after: Duration) -> String {
    let at = std::time::SystemTime::now() + after + Duration::from_secs(3600);
    let utc = humantime::format_rfc3339_seconds(at).to_string();
    utc.replace('Z', "+01:00")
}

/// Runs `plan` in the background; each time a server's setup has been
/// started (journaled `installer-started`), moves the lab's clock 45
/// minutes on, so that setup ends at once.
fn run_advancing(env: &Env, plan: &str) -> (i32, String) {
    let child = env.spawn(&["run", plan]);
    let mut advanced = 0;
    let mut child = child;
    loop {
        let setups = if env.state_dir().join("journal.jsonl").exists() {
            journal(env)
                .iter()
                .filter(|r| {
                    r["event"] == "changed"
                        && r["change"]["kind"] == "installer-started"
                        && r["step"] == "setup"
                })
                .count()
        } else {
            0
        };
        if setups > advanced {
            env.run(&["lab", "advance", plan, "45m"]).expect_code(0);
            advanced += 1;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_window_ends_after_the_server_in_progress_exits_6_and_a_later_window_resumes() {
    let env = Env::new();
    let p = plan(Duration::from_secs(90 * 60)).write(&env, "lab.toml");
    let p = p.to_str().unwrap();

    // EX02's roll (1h estimated) fits the 90-minute window; it takes 45
    // minutes of lab time, after which EX03's would end after the window.
    let (code, stderr) = run_advancing(&env, p);
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("the maintenance window ends at")
            && stderr.contains("EX03's roll is estimated at 1h"),
        "{stderr}"
    );
    let records = journal(&env);
    let done: Vec<&str> = records
        .iter()
        .filter(|r| r["event"] == "server-done")
        .filter_map(|r| r["server"].as_str())
        .collect();
    assert_eq!(done, ["EX02"], "EX02 finished, nothing else started");
    assert!(
        !records
            .iter()
            .any(|r| r["event"] == "step-started" && r["server"] != "EX02"),
        "no step ran on another server"
    );
    assert_eq!(
        records.last().unwrap()["outcome"],
        "window-reached",
        "{records:#?}"
    );

    let status = env.run(&["status", p]).expect_code(6);
    assert!(
        status.stdout.contains("maintenance window"),
        "{}",
        status.stdout
    );

    // The next night: the same plan with a later window resumes at EX03
    // (not_after is not part of what a resumed run must agree with).
    plan(Duration::from_secs(24 * 3600)).write(&env, "lab.toml");
    let (code, stderr) = run_advancing(&env, p);
    assert_eq!(code, 0, "{stderr}");
    assert_rolled(&env, p, "15.2.1748.43");
    env.run(&["status", p]).expect_code(0);
}
