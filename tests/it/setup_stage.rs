//! Setup's stage while it runs (issue 12, review operator-experience.md
//! row 4 and message 6): the lab's setup writes its task lines to
//! ExchangeSetup.log as it goes, as real setup does, and a run without a
//! terminal prints one stamped line each time the stage changes.

use crate::harness::{Env, LabPlan};

/// The stage lines of EX02's setup, in order.
fn stage_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once(" EX02 setup: setup running on EX02: "))
        .map(|(_, stage)| stage.to_string())
        .collect()
}

/// The step number of a `… (step k of 9)` stage.
fn step(stage: &str) -> Option<u32> {
    let (_, rest) = stage.rsplit_once("(step ")?;
    rest.split(' ').next()?.parse().ok()
}

#[test]
fn the_stage_of_a_running_setup_is_shown_as_it_changes() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timing("setup", "3s")
        .write(&env, "lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(0);
    let stages = stage_lines(&run.stderr);
    assert!(
        stages.first().map(String::as_str) == Some("prerequisite check")
            || stages.first().and_then(|s| step(s)).is_some(),
        "{}",
        run.stderr
    );
    assert!(
        stages
            .iter()
            .any(|s| s.starts_with("Mailbox role: ") && s.ends_with(" of 9)")),
        "{}",
        run.stderr
    );
    // It moves forward, one line per change.
    let steps: Vec<u32> = stages.iter().filter_map(|s| step(s)).collect();
    assert!(steps.len() >= 3, "{}", run.stderr);
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{}", run.stderr);
}

/// A setup that fails in its transport role stops at that stage: the last
/// stage shown is the one the log's failure belongs to.
#[test]
fn a_failing_setup_shows_the_stage_it_stopped_in() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timing("setup", "3s")
        .fault(crate::harness::Fault::new("setup-fails", "EX02").once())
        .write(&env, "lab.toml");
    let run = env
        .run(&["run", plan.to_str().unwrap(), "--yes"])
        .expect_code(1);
    let stages = stage_lines(&run.stderr);
    assert_eq!(
        stages.last().map(String::as_str),
        Some("Mailbox role: Transport service (step 5 of 9)"),
        "{}",
        run.stderr
    );
}
