//! `cu-roll report` on the lab plans, in every format.

use crate::harness::Env;

#[test]
fn lab_plan_report_json_has_the_documented_fields_and_exits_0() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(0);
    let j = run.json();
    assert_eq!(j["target"]["name"], "Exchange Server 2019 CU15 Feb26SU");
    assert_eq!(j["target"]["build"], "15.2.1748.43");
    let servers = j["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3);
    let by_name = |n: &str| servers.iter().find(|s| s["name"] == n).unwrap();
    let ex01 = by_name("EX01");
    assert_eq!(ex01["verdict"], "up-to-date");
    assert_eq!(ex01["needs_upgrade"], false);
    assert_eq!(ex01["build"], "15.2.1748.43");
    let ex02 = by_name("EX02");
    assert_eq!(ex02["dag"], "DAG01");
    assert_eq!(ex02["build"], "15.2.1544.39");
    assert_eq!(ex02["build_name"], "Exchange Server 2019 CU14 Feb26SU");
    assert_eq!(ex02["needs_upgrade"], true);
    assert_eq!(ex02["pending_reboot"], false);
    assert_eq!(ex02["verdict"], "ready");
    assert_eq!(ex02["blockers"].as_array().unwrap().len(), 0, "{ex02:#}");
    let prereqs = ex02["prerequisites"].as_array().unwrap();
    for name in [
        ".NET Framework",
        "Visual C++ 2012",
        "Visual C++ 2013",
        "UCMA 4.0",
        "IIS URL Rewrite 2.1",
        "Windows Server",
    ] {
        let p = prereqs
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(p["ok"], true, "{p:#}");
        assert!(p["required"].is_string() && p["found"].is_string());
    }
    // Four databases with three copies each: every server holds four copies.
    assert_eq!(ex02["copies"].as_array().unwrap().len(), 4);
    assert_eq!(j["verdict"], "ready");
}

#[test]
fn blocked_plan_shows_all_three_verdicts_and_exits_3() {
    let env = Env::new();
    let plan = env.plan("lab-blocked.toml");
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(3);
    let j = run.json();
    let verdicts: Vec<(String, String)> = j["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        verdicts.contains(&("EX01".into(), "up-to-date".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("EX02".into(), "ready".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("EX03".into(), "blocked".into())),
        "{verdicts:?}"
    );
    let ex03 = j["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "EX03")
        .unwrap();
    let blockers = ex03["blockers"].as_array().unwrap();
    assert!(
        blockers
            .iter()
            .any(|b| b.as_str().unwrap().contains(".NET Framework")),
        "{blockers:#?}"
    );
    // The code beside each blocker, for scripts; the text does not repeat
    // the server's name (every place that shows it does).
    assert_eq!(j["schema_version"], 1);
    assert_eq!(ex03["blocker_codes"], serde_json::json!(["prereq.dotnet"]));
    assert!(blockers
        .iter()
        .all(|b| !b.as_str().unwrap().contains("EX03")));
    assert_eq!(j["blocker_codes"], serde_json::json!([]));
}

#[test]
fn every_format_renders_and_html_is_self_contained() {
    let env = Env::new();
    let plan = env.plan("lab-blocked.toml");
    for format in ["table", "markdown", "html", "json"] {
        let out = env.path().join(format!("report.{format}"));
        env.run(&[
            "report",
            plan.to_str().unwrap(),
            "--format",
            format,
            "--output",
            out.to_str().unwrap(),
        ])
        .expect_code(3);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("EX03"), "{format} report lacks EX03");
        if format == "html" {
            for external in ["http://", "https://", "<link", "src=", "@import"] {
                assert!(
                    !text.contains(external),
                    "html report references {external}"
                );
            }
        }
    }
}

#[test]
fn table_is_the_default_format_and_plain_when_piped() {
    let env = Env::new();
    let plan = env.plan("lab.toml");
    let run = env.run(&["report", plan.to_str().unwrap()]).expect_code(0);
    assert!(run.stdout.contains("EX02"));
    assert!(
        !run.stdout.contains('\u{1b}'),
        "colour codes in piped output"
    );
}
