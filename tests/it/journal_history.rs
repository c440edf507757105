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
