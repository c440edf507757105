//! Review real-exchange.md #17: after setup, cu-roll reads only the last
//! run of `ExchangeSetup.log`, in bounded pieces, never the whole file.
//! The lab gives EX02 a log of many earlier runs (`setup_log_earlier_mb`)
//! and makes output cost time against the command's deadline
//! (`[lab.timings] output_per_mb`, UNVERIFIED rate: WinRS returns output
//! in Receive responses of at most `MaxEnvelopeSizekb`, one round trip
//! each): one `type` of the whole log runs past the 60 s
//! `operation_timeout`, the pieces do not.

use crate::harness::{Env, LabPlan};
use crate::rollout::assert_rolled;

#[test]
fn a_setup_log_of_many_runs_is_read_in_pieces_within_the_deadline() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .timeouts("20s")
        .connection("operation_timeout", "60s")
        .timing("output_per_mb", "90s")
        .lab_server("EX02", "setup_log_earlier_mb", 1)
        .write(&env, "long-log.toml");
    let p = plan.to_str().unwrap();
    // The whole log would take about 90 s to send back.
    let whole = env.run(&[
        "exec",
        p,
        "--server",
        "EX02",
        r#"type "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#,
    ]);
    assert_ne!(whole.code, 0, "{}", whole.stdout.len());
    assert!(
        whole.stderr.contains("did not answer within"),
        "{}",
        whole.stderr
    );

    let run = env.run(&["run", p, "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_rolled(&env, p, "15.2.1748.43");
}
