//! The end of transport's maintenance (review real-exchange.md #15; issue
//! "Real Exchange II", "RedistributeActiveDatabases and the rest"): after
//! the transport restart that ends maintenance, the server's Submission
//! queue must not stay Suspended (ExchangeDsc `Set-TransportActive` →
//! `Enable-SubmissionQueue`), and the front-end transport service, which
//! started at boot while ServerWideOffline was Inactive, is restarted too
//! (community procedures). The product before this change restarted only
//! MSExchangeTransport and never looked at the Submission queue: with the
//! lab's `submission-suspended` fault it finished the rollout with EX02
//! sending no mail, and every front end still ran as started offline.

use serde_json::Value;

use crate::harness::{Env, Fault, LabPlan};

fn world(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.state_dir().join("lab-world.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn server<'a>(w: &'a Value, name: &str) -> &'a Value {
    w["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

/// EX02's transport comes back from the restart that ends maintenance
/// with its Submission queue Suspended: exit-maintenance resumes it and
/// says so; the rollout ends with no queue Suspended anywhere.
#[test]
fn a_submission_queue_suspended_after_the_transport_restart_is_resumed() {
    let env = Env::new();
    let plan = LabPlan::new()
        .fast()
        .fault(Fault::new("submission-suspended", "EX02").once())
        .write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{said}");
    let w = world(&env);
    for s in w["servers"].as_array().unwrap() {
        for q in s["queues"].as_array().unwrap() {
            assert_ne!(q["suspended"], Value::Bool(true), "{} {q}", s["name"]);
        }
    }
    assert!(
        said.contains("resumed the Suspended Submission queue"),
        "{said}"
    );
    assert_eq!(w["availability"], Value::Array(vec![]));
    let _ = server(&w, "EX02");
}
