//! What a user reads, through the binary: `--help` of every command, the
//! dry run, the pre-flight report table and a full lab rollout's output,
//! each an insta snapshot with the run-dependent parts filtered out
//! (temporary directories, ports, times, durations, UUIDs).

use crate::harness::{Env, LabPlan, Run};

/// Snapshot settings filtering what differs between runs of the same
/// command; with `durations` (a rollout), every measured time span and
/// the progress lines that depend on the machine's speed too.
fn filtered(env: &Env, durations: bool) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&env.path().display().to_string()), "[TEMP]");
    settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TEMP]");
    settings.add_filter(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[UUID]",
    );
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[TIME]",
    );
    settings.add_filter(r"\b\d{2}:\d{2}:\d{2}\b", "[TIME]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\bpid \d+", "pid [PID]");
    settings.add_filter(r"\b\d{8}T\d{6}Z\b", "[STAMP]");
    settings.add_filter(r"\b[0-9a-fA-F]{64}\b", "[SHA256]");
    if durations {
        // Progress a poll prints only if it finds the installer still
        // running (with setup's stage, when the log has one): whether it
        // does depends on the machine's speed.
        settings.add_filter(
            r"(?m)^.*: (setup|the security update) running on \S+?(: .*)?\n",
            "",
        );
        // How many polls saw a database still moving depends on machine speed.
        settings.add_filter(r"(?m)^.*: waiting for \S+ to move off \(\S+\)\n", "");
        settings.add_filter(
            r"\b\d+(\.\d+)?\s?(ms|s|m|h|min)(\s?\d+(\.\d+)?\s?(ms|s))?\b",
            "[DURATION]",
        );
    }
    settings
}

/// Both streams and the exit code, as one text.
fn shown(run: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// The subcommand names listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_of_every_command() {
    let env = Env::new();
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = env.run(&args).expect_code(0);
        let name = if path.is_empty() {
            "help_cu_roll".to_string()
        } else {
            format!("help_{}", path.join("_").replace('-', "_"))
        };
        filtered(&env, false).bind(|| insta::assert_snapshot!(name, run.stdout));
        seen += 1;
        for sub in subcommands(&run.stdout) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
    }
    assert!(seen >= 12, "only {seen} commands found");
}

#[test]
fn dry_run_of_the_lab_plan() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--dry-run"])
        .expect_code(0);
    filtered(&env, false).bind(|| insta::assert_snapshot!(shown(&run)));
}

#[test]
fn report_table_of_the_lab_plan() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let run = env.run(&["report", plan.to_str().unwrap()]).expect_code(0);
    filtered(&env, false).bind(|| insta::assert_snapshot!(shown(&run)));
}

/// A full in-process lab rollout, its output piped (not a terminal): the
/// progress lines, warnings and summary a CI log would show.
#[test]
fn full_lab_rollout_output() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(0);
    filtered(&env, true).bind(|| insta::assert_snapshot!(shown(&run)));
}

/// A mistyped command, and a word that is neither a command nor a plan,
/// followed by a plan: a suggestion or the list of commands (exit 2), not
/// clap's "the subcommand 'PLAN' cannot be used with '<PLAN>'".
#[test]
fn a_mistyped_command_gets_a_suggestion() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let p = plan.to_str().unwrap();
    let typo = env.run(&["repot", p]).expect_code(2);
    let unlike = env.run(&["frobnicate", p]).expect_code(2);
    filtered(&env, false).bind(|| {
        insta::assert_snapshot!(format!("{}\n{}", shown(&typo), shown(&unlike)));
    });
}

/// `completions SHELL` and `man` print what clap_complete and clap_mangen
/// generate from the command line's definitions.
#[test]
fn completions_and_the_man_page() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.run(&["completions", shell]).expect_code(0);
        assert!(
            run.stdout.contains("restore-config"),
            "{shell}: {}",
            run.stdout
        );
    }
    let bash = env.run(&["completions", "bash"]).expect_code(0);
    assert!(
        bash.stdout.contains("complete -F _cu__roll"),
        "{}",
        bash.stdout
    );
    let man = env.run(&["man"]).expect_code(0);
    assert!(man.stdout.contains(".TH cu-roll 1"), "{}", man.stdout);
    assert!(
        man.stdout.contains("Exit codes:"),
        "the exit codes belong in the man page"
    );
    env.run(&["completions", "tcsh"]).expect_code(2);
}

/// `status` exits with the last run's code: 0 before anything ran and
/// after a finished rollout (1 after a failure: tests/it/faults.rs).
#[test]
fn status_exits_with_the_last_runs_code() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let before = env.run(&["status", p, "--format", "json"]).expect_code(0);
    assert_eq!(before.json()["overall"], "not-started");
    assert_eq!(before.json()["schema_version"], 1);
    env.run(&["run", p, "--yes"]).expect_code(0);
    let after = env.run(&["status", p]).expect_code(0);
    assert!(
        after.stdout.contains("Every server is done."),
        "{}",
        after.stdout
    );
}
