//! `cu-roll run` at a real terminal, driven through tmux (120x40, as the
//! operator-experience review ran it): the plan view and its question,
//! "no" (nothing starts, exit 5), "yes", the progress board with a moving
//! clock, and Ctrl-C during setup (exit 5, the journal whole, a resume
//! finishes). And the same rollout without a terminal: only state-change
//! lines, each stamped.
//!
//! tmux comes from Debian (`scripts/test` installs it when missing and sets
//! `CU_ROLL_REQUIRE_TMUX`); without it and without that variable the tmux
//! test says SKIPPED and returns.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Env, LabPlan};

/// A tmux session running one shell command, on a tmux server of its own
/// (its own socket, no user config), killed with that server when dropped.
///
/// A server per session, because a shared one exits when its last session
/// is killed, and a `new-session` that reaches it while it exits fails with
/// "server exited unexpectedly" (seen in CI between the "no" and "yes"
/// sessions).
struct Tmux {
    name: String,
    socket: String,
}

impl Tmux {
    fn start(name: &str, dir: &Path, command: &str) -> Tmux {
        let socket = format!("{name}-server");
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(["new-session", "-d", "-s", name, "-x", "120", "-y", "40"])
            .arg("-c")
            .arg(dir)
            .arg(command)
            .status()
            .expect("start tmux");
        assert!(status.success(), "tmux new-session failed");
        Tmux {
            name: name.to_string(),
            socket,
        }
    }

    /// The screen with its colours and attributes as escape sequences.
    fn screen_escaped(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-e", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane -e");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until the screen satisfies `ok`; the last screen either way.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 60 s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// The exit code the shell wrote to `file`, waiting for it.
fn exit_code(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(code) = text.trim().parse() {
                return code;
            }
        }
        assert!(Instant::now() < deadline, "no exit code in {file:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CU_ROLL_REQUIRE_TMUX").is_none(),
            "CU_ROLL_REQUIRE_TMUX is set but tmux does not run"
        );
        eprintln!(
            "SKIPPED: tmux is not installed (scripts/test installs it: apt-get install tmux)"
        );
    }
    found
}

/// The shell command that runs cu-roll at the terminal and keeps its exit
/// code in `code_file` (the pane stays open to be read).
fn shell(env: &Env, plan: &Path, code_file: &Path) -> String {
    format!(
        "NO_COLOR=1 CU_ROLL_CONFIG_DIR='{}' '{}' run '{}' --state-dir '{}'; echo $? > '{}'; sleep 600",
        env.config_dir().display(),
        env!("CARGO_BIN_EXE_cu-roll"),
        plan.display(),
        env.state_dir().display(),
        code_file.display()
    )
}

fn journal_records(env: &Env) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every journal line is whole JSON"))
        .collect()
}

#[test]
fn at_a_terminal_the_run_shows_its_plan_asks_shows_the_board_and_stops_at_ctrl_c() {
    if !tmux_available() {
        return;
    }
    let env = Env::new();
    // Setup takes 8 s in the lab: long enough to see the board and to
    // press Ctrl-C while it runs.
    let plan = LabPlan::new()
        .fast()
        .timing("setup", "8s")
        .write(&env, "lab.toml");
    let session = format!("cu-roll-it-{}", std::process::id());

    // "no": nothing starts.
    let declined = env.path().join("declined.code");
    let tmux = Tmux::start(
        &format!("{session}-no"),
        env.path(),
        &shell(&env, &plan, &declined),
    );
    let screen = tmux.wait_for("the question", |s| s.contains("[y/N]"));
    for expected in [
        "Order (passive-first",
        "EX01  DAG01  skipped: already at",
        "Gates, before a server leaves service",
        "Expected duration: up to about",
        "Roll EX02, EX03 to Exchange Server 2019 CU15",
    ] {
        assert!(screen.contains(expected), "{expected:?} not on:\n{screen}");
    }
    tmux.keys(&["n", "Enter"]);
    assert_eq!(exit_code(&declined), 5, "{}", tmux.screen());
    let screen = tmux.wait_for("the refusal", |s| s.contains("nothing was changed"));
    assert!(screen.contains("not started at your request"), "{screen}");
    assert!(
        journal_records(&env)
            .iter()
            .all(|r| r["event"] != "run-started"),
        "a declined run journals no start"
    );
    drop(tmux);

    // "y": the board, then Ctrl-C during EX02's setup.
    let code = env.path().join("run.code");
    let tmux = Tmux::start(
        &format!("{session}-yes"),
        env.path(),
        &shell(&env, &plan, &code),
    );
    tmux.wait_for("the question", |s| s.contains("[y/N]"));
    tmux.keys(&["y", "Enter"]);
    let board = tmux.wait_for("EX02's setup on the board", |s| {
        s.contains("setup running on EX02") && s.contains("0/3 servers")
    });
    assert!(board.contains("EX03  DAG01 waiting"), "{board}");
    // Setup's stage from ExchangeSetup.log, on EX02's line of the board.
    tmux.wait_for("setup's stage on the board", |s| {
        s.lines()
            .any(|l| l.contains("setup running on EX02: Mailbox role: ") && l.contains(" of 9)"))
    });
    // The overall clock moves while EX02 works.
    std::thread::sleep(Duration::from_millis(2_500));
    let later = tmux.screen();
    let clock = |s: &str| {
        s.lines()
            .find(|l| l.contains("0/3 servers"))
            .map(str::to_string)
    };
    assert_ne!(
        clock(&board),
        clock(&later),
        "the clock stood still:\n{later}"
    );
    assert!(
        !clock(&later).unwrap_or_default().contains("00:00:00"),
        "{later}"
    );

    tmux.keys(&["C-c"]);
    assert_eq!(exit_code(&code), 5, "{}", tmux.screen());
    let screen = tmux.wait_for("the interrupt message", |s| {
        s.contains("Interrupted during EX02 setup")
    });
    assert!(screen.contains("to resume"), "{screen}");
    drop(tmux);

    // The journal is whole and says interrupted; a resume finishes.
    let records = journal_records(&env);
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "run-finished" && r["outcome"] == "interrupted"),
        "{records:#?}"
    );
    env.run(&["status", plan.to_str().unwrap()]).expect_code(5);
    env.run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(0);
}

/// Without a terminal a full lab rollout prints one stamped line per
/// state change (setup's stage is one): no poll repeated, every line (the
/// closing ones too) with its time. 97 lines for plans/lab.toml, 125
/// before polls were folded (review operator-experience.md, message 6).
#[test]
fn without_a_terminal_only_state_changes_are_printed_each_stamped() {
    let env = Env::new();
    // Polls every 20 ms through a 1.5 s setup: ~75 identical polls.
    let plan = LabPlan::new()
        .fast()
        .timing("setup", "1500ms")
        .write(&env, "lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    for line in &lines {
        let stamp = line.split(' ').next().unwrap_or("");
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "unstamped line {line:?} in:\n{}",
            run.stderr
        );
    }
    let bodies: Vec<&str> = lines.iter().map(|l| &l[21..]).collect();
    for (i, body) in bodies.iter().enumerate() {
        assert!(
            !bodies[..i].contains(body),
            "{body:?} printed twice:\n{}",
            run.stderr
        );
    }
    // One line per stage of setup (ExchangeSetup.log's tasks, read every
    // sixth poll), none repeated: at most the lab's 9 tasks and the
    // prerequisite check, where ~75 identical polls printed ~75 lines.
    let running = bodies
        .iter()
        .filter(|b| b.starts_with("EX02 setup: setup running"))
        .count();
    assert!((1..=10).contains(&running), "{}", run.stderr);
    assert!(
        bodies.iter().any(|b| b.starts_with("run report: ")),
        "{}",
        run.stderr
    );
}

/// `pause_between`: after the confirmation, a question before each next
/// server, asked with the board hidden; "no" stops before that server,
/// exit 5 (not a failure), and `status` says 5 too.
#[test]
fn at_a_terminal_no_at_a_pause_stops_before_the_next_server_with_exit_5() {
    if !tmux_available() {
        return;
    }
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .policy("pause_between", true)
        .write(&env, "pause.toml");
    let session = format!("cu-roll-it-pause-{}", std::process::id());
    let code = env.path().join("pause.code");
    let tmux = Tmux::start(&session, env.path(), &shell(&env, &plan, &code));
    let screen = tmux.wait_for("the question", |s| s.contains("[y/N]"));
    assert!(
        screen.contains("asks before each next server (pause_between)"),
        "{screen}"
    );
    tmux.keys(&["y", "Enter"]);
    tmux.wait_for("the pause", |s| {
        s.contains("EX02 is done. Go on with EX03? [y/N]")
    });
    tmux.keys(&["n", "Enter"]);
    assert_eq!(exit_code(&code), 5, "{}", tmux.screen());
    let screen = tmux.wait_for("the stop", |s| {
        s.contains("stopped before EX03 at your request")
    });
    let bars = screen.lines().filter(|l| l.contains(" servers  ")).count();
    assert_eq!(bars, 1, "the overall bar drawn {bars} times:\n{screen}");
    drop(tmux);
    env.run(&["status", plan.to_str().unwrap()]).expect_code(5);
}

/// Review operator-experience.md message 5: a failed step's whole text is
/// printed once (the FAILED and STOPPED lines only point to it), split
/// into lines, each undo command on its own line.
#[test]
fn without_a_terminal_a_failure_is_printed_once_with_one_undo_command_per_line() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .fault(crate::harness::Fault::new("setup-fails", "EX02").once())
        .write(&env, "lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(1);
    let cause = "A failed setup leaves Exchange services Disabled";
    assert_eq!(run.stderr.matches(cause).count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("EX02 setup FAILED after")
            && run
                .stderr
                .contains("(the whole text is printed at the end)"),
        "{}",
        run.stderr
    );
    let bodies: Vec<&str> = run
        .stderr
        .lines()
        .map(|l| l.get(21..).unwrap_or(l).trim())
        .collect();
    for undo in [
        "Resume-ClusterNode -Name EX02",
        "Set-MailboxServer -Identity EX02 -DatabaseCopyAutoActivationPolicy Unrestricted",
    ] {
        assert!(
            bodies.contains(&undo),
            "{undo:?} not alone on a line:\n{}",
            run.stderr
        );
    }
    assert!(
        bodies.iter().all(|b| b.len() < 1_000),
        "a line of 1,000 characters or more (the review found 1,800):\n{}",
        run.stderr
    );
}

/// NO_COLOR (no-color.org, documented in README and docs/report.md): the
/// report table is coloured at a terminal, and not at all with NO_COLOR set.
#[test]
fn at_a_terminal_the_report_is_coloured_unless_no_color_is_set() {
    if !tmux_available() {
        return;
    }
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let mut screens = Vec::new();
    for (i, no_color) in ["", "NO_COLOR=1 "].into_iter().enumerate() {
        let code = env.path().join(format!("report{i}.code"));
        let command = format!(
            "{no_color}CU_ROLL_CONFIG_DIR='{}' '{}' report '{}' --state-dir '{}'; echo $? > '{}'; sleep 600",
            env.config_dir().display(),
            env!("CARGO_BIN_EXE_cu-roll"),
            plan.display(),
            env.state_dir().display(),
            code.display()
        );
        let tmux = Tmux::start(
            &format!("cu-roll-it-color-{}-{i}", std::process::id()),
            env.path(),
            &command,
        );
        assert_eq!(exit_code(&code), 0, "{}", tmux.screen());
        tmux.wait_for("the report", |s| s.contains("Verdict:"));
        screens.push(tmux.screen_escaped());
    }
    let coloured = |s: &str| {
        ["30", "31", "32", "33", "34", "35", "36", "37"]
            .iter()
            .any(|c| s.contains(&format!("\x1b[{c}m")))
    };
    assert!(
        coloured(&screens[0]),
        "no colour at a terminal:\n{}",
        screens[0]
    );
    assert!(
        !coloured(&screens[1]),
        "colour despite NO_COLOR:\n{}",
        screens[1]
    );
    assert!(!screens[1].contains('\x1b'), "{}", screens[1]);
}
