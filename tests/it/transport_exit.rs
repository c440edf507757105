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
    let ex02 = server(&w, "EX02");
    assert_eq!(
        ex02["queues"][0]["suspended"],
        Value::Bool(false),
        "{ex02:#}"
    );
}

/// MSExchangeFrontEndTransport starts at each boot while ServerWideOffline
/// is Inactive (cu-roll reboots servers in maintenance): exit-maintenance
/// restarts it after transport, so no server ends the rollout with a
/// front end that started offline (the lab's `frontend_started_offline`).
#[test]
fn no_front_end_transport_keeps_running_as_started_in_maintenance() {
    let env = Env::new();
    let plan = LabPlan::new().fast().write(&env, "lab.toml");
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let w = world(&env);
    for name in ["EX01", "EX02", "EX03"] {
        let s = server(&w, name);
        assert_eq!(s["frontend_started_offline"], Value::Bool(false), "{name}");
    }
}

/// `plans/lab.toml` turned into an Exchange 2016 DAG (CU22 → CU23, no SU),
/// with `calls` UM calls in progress on EX03.
fn exchange_2016_plan(env: &Env, calls: u32) -> std::path::PathBuf {
    let mut text = LabPlan::new().fast().text();
    for (from, to) in [
        ("target = \"2019-CU15\"", "target = \"2016-CU23\""),
        ("security_update = \"latest\"", "security_update = \"none\""),
        ("su_path = 'C:\\Updates\\Exchange2019-CU15-Feb26SU.msp'", ""),
        ("build = \"15.2.1748.10\"", "build = \"15.1.2507.6\""),
        (
            "build = \"15.2.1748.43\"           # 2019 CU15 Feb26SU",
            "build = \"15.1.2375.7\"",
        ),
        (
            "build = \"15.2.1544.39\"           # 2019 CU14 Feb26SU",
            "build = \"15.1.2375.7\"",
        ),
        ("build = \"15.2.1544.39\"", "build = \"15.1.2375.7\""),
        (
            "queue_messages = 7",
            &format!("queue_messages = 7\num_calls = {calls}"),
        ),
    ] {
        assert!(text.contains(from), "plans/lab.toml has {from}");
        text = text.replacen(from, to, 1);
    }
    text = text
        .replace("Windows Server 2022", "Windows Server 2016")
        .replace("dotnet_release = 533320", "dotnet_release = 528372");
    env.write_plan("lab16.toml", &text)
}

/// Exchange 2016: EX03 has two Unified Messaging calls in progress when
/// its maintenance starts. UMCallRouter Draining takes no new calls; the
/// calls in progress end a while later (the lab: 10 s). cu-roll waits for
/// them (ExchangeDsc `Wait-ForUMToDrain`) before ServerWideOffline; the
/// product before this change went on at once and the lab recorded the
/// calls as cut off (`um-calls-dropped` in the availability record).
#[test]
fn exchange_2016_waits_for_um_calls_to_end_before_going_offline() {
    let env = Env::new();
    let plan = exchange_2016_plan(&env, 2);
    let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let w = world(&env);
    assert_eq!(
        w["availability"],
        Value::Array(vec![]),
        "{:#}",
        w["availability"]
    );
    assert_eq!(server(&w, "EX03")["um_calls"], 0);
}
