//! `cu-roll setup-log FILE`: real logs (tests/fixtures/real/setup-logs,
//! CSS-Exchange, MIT) in both formats, the refusals (exit 2), and the log
//! the lab writes for a failed setup read by the same command.

use crate::harness::{repo, Env, Fault, LabPlan};

fn real(name: &str) -> String {
    repo()
        .join("tests/fixtures/real/setup-logs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A re-run after a failed upgrade (review real-exchange.md finding 1):
/// the table says so and gives SetupLogReviewer's action plan.
#[test]
fn table_of_a_failed_rerun() {
    let run = Env::new()
        .run(&["setup-log", &real("ExchangeSetup_FIPS_AccessDenied.log")])
        .expect_code(0);
    let out = &run.stdout;
    for line in [
        "Setup version                 15.1.2106.2",
        "Installed version             15.1.2106.2",
        "Build before the upgrade      15.1.1713.5",
        "Mode                          BuildToBuildUpgrade (command line: Upgrade)",
        "Verdict                       FAILED",
        "Previous attempt incomplete   yes",
        "Failed task: BridgeheadComponent___9FAA17C4-73D7-4E6D-9012-6274971434D5",
        "  User                        SOLO\\Han",
        "Advice (CSS-Exchange SetupLogReviewer, Test-FipsUpgradeConfiguration.ps1):",
        "    Failed to access the path and upgrade '\\V15\\FIP-FS\\Data\\Configuration.xml'",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

/// A prerequisite failure as JSON: every documented field, the failed rule
/// with its message, the context.
#[test]
fn json_of_a_prerequisite_failure() {
    let json = Env::new()
        .run(&[
            "setup-log",
            &real("ExchangeSetup_DC_Site_1.log"),
            "--format",
            "json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["outcome"], "prerequisites-failed");
    assert_eq!(json["setup_version"], "15.0.1497.2");
    assert_eq!(json["installed_version"], "15.0.1395.4");
    assert_eq!(json["mode"], "BuildToBuildUpgrade");
    assert_eq!(
        json["failed_rules"],
        serde_json::json!(["DomainControllerIsOutOfSite"])
    );
    assert!(json["rule_messages"]["DomainControllerIsOutOfSite"]
        .as_str()
        .unwrap()
        .starts_with("Setup can't use the domain controller 'NorthAmerica'"));
    assert_eq!(json["errors"], serde_json::json!([]));
    assert_eq!(json["previous_attempt_incomplete"], false);
    assert_eq!(json["context"]["user"], "SOLO\\Han");
    assert_eq!(json["context"]["server"], "ExSvr1.Solo.local");
    assert_eq!(json["context"]["ad_site"], "NorthAmerica");
    assert_eq!(json["context"]["schema_master"], serde_json::Value::Null);
    assert_eq!(json["advice"][0]["source"], "Test-PrerequisiteCheck.ps1");
}

#[test]
fn json_of_a_failed_rerun_and_table_of_a_prerequisite_failure() {
    let env = Env::new();
    let json = env
        .run(&[
            "setup-log",
            "--format",
            "json",
            &real("ExchangeSetup_Failed_Mount_Database.log"),
        ])
        .expect_code(0)
        .json();
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["previous_attempt_incomplete"], true);
    assert_eq!(json["previous_version"], "15.0.1293.2");
    let table = env
        .run(&["setup-log", &real("ExchangeSetup_AD_Prep_Reboot.log")])
        .expect_code(0)
        .stdout;
    assert!(
        table.contains("Verdict                       PREREQUISITES FAILED"),
        "{table}"
    );
    assert!(table.contains("Failed rules (16):"), "{table}");
    assert!(
        table.contains(
            "  ! Computer is pending reboot based off the Windows Component is the registry"
        ),
        "{table}"
    );
}

/// Exit 2 with what and where: a missing file, a directory, a file that is
/// not a setup log.
#[test]
fn unreadable_or_foreign_files_are_refused() {
    let env = Env::new();
    let missing = env.path().join("nope.log");
    let run = env
        .run(&["setup-log", missing.to_str().unwrap()])
        .expect_code(2);
    assert!(
        run.stderr.contains("cannot read the setup log") && run.stderr.contains("nope.log"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&["setup-log", env.path().to_str().unwrap()])
        .expect_code(2);
    assert!(run.stderr.contains("is not a file"), "{}", run.stderr);
    let plan = env.plan("lab.toml");
    let run = env
        .run(&["setup-log", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(2);
    assert!(
        run.stderr.contains("lab.toml is not an Exchange setup log"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// The lab's ExchangeSetup.log after an injected setup failure, fetched
/// with the command the setup step uses and judged by `setup-log`: it must
/// read as a real failed run does.
#[test]
fn the_labs_failed_setup_log_reads_like_a_real_one() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .fault(Fault::new("setup-fails", "EX02").once())
        .write(&env, "fails.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(1);
    assert!(run.stderr.contains("EX02 setup failed"), "{}", run.stderr);
    let log = env
        .run(&[
            "exec",
            p,
            "--server",
            "EX02",
            r#"type "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#,
        ])
        .expect_code(0)
        .stdout;
    let file = env.path().join("ExchangeSetup.log");
    std::fs::write(&file, log).unwrap();
    let json = env
        .run(&["setup-log", file.to_str().unwrap(), "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(json["outcome"], "failed", "{json:#}");
    assert_eq!(json["mode"], "BuildToBuildUpgrade");
    assert_eq!(json["command_line_mode"], "Upgrade");
    assert_eq!(json["setup_version"], "15.2.1748.10");
    assert_eq!(
        json["error_reference"],
        "BridgeheadRoleSetterComponent___115c1108e99e4560bd2c03c0fec99908"
    );
    assert!(
        json["errors"][1]
            .as_str()
            .unwrap()
            .contains("Service 'MSExchangeTransport' failed to reach status 'Running'"),
        "{json:#}"
    );
    assert!(json["context"]["user"].is_string(), "{json:#}");
}
