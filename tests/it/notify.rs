//! Webhook notifications (`[[notify]]`) against local HTTP receivers on
//! 127.0.0.1: a full lab rollout and a failed one send their events in
//! order, with the documented fields and the secret header; a receiver
//! that refuses connections or never answers costs the run at most the
//! bounded drain at the end and never fails it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Env, Fault, LabPlan};

/// One request as the receiver read it.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Value,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.1 receiver: answers every POST with 200 and keeps it.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(path: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = Arc::clone(&store);
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.body["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

/// Reads requests off one connection (reqwest keeps it alive) until it closes.
fn serve(stream: TcpStream, store: &Mutex<Vec<Received>>) {
    let mut out = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        assert!(line.starts_with("POST "), "not a POST: {line:?}");
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').expect("header line");
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().expect("length"));
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        store.lock().unwrap().push(Received {
            headers,
            body: serde_json::from_slice(&body).expect("body is JSON"),
            at: Instant::now(),
        });
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .expect("answer");
    }
}

/// A port on 127.0.0.1 where nothing listens (connections are refused).
fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/refused")
}

/// A receiver that accepts connections and never answers.
fn hanging_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hangs", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

const SECRET: &str = "s3cret-hook-token-4711";
const TOKEN_IN_PATH: &str = "/hooks/T0123/B0456/path-token-0815";

fn notify_table(url: &str, format: &str, secret: bool) -> String {
    let mut t = format!("\n[[notify]]\nurl = \"{url}\"\nformat = \"{format}\"\n");
    if secret {
        t.push_str("secret_env = \"CUROLL_TEST_HOOK_SECRET\"\nsecret_header = \"X-Api-Key\"\n");
    }
    t
}

fn run_id_of(env: &Env) -> String {
    let journal = std::fs::read_to_string(env.state_dir().join("journal.jsonl")).unwrap();
    let first: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    first["run_id"].as_str().unwrap().to_string()
}

/// Every message has the common fields, the same run id, and the secret
/// in its header.
fn assert_common(got: &[Received], run_id: &str, plan: &str) {
    for r in got {
        let b = &r.body;
        assert_eq!(b["schema_version"], 1, "{b}");
        assert_eq!(b["run_id"], run_id, "{b}");
        assert_eq!(b["plan"], plan, "{b}");
        assert!(b["target"].as_str().unwrap().contains("2019 CU15"), "{b}");
        assert!(!b["message"].as_str().unwrap().is_empty(), "{b}");
        assert!(b["at"].as_str().unwrap().ends_with('Z'), "{b}");
        assert_eq!(r.header("x-api-key"), Some(SECRET));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

#[test]
fn a_full_lab_rollout_notifies_start_each_server_and_the_end_despite_dead_receivers() {
    let env = Env::new();
    let good = Receiver::start(TOKEN_IN_PATH);
    let refused = refusing_url();
    let hangs = hanging_url();
    let text = LabPlan::new().fast().text()
        + &notify_table(&refused, "json", false)
        + &notify_table(&hangs, "slack", false)
        + &notify_table(&good.url, "json", true);
    let plan = env.write_plan("notify.toml", &text);
    let p = plan.to_str().unwrap();

    let run = env.run_env(&[("CUROLL_TEST_HOOK_SECRET", SECRET)], &["run", p]);
    let exited = Instant::now();
    let run = run.expect_code(0);

    assert_eq!(
        good.events(),
        ["start", "server-done", "server-done", "end"],
        "{:#?}",
        good.received()
    );
    let got = good.received();
    assert_common(&got, &run_id_of(&env), p);
    let start = &got[0].body;
    assert_eq!(
        start["servers"],
        serde_json::json!(["EX02", "EX03", "EX01"])
    );
    assert_eq!(start["resumed"], false);
    assert!(start.get("server").is_none(), "{start}");
    let done: Vec<&Value> = got[1..3].iter().map(|r| &r.body).collect();
    assert_eq!(done[0]["server"], "EX02");
    assert_eq!(done[1]["server"], "EX03");
    for d in &done {
        assert_eq!(d["dag"], "DAG01");
        assert!(d["elapsed_seconds"].as_f64().unwrap() > 0.0, "{d}");
    }
    let end = &got[3].body;
    assert_eq!(end["outcome"], "done");
    assert_eq!(end["summary"]["outcome"], "done");
    assert_eq!(end["summary"]["totals"]["servers_done"], 2);
    assert_eq!(end["summary"]["totals"]["servers_skipped"], 1);
    assert_eq!(end["summary"]["servers"].as_array().unwrap().len(), 3);
    assert!(
        end["message"]
            .as_str()
            .unwrap()
            .contains("2 done, 1 skipped"),
        "{end}"
    );

    // The dead receivers cost the run at most the bounded drain.
    let drained = exited.duration_since(got[3].at);
    assert!(
        drained < Duration::from_secs(14),
        "the run ended {drained:?} after its last notification"
    );
    // The admin is told, without the URL's path or the secret.
    assert!(
        run.stderr.contains("could not be delivered") || run.stderr.contains("given up"),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(env.state_dir().join("cu-roll.log")).unwrap();
    assert!(log.contains("notification not delivered"), "{log}");
    for text in [&run.stderr, &run.stdout, &log] {
        assert!(!text.contains(SECRET), "the secret leaked:\n{text}");
        assert!(
            !text.contains("path-token"),
            "the URL's path leaked:\n{text}"
        );
    }
}

#[test]
fn a_failed_rollout_notifies_the_failure_and_the_end_in_json_and_teams() {
    let env = Env::new();
    let json = Receiver::start("/hook");
    let teams = Receiver::start("/webhookb2/x");
    let text = LabPlan::new()
        .fast()
        .fault(Fault::new("setup-fails", "EX02").once())
        .text()
        + &notify_table(&json.url, "json", true)
        + &notify_table(&teams.url, "teams", true);
    let plan = env.write_plan("fails.toml", &text);
    let p = plan.to_str().unwrap();

    env.run_env(&[("CUROLL_TEST_HOOK_SECRET", SECRET)], &["run", p])
        .expect_code(1);

    assert_eq!(json.events(), ["start", "failure", "end"]);
    let got = json.received();
    assert_common(&got, &run_id_of(&env), p);
    let failure = &got[1].body;
    assert_eq!(failure["server"], "EX02");
    assert_eq!(failure["step"], "setup");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("EX02 setup failed"),
        "{failure}"
    );
    let end = &got[2].body;
    assert_eq!(end["outcome"], "step-failed");
    assert_eq!(end["summary"]["outcome"], "failed");
    assert_eq!(end["summary"]["totals"]["servers_failed"], 1);

    // Teams: the same three events as Adaptive Cards, the failure flagged.
    let cards = teams.received();
    assert_eq!(cards.len(), 3, "{cards:#?}");
    for c in &cards {
        assert_eq!(c.body["type"], "message");
        assert_eq!(
            c.body["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(c.header("x-api-key"), Some(SECRET));
    }
    let failure_card = &cards[1].body["attachments"][0]["content"];
    assert_eq!(failure_card["body"][0]["color"], "Attention");
    assert!(failure_card["body"][1]["text"]
        .as_str()
        .unwrap()
        .contains("EX02 setup failed"));
}

#[test]
fn a_missing_notification_secret_stops_before_anything_changes() {
    let env = Env::new();
    let good = Receiver::start("/hook");
    let text = LabPlan::new().fast().text() + &notify_table(&good.url, "json", true);
    let plan = env.write_plan("nosecret.toml", &text);
    let run = env.run(&["run", plan.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr.contains(
            "secret header's value is read from the environment variable CUROLL_TEST_HOOK_SECRET"
        ),
        "{}",
        run.stderr
    );
    assert!(!env.state_dir().join("journal.jsonl").exists());
    assert!(good.received().is_empty());
}

/// Ctrl-C during setup (a safe stop, exit 5): `interrupted` names the
/// server and step, and `end` says the run was interrupted.
#[cfg(unix)]
#[test]
fn an_interrupted_rollout_notifies_the_interruption_and_the_end() {
    let env = Env::new();
    let good = Receiver::start("/hook");
    let text = LabPlan::new().fast().timing("setup", "20s").text()
        + &notify_table(&good.url, "json", false);
    let plan = env.write_plan("interrupt.toml", &text);
    let child = env.spawn(&["run", plan.to_str().unwrap(), "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(env.state_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .contains("\"installer-started\"")
    {
        assert!(Instant::now() < deadline, "setup never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(good.events(), ["start", "interrupted", "end"]);
    let got = good.received();
    let interrupted = &got[1].body;
    assert_eq!(interrupted["server"], "EX02");
    assert_eq!(interrupted["step"], "setup");
    assert!(
        interrupted["message"]
            .as_str()
            .unwrap()
            .contains("again to resume"),
        "{interrupted}"
    );
    assert_eq!(got[2].body["outcome"], "interrupted");
}
