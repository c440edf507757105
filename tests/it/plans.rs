//! Bad plans exit 2 with a message that names file and line.

use crate::harness::{repo, Env};

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
        let run = env.run(&["report", path.to_str().unwrap()]).expect_code(2);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            run.stderr.contains(&format!("{name}:")),
            "{name}: error does not name the file and line:\n{}",
            run.stderr
        );
    }
    assert!(seen >= 8, "only {seen} bad-plan fixtures found");
}

#[test]
fn hostile_server_name_is_refused_before_anything_runs() {
    let env = Env::new();
    let text = std::fs::read_to_string(repo().join("plans/lab.toml"))
        .unwrap()
        .replacen("name = \"EX02\"", "name = \"EX01'; Remove-Item C:\\\\ -Recurse #\"", 1);
    let plan = env.write_plan("hostile.toml", &text);
    let run = env.run(&["report", plan.to_str().unwrap()]).expect_code(2);
    assert!(run.stderr.contains("hostile.toml:"), "{}", run.stderr);
    assert!(!env.state_dir().exists(), "a refused plan must not create state");
}
