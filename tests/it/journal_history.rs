//! The journal is history, not truth (issue 11): every run observes the
//! servers before it trusts the journal. After a finished rollout a re-run
//! with nothing to do writes nothing (the night's journal and run report
//! stay as they are), and a server below the target again is rolled by a
//! new rollout with its own journal and run id. `report` and `--dry-run`
//! say what the journal says about a rollout in progress.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Env, LabPlan};

fn run_ids(journal: &Path) -> Vec<String> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "run-started")
        .filter_map(|e| e["run_id"].as_str().map(str::to_string))
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_no_op_rerun_writes_nothing_and_a_server_below_the_target_again_is_rolled() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let state = env.state_dir();
    env.run(&["run", p, "--yes"]).expect_code(0);
    let journal = std::fs::read(state.join("journal.jsonl")).unwrap();
    let report = std::fs::read(state.join("run-report.json")).unwrap();
    let first_ids = run_ids(&state.join("journal.jsonl"));
    assert_eq!(
        entries(&state.join("runs")).len(),
        1,
        "one run, one kept report"
    );

    // Nothing to do: said so, and nothing written.
    let again = env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    assert_eq!(std::fs::read(state.join("journal.jsonl")).unwrap(), journal);
    assert_eq!(
        std::fs::read(state.join("run-report.json")).unwrap(),
        report
    );
    assert_eq!(entries(&state.join("runs")).len(), 1);

    // The lab starts over: EX02 and EX03 are below the target again.
    env.run(&["lab", "reset", p]).expect_code(0);
    let rerun = env.run(&["run", p, "--yes"]).expect_code(0);
    assert!(
        rerun
            .stderr
            .contains("EX02, EX03 are below 15.2.1748.43 now: a new rollout begins"),
        "{}",
        rerun.stderr
    );
    crate::rollout::assert_rolled(&env, p, "15.2.1748.43");
    let archived: Vec<String> = entries(&state)
        .into_iter()
        .filter(|n| n.starts_with("journal-") && n.ends_with(".jsonl"))
        .collect();
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert_eq!(std::fs::read(state.join(&archived[0])).unwrap(), journal);
    let new_ids = run_ids(&state.join("journal.jsonl"));
    assert_eq!(new_ids.len(), 1);
    assert!(!first_ids.contains(&new_ids[0]), "a new run id");
    assert_eq!(
        entries(&state.join("runs")).len(),
        2,
        "each run keeps its report"
    );
}

#[test]
fn report_and_dry_run_say_a_server_is_in_progress_and_a_change_is_in_flight() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    // Dies right after EX02's third change reached it, before its record.
    let crashed = env.run_env(
        &[("CU_ROLL_TEST_CRASH_AFTER_CHANGE", "3")],
        &["run", p, "--yes"],
    );
    assert_ne!(crashed.code, 0, "{}", crashed.stderr);
    for args in [vec!["report", p], vec!["run", p, "--dry-run"]] {
        let out = env.run(&args);
        assert!(
            out.stderr
                .contains("the journal shows EX02 in progress: cu-roll may have it in maintenance"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("on EX02 a change was sent but its outcome is not journaled"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// Each run keeps its own log, journal and run report under
/// `runs/<run id>/` (issue 11: "its journal, run report and log are kept
/// per run"): a rollout stopped by a fault and resumed has two, each log
/// holding its own run's lines; the resume and a later re-run with
/// nothing to do leave the first run's files as they were.
#[test]
fn each_run_keeps_its_log_journal_and_report_and_later_runs_leave_them() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .fault(crate::harness::Fault::new("setup-fails", "EX02").once())
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let state = env.state_dir();
    env.run(&["run", p, "--yes"]).expect_code(1);
    let ids = run_ids(&state.join("journal.jsonl"));
    assert_eq!(
        entries(&state.join("runs")),
        ids,
        "one directory per run id"
    );
    let first = state.join("runs").join(&ids[0]);
    assert_eq!(
        entries(&first),
        [
            "cu-roll.log",
            "journal.jsonl",
            "run-report.html",
            "run-report.json",
            "run-report.md"
        ]
    );
    let kept: Vec<Vec<u8>> = entries(&first)
        .iter()
        .map(|n| std::fs::read(first.join(n)).unwrap())
        .collect();
    let log = String::from_utf8(kept[0].clone()).unwrap();
    assert!(log.contains("cu-roll started"), "{log}");
    assert!(log.contains("EX02") && log.contains("setup"), "{log}");

    env.run(&["run", p, "--yes"]).expect_code(0);
    env.run(&["run", p, "--yes"]).expect_code(0); // nothing to do
    let ids = run_ids(&state.join("journal.jsonl"));
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(entries(&state.join("runs")), {
        let mut sorted = ids.clone();
        sorted.sort();
        sorted
    });
    let again: Vec<Vec<u8>> = entries(&first)
        .iter()
        .map(|n| std::fs::read(first.join(n)).unwrap())
        .collect();
    assert!(again == kept, "the first run's files changed");
    let second =
        std::fs::read_to_string(state.join("runs").join(&ids[1]).join("cu-roll.log")).unwrap();
    assert_eq!(
        second.matches("cu-roll started").count(),
        1,
        "the resume's own lines only:\n{second}"
    );
    let whole = std::fs::read_to_string(state.join("cu-roll.log")).unwrap();
    assert_eq!(whole.matches("cu-roll started").count(), 3, "{whole}");
}
