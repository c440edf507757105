//! The WS-Management client: one kept-alive connection per `Client`, one
//! `POST /wsman` per operation, and `Shell` — a Windows Remote Shell that
//! runs any number of commands before it is deleted (the rollout may run
//! one shell per step). Maps HTTP, socket and SOAP failures to `ExecError`
//! with the server's name; never puts the password in any message.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::pki_types::ServerName;

use crate::exec::{ExecError, ExecOutput};
use crate::plan::Secret;
use wsman::encoding::{self, StreamBuffer};
use wsman::envelope::{self, Fault, Header};
use wsman::http::{self, Message, Stream};

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
    /// How many times an operation that is safe to repeat (Create, Signal,
    /// Delete) is retried after its connection dropped.
    pub retries: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            command_timeout: Duration::from_secs(3600),
            poll_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
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
    conn: Option<BufReader<Box<dyn Stream>>>,
    /// The NTLM session of the current connection (NTLM authenticates
    /// connections: a new one starts without).
    ntlm: Option<wsman::ntlm::Session>,
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
    Refused(String),
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
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    fn connect(&self) -> Result<Box<dyn Stream>, Failure> {
        let ep = &self.endpoint;
        let addrs: Vec<SocketAddr> = (ep.host.as_str(), ep.port)
            .to_socket_addrs()
            .map_err(|e| Failure::Refused(format!("cannot resolve {}: {e}", ep.host)))?
            .collect();
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.options.connect_timeout) {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    let read_timeout = self.options.poll_timeout + Duration::from_secs(30);
                    tcp.set_read_timeout(Some(read_timeout))
                        .map_err(|e| Failure::Other(e.to_string()))?;
                    tcp.set_write_timeout(Some(read_timeout))
                        .map_err(|e| Failure::Other(e.to_string()))?;
                    return match &ep.tls {
                        None => Ok(Box::new(tcp)),
                        Some(cfg) => {
                            let name = ServerName::try_from(ep.host.clone()).map_err(|e| {
                                Failure::Other(format!(
                                    "{} is not a valid TLS server name: {e}",
                                    ep.host
                                ))
                            })?;
                            let conn = rustls::ClientConnection::new(cfg.clone(), name)
                                .map_err(|e| Failure::Other(e.to_string()))?;
                            Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
                        }
                    };
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(Failure::Refused(last))
    }

    /// Sends one HTTP request on the connection, opening it if needed.
    pub(crate) fn round_trip(
        &mut self,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Message, Failure> {
        self.ensure_connected()?;
        let host = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let mut all: Vec<(&str, String)> = vec![
            ("Host", host),
            ("User-Agent", "cu-roll".into()),
            ("Connection", "Keep-Alive".into()),
        ];
        all.extend(headers.iter().cloned());
        let conn = self.conn.as_mut().expect("opened above");
        // The whole answer within the socket's read timeout, so a server
        // dripping bytes cannot hold the client for ever.
        let deadline = Instant::now() + self.options.poll_timeout + Duration::from_secs(30);
        let result = http::write_message(conn.get_mut(), "POST /wsman HTTP/1.1", &all, body)
            .and_then(|()| http::read_message_before(conn, true, deadline));
        match result {
            Ok(Some(m)) => {
                if m.wants_close() {
                    self.conn = None;
                }
                Ok(m)
            }
            Ok(None) => {
                self.conn = None;
                Err(Failure::Dropped(
                    "the server closed the connection without answering".into(),
                ))
            }
            Err(e) => {
                self.conn = None;
                Err(match e.kind() {
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                        Failure::Dropped(format!("no answer in time ({e})"))
                    }
                    _ => Failure::Dropped(e.to_string()),
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
    fn operation_raw(
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
                Err(f) => return Err((f, attempts)),
            }
        }
    }

    /// `operation_raw` with the error mapped for the caller.
    fn operation(&mut self, op: Op, build: &dyn Fn(&str) -> String) -> Result<String, ExecError> {
        self.operation_raw(op, build)
            .map_err(|(f, n)| self.exec_error(op, f, n))
    }

    pub(crate) fn exec_error(&self, op: Op, f: Failure, attempts: u32) -> ExecError {
        let server = self.endpoint.server.clone();
        match f {
            Failure::Auth => ExecError::AuthFailed { server, user: self.creds.user.clone() },
            Failure::Refused(d) => ExecError::Unreachable {
                server,
                detail: format!("cannot connect to {} ({d}); check that WinRM listens there and the firewall allows it", self.endpoint.url()),
            },
            Failure::Dropped(d) if attempts > 1 => ExecError::Transport {
                server,
                detail: format!("the connection dropped {attempts} times while {} at {} ({d}); gave up after {} retries", op.name(), self.endpoint.url(), self.options.retries),
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
        Ok(Shell {
            client: self,
            shell_id,
        })
    }
}

fn parse_with<T>(
    client: &Client,
    op: Op,
    text: &str,
    f: impl FnOnce(&roxmltree::Document<'_>) -> Result<T, envelope::ParseError>,
) -> Result<T, ExecError> {
    envelope::parse(text)
        .and_then(|d| f(&d))
        .map_err(|e| client.exec_error(op, Failure::Other(e.to_string()), 1))
}

/// Above this many characters of `-EncodedCommand` text the command line
/// would pass cmd.exe's 8191-character limit (with the executable name and
/// switches): base64 of UTF-16LE is 8/3 the script's length, so scripts
/// longer than about 2,600 characters go through stdin instead.
pub const MAX_INLINE_ENCODED: usize = 7_800;

/// The fixed script run when the real one comes on stdin: read the first
/// line of stdin (base64 of the script's UTF-8, so no console code page can
/// mangle it), decode it, run it as a script block. Whatever follows on
/// stdin (the secret line of [`Shell::run_ps_with_secret`]) is left for the
/// script's own `[Console]::In.ReadLine()`. `exit N` inside still ends
/// powershell.exe with N.
pub const STDIN_BOOTSTRAP: &str = "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine()));& ([scriptblock]::Create($s))";

/// What goes on stdin behind [`STDIN_BOOTSTRAP`]: the script's line, then
/// (for a script that reads one) the secret's line.
pub fn bootstrap_stdin(script: &str, secret: Option<&Secret>) -> String {
    let mut stdin = base64::engine::general_purpose::STANDARD.encode(script.as_bytes());
    stdin.push_str("\r\n");
    if let Some(secret) = secret {
        stdin.push_str(&crate::exec::secret_line(secret));
    }
    stdin
}

/// An open remote shell. Dropping it deletes it on the server.
pub struct Shell {
    client: Client,
    shell_id: String,
}

impl Shell {
    pub fn id(&self) -> &str {
        &self.shell_id
    }

    fn op(
        &mut self,
        op: Op,
        timeout: Duration,
        body: &dyn Fn(&Header<'_>) -> String,
    ) -> Result<String, ExecError> {
        let to = self.client.endpoint.url();
        let shell = self.shell_id.clone();
        self.client.operation(op, &|id| {
            body(&Header {
                to: &to,
                message_id: id,
                operation_timeout: timeout,
                shell_id: Some(&shell),
            })
        })
    }

    /// Runs a PowerShell script as `powershell.exe -NoProfile
    /// -NonInteractive -EncodedCommand …`, or behind [`STDIN_BOOTSTRAP`]
    /// when it is too long for a command line.
    pub fn run_ps(&mut self, script: &str) -> Result<ExecOutput, ExecError> {
        let encoded = encoding::encode_command(script);
        let mut out = if encoded.len() <= MAX_INLINE_ENCODED {
            self.run(
                "powershell.exe",
                &["-NoProfile", "-NonInteractive", "-EncodedCommand", &encoded],
                None,
            )?
        } else {
            self.run_behind_bootstrap(script, None)?
        };
        out.stderr = encoding::clixml_to_text(&out.stderr);
        Ok(out)
    }

    /// Runs a PowerShell script behind [`STDIN_BOOTSTRAP`] with `secret`'s
    /// line after the script's on stdin: the secret is in no command line
    /// and no script text. Nothing logs what is sent.
    pub fn run_ps_with_secret(
        &mut self,
        script: &str,
        secret: &Secret,
    ) -> Result<ExecOutput, ExecError> {
        let mut out = self.run_behind_bootstrap(script, Some(secret))?;
        out.stderr = encoding::clixml_to_text(&out.stderr);
        Ok(out)
    }

    fn run_behind_bootstrap(
        &mut self,
        script: &str,
        secret: Option<&Secret>,
    ) -> Result<ExecOutput, ExecError> {
        let boot = encoding::encode_command(STDIN_BOOTSTRAP);
        let stdin = bootstrap_stdin(script, secret);
        self.run(
            "powershell.exe",
            &["-NoProfile", "-NonInteractive", "-EncodedCommand", &boot],
            Some(stdin.as_bytes()),
        )
    }

    /// Runs a cmd.exe command line.
    pub fn run_cmd(&mut self, command: &str) -> Result<ExecOutput, ExecError> {
        self.run(command, &[], None)
    }

    /// Command → Send (stdin) → Receive until Done → Signal terminate.
    pub fn run(
        &mut self,
        command: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ExecError> {
        let poll = self.client.options.poll_timeout;
        let text = self.op(Op::Command, poll, &|h| envelope::command(h, command, args))?;
        let command_id = parse_with(&self.client, Op::Command, &text, |d| {
            envelope::command_id(d)
        })?;
        let result = self.drive(&command_id, stdin);
        // Terminate releases the command's resources even after Done (what
        // winrs does); a failure here must not hide the command's result.
        let _ = self.op(Op::Signal, poll, &|h| {
            envelope::signal_terminate(h, &command_id)
        });
        result
    }

    fn drive(&mut self, command_id: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, ExecError> {
        let poll = self.client.options.poll_timeout;
        if let Some(data) = stdin {
            // Stay well under MaxEnvelopeSize once base64 grows the chunk.
            const CHUNK: usize = 64 * 1024;
            let chunks: Vec<&[u8]> = if data.is_empty() {
                vec![&[][..]]
            } else {
                data.chunks(CHUNK).collect()
            };
            let last = chunks.len() - 1;
            for (i, c) in chunks.iter().enumerate() {
                let b64 = encoding::b64(c);
                self.op(Op::Send, poll, &|h| {
                    envelope::send(h, command_id, &b64, i == last)
                })?;
            }
        }
        let started = Instant::now();
        let mut stdout = StreamBuffer::default();
        let mut stderr = StreamBuffer::default();
        loop {
            let to = self.client.endpoint.url();
            let shell = self.shell_id.clone();
            let reply = self.client.operation_raw(Op::Receive, &|id| {
                envelope::receive(
                    &Header {
                        to: &to,
                        message_id: id,
                        operation_timeout: poll,
                        shell_id: Some(&shell),
                    },
                    command_id,
                )
            });
            match reply {
                Ok(text) => {
                    let r = parse_with(&self.client, Op::Receive, &text, envelope::received)?;
                    stdout.push(&r.stdout);
                    stderr.push(&r.stderr);
                    if let Some(exit_code) = r.exit_code {
                        return Ok(ExecOutput {
                            stdout: stdout.text(),
                            stderr: stderr.text(),
                            exit_code,
                        });
                    }
                }
                // The long-poll ended with nothing new: poll again.
                Err((Failure::Fault(f), _)) if f.is_timed_out() => {}
                Err((f, n)) => return Err(self.client.exec_error(Op::Receive, f, n)),
            }
            if started.elapsed() > self.client.options.command_timeout {
                return Err(ExecError::Timeout {
                    server: self.client.endpoint.server.clone(),
                    timeout: self.client.options.command_timeout,
                });
            }
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let poll = self.client.options.poll_timeout;
        let _ = self.op(Op::Delete, poll, &|h| envelope::delete_shell(h));
    }
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

    /// Opens the connection if there is none; a new connection has no
    /// NTLM session yet.
    pub(crate) fn ensure_connected(&mut self) -> Result<(), Failure> {
        if self.conn.is_none() {
            self.conn = Some(BufReader::new(self.connect()?));
            self.ntlm = None;
        }
        Ok(())
    }

    pub(crate) fn ntlm_session(&mut self) -> &mut Option<wsman::ntlm::Session> {
        &mut self.ntlm
    }

    /// Whether messages travel over TLS (then NTLM needs no sealing).
    pub(crate) fn is_tls(&self) -> bool {
        self.endpoint.tls.is_some()
    }
}
