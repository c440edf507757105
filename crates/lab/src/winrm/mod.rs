//! `cu-roll lab serve`: the lab's WinRM listeners. Every lab server gets
//! one loopback port and answers WS-Management as Windows' WinRM service
//! does (Create/Command/Send/Receive/Signal/Delete on a `cmd` shell, the
//! TimedOut fault after OperationTimeout, Basic auth with `WWW-Authenticate`
//! challenges), running what arrives through the same `Lab` the in-process
//! transport uses, so the world persists identically. The listener is
//! configured like a lab WinRM service with `AllowUnencrypted = true` and
//! `Auth\Basic = true` (it only listens on 127.0.0.1); `ServeOptions` can
//! turn unencrypted traffic off to behave like a default Windows server.
//! It must not depend on the orchestrator: it only shares the protocol
//! encoders with the client.
//!
//! The rooms: `listener` (accept loops, connection threads), `auth` (Basic,
//! NTLM, sealing), `soap` (the shell operations), `jobs` (command threads),
//! `tls` (the HTTPS certificate), `reply` (answer envelopes), `shell`
//! (command lines and jobs). This file holds the public entry points and
//! the state the rooms share.

mod auth;
mod jobs;
mod listener;
mod reply;
pub(crate) mod shell;
mod soap;
mod tls;

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Lab, LabError, LabSpec};
use shell::Command;

/// The file the HTTPS lab writes its CA certificate to (pin it with `ca_file`).
pub const CA_FILE: &str = "lab-winrm-ca.pem";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("cannot listen on 127.0.0.1:{port} for {server}: {source}; another `cu-roll lab serve` may be running, or choose another [lab] base_port")]
    Bind {
        server: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("cannot create the lab's HTTPS certificate: {0}")]
    Certificate(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot configure the lab's TLS listener: {0}")]
    Tls(String),
}

/// HTTP or HTTPS, as a WinRM listener is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// How the listeners behave.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub scheme: Scheme,
    /// Accept Basic over HTTP (the lab's default, as a lab service
    /// configured with `winrm set winrm/config/service @{AllowUnencrypted="true"}`).
    pub allow_unencrypted: bool,
    /// Bind port 0 everywhere (tests) instead of the plan's ports.
    pub ephemeral_ports: bool,
}

impl ServeOptions {
    /// Listeners on the spec's ports with `scheme`, unencrypted allowed.
    pub fn new(scheme: Scheme) -> ServeOptions {
        ServeOptions {
            scheme,
            allow_unencrypted: true,
            ephemeral_ports: false,
        }
    }
}

/// A running set of listeners; dropping it stops accepting new connections.
pub struct Running {
    /// (server name, URL) in lab order.
    pub urls: Vec<(String, String)>,
    pub lab: Arc<Lab>,
    /// The CA certificate file when serving HTTPS.
    pub ca_file: Option<PathBuf>,
    stop: Arc<AtomicBool>,
    addrs: Vec<SocketAddr>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for a in &self.addrs {
            // Wake the accept loop so it sees the flag.
            let _ = TcpStream::connect_timeout(a, Duration::from_millis(200));
        }
    }
}

/// `cu-roll lab serve PLAN`: starts every listener of the DAG `dag`
/// described by `spec`, prints `NAME URL` lines on `out`, then serves until
/// the process is stopped (Ctrl-C). The world is saved after every script,
/// so stopping loses nothing.
pub fn serve(
    spec: &LabSpec,
    dag: &str,
    state_dir: &Path,
    options: ServeOptions,
    out: &mut dyn Write,
) -> Result<(), ServeError> {
    let running = start(spec, dag, state_dir, options)?;
    for (name, url) in &running.urls {
        let _ = writeln!(out, "{name} {url}");
    }
    if let Some(ca) = &running.ca_file {
        let _ = writeln!(out, "# CA certificate: {}", ca.display());
    }
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}

/// Starts the listeners in background threads and returns at once.
pub fn start(
    spec: &LabSpec,
    dag: &str,
    state_dir: &Path,
    options: ServeOptions,
) -> Result<Running, ServeError> {
    let spec = spec.clone();
    let lab = Arc::new(Lab::open(state_dir, &spec, dag)?.latency_per_request());
    let (tls_config, ca_file) = match options.scheme {
        Scheme::Http => (None, None),
        Scheme::Https => {
            let (cfg, path) = tls::https_setup(&spec, state_dir)?;
            (Some(cfg), Some(path))
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut urls = Vec::new();
    let mut addrs = Vec::new();
    for (i, s) in spec.servers.iter().enumerate() {
        let port = if options.ephemeral_ports {
            0
        } else {
            spec.port(i)
        };
        let listener =
            TcpListener::bind(("127.0.0.1", port)).map_err(|source| ServeError::Bind {
                server: s.name.clone(),
                port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            server: s.name.clone(),
            port,
            source,
        })?;
        let scheme = if tls_config.is_some() {
            "https"
        } else {
            "http"
        };
        urls.push((
            s.name.clone(),
            format!("{scheme}://127.0.0.1:{}/wsman", addr.port()),
        ));
        addrs.push(addr);
        let listener_state = Arc::new(Listener {
            server: s.name.clone(),
            spec: spec.clone(),
            lab: lab.clone(),
            options: options.clone(),
            shells: Mutex::new(HashMap::new()),
            boots: Mutex::new(HashMap::new()),
            address: urls.last().map(|u| u.1.clone()).unwrap_or_default(),
        });
        let tls_config = tls_config.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            listener::accept_loop(&listener, &listener_state, tls_config, &stop)
        });
    }
    Ok(Running {
        urls,
        lab,
        ca_file,
        stop,
        addrs,
    })
}

/// One lab server's listener: what every connection to it shares (the
/// lab, the options, and the open shells with their commands by id).
struct Listener {
    server: String,
    spec: LabSpec,
    lab: Arc<Lab>,
    options: ServeOptions,
    shells: Mutex<HashMap<String, HashMap<String, Command>>>,
    /// Each shell's server boot (`Lab::boot_of`) when it was created: a
    /// restart since ends the shell, as it ends a real one.
    boots: Mutex<HashMap<String, i64>>,
    address: String,
}

/// What to do after handling one request.
enum Answer {
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close without answering (the `winrm-drops` fault).
    Drop,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
