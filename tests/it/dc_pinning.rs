//! One domain controller per server (review real-exchange.md #23) through
//! the binary, on the in-process lab with two domain controllers 15 s of
//! AD replication apart (`[lab.ad]`, the intra-site default of KB 214678):
//! each script opens its own Exchange session, and the lab binds each
//! session to the next controller in turn, so a write and the read that
//! verifies it land on different controllers unless both name one.

use crate::harness::{Env, LabPlan};

fn two_dcs(plan: LabPlan) -> LabPlan {
    let dcs: toml_edit::Array = ["dc01.contoso.local", "dc02.contoso.local"]
        .into_iter()
        .collect();
    plan.ad("domain_controllers", dcs)
        .ad("replication_delay", "15s")
}

fn log(env: &Env) -> String {
    std::fs::read_to_string(env.state_dir().join("cu-roll.log")).unwrap_or_default()
}

/// The old product sent `Set-MailboxServer … 'Blocked'` in one session and
/// its verification's `Get-MailboxServer` in the next, which read the
/// other controller: enter-maintenance's verification (or exit's) failed
/// on a change it had just made. Pinned, EX02 rolls through.
#[test]
fn a_write_and_its_verification_read_the_same_domain_controller() {
    let env = Env::new();
    let plan = two_dcs(LabPlan::new().fast()).write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes", "--only", "EX02"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = log(&env);
    assert!(
        log.contains("domain controller dc02.contoso.local pinned for EX02's AD writes"),
        "the choice is in the log:\n{log}"
    );
}

/// A pinned controller that does not answer gives way to the next one the
/// server lists, and the log says so; the rollout goes on.
#[test]
fn a_domain_controller_that_does_not_answer_is_replaced_and_logged() {
    let unreachable: toml_edit::Array = ["dc02.contoso.local"].into_iter().collect();
    let env = Env::new();
    let plan = two_dcs(LabPlan::new().fast())
        .ad("unreachable_domain_controllers", unreachable)
        .write(&env, "lab.toml");
    let p = plan.to_str().unwrap();
    let run = env.run(&["run", p, "--yes", "--only", "EX02"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = log(&env);
    assert!(
        log.contains("domain controller dc02.contoso.local did not answer")
            && log.contains("EX02 pinned to dc01.contoso.local from now on"),
        "the change of controller is in the log:\n{log}"
    );
}
