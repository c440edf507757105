//! `cu-roll bench --quick`: the four figures' lines on a tiny estate. What
//! the figures say depends on the machine, so only their presence and
//! shape are checked, and that every measured command succeeded.

use crate::harness::Env;

#[test]
fn bench_quick_prints_one_line_per_figure() {
    let env = Env::new();
    let run = env.run(&["bench", "--quick"]).expect_code(0);
    let out = &run.stdout;
    assert!(!out.contains("FAILED"), "{out}\n{}", run.stderr);
    for (prefix, needle) in [
        ("1. makespan/bound", "max_parallel_dags 1:"),
        ("1. makespan/bound", "max_parallel_dags 2:"),
        ("2. pre-flight", "sequential baseline"),
        ("3. per upgraded server", "HTTP requests"),
        ("4. orchestrator footprint", "2x2 rollout"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(prefix) && l.contains(needle)),
            "no {prefix:?} line with {needle:?}:\n{out}"
        );
    }
    // The rollout opened Exchange sessions and the lab counted them.
    let calls = out
        .lines()
        .find(|l| l.starts_with("3."))
        .unwrap_or_default();
    assert!(!calls.contains(" 0.0 Exchange sessions"), "{calls}");
}
