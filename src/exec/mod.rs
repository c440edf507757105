//! Running scripts on servers. The `Executor` trait is all the rest of
//! cu-roll knows about transports; its backends (the in-process lab today;
//! WinRM and local PowerShell later) only run text and return output —
//! they never interpret what a script means.

mod lab;
pub mod powershell;
pub mod winrm;

use std::time::Duration;

pub use lab::LabExecutor;

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

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{server} is unreachable: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("authentication failed for {user} on {server}")]
    AuthFailed { server: String, user: String },
    #[error("{server} did not answer within {timeout:?}")]
    Timeout { server: String, timeout: Duration },
    #[error("transport error talking to {server}: {detail}")]
    Transport { server: String, detail: String },
    #[error("the {transport} transport is not available in this build of cu-roll yet; use transport = \"lab\" or a later version")]
    NotAvailable { transport: &'static str },
}

/// Runs PowerShell scripts and cmd.exe command lines on a named server.
/// Implementations are shared across threads (a report queries many servers at once).
pub trait Executor: Send + Sync {
    /// Runs a PowerShell script on `server` (as `powershell.exe -NoProfile
    /// -NonInteractive`) and returns its output. A script that fails still
    /// returns `Ok` with a non-zero exit code; `Err` means the script could
    /// not be run at all.
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError>;

    /// Runs a cmd.exe command line on `server`.
    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError>;
}

/// Errors opening the executor a plan asks for.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Lab(#[from] crate::lab::LabError),
    #[error("transport = \"lab\" needs a [lab] section in the plan")]
    NoLabSection,
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    WinRm(#[from] winrm::SetupError),
}

/// The executor for the plan's `[connection] transport`.
pub fn open(plan: &Plan, state_dir: &std::path::Path) -> Result<Box<dyn Executor>, OpenError> {
    match plan.connection.transport {
        Transport::Lab => {
            let spec = plan.lab.as_ref().ok_or(OpenError::NoLabSection)?;
            Ok(Box::new(LabExecutor::open(state_dir, spec, plan)?))
        }
        Transport::WinRm => Ok(Box::new(winrm::WinRmExecutor::from_plan(plan)?)),
        Transport::PowerShell => Ok(Box::new(powershell::PowerShellExecutor::from_plan(plan))),
    }
}
