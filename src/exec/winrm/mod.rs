//! The WinRM transport (`transport = "winrm"`): a WS-Management client
//! that runs cmd.exe command lines and PowerShell scripts in a Windows
//! Remote Shell, as `winrs` and Windows PowerShell remoting's plumbing do.
//! It only moves text and exit codes: it never interprets a script.
//! `conn` moves HTTP on one kept-alive connection (hyper on the tokio
//! runtime), `auth` authenticates it, `client` runs the operations and
//! `shell` the command flow; the executor keeps a shell (with its client
//! and connection) per server across calls, so one connection, one NTLM
//! session and one shell serve many commands, and `stats` counts what that
//! saves.

pub mod auth;
pub mod client;
mod conn;
pub mod host;
pub mod shell;
pub mod stats;

#[cfg(test)]
mod host_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fake_servers;

pub use client::{AuthKind, Client, Credentials, Endpoint, Options};
pub use shell::Shell;
pub use stats::{Stats, Totals};
pub use wsman::encoding;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ExecError, ExecOutput, Executor};
use crate::plan::{read_secret, AuthMethod, Plan, Scheme, SecretError, Server};
use crate::tls;

/// Errors setting the transport up from the plan (before any connection).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("transport = \"winrm\" needs user and password_env or password_file in [connection]")]
    NoAccount,
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
}

/// Runs every call in a shell kept per server between calls (a new one
/// when the server lost it: a reboot, an idle timeout); `session` gives
/// a caller a shell of its own.
pub struct WinRmExecutor {
    endpoints: Vec<Endpoint>,
    creds: Credentials,
    /// An Edge Transport server's local administrator, by server name
    /// (lower case): it is in no domain, so `creds` does not exist there.
    local: HashMap<String, Credentials>,
    options: Options,
    /// Shells between calls, by server name (lower case). A call takes
    /// one (or opens one) and puts it back after, so two calls to one
    /// server at once each have a shell and a connection of their own.
    idle: Mutex<HashMap<String, Vec<Shell>>>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for WinRmExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WinRmExecutor")
            .field("endpoints", &self.endpoints)
            .field("user", &self.creds.user)
            .field("options", &self.options)
            .field("stats", &self.stats.totals())
            .finish_non_exhaustive()
    }
}

impl WinRmExecutor {
    pub fn new(endpoints: Vec<Endpoint>, creds: Credentials, options: Options) -> WinRmExecutor {
        WinRmExecutor {
            endpoints,
            creds,
            local: HashMap::new(),
            options,
            idle: Mutex::default(),
            stats: Arc::default(),
        }
    }

    /// What the transport has cost so far.
    pub fn totals(&self) -> Totals {
        self.stats.totals()
    }

    /// The executor the plan describes: each server at its `address`
    /// (else its FQDN) and `port` (else `[connection] port`).
    pub fn from_plan(plan: &Plan) -> Result<WinRmExecutor, SetupError> {
        let c = &plan.connection;
        let (user, password) = match (&c.user, read_secret(&c.secret)?) {
            (Some(u), Some(p)) => (u.clone(), p),
            _ => return Err(SetupError::NoAccount),
        };
        let kind = match c.auth {
            AuthMethod::Basic => AuthKind::Basic,
            AuthMethod::Ntlm => AuthKind::Ntlm,
        };
        let tls = match c.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(tls::client_config(
                c.ca_file.as_deref(),
                c.insecure_skip_verify,
            )?),
        };
        let endpoints = plan
            .servers
            .iter()
            .map(|s| Endpoint {
                server: s.name.clone(),
                host: s.address.clone().unwrap_or_else(|| s.fqdn.clone()),
                port: s.port.unwrap_or(c.port),
                tls: tls.clone(),
            })
            .collect();
        let options = Options {
            command_timeout: c.operation_timeout,
            // The escape hatch while the host is UNVERIFIED on real
            // servers (docs/winrm.md, "The PowerShell host"), and the
            // bench's "before".
            ps_host: std::env::var("CU_ROLL_PS_HOST").map_or(true, |v| v != "off"),
            ..Options::default()
        };
        let mut local = HashMap::new();
        for s in plan.edge_servers() {
            let Some(edge) = &s.edge else { continue };
            let password = read_secret(&edge.secret)?.ok_or(SetupError::NoAccount)?;
            local.insert(
                s.name.to_lowercase(),
                Credentials {
                    kind,
                    user: edge.user.clone(),
                    password,
                },
            );
        }
        let mut exec = WinRmExecutor::new(
            endpoints,
            Credentials {
                kind,
                user,
                password,
            },
            options,
        );
        exec.local = local;
        Ok(exec)
    }

    fn endpoint(&self, server: &Server) -> Result<&Endpoint, ExecError> {
        self.endpoints
            .iter()
            .find(|e| e.server.eq_ignore_ascii_case(&server.name))
            .ok_or_else(|| ExecError::Transport {
                server: server.name.clone(),
                detail: "no WinRM endpoint for this server: it is not in the plan".into(),
            })
    }

    /// Opens a new shell on `server` for several commands.
    pub fn session(&self, server: &Server) -> Result<Shell, ExecError> {
        let ep = self.endpoint(server)?.clone();
        let creds = self
            .local
            .get(&server.name.to_lowercase())
            .unwrap_or(&self.creds);
        Client::new(ep, creds.clone(), self.options.clone())
            .with_stats(self.stats.clone())
            .open_shell()
    }

    /// A kept shell of `server`'s (`true`), or a new one.
    fn take(&self, server: &Server) -> Result<(Shell, bool), ExecError> {
        let kept = lock(&self.idle)
            .get_mut(&server.name.to_lowercase())
            .and_then(Vec::pop);
        match kept {
            Some(shell) => Ok((shell, true)),
            None => Ok((self.session(server)?, false)),
        }
    }

    /// `f` in a kept shell of `server`'s, kept again after unless the
    /// server lost it. A kept shell found gone before its command started
    /// is replaced and `f` runs once more in the new one: nothing ran.
    fn in_shell<T>(
        &self,
        server: &Server,
        f: impl Fn(&mut Shell) -> Result<T, ExecError>,
    ) -> Result<T, ExecError> {
        self.in_shell_retrying(server, &[client::Op::Command], f)
    }

    /// `in_shell`, where a kept shell found gone at any of `not_started`
    /// means the call had not started (for the host, a request whose Send
    /// failed was never read).
    fn in_shell_retrying<T>(
        &self,
        server: &Server,
        not_started: &[client::Op],
        f: impl Fn(&mut Shell) -> Result<T, ExecError>,
    ) -> Result<T, ExecError> {
        let (mut shell, kept) = self.take(server)?;
        let mut result = f(&mut shell);
        if kept && shell.lost_at().is_some_and(|op| not_started.contains(&op)) {
            tracing::debug!(server = %server.name, "the kept WinRM shell is gone; opening another");
            shell = self.session(server)?;
            result = f(&mut shell);
        }
        if shell.lost_at().is_none() && !shell.abandoned() {
            let key = shell.server().to_lowercase();
            // Most servers keep one shell: room for one, not the four a
            // `Vec` of shells (about 0.9 KiB each) makes room for at its
            // first push (3.5 KiB a server in a 200-server pre-flight).
            lock(&self.idle)
                .entry(key)
                .or_insert_with(|| Vec::with_capacity(1))
                .push(shell);
        }
        result
    }

    /// `run_ps` abandoned after `timeout` (`None`: `[connection]
    /// operation_timeout`).
    ///
    /// It runs in the shell's PowerShell host (`host.rs`) unless
    /// `Options::ps_host` is off.
    pub fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        if !self.options.ps_host {
            return self.in_shell(server, |shell| shell.run_ps_timed(script, timeout));
        }
        self.in_host(server, script, None, timeout)
    }

    /// A request to `server`'s PowerShell host, in a kept shell.
    fn in_host(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let timeout = timeout.unwrap_or(self.options.command_timeout);
        self.in_shell_retrying(server, &[client::Op::Command, client::Op::Send], |shell| {
            shell.run_in_host(script, secret, timeout)
        })
    }
}

/// How many kept shells are deleted at once when the executor is dropped.
/// Fewer threads than the pre-flight's 256: a 200-server report keeps about
/// 400 shells, and deleting them 64 at a time took no longer in the bench
/// (6.60 and 6.44 s for the whole report against 6.67 and 6.58 s) with
/// 0.6 MiB less peak RSS (docs/performance.md, "Memory (figure 4)").
const DELETE_FAN_OUT: usize = 64;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for WinRmExecutor {
    fn drop(&mut self) {
        // Deletes the kept shells on their servers (best effort), all at
        // once: a Delete is a round trip, and one after another they kept
        // a 200-server report alive 20 s after its output (at 50 ms each).
        let shells: Vec<Mutex<Option<Shell>>> = lock(&self.idle)
            .drain()
            .flat_map(|(_, shells)| shells)
            .map(|shell| Mutex::new(Some(shell)))
            .collect();
        crate::pool::for_each_bounded(&shells, DELETE_FAN_OUT, |shell| {
            drop(lock(shell).take());
        });
        let t = self.stats.totals();
        if t != Totals::default() {
            tracing::info!(
                connections = t.connections,
                requests = t.requests,
                shells = t.shells,
                commands = t.commands,
                host_requests = t.host_requests,
                "winrm transport totals"
            );
        }
    }
}

impl Executor for WinRmExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.run_ps_timed(server, script, None)
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError> {
        Executor::run_ps_timed(self, server, script, Some(secret), None)
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.in_shell(server, |shell| shell.run_cmd(command))
    }

    /// Deletes `server`'s kept shells, which ends their PowerShell hosts.
    fn end_sessions(&self, server: &Server) {
        let gone = lock(&self.idle).remove(&server.name.to_lowercase());
        drop(gone);
    }

    /// The command's own deadline replaces `command_timeout` for this call.
    /// The command's own deadline (`None`: `operation_timeout`), in a kept
    /// shell like every call.
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        match secret {
            Some(secret) if !self.options.ps_host => self.in_shell(server, |shell| {
                shell.run_ps_with_secret_timed(script, secret, timeout)
            }),
            Some(secret) => self.in_host(server, script, Some(secret), timeout),
            None => WinRmExecutor::run_ps_timed(self, server, script, timeout),
        }
    }
}
