//! The WinRM transport (`transport = "winrm"`): a WS-Management client
//! that runs cmd.exe command lines and PowerShell scripts in a Windows
//! Remote Shell, as `winrs` and Windows PowerShell remoting's plumbing do.
//! It only moves text and exit codes: it never interprets a script.
//! `envelope` builds and reads SOAP, `http` moves bytes on one kept-alive
//! connection, `auth` signs requests, `client` runs the operation flow.

pub mod auth;
pub mod client;
pub mod encoding;
pub mod envelope;
pub mod http;
pub mod ntlm;
pub mod tls;

#[cfg(test)]
mod tests;

pub use client::{AuthKind, Client, Credentials, Endpoint, Options, Secret, Shell};

use super::{ExecError, ExecOutput, Executor};
use crate::plan::{AuthMethod, Plan, Scheme, SecretSource, Server};

/// Errors setting the transport up from the plan (before any connection).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the WinRM password is read from the environment variable {0}, which is not set; export it before running cu-roll")]
    EnvMissing(String),
    #[error("cannot read the WinRM password file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("the WinRM password file {0} is empty; its first line must be the password")]
    FileEmpty(String),
    #[error("transport = \"winrm\" needs user and password_env or password_file in [connection]")]
    NoAccount,
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
}

/// Reads the secret from its source: the variable's value, or the first
/// line of the file (a trailing newline is not part of the password).
pub fn read_secret(source: &SecretSource) -> Result<Option<Secret>, SetupError> {
    match source {
        SecretSource::None => Ok(None),
        SecretSource::Env(name) => std::env::var(name)
            .map(|v| Some(Secret::new(v)))
            .map_err(|_| SetupError::EnvMissing(name.clone())),
        SecretSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| SetupError::File {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
            let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if first.is_empty() {
                return Err(SetupError::FileEmpty(path.display().to_string()));
            }
            Ok(Some(Secret::new(first.to_string())))
        }
    }
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

    /// The executor the plan describes. A plan with a `[lab]` section
    /// reaches the lab's listeners (`cu-roll lab serve`) on 127.0.0.1 at
    /// each lab server's port instead of its FQDN, and may omit the account
    /// to use the lab's own lab-only one.
    pub fn from_plan(plan: &Plan) -> Result<WinRmExecutor, SetupError> {
        let c = &plan.connection;
        let secret = read_secret(&c.secret)?;
        let (user, password) = match (&c.user, secret, &plan.lab) {
            (Some(u), Some(p), _) => (u.clone(), p),
            (None, None, Some(lab)) => (lab.username.clone(), Secret::new(lab.password.clone())),
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
            .map(|s| {
                let lab_port = plan.lab.as_ref().and_then(|lab| {
                    lab.servers
                        .iter()
                        .position(|l| l.name.eq_ignore_ascii_case(&s.name))
                        .map(|i| lab_port(lab, i))
                });
                Endpoint {
                    server: s.name.clone(),
                    host: if lab_port.is_some() {
                        "127.0.0.1".into()
                    } else {
                        s.fqdn.clone()
                    },
                    port: lab_port.unwrap_or(c.port),
                    tls: tls.clone(),
                }
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

/// The loopback port `cu-roll lab serve` gives the `index`th lab server.
pub fn lab_port(lab: &crate::lab::LabSpec, index: usize) -> u16 {
    lab.servers[index].port.unwrap_or_else(|| {
        lab.base_port
            .saturating_add(u16::try_from(index).unwrap_or(u16::MAX))
    })
}

impl Executor for WinRmExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.session(server)?.run_ps(script)
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.session(server)?.run_cmd(command)
    }
}
