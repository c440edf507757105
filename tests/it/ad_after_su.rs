//! Active Directory preparation for a level an SU raises (review
//! real-exchange.md #8): 2019 CU11 with May22SU needs domain objectVersion
//! 13243, which the CU's media cannot reach (13242). Microsoft's
//! instruction: install the SU first, then run `/PrepareAllDomains` from
//! the installed `Bin\Setup.exe`. The lab models it (its facts table gives
//! the media's Setup.exe the CU's levels and the installed one its SU's).

use serde_json::Value;

use crate::harness::{Env, LabPlan};
use crate::rollout::assert_rolled;

/// The CU11 May22SU build the rollout ends at.
const MAY22SU: &str = "15.2.986.26";

/// Three CU11 servers without the SU, AD at CU11's levels, target CU11 with
/// May22SU: an SU-only rollout whose domain level only the installed
/// `Bin\Setup.exe` (after the SU) can reach.
fn cu11_may22su(prepare_ad: &str) -> LabPlan {
    let mut plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .rollout("target", "2019-CU11")
        .rollout("security_update", "May22SU")
        .rollout("su_path", "C:\\Updates\\Exchange2019-KB5014261-x64-en.msp")
        .media("D:\\Setup.exe", "build", "15.2.986.5")
        .media(
            "C:\\Updates\\Exchange2019-CU15-Feb26SU.msp",
            "path",
            "C:\\Updates\\Exchange2019-KB5014261-x64-en.msp",
        )
        .media(
            "C:\\Updates\\Exchange2019-KB5014261-x64-en.msp",
            "build",
            MAY22SU,
        )
        .ad("org_object_version", 16759)
        .ad("domain_object_version", 13242)
        .policy("prepare_ad", prepare_ad)
        .policy("ad_replication_wait", "100ms");
    for s in ["EX01", "EX02", "EX03"] {
        plan = plan
            .lab_server(s, "build", "15.2.986.5")
            .lab_server(s, "os", "Microsoft Windows Server 2019 Datacenter")
            .lab_server(s, "dotnet_release", 528040);
    }
    plan
}

fn journal(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

fn domain_level(env: &Env, plan: &str) -> Value {
    env.run(&["lab", "state", plan, "--format", "json"])
        .expect_code(0)
        .json()["ad"]["domain_object_version"]
        .clone()
}

#[test]
fn the_su_raised_domain_level_is_prepared_from_the_installed_setup_after_the_su() {
    let env = Env::new();
    let plan = cu11_may22su("run").write(&env, "cu11-may22su.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(domain_level(&env, p), 13243);
    assert_rolled(&env, p, MAY22SU);

    let records = journal(&env);
    let commands: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["event"] == "changed" && r["change"]["kind"] == "installer-started")
        .map(|r| {
            (
                r["step"].as_str().unwrap(),
                r["change"]["command"].as_str().unwrap(),
            )
        })
        .filter(|(step, _)| step.starts_with("prepare"))
        .collect();
    // No preparation from the media (it cannot reach 13243), one from the
    // installed Setup.exe.
    assert_eq!(
        commands,
        vec![(
            "prepare-ad-su",
            "\"%ExchangeInstallPath%Bin\\Setup.exe\" /PrepareAllDomains /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"
        )],
        "{records:#?}"
    );
    // After the first server's SU: its security-update step is done before.
    let position = |pred: &dyn Fn(&Value) -> bool| records.iter().position(pred).unwrap();
    let prep = position(&|r| r["step"] == "prepare-ad-su" && r["event"] == "step-started");
    let su_done = position(&|r| r["step"] == "security-update" && r["event"] == "step-done");
    assert!(su_done < prep, "{records:#?}");
    let server = records[prep]["server"].clone();
    assert_eq!(records[su_done]["server"], server);
    // Under the admin's credential, as setup: the lab's preparation fails
    // rule GlobalUpdateRequired for an account that is not an Enterprise
    // Admin (SYSTEM included), so reaching 13243 proves the account.

    // A second run prepares nothing again.
    let before = journal(&env).len();
    env.run(&["run", p]).expect_code(0);
    assert!(
        !journal(&env)[before..]
            .iter()
            .any(|r| r["step"] == "prepare-ad-su"),
        "the second run touched prepare-ad-su again"
    );
}

#[test]
fn with_prepare_ad_block_the_report_names_the_command_for_after_the_su() {
    let env = Env::new();
    let plan = cu11_may22su("block").write(&env, "cu11-may22su-block.toml");
    let p = plan.to_str().unwrap();
    let report = env.run(&["report", p, "--format", "json"]).json();
    let prep = &report["ad_preparation"];
    assert_eq!(prep["commands"], Value::Array(vec![]), "{prep:#}");
    let after = prep["after_security_update"].as_str().unwrap_or_default();
    assert!(
        after.contains("\"%ExchangeInstallPath%Bin\\Setup.exe\" /PrepareAllDomains /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"),
        "{prep:#}"
    );
    // The media cannot reach the level: nothing blocks the rollout for it.
    assert_ne!(report["verdict"], "blocked", "{report:#}");
}
