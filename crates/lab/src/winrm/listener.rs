//! The listener threads: one accept loop per lab server and one thread per
//! connection, which reads HTTP requests, hands each to `auth::handle` and
//! writes the answer back (or drops the socket for the `winrm-drops` fault).
//! It bounds what a client can hold: at most [`MAX_CONNECTIONS`] open
//! connections per lab server (more get `503` and are closed), an idle
//! connection closes after [`IDLE_TIMEOUT`], and a request must arrive
//! whole within [`REQUEST_TIMEOUT`] of its first byte (a slow drip cannot
//! keep a thread). It must not look inside a request: authentication and
//! SOAP live next door.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsman::http::{self, Stream};

use super::auth::{handle, Conn};
use super::{Answer, Listener};

/// Open connections one lab server serves at once. cu-roll itself keeps
/// one per server and command; 128 leaves room for tests that hammer the
/// lab with concurrent clients.
pub const MAX_CONNECTIONS: usize = 128;

/// An idle keep-alive connection (or a blocked read or write) is closed
/// after this long. Windows' HTTP.sys closes idle connections after 120 s
/// by default (UNVERIFIED against a capture); clients reconnect.
pub const IDLE_TIMEOUT: Duration = if cfg!(test) {
    Duration::from_secs(2)
} else {
    Duration::from_secs(120)
};

/// A request must arrive whole within this long of its first byte.
pub const REQUEST_TIMEOUT: Duration = if cfg!(test) {
    Duration::from_secs(2)
} else {
    Duration::from_secs(60)
};

pub(super) fn accept_loop(
    listener: &TcpListener,
    state: &Arc<Listener>,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
) {
    let open = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = conn else { continue };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            refuse_busy(tcp);
            continue;
        }
        let slot = Slot(open.clone());
        let state = state.clone();
        let tls_config = tls_config.clone();
        std::thread::spawn(move || {
            let _slot = slot;
            let peer = tcp
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            let _ = tcp.set_nodelay(true);
            let _ = tcp.set_read_timeout(Some(IDLE_TIMEOUT));
            let _ = tcp.set_write_timeout(Some(IDLE_TIMEOUT));
            let stream: Box<dyn Stream> = match tls_config {
                None => Box::new(tcp),
                Some(cfg) => match rustls::ServerConnection::new(cfg) {
                    Ok(c) => Box::new(rustls::StreamOwned::new(c, tcp)),
                    Err(_) => return,
                },
            };
            serve_connection(&state, stream, &peer);
        });
    }
}

/// One of the open-connection places; given back when the thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Over the cap: a short `503` (as HTTP.sys answers when its queue is
/// full), then close. Best effort, never blocking the accept loop long.
fn refuse_busy(mut tcp: TcpStream) {
    let _ = tcp.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = tcp.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
}

/// The connection's byte stream with the per-request deadline: once a
/// request's first byte has arrived, reads past [`REQUEST_TIMEOUT`] fail.
struct Deadline {
    inner: Box<dyn Stream>,
    first_byte: Option<Instant>,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self
            .first_byte
            .is_some_and(|t| t.elapsed() > REQUEST_TIMEOUT)
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request not complete in time",
            ));
        }
        let n = self.inner.read(buf)?;
        if n > 0 && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        Ok(n)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn serve_connection(state: &Listener, stream: Box<dyn Stream>, peer: &str) {
    let mut reader = BufReader::new(Deadline {
        inner: stream,
        first_byte: None,
    });
    let mut conn = Conn::default();
    loop {
        let req = match http::read_message(&mut reader, false) {
            Ok(Some(r)) => r,
            _ => return,
        };
        // The next request's clock starts at its own first byte (bytes
        // already buffered belong to it and arrived just now).
        reader.get_mut().first_byte = (!reader.buffer().is_empty()).then(Instant::now);
        // `[lab.timings] call_latency`: this request's round trip.
        state.lab.pay_request_latency();
        let (status, headers, body) = match handle(state, &mut conn, &req, peer) {
            Answer::Reply(s, h, b) => (s, h, b),
            // Returning drops the stream: the socket closes mid-operation.
            Answer::Drop => return,
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        state.lab.count_request(req.body.len(), body.len());
        let mut all = headers;
        all.push(("Server", "Microsoft-HTTPAPI/2.0".into()));
        if http::write_message(
            reader.get_mut(),
            &format!("HTTP/1.1 {status} {reason}"),
            &all,
            &body,
        )
        .is_err()
        {
            return;
        }
        if req.wants_close() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::{start, Scheme, ServeOptions};

    fn lab() -> (
        crate::winrm::Running,
        std::net::SocketAddr,
        std::path::PathBuf,
    ) {
        let dir = std::env::temp_dir().join(format!(
            "lab-listener-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let spec = crate::testkit::three_member_spec();
        let mut options = ServeOptions::new(Scheme::Http);
        options.ephemeral_ports = true;
        let running = start(&spec, "DAG01", &dir, options).expect("lab starts");
        let url = &running.urls[0].1;
        let port: u16 = url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/wsman")
            .parse()
            .unwrap();
        (running, ([127, 0, 0, 1], port).into(), dir)
    }

    fn answers(addr: std::net::SocketAddr) -> bool {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(s);
        http::read_message(&mut r, true)
            .ok()
            .flatten()
            .is_some_and(|m| m.status() == 401)
    }

    /// Whether the server closes `s` within `limit` (EOF or reset, not
    /// our own read timeout).
    fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
        s.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        }
    }

    #[test]
    fn connections_over_the_cap_get_503_and_the_cap_frees_up() {
        let (_running, addr, dir) = lab();
        let held: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut extra = TcpStream::connect(addr).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut text = String::new();
        let _ = extra.read_to_string(&mut text);
        assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
        drop(held);
        std::thread::sleep(Duration::from_millis(300));
        assert!(answers(addr), "a good request after the others closed");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn idle_and_slow_drip_connections_are_closed() {
        let (_running, addr, dir) = lab();
        let mut idle = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        assert!(
            closed_within(&mut idle, IDLE_TIMEOUT * 3),
            "idle connection kept"
        );
        assert!(started.elapsed() >= IDLE_TIMEOUT - Duration::from_millis(200));

        // One byte every 300 ms never trips the idle timeout, only the
        // request deadline.
        let mut drip = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        let mut closed = false;
        for b in b"POST /wsman HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .cycle()
            .take(100)
        {
            if drip.write_all(&[*b]).is_err() {
                closed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
            if started.elapsed() > REQUEST_TIMEOUT * 4 {
                break;
            }
        }
        assert!(
            closed || closed_within(&mut drip, Duration::from_secs(1)),
            "slow drip kept"
        );
        assert!(
            started.elapsed() < REQUEST_TIMEOUT * 4,
            "took {:?}",
            started.elapsed()
        );
        assert!(answers(addr));
        let _ = std::fs::remove_dir_all(dir);
    }
}
