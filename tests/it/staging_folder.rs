//! Review real-exchange.md #22: the staging folder `C:\cu-roll`, where the
//! installer's batch file is written and then run with the admin's rights,
//! gets an ACL of Administrators and SYSTEM only before anything is
//! written there. A folder left with the ACL inherited from `C:\` (which
//! lets BUILTIN\Users create files in it) is fixed; one with an explicit
//! entry for someone else is refused before anything is written.

use crate::harness::{Env, LabPlan};

/// The staging folder's ACL on `server`, as `Get-Acl` shows it.
fn sddl(env: &Env, plan: &str, server: &str) -> String {
    let run = env
        .run(&[
            "exec",
            plan,
            "--server",
            server,
            "--ps",
            r"(Get-Acl -LiteralPath 'C:\cu-roll').Sddl",
        ])
        .expect_code(0);
    run.stdout.trim().to_string()
}

#[test]
fn the_staging_folder_is_for_administrators_and_system_only() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .write(&env, "acl.toml");
    let p = plan.to_str().unwrap();
    env.run(&["run", p, "--yes"]).expect_code(0);
    for server in ["EX02", "EX03"] {
        assert_eq!(
            sddl(&env, p, server),
            "O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)",
            "{server}"
        );
    }
}

#[test]
fn a_staging_folder_others_may_write_is_refused_before_anything_is_written() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .lab_server("EX02", "staging_folder_open", true)
        .write(&env, "open.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes"]).expect_code(1);
    assert!(
        run.stderr.contains(
            r"the staging folder C:\cu-roll must be writable by Administrators and SYSTEM only"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(";;;BU)"), "{}", run.stderr);
    // Nothing was written there: no batch file for setup.
    let listing = env
        .run(&[
            "exec",
            p,
            "--server",
            "EX02",
            "--ps",
            r"@(Get-ChildItem -LiteralPath 'C:\cu-roll' -File).Count",
        ])
        .expect_code(0);
    assert_eq!(listing.stdout.trim(), "0", "{}", listing.stdout);
}
