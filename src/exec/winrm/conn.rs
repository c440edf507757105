//! One HTTP/1.1 connection to a WinRM listener, on the process's tokio
//! runtime: a tokio `TcpStream` (with tokio-rustls for HTTPS, using the
//! plan's rustls configuration) driven by hyper's low-level
//! `client::conn::http1`, which is one connection and nothing else. That is
//! what NTLM needs: it authenticates the connection, so the handshake and
//! every sealed envelope must travel on this socket, never on another that
//! a pool picked. This module moves requests and bounded answers; it knows
//! nothing about SOAP or authentication, and it never reconnects by itself
//! (the client decides when a request may be sent again).
//!
//! Bounds, whatever the peer sends: the response head is limited to
//! [`READ_BUF`] bytes, the body to [`wsman::http::MAX_BODY`], and the whole
//! answer must arrive within the caller's `max_wait`.
//!
//! Memory: a kept connection holds hyper's read buffer, its write buffer
//! (8 KiB, fixed by hyper) and its request channel (about 9 KiB) while it
//! sits idle, and a 200-server pre-flight keeps about 400 of them (a
//! shell per server, and one per Exchange read a peer serves at once). The
//! read buffer is therefore a fixed [`READ_BUF`]: hyper's adaptive one
//! starts at 8 KiB and grows to the largest answer read, about 12 KiB a
//! connection in that pre-flight (docs/performance.md, "Memory (figure 4)").

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use wsman::http::{Message, MAX_BODY};

use super::client::{Endpoint, Failure};
use super::stats::Stats;

/// An open connection: hyper's sender half; the connection's driver runs
/// as a task on the runtime and ends when the socket closes.
pub(crate) struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    last_used: Instant,
}

/// The read buffer of a connection, which is also the most a response's
/// head may take (hyper reads the head into it): a body of any size up to
/// [`MAX_BODY`] is read through it in pieces. A WinRM answer's head is a
/// status line and a few short headers; the longest, a 401 carrying an
/// NTLM challenge (`WWW-Authenticate: Negotiate` and about 300 bytes of
/// base64), is under 1 KiB in the lab and in the fake servers of the tests.
/// UNVERIFIED against a capture of a real HTTP.sys answer: that none
/// passes 4 KiB (until this constant existed the limit was
/// [`wsman::http::MAX_HEADER`], 64 KiB).
pub(crate) const READ_BUF: usize = 4 * 1024;

/// A connection idle this long is not reused: Windows' HTTP.sys closes
/// idle connections after 120 s (UNVERIFIED, the same figure the lab's
/// listener uses), and a request written just as the server closes would
/// be lost. Reopening earlier is cheap (a connect and, for NTLM, one
/// handshake); losing a Command is not.
pub(crate) const REUSE_IDLE: Duration = Duration::from_secs(60);

impl Connection {
    /// Connects to `ep` (every resolved address in turn), runs the TLS
    /// handshake when `ep` is HTTPS, and starts hyper's driver.
    pub(crate) async fn open(
        ep: &Endpoint,
        connect_timeout: Duration,
        stats: &Stats,
    ) -> Result<Connection, Failure> {
        let tcp = connect(ep, connect_timeout).await?;
        let _ = tcp.set_nodelay(true);
        stats.connection_opened();
        match &ep.tls {
            None => Connection::start(tcp).await,
            Some(cfg) => {
                let name = ServerName::try_from(ep.host.clone()).map_err(|e| {
                    Failure::Other(format!("{} is not a valid TLS server name: {e}", ep.host))
                })?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone());
                let stream = tokio::time::timeout(connect_timeout, tls.connect(name, tcp))
                    .await
                    .map_err(|_| Failure::Refused("no TLS handshake in time".into()))?
                    .map_err(|e| Failure::Other(format!("the TLS handshake failed: {e}")))?;
                Connection::start(stream).await
            }
        }
    }

    async fn start<S>(stream: S) -> Result<Connection, Failure>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let (sender, driver) = http1::Builder::new()
            .title_case_headers(true)
            // Also hyper's limit of a response head (its `max_buf_size`,
            // which this replaces, was 64 KiB).
            .read_buf_exact_size(Some(READ_BUF))
            .max_header_size(READ_BUF)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::Other(describe(&e)))?;
        tokio::spawn(async move {
            // Ends when the server closes or the sender is dropped; its
            // error, if any, reaches the request that was in flight.
            let _ = driver.await;
        });
        Ok(Connection {
            sender,
            last_used: Instant::now(),
        })
    }

    /// Whether a request may still be sent on this connection: open, and
    /// not idle so long that the server may be closing it.
    pub(crate) fn reusable(&self) -> bool {
        !self.sender.is_closed() && self.last_used.elapsed() < REUSE_IDLE
    }

    /// Sends one `POST /wsman` and reads the whole answer, bounded in size
    /// and in time. `Err((failure, unsent))`: `unsent` is true when hyper
    /// gave the request back unwritten (the connection had closed), so
    /// sending it again on a new connection cannot repeat anything.
    pub(crate) async fn post(
        &mut self,
        headers: &[(&str, String)],
        body: Vec<u8>,
        max_wait: Duration,
        stats: &Stats,
    ) -> Result<Message, (Failure, bool)> {
        let mut request = hyper::Request::post("/wsman");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| {
            (
                Failure::Other(format!("cannot build the request: {e}")),
                false,
            )
        })?;
        stats.request_sent();
        let answer = tokio::time::timeout(max_wait, async {
            if self.sender.ready().await.is_err() {
                return Err((closed_unsent(), true));
            }
            let response = match self.sender.try_send_request(request).await {
                Ok(r) => r,
                Err(mut e) => {
                    let unsent = e.take_message().is_some();
                    return Err((dropped(e.error()), unsent));
                }
            };
            read_response(response).await.map_err(|f| (f, false))
        })
        .await;
        self.last_used = Instant::now();
        match answer {
            Ok(result) => result,
            Err(_) => Err((
                Failure::Dropped(format!(
                    "no answer in time (the whole answer must arrive within {})",
                    humantime::format_duration(max_wait)
                )),
                false,
            )),
        }
    }
}

/// The first address that accepts within `timeout`.
async fn connect(ep: &Endpoint, timeout: Duration) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((ep.host.as_str(), ep.port))
        .await
        .map_err(|e| Failure::Unresolved(e.to_string()))?
        .collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => last = format!("{addr}: {e}"),
            Err(_) => last = format!("{addr}: no answer within {timeout:?}"),
        }
    }
    Err(Failure::Refused(last))
}

/// The head and the whole body (at most [`MAX_BODY`]) as a [`Message`].
async fn read_response(
    response: hyper::Response<hyper::body::Incoming>,
) -> Result<Message, Failure> {
    let (parts, body) = response.into_parts();
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Failure::Dropped("HTTP body too large".into()));
    }
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| Failure::Dropped(describe_body(e.as_ref())))?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(Message {
        start: [
            format!("{:?}", parts.version),
            parts.status.as_str().to_string(),
            parts.status.canonical_reason().unwrap_or("").to_string(),
        ],
        headers,
        body: body.to_vec(),
    })
}

fn closed_unsent() -> Failure {
    Failure::Dropped("the server closed the connection without answering".into())
}

/// A failure of the request itself (no answer, or not HTTP).
fn dropped(e: &hyper::Error) -> Failure {
    Failure::Dropped(describe(e))
}

/// hyper's error in the words the rest of cu-roll (and its tests) use for
/// the same thing, with hyper's own text behind where it adds something.
fn describe(e: &hyper::Error) -> String {
    // (`is_parse_too_large` exists only with hyper's server feature.)
    if e.is_parse() && e.to_string().contains("too large") {
        return format!("HTTP header too large (over {} KiB)", READ_BUF / 1024);
    }
    if e.is_parse() || e.is_parse_status() {
        return format!("not an HTTP response ({e})");
    }
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        return "the server closed the connection without answering".into();
    }
    if e.is_body_write_aborted() {
        return "the connection dropped while the request was written".into();
    }
    let source = std::error::Error::source(e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    format!("{e}{source}")
}

/// A failure while reading the body: too large, cut off, or malformed.
fn describe_body(e: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    if e.is::<http_body_util::LengthLimitError>() {
        return "HTTP body too large".into();
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    format!("connection closed inside an HTTP body ({io})")
                }
                _ => format!("bad HTTP body ({io})"),
            };
        }
        cause = c.source();
    }
    format!("bad HTTP body ({e})")
}
