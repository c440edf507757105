//! The one door between the product and the lab: with `transport = "lab"`
//! the command layer reads the plan's `[lab]` section through the lab
//! crate and runs scripts on the simulated DAG in-process, through the same
//! `Executor` trait every transport implements. Its world persists in the
//! state directory, so a later run sees the servers as the last one left
//! them. Nothing below the command layer (plan, exec, preflight, runbook)
//! knows the lab exists.

use std::path::Path;

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::{Plan, PlanError, Server};
use lab::{Lab, LabError, LabSpec};

/// The lab crate's errors become `Error::Lab` (exit 2), kept whole as the
/// error's source: `crate::error` names no lab type, only this seam does.
impl From<LabError> for crate::error::Error {
    fn from(e: LabError) -> Self {
        crate::error::Error::Lab(Box::new(e))
    }
}

impl From<lab::winrm::ServeError> for crate::error::Error {
    fn from(e: lab::winrm::ServeError) -> Self {
        crate::error::Error::Lab(Box::new(e))
    }
}

/// The `[lab]` section of the plan at `plan.path`, read by the lab crate
/// from the plan's text; with `transport = "lab"` every server must be
/// simulated. `None` when the plan has no `[lab]`.
pub fn spec_of(plan: &Plan, text: &str) -> Result<Option<LabSpec>, PlanError> {
    let spec = lab::parse_plan_text(text, &plan.path)?;
    if plan.connection.transport == crate::plan::Transport::Lab {
        if let Some(spec) = &spec {
            lab::check_plan_servers_simulated(text, &plan.path, spec)?;
        }
    }
    Ok(spec)
}

/// The lab's availability record after a run (every moment a database had
/// no mounted copy, two members were out together, or a copy was activated
/// on a Blocked server); `None` when the lab cannot be opened.
pub fn availability_incidents(plan: &Plan, state: &Path) -> Option<Vec<String>> {
    let text = crate::plan::read(&plan.path).ok()?;
    let spec = spec_of(plan, &text).ok()??;
    let lab = Lab::open(state, &spec, &spec.dag).ok()?;
    let incidents = lab.state_json()["availability"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| match e.as_str() {
                    Some(text) => text.to_string(),
                    None => e.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(incidents)
}

pub struct LabExecutor {
    lab: Lab,
    /// `[lab] username` and `password`: the account the lab transport acts as.
    account: (String, String),
    /// The plan's `operation_timeout`: a script whose slow commands (a
    /// transport restart) take longer is stopped there, as the WinRM
    /// transport's command timeout stops it. `None`: no deadline.
    operation_timeout: Option<std::time::Duration>,
}

impl LabExecutor {
    pub fn open(state_dir: &Path, spec: &LabSpec, dag: &str) -> Result<LabExecutor, LabError> {
        Ok(LabExecutor {
            lab: Lab::open(state_dir, spec, dag)?,
            account: (spec.username.clone(), spec.password.clone()),
            operation_timeout: None,
        })
    }

    /// The same executor stopping scripts after `timeout` by default (the
    /// plan's `[connection] operation_timeout`).
    pub fn with_operation_timeout(mut self, timeout: std::time::Duration) -> LabExecutor {
        self.operation_timeout = Some(timeout);
        self
    }

    /// Runs `script` within `timeout` (else the default), `stdin` fed.
    fn run_within(
        &self,
        server: &Server,
        script: &str,
        stdin: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let deadline = timeout.or(self.operation_timeout);
        let budget = deadline.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let out = self
            .lab
            .run_ps_within(&server.name, script, stdin, budget)
            .map_err(|e| match e {
                LabError::TimedOut { .. } => ExecError::Timeout {
                    server: server.name.clone(),
                    timeout: deadline.unwrap_or_default(),
                },
                other => lab_error(server, other),
            })?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }

    /// For tests: the lab of the plan file `plan` was loaded from.
    #[cfg(test)]
    pub fn for_plan(state_dir: &Path, plan: &Plan) -> LabExecutor {
        let text = crate::plan::read(&plan.path).expect("plan file");
        let spec = spec_of(plan, &text).expect("valid [lab]").expect("[lab]");
        LabExecutor::open(state_dir, &spec, &spec.dag).expect("lab opens")
    }

    #[cfg(test)]
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
    fn installer_account(&self) -> Option<(String, crate::plan::Secret)> {
        let (user, password) = &self.account;
        Some((user.clone(), crate::plan::Secret::new(password.clone())))
    }

    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.run_within(server, script, "", None)
    }

    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let stdin = secret.map(crate::exec::secret_line).unwrap_or_default();
        self.run_within(server, script, &stdin, timeout)
    }

    /// The secret's line is the process's stdin (`Lab::run_ps_with_stdin`),
    /// as the WinRM transport delivers it; the lab logs no stdin.
    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.run_within(server, script, &crate::exec::secret_line(secret), None)
    }

    /// Within the plan's `operation_timeout`, as the WinRM transport's
    /// command timeout bounds a cmd.exe call.
    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        let budget = self
            .operation_timeout
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let out = self
            .lab
            .run_cmd_within(&server.name, command, budget)
            .map_err(|e| match e {
                LabError::TimedOut { .. } => ExecError::Timeout {
                    server: server.name.clone(),
                    timeout: self.operation_timeout.unwrap_or_default(),
                },
                other => lab_error(server, other),
            })?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }
}
