//! The installer task's account: which one a plan runs it as, and that
//! its password stays out of every script text and dry run.

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

/// The password is in no script text (it arrives on stdin, in
/// `$credential`), sent or shown; the dry run says where it comes from.
#[test]
fn the_password_is_in_no_script_text_and_out_of_dry_runs() {
    let account = TaskAccount {
        user: "lab\\admin".into(),
        password: "s3cr'et".into(),
    };
    let op = SETUP.start("\"D:\\Setup.exe\" /Mode:Upgrade", &account).op;
    assert_eq!(
        op.placement,
        crate::exchange::Placement::TargetWithCredential
    );
    let sent = op.credential_script(&account.user);
    assert!(!sent.text().contains("s3cr"), "{}", sent.text());
    assert!(sent
        .text()
        .contains("$password = $credential.GetNetworkCredential().Password"));
    assert!(sent.text().contains("$user = 'lab\\admin'"));
    assert!(sent
        .text()
        .contains("RegisterTaskDefinition($task, $definition, 6, $user, $password, 1)"));
    assert!(!sent.text().contains("Register-ScheduledTask"));
    assert!(lab::pwsh::syntax_check(sent.text()).is_ok());
    let plan = winrm_plan();
    let planned = planned(&plan, &SETUP, "x");
    let start = planned
        .iter()
        .find(|p| p.when.contains("start it as a scheduled task"))
        .unwrap();
    assert!(
        start.when.contains("<password from $CUROLL_LAB_PASSWORD>"),
        "{}",
        start.when
    );
}
