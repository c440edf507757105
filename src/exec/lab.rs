//! The in-process lab backend (`transport = "lab"`): scripts go straight to
//! the simulated DAG, whose world persists in the state directory so a later
//! run sees the servers as the last one left them.

use std::path::Path;

use super::{ExecError, ExecOutput, Executor};
use crate::lab::{Lab, LabError, LabSpec};
use crate::plan::{Plan, Server};

pub struct LabExecutor {
    lab: Lab,
}

impl LabExecutor {
    pub fn open(state_dir: &Path, spec: &LabSpec, plan: &Plan) -> Result<LabExecutor, LabError> {
        let dag = plan
            .dags()
            .into_iter()
            .next()
            .unwrap_or_else(|| "DAG01".to_string());
        Ok(LabExecutor {
            lab: Lab::open(state_dir, spec, &dag)?,
        })
    }

    pub fn lab(&self) -> &Lab {
        &self.lab
    }
}

/// A rebooting lab server refuses connections, as a real one does while
/// its WinRM listener is gone: that is `Unreachable`, which a reboot step
/// waits out; anything else is the lab itself failing.
fn lab_error(server: &Server, e: LabError) -> ExecError {
    match e {
        LabError::Unreachable { .. } => ExecError::Unreachable {
            server: server.name.clone(),
            detail: "connection refused (the server is restarting)".to_string(),
        },
        other => ExecError::Transport {
            server: server.name.clone(),
            detail: other.to_string(),
        },
    }
}

impl Executor for LabExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        let out = self
            .lab
            .run_ps(&server.name, script)
            .map_err(|e| lab_error(server, e))?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        let out = self
            .lab
            .run_cmd(&server.name, command)
            .map_err(|e| lab_error(server, e))?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }
}
