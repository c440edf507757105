//! The WS-Management client: one kept-alive connection per `Client`
//! (`conn`, on the tokio runtime), one `POST /wsman` per operation, and
//! `Shell` — a Windows Remote Shell that runs any number of commands before
//! it is deleted. The operation flow is synchronous: each round trip
//! bridges into the runtime with `runtime::block_on` from the caller's
//! thread. Maps HTTP, socket and SOAP failures to `ExecError` with the
//! server's name; never puts the password in any message.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use super::conn::Connection;
use super::shell::Shell;
use super::stats::Stats;
use crate::exec::ExecError;
use crate::plan::Secret;
use wsman::envelope::{self, Fault, Header};
use wsman::http::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Basic,
    Ntlm,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub kind: AuthKind,
    pub user: String,
    pub password: Secret,
}

/// Where one server's WinRM listener is and how to reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The plan's server name, used in every error message.
    pub server: String,
    /// Host to connect to (the FQDN, or 127.0.0.1 for the lab).
    pub host: String,
    pub port: u16,
    /// `Some` for HTTPS.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    /// The URL written in every envelope's `a:To`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}/wsman", self.port)
    }
}

/// Timing and retry knobs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long one command may run in total before it is abandoned.
    pub command_timeout: Duration,
    /// The `OperationTimeout` of each Receive long-poll.
    pub poll_timeout: Duration,
    pub connect_timeout: Duration,
    /// How much longer than `poll_timeout` a whole answer may take to
    /// arrive (a server dripping bytes is cut off at the sum).
    pub answer_slack: Duration,
    /// How many times an operation that is safe to repeat (Create, Signal,
    /// Delete) is retried after its connection dropped.
    pub retries: u32,
    /// PowerShell calls without a secret run in one long-lived
    /// powershell.exe per kept shell (`host.rs`); `false`: a new
    /// powershell.exe per call, as before the host existed.
    pub ps_host: bool,
    /// The operator's interrupt: a command is no longer waited for once
    /// it is set (begun after it: `runtime::AFTER_INTERRUPT` later; `Shell`,
    /// docs/winrm.md "Cancellation"). The process's by default.
    pub cancel: crate::runtime::Cancel,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            command_timeout: Duration::from_secs(3600),
            poll_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            answer_slack: Duration::from_secs(30),
            retries: 3,
            ps_host: true,
            cancel: crate::runtime::Cancel::process(),
        }
    }
}

/// One operation, for messages and for knowing whether it may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Command,
    Send,
    Receive,
    Signal,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "creating a shell",
            Op::Command => "starting a command",
            Op::Send => "sending input",
            Op::Receive => "receiving output",
            Op::Signal => "terminating a command",
            Op::Delete => "deleting a shell",
        }
    }

    /// Operations whose repetition cannot change the target: a second
    /// Create only makes another empty shell; Signal and Delete of a gone
    /// command/shell fail harmlessly. Command and Send may already have
    /// started work, and a lost Receive answer loses output, so those are
    /// never repeated.
    fn safe_to_retry(self) -> bool {
        matches!(self, Op::Create | Op::Signal | Op::Delete)
    }
}

/// A client for one server: owns one connection, reopened when it drops.
pub struct Client {
    endpoint: Endpoint,
    creds: Credentials,
    options: Options,
    conn: Option<Connection>,
    /// The NTLM session of the current connection (NTLM authenticates
    /// connections: a new one starts without).
    ntlm: Option<wsman::ntlm::Session>,
    stats: Arc<Stats>,
    /// While set, a round trip races this call's give-up point (`Shell`
    /// sets it around the Receives of a command).
    watch: Option<crate::runtime::CallWatch>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint.url())
            .field("user", &self.creds.user)
            .finish_non_exhaustive()
    }
}

/// What went wrong on one exchange, before it becomes an `ExecError`.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The socket failed or closed: retry-safe operations may repeat.
    Dropped(String),
    /// The connection had closed before the request was written: any
    /// operation may be sent again on a new connection.
    Unsent(String),
    Refused(String),
    /// The host name did not resolve.
    Unresolved(String),
    /// The wait for the answer was given up: the operator's interrupt
    /// (the connection is closed, the request's fate unknown).
    Cancelled,
    Auth,
    Fault(Fault),
    Other(String),
}

impl Client {
    pub fn new(endpoint: Endpoint, creds: Credentials, options: Options) -> Client {
        Client {
            endpoint,
            creds,
            options,
            conn: None,
            ntlm: None,
            stats: Arc::default(),
            watch: None,
        }
    }

    /// Counts into `stats` (shared by an executor's clients).
    pub fn with_stats(mut self, stats: Arc<Stats>) -> Client {
        self.stats = stats;
        self
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Sends one HTTP request on the open connection (see
    /// [`Client::ensure_connected`]); a failure closes it.
    pub(crate) fn round_trip(
        &mut self,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Message, Failure> {
        if self
            .watch
            .as_ref()
            .is_some_and(crate::runtime::CallWatch::expired)
        {
            return Err(Failure::Cancelled);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Failure::Unsent("the connection closed".into()));
        };
        let host = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let mut all: Vec<(&str, String)> = vec![
            ("Host", host),
            ("User-Agent", "cu-roll".into()),
            ("Connection", "Keep-Alive".into()),
        ];
        all.extend(headers.iter().cloned());
        // The whole answer in bounded time, so a server dripping bytes
        // cannot hold the client for ever.
        let max_wait = self.options.poll_timeout + self.options.answer_slack;
        let stats = self.stats.clone();
        let post = conn.post(&all, body.to_vec(), max_wait, &stats);
        let answered = match &self.watch {
            Some(watch) => crate::runtime::block_on(watch.race(post)),
            None => Some(crate::runtime::block_on(post)),
        };
        let Some(answered) = answered else {
            // Half a request, or an answer not read: the connection (and
            // its NTLM sequence) cannot carry another.
            self.disconnect();
            return Err(Failure::Cancelled);
        };
        match answered {
            Ok(m) => {
                if m.wants_close() {
                    self.conn = None;
                }
                Ok(m)
            }
            Err((failure, unsent)) => {
                self.conn = None;
                Err(match failure {
                    Failure::Dropped(d) if unsent => Failure::Unsent(d),
                    f => f,
                })
            }
        }
    }

    /// One SOAP operation: authenticated POST, status and fault mapping.
    pub(crate) fn call(&mut self, envelope: &str) -> Result<String, Failure> {
        let reply = super::auth::exchange(self, envelope.as_bytes())?;
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        match reply.status() {
            200 => Ok(text),
            401 => Err(Failure::Auth),
            status => {
                if let Ok(doc) = envelope::parse(&text) {
                    if let Some(f) = envelope::fault(&doc) {
                        return Err(Failure::Fault(f));
                    }
                }
                let mut detail = format!("HTTP {status} {}", reply.start[2]);
                if text.trim().is_empty() && status == 400 {
                    detail.push_str(" (an empty 400 usually means the listener refused unencrypted traffic or the envelope)");
                }
                Err(Failure::Other(detail))
            }
        }
    }

    /// `call` with the retry policy of `op`; the failure comes back with
    /// the number of attempts made.
    pub(crate) fn operation_raw(
        &mut self,
        op: Op,
        build: &dyn Fn(&str) -> String,
    ) -> Result<String, (Failure, u32)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let id = format!("uuid:{}", uuid::Uuid::new_v4().to_string().to_uppercase());
            match self.call(&build(&id)) {
                Ok(text) => return Ok(text),
                Err(Failure::Dropped(_))
                    if op.safe_to_retry() && attempts <= self.options.retries =>
                {
                    std::thread::sleep(Duration::from_millis(100 * u64::from(attempts)));
                }
                // Nothing reached the server: sending again repeats nothing.
                Err(Failure::Unsent(_)) if attempts <= self.options.retries => {
                    std::thread::sleep(Duration::from_millis(100 * u64::from(attempts)));
                }
                Err(f) => return Err((f, attempts)),
            }
        }
    }

    /// `operation_raw` with the error mapped for the caller.
    pub(crate) fn operation(
        &mut self,
        op: Op,
        build: &dyn Fn(&str) -> String,
    ) -> Result<String, ExecError> {
        self.operation_raw(op, build)
            .map_err(|(f, n)| self.exec_error(op, f, n))
    }

    pub(crate) fn exec_error(&self, op: Op, f: Failure, attempts: u32) -> ExecError {
        let server = self.endpoint.server.clone();
        match f {
            Failure::Auth => ExecError::AuthFailed { server, user: self.creds.user.clone() },
            // The hint (WinRM listener, firewall) is the error's own, once.
            Failure::Refused(d) => ExecError::Unreachable {
                server,
                detail: format!("cannot connect to {} ({d})", self.endpoint.url()),
            },
            Failure::Unresolved(detail) => ExecError::Unresolved {
                server,
                host: self.endpoint.host.clone(),
                detail,
            },
            Failure::Dropped(d) | Failure::Unsent(d) if attempts > 1 => ExecError::Transport {
                server,
                detail: format!("the connection dropped {attempts} times while {} at {} ({d}); gave up after {} retries", op.name(), self.endpoint.url(), self.options.retries),
            },
            Failure::Unsent(d) => ExecError::Unreachable {
                server,
                detail: format!("the connection dropped before {} at {} ({d})", op.name(), self.endpoint.url()),
            },
            Failure::Dropped(d) if op.safe_to_retry() => ExecError::Unreachable {
                server,
                detail: format!("the connection dropped while {} at {} ({d})", op.name(), self.endpoint.url()),
            },
            Failure::Dropped(d) => ExecError::Transport {
                server,
                detail: format!(
                    "the connection dropped while {} at {} ({d}); the command may or may not have run, so it was not repeated",
                    op.name(),
                    self.endpoint.url()
                ),
            },
            Failure::Cancelled => ExecError::Interrupted { server },
            Failure::Fault(fault) => ExecError::Transport { server, detail: format!("{} failed: {fault}", op.name()) },
            Failure::Other(d) => ExecError::Transport { server, detail: format!("{} at {} failed: {d}", op.name(), self.endpoint.url()) },
        }
    }

    /// Creates a `cmd` shell.
    pub fn open_shell(mut self) -> Result<Shell, ExecError> {
        let to = self.endpoint.url();
        let timeout = self.options.poll_timeout;
        let text = self.operation(Op::Create, &|id| {
            envelope::create_shell(&Header {
                to: &to,
                message_id: id,
                operation_timeout: timeout,
                shell_id: None,
            })
        })?;
        let shell_id = parse_with(&self, Op::Create, &text, envelope::shell_id)?;
        self.stats.shell_created();
        Ok(Shell::new(self, shell_id))
    }
}

pub(crate) fn parse_with<T>(
    client: &Client,
    op: Op,
    text: &str,
    f: impl FnOnce(&roxmltree::Document<'_>) -> Result<T, envelope::ParseError>,
) -> Result<T, ExecError> {
    envelope::parse(text)
        .and_then(|d| f(&d))
        .map_err(|e| client.exec_error(op, Failure::Other(e.to_string()), 1))
}

/// The `Authorization: Basic` value.
pub(crate) fn basic_header(creds: &Credentials) -> String {
    let raw = format!("{}:{}", creds.user, creds.password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl Client {
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// Opens a connection unless the current one can be reused (open and
    /// not idle too long); a new connection has no NTLM session yet.
    pub(crate) fn ensure_connected(&mut self) -> Result<(), Failure> {
        if !self.conn.as_ref().is_some_and(Connection::reusable) {
            self.conn = None;
            self.ntlm = None;
            let timeout = self.options.connect_timeout;
            let opened =
                crate::runtime::block_on(Connection::open(&self.endpoint, timeout, &self.stats))?;
            self.conn = Some(opened);
        }
        Ok(())
    }

    /// Makes the next round trips race `watch` (`None`: not any more).
    pub(crate) fn watch(&mut self, watch: Option<crate::runtime::CallWatch>) {
        self.watch = watch;
    }

    /// Closes the connection (the next request opens a new one).
    pub(crate) fn disconnect(&mut self) {
        self.conn = None;
        self.ntlm = None;
    }

    pub(crate) fn ntlm_session(&mut self) -> &mut Option<wsman::ntlm::Session> {
        &mut self.ntlm
    }

    /// Whether messages travel over TLS (then NTLM needs no sealing).
    pub(crate) fn is_tls(&self) -> bool {
        self.endpoint.tls.is_some()
    }
}
