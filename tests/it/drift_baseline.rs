//! `drift` and `restore-config` compare with the backup the rollout took
//! before the server's CU, not the newest one: a `cu-roll backup` after
//! the rollout holds the CU's own values and would hide what it reverted
//! (review #12). `--backup FILE` chooses another.

use crate::harness::{Env, LabPlan};

#[test]
fn a_backup_after_the_cu_does_not_hide_what_the_cu_reverted() {
    let env = Env::new();
    let p = LabPlan::new()
        .fast()
        .timeouts("20s")
        .write(&env, "lab.toml");
    let p = p.to_str().unwrap();
    env.run(&["run", p]).expect_code(0);
    // After the CU: a new backup, now the newest.
    let after = env.run(&["backup", p, "--server", "EX02"]).expect_code(0);
    let newer = after.stdout.split('\t').nth(1).unwrap().to_string();

    let drift = env.run(&["drift", p, "--server", "EX02"]).expect_code(0);
    assert!(
        drift
            .stdout
            .contains("Compared with the backup the rollout took before this server's CU"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains(&format!(
            "`cu-roll restore-config {p} --server EX02 --key BackEndProxyTimeout`"
        )),
        "the reverted setting is still found: {}",
        drift.stdout
    );
    assert!(
        drift
            .stderr
            .contains("warning: EX02: compared with the backup the rollout took before the CU")
            && drift.stderr.contains(&newer),
        "{}",
        drift.stderr
    );
    let json = env
        .run(&["drift", p, "--server", "EX02", "--format", "json"])
        .expect_code(0)
        .json();
    let baseline = json["servers"][0]["baseline"].as_str().unwrap();
    assert!(baseline.contains(&newer), "{baseline}");

    // Against the post-CU backup nothing looks reverted: why it is not the default.
    let against_newer = env
        .run(&["drift", p, "--server", "EX02", "--backup", &newer])
        .expect_code(0);
    assert!(
        against_newer
            .stdout
            .contains("No customisation in the backup was reverted."),
        "{}",
        against_newer.stdout
    );
    assert!(against_newer.stdout.contains("given with --backup"));

    let restore = env
        .run(&[
            "restore-config",
            p,
            "--server",
            "EX02",
            "--key",
            "BackEndProxyTimeout",
            "--yes",
        ])
        .expect_code(0);
    assert!(
        restore
            .stderr
            .contains("the backup the rollout took before this server's CU")
            && restore.stderr.contains("00:05:00"),
        "{}",
        restore.stderr
    );
}
