//! Review real-exchange.md #19: the pre-flight reads the free space of the
//! drive Exchange is installed on as well as the system drive (Microsoft
//! Learn "Exchange Server system requirements": 30 GB on the install
//! drive), and the Configuration Manager client's pending reboot
//! (CSS-Exchange `Shared/Get-ServerRebootPending.ps1`,
//! `CCM_ClientUtilities.DetermineIfRebootPending`); a server without a CCM
//! client is no error.

use crate::harness::Env;

/// plans/lab.toml with EX02 installed on a `D:` of its own with 12 GB
/// free, and EX03's CCM client waiting for a reboot.
fn plan(env: &Env) -> std::path::PathBuf {
    let text = std::fs::read_to_string(crate::harness::repo().join("plans/lab.toml")).unwrap();
    let text = text
        .replace(
            "system_drive_free_gb = 95\n",
            "system_drive_free_gb = 95\ninstall_drive_free_gb = 12\n",
        )
        .replace(
            "system_drive_free_gb = 88\n",
            "system_drive_free_gb = 88\npending_reboot = \"ccm\"\n",
        );
    assert!(text.contains("install_drive_free_gb = 12") && text.contains("\"ccm\""));
    env.write_plan("drives.toml", &text)
}

#[test]
fn a_full_install_drive_blocks_and_a_ccm_reboot_is_seen() {
    let env = Env::new();
    let plan = plan(&env);
    let run = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .expect_code(3);
    let j = run.json();
    let servers = j["servers"].as_array().unwrap();
    let by_name = |n: &str| servers.iter().find(|s| s["name"] == n).unwrap();

    let ex02 = by_name("EX02");
    assert_eq!(ex02["install_drive"], "D:", "{ex02:#}");
    assert_eq!(ex02["install_drive_free_gb"], 12.0, "{ex02:#}");
    assert_eq!(ex02["system_drive_free_gb"], 95.0, "{ex02:#}");
    let blockers = ex02["blockers"].to_string();
    assert!(
        blockers.contains("only 12 GB free on D:, where Exchange is installed"),
        "{blockers}"
    );
    assert_eq!(ex02["verdict"], "blocked");

    let ex03 = by_name("EX03");
    assert_eq!(ex03["pending_reboot"], true, "{ex03:#}");
    assert!(
        ex03["pending_reboot_reasons"]
            .to_string()
            .contains("CCM_ClientUtilities"),
        "{ex03:#}"
    );
    // Pending reboots are cleared by the reboot before setup: a warning.
    assert_eq!(ex03["verdict"], "ready", "{ex03:#}");

    // EX01 has no CCM client: its absent namespace is no finding.
    let ex01 = by_name("EX01");
    assert_eq!(ex01["pending_reboot"], false, "{ex01:#}");
    assert!(ex01.get("install_drive").is_none(), "{ex01:#}");
}
