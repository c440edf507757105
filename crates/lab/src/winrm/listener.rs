//! The listener threads: one accept loop per lab server and one thread per
//! connection, which reads HTTP requests, hands each to `auth::handle` and
//! writes the answer back (or drops the socket for the `winrm-drops` fault).
//! It must not look inside a request: authentication and SOAP live next door.

use std::io::BufReader;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wsman::http::{self, Stream};

use super::auth::{handle, Conn};
use super::{Answer, Listener};

pub(super) fn accept_loop(
    listener: &TcpListener,
    state: &Arc<Listener>,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = conn else { continue };
        let state = state.clone();
        let tls_config = tls_config.clone();
        std::thread::spawn(move || {
            let peer = tcp
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            let _ = tcp.set_nodelay(true);
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

fn serve_connection(state: &Listener, stream: Box<dyn Stream>, peer: &str) {
    let mut reader = BufReader::new(stream);
    let mut conn = Conn::default();
    loop {
        let req = match http::read_message(&mut reader, false) {
            Ok(Some(r)) => r,
            _ => return,
        };
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
