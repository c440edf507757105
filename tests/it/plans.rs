//! Bad plans exit 2 with a message that names file and line.

use crate::harness::{repo, Env, LabPlan};

#[test]
fn every_bad_plan_fixture_exits_2_naming_its_line() {
    let dir = repo().join("tests/fixtures/plans");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        seen += 1;
        let env = Env::new();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .unwrap_or_else(|| panic!("{} has no '# {key}:' header", path.display()))
                .to_string()
        };
        let (line, message) = (header("expect-line"), header("expect-error"));
        let run = env.run(&["report", path.to_str().unwrap()]).expect_code(2);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            run.stderr.contains(&format!("{name}:{line}:")),
            "{name}: error does not name line {line}:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&message),
            "{name}: expected '{message}' in:\n{}",
            run.stderr
        );
    }
    assert!(seen >= 8, "only {seen} bad-plan fixtures found");
}

#[test]
fn hostile_server_name_is_refused_before_anything_runs() {
    let env = Env::new();
    let plan = LabPlan::new().server("EX02", "name", "EX01'; Remove-Item C:\\ -Recurse #");
    let line = 1 + plan
        .text()
        .lines()
        .position(|l| l.contains("Remove-Item"))
        .unwrap();
    let plan = plan.write(&env, "hostile.toml");
    let run = env.run(&["report", plan.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr.contains(&format!("hostile.toml:{line}:")),
        "{}",
        run.stderr
    );
    assert!(
        !env.state_dir().exists(),
        "a refused plan must not create state"
    );
}

#[test]
fn unknown_target_is_a_plan_error() {
    let env = Env::new();
    let plan = LabPlan::new()
        .rollout("target", "2019-CU19")
        .write(&env, "future.toml");
    let run = env.run(&["report", plan.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr.contains("'2019-CU19' is not in the catalogue"),
        "{}",
        run.stderr
    );
}
