//! The WinRM transport (`transport = "winrm"`): a WS-Management client
//! that runs cmd.exe command lines and PowerShell scripts in a Windows
//! Remote Shell, as `winrs` and Windows PowerShell remoting's plumbing do.
//! It only moves text and exit codes: it never interprets a script.
//! `envelope` builds and reads SOAP, `http` moves bytes on one kept-alive
//! connection, `auth` signs requests, `client` runs the operation flow.

pub mod auth;
pub mod client;

#[cfg(test)]
mod tests;

pub use client::{AuthKind, Client, Credentials, Endpoint, Options, Shell};
pub use wsman::encoding;

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

/// Runs every call in a fresh shell on the server's endpoint; `session`
/// gives callers that run several commands (a rollout step) one shell.
#[derive(Debug)]
pub struct WinRmExecutor {
    endpoints: Vec<Endpoint>,
    creds: Credentials,
    options: Options,
}

impl WinRmExecutor {
    pub fn new(endpoints: Vec<Endpoint>, creds: Credentials, options: Options) -> WinRmExecutor {
        WinRmExecutor {
            endpoints,
            creds,
            options,
        }
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
            ..Options::default()
        };
        Ok(WinRmExecutor::new(
            endpoints,
            Credentials {
                kind,
                user,
                password,
            },
            options,
        ))
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

    /// Opens a shell on `server` for several commands.
    pub fn session(&self, server: &Server) -> Result<Shell, ExecError> {
        let ep = self.endpoint(server)?.clone();
        Client::new(ep, self.creds.clone(), self.options.clone()).open_shell()
    }
}

impl Executor for WinRmExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.session(server)?.run_ps(script)
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.session(server)?.run_ps_with_secret(script, secret)
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.session(server)?.run_cmd(command)
    }

    /// The command's own deadline replaces `command_timeout` for this call.
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let mut options = self.options.clone();
        if let Some(t) = timeout {
            options.command_timeout = t;
        }
        let ep = self.endpoint(server)?.clone();
        let mut shell = Client::new(ep, self.creds.clone(), options).open_shell()?;
        match secret {
            Some(secret) => shell.run_ps_with_secret(script, secret),
            None => shell.run_ps(script),
        }
    }
}
