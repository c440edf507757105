//! NTLM re-authentication, the client's own HTTP limits and its answer
//! deadline, against small servers written here (the lab's server never
//! forgets a connection's authentication, never sends an oversized body
//! and never drips).

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client::Failure;
use super::*;
use crate::plan::Secret;
use wsman::http::{read_message, write_message};
use wsman::ntlm;

const USER: &str = "LAB\\admin";
const PASSWORD: &str = "lab-only-password";

/// An NTLM server that answers `401` to the sealed envelopes numbered (from
/// 0, over the whole run) from `forget_from` up to `forget_until`, as if it
/// forgot the connection's authentication, and a sealed `<ok/>` to every
/// other. It counts the envelopes it saw.
fn forgetful_server(forget_from: usize, forget_until: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counter = counter.clone();
            let forget = forget_from..forget_until;
            std::thread::spawn(move || serve_ntlm(stream, forget, &counter));
        }
    });
    (port, seen)
}

fn serve_ntlm(stream: std::net::TcpStream, forget: std::ops::Range<usize>, seen: &AtomicUsize) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut pending = None;
    let mut session: Option<ntlm::Session> = None;
    while let Ok(Some(req)) = read_message(&mut reader, false) {
        let token = req
            .header("Authorization")
            .and_then(|v| v.split_once(' '))
            .and_then(|(_, t)| STANDARD.decode(t.trim()).ok());
        let (status, headers, body) = match token {
            Some(t) if t.get(8) == Some(&1) => {
                let acc = ntlm::Acceptor::challenge(
                    &t,
                    "EX01",
                    "ex01.contoso.local",
                    "LAB",
                    "contoso.local",
                )
                .unwrap();
                let challenge = format!("Negotiate {}", STANDARD.encode(acc.challenge_message()));
                pending = Some(acc);
                (401, vec![("WWW-Authenticate", challenge)], Vec::new())
            }
            Some(t) => {
                let acc = pending.take().expect("a challenge came first");
                session = acc.accept(&t, USER, PASSWORD).ok().map(|(_, s)| s);
                (
                    if session.is_some() { 200 } else { 401 },
                    vec![],
                    Vec::new(),
                )
            }
            None if forget.contains(&seen.fetch_add(1, Ordering::SeqCst)) => {
                session = None;
                (
                    401,
                    vec![("WWW-Authenticate", "Negotiate".to_string())],
                    Vec::new(),
                )
            }
            None => {
                let s = session.as_mut().expect("an authenticated connection");
                ntlm::unwrap(s, &req.body).expect("a sealed envelope");
                let body = ntlm::wrap(s, b"<ok/>");
                (
                    200,
                    vec![("Content-Type", ntlm::sealed_content_type())],
                    body,
                )
            }
        };
        let start = format!("HTTP/1.1 {status} X");
        if write_message(&mut out, &start, &headers, &body).is_err() {
            return;
        }
    }
}

/// A client of the fake server on `port`.
fn client(kind: AuthKind, port: u16, options: Options) -> Client {
    let endpoint = Endpoint {
        server: "EX01".into(),
        host: "127.0.0.1".into(),
        port,
        tls: None,
    };
    let password = Secret::new(PASSWORD.into());
    let user = USER.into();
    Client::new(
        endpoint,
        Credentials {
            kind,
            user,
            password,
        },
        options,
    )
}

fn ntlm_client(port: u16) -> Client {
    let options = Options {
        poll_timeout: Duration::from_secs(2),
        ..Options::default()
    };
    client(AuthKind::Ntlm, port, options)
}

/// Accepts one connection, reads one request, and hands the socket to
/// `answer`.
fn answer_once(answer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let out = stream.try_clone().unwrap();
        let _ = read_message(&mut BufReader::new(stream), false);
        answer(out);
    });
    port
}

#[test]
fn a_401_on_an_authenticated_connection_negotiates_again_once() {
    let (port, _) = forgetful_server(1, 2);
    let mut client = ntlm_client(port);
    assert_eq!(client.call("<first/>").ok().as_deref(), Some("<ok/>"));
    // The server forgets: one 401, a new connection and handshake, the
    // envelope again.
    assert_eq!(client.call("<second/>").ok().as_deref(), Some("<ok/>"));
    let t = client.stats().totals();
    // negotiate, authenticate, <first/>, <second/> refused; on the new
    // connection negotiate, authenticate, <second/>.
    assert_eq!((t.connections, t.requests), (2, 7), "{t:?}");
}

#[test]
fn a_401_right_after_negotiating_is_a_refused_account() {
    // Refused on a fresh session: not negotiated again.
    let (port, seen) = forgetful_server(0, usize::MAX);
    let mut client = ntlm_client(port);
    assert!(matches!(client.call("<a/>"), Err(Failure::Auth)));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    // Refused again after negotiating again: one retry, then refused.
    let (port, seen) = forgetful_server(1, usize::MAX);
    let mut client = ntlm_client(port);
    assert_eq!(client.call("<a/>").ok().as_deref(), Some("<ok/>"));
    assert!(matches!(client.call("<b/>"), Err(Failure::Auth)));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

/// A chunked body whose chunks add up past 16 MiB is refused by the
/// client however the server splits it.
#[test]
fn chunks_past_the_body_limit_are_refused() {
    let port = answer_once(|mut out| {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..17 {
            if out
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .is_err()
                || out.write_all(&chunk).is_err()
                || out.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
        let _ = out.write_all(b"0\r\n\r\n");
    });
    let options = Options {
        poll_timeout: Duration::from_secs(2),
        retries: 0,
        ..Options::default()
    };
    let mut client = client(AuthKind::Basic, port, options);
    match client.call("<envelope/>") {
        Err(Failure::Dropped(d)) => assert!(d.contains("HTTP body too large"), "{d}"),
        other => panic!("expected the body limit, got {other:?}"),
    }
}

/// A server that drips its answer a byte at a time, each byte well within
/// any read timeout, is cut off when the whole answer is late.
#[test]
fn a_dripping_server_is_cut_off_at_the_answer_deadline() {
    let port = answer_once(|mut out| {
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: "
            .iter()
            .chain([b'a'; 1000].iter())
        {
            if out.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let options = Options {
        poll_timeout: Duration::from_millis(300),
        answer_slack: Duration::ZERO,
        ..Options::default()
    };
    let mut client = client(AuthKind::Basic, port, options);
    let started = std::time::Instant::now();
    match client.call("<envelope/>") {
        Err(Failure::Dropped(d)) => assert!(d.contains("no answer in time"), "{d}"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A server answering `head_extra` (extra header lines) and `body`, as one
/// Content-Length body or in chunks of `chunk` bytes.
fn answering(head_extra: String, body: Vec<u8>, chunk: Option<usize>) -> u16 {
    answer_once(move |mut out| {
        let framing = match chunk {
            None => format!("Content-Length: {}\r\n", body.len()),
            Some(_) => "Transfer-Encoding: chunked\r\n".to_string(),
        };
        let head = format!("HTTP/1.1 200 OK\r\n{head_extra}{framing}\r\n");
        let _ = out.write_all(head.as_bytes());
        match chunk {
            None => {
                let _ = out.write_all(&body);
            }
            Some(n) => {
                for piece in body.chunks(n) {
                    let _ = out.write_all(format!("{:x}\r\n", piece.len()).as_bytes());
                    let _ = out.write_all(piece);
                    let _ = out.write_all(b"\r\n");
                }
                let _ = out.write_all(b"0\r\n\r\n");
            }
        }
    })
}

fn basic_client(port: u16) -> Client {
    let options = Options {
        poll_timeout: Duration::from_secs(5),
        retries: 0,
        ..Options::default()
    };
    client(AuthKind::Basic, port, options)
}

/// The read buffer is small (`conn::READ_BUF`, 4 KiB); an answer hundreds
/// of times its size arrives whole, byte for byte, in one piece or in chunks
/// that straddle the buffer's edges.
#[test]
fn an_answer_far_larger_than_the_read_buffer_is_read_whole() {
    // 1 MiB and a little, not a multiple of the buffer, every byte telling
    // where it is.
    let body: Vec<u8> = (0..(1 << 20) + 7)
        .map(|i: usize| b"0123456789abcdefghijklmnopqrstuvwxyz"[i % 36])
        .collect();
    for chunk in [
        None,
        Some(super::conn::READ_BUF + 5),
        Some(1000),
        Some(70_000),
    ] {
        let port = answering(String::new(), body.clone(), chunk);
        let text = basic_client(port).call("<envelope/>").unwrap_or_else(|e| {
            panic!("chunk {chunk:?}: {e:?}");
        });
        assert_eq!(text.len(), body.len(), "chunk {chunk:?}");
        assert!(text.as_bytes() == body.as_slice(), "chunk {chunk:?}");
    }
}

/// A head that fits the read buffer is read; one that does not is refused
/// as too large, with the limit in the message.
#[test]
fn a_head_is_read_up_to_the_read_buffer_and_refused_past_it() {
    let header = |len: usize| format!("X-Long: {}\r\n", "h".repeat(len));
    let port = answering(header(3 * 1024), b"<ok/>".to_vec(), None);
    assert_eq!(
        basic_client(port).call("<envelope/>").ok().as_deref(),
        Some("<ok/>")
    );
    let port = answering(header(super::conn::READ_BUF), b"<ok/>".to_vec(), None);
    match basic_client(port).call("<envelope/>") {
        Err(Failure::Dropped(d)) => {
            assert!(d.contains("HTTP header too large (over 4 KiB)"), "{d}");
        }
        other => panic!("expected the head limit, got {other:?}"),
    }
}
