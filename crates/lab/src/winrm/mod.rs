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

mod reply;
mod shell;

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use crate::pwsh::ScriptOutput;
use crate::{Lab, LabError, LabSpec};
use shell::{Command, Job, Program};
use wsman::envelope::{self as env, NS_ADDRESSING, NS_SHELL, NS_WSMAN};
use wsman::http::{self, Message, Stream};
use wsman::{encoding, ntlm};

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
    let lab = Arc::new(Lab::open(state_dir, &spec, dag)?);
    let (tls_config, ca_file) = match options.scheme {
        Scheme::Http => (None, None),
        Scheme::Https => {
            let (cfg, path) = https_setup(&spec, state_dir)?;
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
            address: urls.last().map(|u| u.1.clone()).unwrap_or_default(),
        });
        let tls_config = tls_config.clone();
        let stop = stop.clone();
        std::thread::spawn(move || accept_loop(&listener, &listener_state, tls_config, &stop));
    }
    Ok(Running {
        urls,
        lab,
        ca_file,
        stop,
        addrs,
    })
}

/// A CA and a server certificate (127.0.0.1, localhost and every lab
/// FQDN) made for this run; the CA is written to the state directory.
fn https_setup(
    spec: &LabSpec,
    state_dir: &Path,
) -> Result<(Arc<rustls::ServerConfig>, PathBuf), ServeError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let cert_err = |e: rcgen::Error| ServeError::Certificate(e.to_string());
    let ca_key = KeyPair::generate().map_err(cert_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cu-roll lab CA");
    let ca = ca_params.self_signed(&ca_key).map_err(cert_err)?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(spec.servers.iter().map(|s| s.fqdn.clone()));
    let key = KeyPair::generate().map_err(cert_err)?;
    let mut params = CertificateParams::new(names).map_err(cert_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "cu-roll lab WinRM");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    std::fs::create_dir_all(state_dir).map_err(|source| ServeError::Write {
        path: state_dir.to_path_buf(),
        source,
    })?;
    let path = state_dir.join(CA_FILE);
    std::fs::write(&path, ca.pem()).map_err(|source| ServeError::Write {
        path: path.clone(),
        source,
    })?;
    let chain = format!("{}{}", cert.pem(), ca.pem());
    Ok((server_config(&chain, &key.serialize_pem())?, path))
}

struct Listener {
    server: String,
    spec: LabSpec,
    lab: Arc<Lab>,
    options: ServeOptions,
    shells: Mutex<HashMap<String, HashMap<String, Command>>>,
    address: String,
}

fn accept_loop(
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

/// What to do after handling one request.
enum Answer {
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close without answering (the `winrm-drops` fault).
    Drop,
}

/// What one connection has established: NTLM authenticates the
/// connection, so its session lives as long as the socket.
#[derive(Default)]
struct Conn {
    pending: Option<ntlm::Acceptor>,
    session: Option<ntlm::Session>,
    user: Option<String>,
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

fn unauthorized() -> Answer {
    Answer::Reply(
        401,
        vec![
            ("WWW-Authenticate", "Negotiate".into()),
            ("WWW-Authenticate", "Basic realm=\"WSMAN\"".into()),
        ],
        Vec::new(),
    )
}

/// Authentication, then unsealing, the SOAP operation, and sealing.
fn handle(state: &Listener, conn: &mut Conn, req: &Message, peer: &str) -> Answer {
    if !req.start[0].eq_ignore_ascii_case("POST") || !req.start[1].eq_ignore_ascii_case("/wsman") {
        return Answer::Reply(404, vec![], Vec::new());
    }
    let encrypted = state.options.scheme == Scheme::Https;
    let auth = req
        .header("Authorization")
        .and_then(|v| v.trim().split_once(' '));
    let user = match auth {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("Negotiate") || scheme.eq_ignore_ascii_case("NTLM") =>
        {
            let Some(raw) = base64::engine::general_purpose::STANDARD
                .decode(token.trim())
                .ok()
            else {
                return unauthorized();
            };
            match raw.get(8) {
                Some(1) => {
                    let (domain, _) = ntlm::split_user(&state.spec.username);
                    let fqdn = state
                        .spec
                        .servers
                        .iter()
                        .find(|s| s.name == state.server)
                        .map_or(String::new(), |s| s.fqdn.clone());
                    let dns_domain = fqdn
                        .split_once('.')
                        .map_or(String::new(), |(_, d)| d.to_string());
                    match ntlm::Acceptor::challenge(
                        &raw,
                        &state.server,
                        &fqdn,
                        &domain.to_uppercase(),
                        &dns_domain,
                    ) {
                        Ok(acc) => {
                            let token = base64::engine::general_purpose::STANDARD
                                .encode(acc.challenge_message());
                            conn.pending = Some(acc);
                            return Answer::Reply(
                                401,
                                vec![("WWW-Authenticate", format!("{scheme} {token}"))],
                                Vec::new(),
                            );
                        }
                        Err(_) => return unauthorized(),
                    }
                }
                Some(3) => {
                    let Some(acc) = conn.pending.take() else {
                        return unauthorized();
                    };
                    match acc.accept(&raw, &state.spec.username, &state.spec.password) {
                        Ok((user, session)) => {
                            conn.session = Some(session);
                            conn.user = Some(user.clone());
                            user
                        }
                        Err(_) => return unauthorized(),
                    }
                }
                // SPNEGO-wrapped tokens (Kerberos) are not offered by the lab.
                _ => return unauthorized(),
            }
        }
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("Basic") => {
            let Some(user) = basic_user(state, req) else {
                return unauthorized();
            };
            if !encrypted && !state.options.allow_unencrypted {
                // AllowUnencrypted = false: Basic over HTTP is refused.
                return unauthorized();
            }
            user
        }
        _ => match &conn.user {
            Some(u) => u.clone(),
            None => return unauthorized(),
        },
    };
    if req.body.is_empty() {
        // The authenticated empty POST that ends pywinrm's handshake.
        return Answer::Reply(200, vec![], Vec::new());
    }
    let sealed = req
        .header("Content-Type")
        .is_some_and(|c| c.contains(ntlm::PROTOCOL));
    let text = if sealed {
        let Some(session) = conn.session.as_mut() else {
            return Answer::Reply(400, vec![], Vec::new());
        };
        match ntlm::unwrap(session, &req.body) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => return Answer::Reply(400, vec![], Vec::new()),
        }
    } else {
        if conn.session.is_some() && !encrypted && !state.options.allow_unencrypted {
            // MS-WSMV: with AllowUnencrypted = false an HTTP body must be sealed.
            return Answer::Reply(400, vec![], Vec::new());
        }
        String::from_utf8_lossy(&req.body).into_owned()
    };
    match soap(state, &text, &user, peer) {
        Answer::Reply(status, mut headers, body) => match (sealed, conn.session.as_mut()) {
            (true, Some(session)) => {
                headers.push(("Content-Type", ntlm::sealed_content_type()));
                Answer::Reply(status, headers, ntlm::wrap(session, &body))
            }
            _ => {
                headers.push(("Content-Type", "application/soap+xml;charset=UTF-8".into()));
                Answer::Reply(status, headers, body)
            }
        },
        Answer::Drop => Answer::Drop,
    }
}

/// One WS-Management operation on a plain envelope.
fn soap(state: &Listener, text: &str, user: &str, peer: &str) -> Answer {
    let doc = match env::parse(text) {
        Ok(d) => d,
        Err(e) => return soap_fault(state, "", "s:Sender", "w:InvalidMessageInformationHeader", 2_150_858_817, &format!("The WS-Management service cannot process the request because the XML is invalid: {e}")),
    };
    let message_id = env::find_text(&doc, NS_ADDRESSING, "MessageID").unwrap_or_default();
    let action = env::find_text(&doc, NS_ADDRESSING, "Action").unwrap_or_default();
    let timeout = env::find_text(&doc, NS_WSMAN, "OperationTimeout")
        .and_then(|t| env::parse_duration(&t))
        .unwrap_or(Duration::from_secs(60));
    let shell_id = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "Selector"
                && n.tag_name().namespace() == Some(NS_WSMAN)
                && n.attribute("Name") == Some("ShellId")
        })
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string());
    let ok = |body: String| Answer::Reply(200, vec![], body.into_bytes());
    match action.as_str() {
        env::ACTION_CREATE => {
            let fired = state
                .lab
                .with_host(&state.server, |h| {
                    h.world
                        .fire_fault("winrm-drops", &state.server, None)
                        .is_some()
                })
                .unwrap_or(false);
            if fired {
                return Answer::Drop;
            }
            let id = uuid::Uuid::new_v4().to_string().to_uppercase();
            lock(&state.shells).insert(id.clone(), HashMap::new());
            ok(reply::created(&message_id, &state.address, &id, user, peer))
        }
        env::ACTION_DELETE => match shell_id.and_then(|id| lock(&state.shells).remove(&id)) {
            Some(_) => ok(reply::deleted(&message_id)),
            None => no_shell(state, &message_id),
        },
        env::ACTION_COMMAND => {
            let Some(shell) = shell_id else {
                return no_shell(state, &message_id);
            };
            let Some(cl) = env::find(doc.root(), NS_SHELL, "CommandLine") else {
                return soap_fault(state, &message_id, "s:Sender", "w:SchemaValidationError", 2_150_858_817, "The SOAP XML in the message does not match the corresponding XML schema definition.");
            };
            let mut line = env::find(cl, NS_SHELL, "Command")
                .and_then(|c| c.text())
                .unwrap_or("")
                .trim()
                .to_string();
            for a in cl.children().filter(|n| {
                n.tag_name().name() == "Arguments" && n.tag_name().namespace() == Some(NS_SHELL)
            }) {
                line.push(' ');
                line.push_str(a.text().unwrap_or(""));
            }
            let program = shell::parse_command_line(&line);
            let mut shells = lock(&state.shells);
            let Some(cmds) = shells.get_mut(&shell) else {
                return no_shell(state, &message_id);
            };
            let id = uuid::Uuid::new_v4().to_string().to_uppercase();
            let mut cmd = Command {
                program,
                stdin: Vec::new(),
                job: None,
                sent_out: 0,
                sent_err: 0,
            };
            if !cmd.program.waits_for_input() {
                start_job(state, &mut cmd);
            }
            cmds.insert(id.clone(), cmd);
            ok(reply::command(&message_id, &id))
        }
        env::ACTION_SEND => {
            let Some(shell) = shell_id else {
                return no_shell(state, &message_id);
            };
            let mut shells = lock(&state.shells);
            let Some(cmds) = shells.get_mut(&shell) else {
                return no_shell(state, &message_id);
            };
            for s in doc.descendants().filter(|n| {
                n.tag_name().name() == "Stream" && n.tag_name().namespace() == Some(NS_SHELL)
            }) {
                let Some(cmd) = s.attribute("CommandId").and_then(|c| cmds.get_mut(c)) else {
                    return soap_fault(state, &message_id, "s:Sender", "w:InvalidParameter", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the command could not be found.");
                };
                if let Some(bytes) = encoding::unb64(s.text().unwrap_or("")) {
                    cmd.stdin.extend(bytes);
                }
                if s.attribute("End")
                    .is_some_and(|e| e.eq_ignore_ascii_case("true"))
                    && cmd.job.is_none()
                {
                    start_job(state, cmd);
                }
            }
            ok(reply::send(&message_id))
        }
        env::ACTION_RECEIVE => receive(state, &doc, shell_id, &message_id, timeout),
        env::ACTION_SIGNAL => {
            let Some(shell) = shell_id else {
                return no_shell(state, &message_id);
            };
            let mut shells = lock(&state.shells);
            let Some(cmds) = shells.get_mut(&shell) else {
                return no_shell(state, &message_id);
            };
            if let Some(c) =
                env::find(doc.root(), NS_SHELL, "Signal").and_then(|s| s.attribute("CommandId"))
            {
                // Terminate: the command is forgotten (a lab script cannot be
                // interrupted, it only finishes unseen).
                cmds.remove(c);
            }
            ok(reply::signal(&message_id))
        }
        other => soap_fault(
            state,
            &message_id,
            "s:Sender",
            "a:ActionNotSupported",
            2_150_858_754,
            &format!("The WS-Management service does not support the action {other}."),
        ),
    }
}

fn receive(
    state: &Listener,
    doc: &roxmltree::Document<'_>,
    shell_id: Option<String>,
    message_id: &str,
    timeout: Duration,
) -> Answer {
    let Some(shell) = shell_id else {
        return no_shell(state, message_id);
    };
    let Some(command_id) = env::find(doc.root(), NS_SHELL, "DesiredStream")
        .and_then(|d| d.attribute("CommandId"))
        .map(str::to_string)
    else {
        return soap_fault(
            state,
            message_id,
            "s:Sender",
            "w:InvalidParameter",
            2_150_858_843,
            "The Receive request names no CommandId.",
        );
    };
    let job = {
        let mut shells = lock(&state.shells);
        let Some(cmds) = shells.get_mut(&shell) else {
            return no_shell(state, message_id);
        };
        let Some(cmd) = cmds.get_mut(&command_id) else {
            return soap_fault(state, message_id, "s:Sender", "w:InvalidParameter", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the command could not be found.");
        };
        cmd.job.clone()
    };
    // Waiting for stdin, or still running past the long-poll: TimedOut.
    let Some(out) = job.and_then(|j| j.wait(timeout)) else {
        return Answer::Reply(
            500,
            vec![],
            reply::timed_out(message_id, &state.server).into_bytes(),
        );
    };
    let mut shells = lock(&state.shells);
    let Some(cmd) = shells.get_mut(&shell).and_then(|c| c.get_mut(&command_id)) else {
        return no_shell(state, message_id);
    };
    // Deliver at most this much per answer, in Windows-sized chunks.
    const PER_ANSWER: usize = 96 * 1024;
    const CHUNK: usize = 8 * 1024;
    let (o, e) = (out.stdout.as_bytes(), out.stderr.as_bytes());
    let o_end = (cmd.sent_out + PER_ANSWER).min(o.len());
    let e_end = (cmd.sent_err + PER_ANSWER.saturating_sub(o_end - cmd.sent_out)).min(e.len());
    let so: Vec<&[u8]> = o[cmd.sent_out..o_end].chunks(CHUNK).collect();
    let se: Vec<&[u8]> = e[cmd.sent_err..e_end].chunks(CHUNK).collect();
    cmd.sent_out = o_end;
    cmd.sent_err = e_end;
    let done = (o_end == o.len() && e_end == e.len()).then_some(out.exit_code);
    Answer::Reply(
        200,
        vec![],
        reply::received(message_id, &command_id, &so, &se, done).into_bytes(),
    )
}

/// Runs the command on a thread of its own, so Receive can long-poll.
fn start_job(state: &Listener, cmd: &mut Command) {
    let job = Arc::new(Job::default());
    cmd.job = Some(job.clone());
    let lab = state.lab.clone();
    let server = state.server.clone();
    let program = cmd.program.clone();
    let stdin = std::mem::take(&mut cmd.stdin);
    std::thread::spawn(move || job.finish(run_program(&lab, &server, &program, &stdin)));
}

fn run_program(lab: &Lab, server: &str, program: &Program, stdin: &[u8]) -> ScriptOutput {
    let failed = |msg: String| ScriptOutput {
        stdout: String::new(),
        stderr: format!("{msg}\r\n"),
        exit_code: 1,
    };
    let result = match program {
        Program::Cmd(line) => lab.run_cmd(server, line),
        Program::Ps { script, clixml, .. } => lab
            .run_ps_with_stdin(server, script, &shell::stdin_text(stdin))
            .map(|o| clixml_stderr(o, *clixml)),
        Program::PsFromStdin => lab.run_ps(server, &shell::stdin_text(stdin)),
        Program::BadArguments(msg) => {
            return ScriptOutput {
                stdout: String::new(),
                stderr: format!("{msg}\r\n"),
                exit_code: 64,
            }
        }
    };
    result.unwrap_or_else(|e| failed(e.to_string()))
}

fn clixml_stderr(mut out: ScriptOutput, clixml: bool) -> ScriptOutput {
    if clixml && !out.stderr.is_empty() {
        out.stderr = encoding::text_to_clixml(&out.stderr);
    }
    out
}

fn no_shell(state: &Listener, message_id: &str) -> Answer {
    soap_fault(state, message_id, "s:Sender", "w:InvalidSelectors", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.")
}

fn soap_fault(
    state: &Listener,
    message_id: &str,
    code: &str,
    sub: &str,
    wsman_code: u32,
    message: &str,
) -> Answer {
    Answer::Reply(
        500,
        vec![],
        reply::fault(message_id, code, sub, wsman_code, &state.server, message).into_bytes(),
    )
}

/// The account of a valid `Authorization: Basic` header, if any.
fn basic_user(state: &Listener, req: &Message) -> Option<String> {
    let value = req.header("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    (user.eq_ignore_ascii_case(&state.spec.username) && password == state.spec.password)
        .then(|| user.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The listener's TLS configuration from PEM text of its certificate and key.
fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |e: &dyn std::fmt::Display| ServeError::Tls(e.to_string());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| err(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| err(&e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err(&e))?;
    Ok(Arc::new(cfg))
}
