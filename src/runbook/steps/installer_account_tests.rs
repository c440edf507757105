//! The installer task's account: which one a plan runs it as, and that
//! its password stays out of dry runs.

use super::*;

fn winrm_plan() -> crate::plan::Plan {
    crate::plan::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/lab-winrm.toml"
    )))
    .unwrap()
}

/// Setup as SYSTEM acts in AD as the computer account: a plan with
/// WinRM credentials runs the task as that admin by default.
#[test]
fn a_winrm_plan_runs_the_installer_as_the_connecting_admin() {
    let plan = winrm_plan();
    assert_eq!(
        plan.rollout.installer_account,
        crate::plan::InstallerAccount::ConnectionUser
    );
    let lab = crate::plan::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plans/lab.toml"
    )))
    .unwrap();
    assert_eq!(
        lab.rollout.installer_account,
        crate::plan::InstallerAccount::Transport
    );
}

/// The password appears once, on its own line, and never in dry-run output.
#[test]
fn the_password_stays_on_its_own_line_and_out_of_dry_runs() {
    let account = TaskAccount {
        user: "lab\\admin".into(),
        password: "s3cr'et".into(),
    };
    let script = SETUP
        .start("\"D:\\Setup.exe\" /Mode:Upgrade", &account)
        .op
        .script;
    let lines: Vec<&str> = script
        .text()
        .lines()
        .filter(|l| l.contains("s3cr"))
        .collect();
    assert_eq!(lines, ["$password = 's3cr''et'"]);
    assert!(script
        .text()
        .contains("-User 'lab\\admin' -Password $password"));
    assert!(lab::pwsh::syntax_check(script.text()).is_ok());
    let shown = SETUP
        .start("x", &account_for_display(&winrm_plan()))
        .op
        .script;
    assert!(
        shown
            .text()
            .contains("$password = '<password from $CUROLL_LAB_PASSWORD>'"),
        "{}",
        shown.text()
    );
}
