//! Running scripts on servers. The `Executor` trait is all the rest of
//! cu-roll knows about transports; its backends (WinRM, local PowerShell,
//! and the lab's, which the command layer builds) only run text and return
//! output — they never interpret what a script means. Nothing here knows
//! the lab exists.

pub mod powershell;
pub mod winrm;

use std::time::Duration;

use crate::plan::{Plan, Server, Transport};

/// What a command left behind: its streams and exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// Why a command could not be run at all. Each says what to check next:
/// these are what an admin meets first (listener, port, TrustedHosts,
/// credentials), see docs/winrm.md.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{server} is unreachable: {detail}; check that the server is up, that WinRM listens on the plan's port (winrm enumerate winrm/config/listener) and that no firewall blocks it")]
    Unreachable { server: String, detail: String },
    /// The server's name does not resolve: no use looking at WinRM or a
    /// firewall (review operator-experience.md message 8).
    #[error("{server} is unreachable: cannot resolve {host} ({detail}); check the plan's fqdn (or address) for {server} and that this machine's DNS resolves it")]
    Unresolved {
        server: String,
        host: String,
        detail: String,
    },
    #[error("authentication failed for {user} on {server}; check the account and its password source, that the account is a local administrator there, and that the plan's auth method is enabled on the server (winrm get winrm/config/service/auth)")]
    AuthFailed { server: String, user: String },
    #[error("{server} did not answer within {timeout:?}; the server may be overloaded or the network slow: run again, or raise [connection] operation_timeout")]
    Timeout { server: String, timeout: Duration },
    #[error("no Exchange server in service to open an Exchange remote session for {server} (tried: {tried}); Exchange cmdlets run in a session to another server of the plan that is up and not in maintenance: bring one back into service, or run again when one is")]
    NoExchangePeer { server: String, tried: String },
    #[error("transport error talking to {server}: {detail}; run `cu-roll exec PLAN --server {server} hostname` to check access")]
    Transport { server: String, detail: String },
    /// The operator's interrupt came while cu-roll waited for the answer
    /// of a command on `server` (or before it was sent): the wait was
    /// given up, a command sent left to end there (docs/winrm.md,
    /// "Cancellation").
    #[error("stopped waiting for the answer of a command sent to {server} (interrupted); a command already sent is left to finish there, what it was to change is journaled as intended, and the next run observes where it stands and carries on")]
    Interrupted { server: String },
}

/// Runs PowerShell scripts and cmd.exe command lines on a named server.
/// Implementations are shared across threads (a report queries many servers at once).
pub trait Executor: Send + Sync {
    /// Runs a PowerShell script on `server` (as `powershell.exe -NoProfile
    /// -NonInteractive`) and returns its output. A script that fails still
    /// returns `Ok` with a non-zero exit code; `Err` means the script could
    /// not be run at all.
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError>;

    /// Runs a PowerShell script on `server` with `secret` as the first
    /// line of its standard input (base64 of its UTF-8, then CRLF), for a
    /// script that reads it with `[Console]::In.ReadLine()`: the secret is
    /// never in the script's text, on a command line or in a log.
    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError>;

    /// [`Executor::run_ps`] (with `secret` on stdin as
    /// [`Executor::run_ps_with_secret`] does) stopped after `timeout`
    /// instead of the plan's `operation_timeout`, for a command that waits
    /// for something slow; `None` is the transport's default. A transport
    /// with no deadline of its own ignores it.
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let _ = timeout;
        match secret {
            Some(secret) => self.run_ps_with_secret(server, script, secret),
            None => self.run_ps(server, script),
        }
    }

    /// Runs a cmd.exe command line on `server`.
    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError>;

    /// Ends whatever the transport keeps running on `server` between calls
    /// (the WinRM transport's PowerShell host): an installer must not find
    /// another powershell.exe on its server (setup's rule
    /// ProcessNeedsToBeClosedOnUpgrade). The next call starts afresh.
    /// Nothing for transports that keep nothing.
    fn end_sessions(&self, server: &Server) {
        let _ = server;
    }

    /// The transport's own account and its password, for a plan whose
    /// installer runs as the transport's account (`InstallerAccount::Transport`):
    /// the lab's `[lab] username`. `None` for transports that take their
    /// account from the plan.
    fn installer_account(&self) -> Option<(String, crate::plan::Secret)> {
        None
    }

    /// When a wrapper stopped calling servers because one refused the
    /// plan's account (the lockout guard of the command layer): the one
    /// message to print. `None` for transports, which judge nothing.
    fn refusal(&self) -> Option<String> {
        None
    }
}

/// The line a secret travels as on standard input: base64 of its UTF-8,
/// then CRLF (what `run_ps_with_secret` sends first).
pub fn secret_line(secret: &crate::plan::Secret) -> String {
    use base64::Engine;
    let mut line = base64::engine::general_purpose::STANDARD.encode(secret.expose().as_bytes());
    line.push_str("\r\n");
    line
}

/// Errors opening the executor a plan asks for.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("transport = \"lab\" is served by the lab, which the command layer opens; this is a bug in cu-roll")]
    LabTransport,
    #[error(transparent)]
    WinRm(#[from] winrm::SetupError),
}

/// The executor for the plan's remote `[connection] transport` (WinRM or
/// local PowerShell); `transport = "lab"` is opened by the command layer.
pub fn open(plan: &Plan) -> Result<Box<dyn Executor>, OpenError> {
    match plan.connection.transport {
        Transport::Lab => Err(OpenError::LabTransport),
        Transport::WinRm => Ok(Box::new(winrm::WinRmExecutor::from_plan(plan)?)),
        Transport::PowerShell => Ok(Box::new(powershell::PowerShellExecutor::from_plan(plan))),
    }
}
