//! A hostile WinRM server on loopback: whatever it answers (garbage, an
//! endless header, an overflowing or endless chunk size, a truncated body,
//! XML that is no envelope, nothing at all), `cu-roll exec` and `cu-roll
//! run` end with an error naming the server and what it did, with an
//! ordinary exit code (src/exit.rs), never a panic (exit 101), and a run
//! leaves a journal that is still whole. (A server that stalls or drips
//! is cut off by the client's answer deadline, tested with short timeouts
//! in src/exec/winrm/tests_fake_servers.rs: at the product's timeouts it takes
//! 50 s per attempt, too long for this suite.)

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{Env, LabPlan};

/// Three consecutive loopback listeners (the plan's EX01..EX03 ports).
fn listeners() -> (u16, Vec<TcpListener>) {
    for _ in 0..50 {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base > 65_000 {
            continue;
        }
        let bound: Vec<TcpListener> = (base..base + 3)
            .filter_map(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if bound.len() == 3 {
            return (base, bound);
        }
    }
    panic!("no free run of loopback ports");
}

/// Serves `answer` to every connection until dropped.
struct Hostile(Arc<AtomicBool>);

impl Drop for Hostile {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn hostile(listeners: Vec<TcpListener>, answer: Vec<u8>) -> Hostile {
    let stop = Arc::new(AtomicBool::new(false));
    let answer = Arc::new(answer);
    for l in listeners {
        l.set_nonblocking(true).expect("nonblocking");
        let (stop, answer) = (stop.clone(), answer.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buf = [0u8; 65536];
                    let _ = s.read(&mut buf); // the request's first bytes
                    let _ = s.write_all(&answer);
                    let _ = s.flush();
                });
            }
        });
    }
    Hostile(stop)
}

/// (what the server does, its answer, what the error must say it did).
/// The client reads HTTP with hyper (src/exec/winrm/conn.rs) under
/// cu-roll's limits: a 64 KiB head, a 16 MiB body (announced or summed
/// over chunks), the whole answer within a deadline. hyper adds up chunk
/// sizes in a u64 with overflow checks; a chunk-size line of zeros has no
/// length bound in hyper but holds nothing and ends at the deadline.
fn answers() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n";
    let with = |tail: &[u8]| [&chunked[..], tail].concat();
    let mut long_header = b"HTTP/1.1 200 OK\r\nX-Filler: ".to_vec();
    long_header.extend(vec![b'a'; 400 * 1024]);
    vec![
        (
            "garbage",
            b"\x00\xff\xfe not http at all\r\n\r\n".to_vec(),
            "not an HTTP response",
        ),
        ("endless header line", long_header, "HTTP header too large"),
        (
            "overflowing chunk size",
            with(b"1\r\na\r\nfffffffffffffffff\r\n"),
            "invalid chunk size: overflow",
        ),
        (
            "chunk size past the body limit, then nothing",
            with(b"7fffffff\r\n"),
            "connection closed inside an HTTP body",
        ),
        (
            "announced length past the body limit",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2147483647\r\n\r\n<s:Env".to_vec(),
            "HTTP body too large",
        ),
        (
            "endless chunk-size line",
            with(&vec![b'0'; 400 * 1024]),
            "connection closed inside an HTTP body",
        ),
        (
            "truncated body",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<s:Env".to_vec(),
            "connection closed inside an HTTP body",
        ),
        (
            "not an envelope",
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n<a></b>\x00".to_vec(),
            "EX01",
        ),
        (
            "drops the connection",
            Vec::new(),
            "closed the connection without answering",
        ),
    ]
}

/// Well within the client's bounds: connect 10 s, 4 attempts, each a
/// fast failure here.
const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn a_hostile_server_never_crashes_exec() {
    for (what, answer, said) in answers() {
        let env = Env::new();
        let (port, bound) = listeners();
        let plan = LabPlan::from_plans("lab-winrm.toml")
            .ports(port)
            .write(&env, "hostile.toml");
        let _server = hostile(bound, answer);
        let started = Instant::now();
        let run = env.run(&[
            "exec",
            plan.to_str().unwrap(),
            "--server",
            "EX01",
            "hostname",
        ]);
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: took {:?}",
            started.elapsed()
        );
        assert_eq!(
            run.code,
            cu_roll::exit::STEP_FAILED,
            "{what}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("panicked")
                && run.stderr.contains("EX01")
                && run.stderr.contains(said),
            "{what}: expected {said:?} in {}",
            run.stderr
        );
    }
}

#[test]
fn a_hostile_server_stops_a_run_before_any_change_with_the_journal_whole() {
    for (what, answer, said) in answers()
        .into_iter()
        .filter(|(w, ..)| ["overflowing chunk size", "garbage", "drops the connection"].contains(w))
    {
        let env = Env::new();
        let (port, bound) = listeners();
        let plan = LabPlan::from_plans("lab-winrm.toml")
            .ports(port)
            .write(&env, "hostile.toml");
        let _server = hostile(bound, answer);
        let started = Instant::now();
        let run = env.run(&["run", plan.to_str().unwrap(), "--yes"]);
        assert!(
            started.elapsed() < DEADLINE * 3,
            "{what}: took {:?}",
            started.elapsed()
        );
        // Every server unreachable or broken: the pre-flight refuses.
        assert_eq!(
            run.code,
            cu_roll::exit::GATE_REFUSED,
            "{what}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("panicked")
                && run.stderr.contains("EX01")
                && run.stderr.contains(said),
            "{what}: expected {said:?} in {}",
            run.stderr
        );
        let journal = env.state_dir().join("journal.jsonl");
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{what}: journal line {} is broken ({e}): {line}", n + 1)
            });
            assert_ne!(
                record["event"], "changed",
                "{what}: a change was journaled: {line}"
            );
        }
    }
}
