//! `run --only/--exclude/--all` end to end: an unknown name is refused
//! with a suggestion, a blocked server left out does not block the others,
//! the selection is journaled and a resume keeps it (or refuses to leave
//! out a server part-way through its roll).

use crate::faults::journal;
use crate::harness::{Env, Fault, LabPlan};

fn started_on(env: &Env, server: &str) -> bool {
    journal(env)
        .iter()
        .any(|r| r["event"] == "step-started" && r["server"] == server)
}

/// A plan whose EX02 setup fails once, after a run with `--exclude EX01`
/// stopped on that failure (exit 1).
fn failed_with_ex01_excluded(env: &Env) -> std::path::PathBuf {
    let p = LabPlan::new()
        .fast()
        .timeouts("20s")
        .fault(Fault::new("setup-fails", "EX02").once())
        .write(env, "lab.toml");
    env.run(&["run", p.to_str().unwrap(), "--yes", "--exclude", "EX01"])
        .expect_code(1);
    p
}

#[test]
fn an_unknown_name_is_a_usage_error_with_a_suggestion() {
    let env = Env::new();
    let p = LabPlan::new().fast().write(&env, "lab.toml");
    let run = env
        .run(&["run", p.to_str().unwrap(), "--yes", "--only", "EX2"])
        .expect_code(2);
    assert!(
        run.stderr.contains("--only EX2:") && run.stderr.contains("did you mean 'EX02'?"),
        "{}",
        run.stderr
    );
    assert!(!env.state_dir().join("journal.jsonl").exists());
}

/// plans/lab-blocked.toml: EX03's .NET is too old, which blocks a full
/// rollout (exit 3). Leaving EX03 out rolls the other two; the gates still
/// count EX03's copies. The next run (every server again) is a new
/// rollout, which EX03 blocks again.
#[test]
fn a_blocked_server_left_out_lets_the_others_roll() {
    let env = Env::new();
    let p = LabPlan::from_plans("lab-blocked.toml")
        .fast()
        .timeouts("20s")
        .write(&env, "lab-blocked.toml");
    let p = p.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(3);
    let run = env
        .run(&["run", p, "--yes", "--exclude", "ex03"])
        .expect_code(0);
    assert!(
        run.stderr
            .contains("not rolled in this run (--exclude EX03): EX03"),
        "{}",
        run.stderr
    );
    let first = journal(&env);
    let started = first.iter().find(|r| r["event"] == "run-started").unwrap();
    assert_eq!(started["exclude"], serde_json::json!(["EX03"]));
    // EX01 is at the target already (skipped); EX02 is rolled.
    assert!(started_on(&env, "EX02"));
    assert!(!started_on(&env, "EX03"));
    let again = env.run(&["run", p, "--yes"]).expect_code(3);
    assert!(again.stderr.contains("EX03"), "{}", again.stderr);
}

/// A failed run with `--exclude EX01` resumes with the same selection
/// when the command line names none; leaving out the server that failed
/// half-way is refused.
#[test]
fn a_resume_keeps_the_journaled_selection_and_refuses_to_leave_a_half_rolled_server() {
    let env = Env::new();
    let p = failed_with_ex01_excluded(&env);
    let p = p.to_str().unwrap();

    let refused = env
        .run(&["run", p, "--yes", "--only", "EX03"])
        .expect_code(2);
    assert!(
        refused
            .stderr
            .contains("EX01, EX02 left out by --only EX03")
            || refused.stderr.contains("EX02 left out by --only EX03"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("part-way through its roll"),
        "{}",
        refused.stderr
    );

    let resumed = env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(
        resumed
            .stderr
            .contains("this rollout's last run rolled --exclude EX01; this run keeps that"),
        "{}",
        resumed.stderr
    );
    assert!(!started_on(&env, "EX01"), "EX01 was never rolled");
    let runs: Vec<serde_json::Value> = journal(&env)
        .into_iter()
        .filter(|r| r["event"] == "run-started")
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["exclude"], serde_json::json!(["EX01"]));
}

/// `--dry-run` honours `--only`/`--exclude` as the run does: the servers
/// left out are in the plan view as not rolled, get no steps, and the
/// gates are still said to count them. A resumed rollout's journaled
/// selection is shown too.
#[test]
fn the_dry_run_shows_only_the_selected_servers_rolled() {
    let env = Env::new();
    let p = LabPlan::new().fast().write(&env, "lab.toml");
    let p = p.to_str().unwrap();
    let all = env.run(&["run", p, "--dry-run"]).expect_code(0);
    assert!(all.stdout.contains("=== EX03"), "{}", all.stdout);
    assert!(!all.stdout.contains("Selection:"), "{}", all.stdout);

    let dry = env
        .run(&["run", p, "--dry-run", "--exclude", "ex03"])
        .expect_code(0);
    let ex03 = dry
        .stdout
        .lines()
        .find(|l| l.contains("EX03") && l.contains("DAG01"))
        .unwrap_or_default();
    assert!(
        ex03.contains("not rolled in this run (--exclude EX03)"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("=== EX03"), "{}", dry.stdout);
    assert!(dry.stdout.contains("=== EX02"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("Selection: --exclude EX03")
            && dry
                .stdout
                .contains("the gates still count it as a DAG member"),
        "{}",
        dry.stdout
    );
    let only = env
        .run(&["run", p, "--dry-run", "--only", "EX03"])
        .expect_code(0);
    assert!(only.stdout.contains("=== EX03"), "{}", only.stdout);
    assert!(!only.stdout.contains("=== EX02"), "{}", only.stdout);
    assert!(
        !env.state_dir().join("journal.jsonl").exists(),
        "a dry run wrote a journal"
    );
}

/// A failed run with `--exclude EX01` leaves its selection in the journal:
/// the dry run of the resume shows it kept, as the run would keep it.
#[test]
fn the_dry_run_of_a_resume_keeps_the_journaled_selection() {
    let env = Env::new();
    let p = failed_with_ex01_excluded(&env);
    let p = p.to_str().unwrap();
    let dry = env.run(&["run", p, "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout.contains("Selection: --exclude EX01")
            && dry.stderr.contains("this run keeps that"),
        "{}\n{}",
        dry.stdout,
        dry.stderr
    );
    assert!(!dry.stdout.contains("=== EX01"), "{}", dry.stdout);
}
