//! Whose account the detached installer's scheduled task runs as, for a
//! run and for the dry run (`installer` uses it): the plan's
//! `installer_account` choice, or on an Edge Transport server always its
//! local administrator. Passwords are read from their source when needed,
//! never from the plan; the dry run shows only where they come from.

use crate::exec::Executor;
use crate::plan::{InstallerAccount, Plan, SecretSource};
use crate::runbook::StepError;

use super::installer::TaskAccount;

/// For running: the plan's choice, with the password read from its source
/// (never from the plan itself), or the transport's own account. On an
/// Edge Transport server, always its local administrator (`[[server]]
/// local_user`): it is in no domain, so no domain account exists there,
/// and Edge setup reads no Active Directory, so no Organization
/// Management rule applies (docs/rollout.md, "Edge Transport servers").
pub fn account_for_run(
    plan: &Plan,
    server: &crate::plan::Server,
    exec: &dyn Executor,
) -> Result<TaskAccount, StepError> {
    if let Some(edge) = &server.edge {
        let secret = crate::plan::read_secret(&edge.secret)
            .map_err(|e| {
                StepError::failed(format!(
                    "the installer task on Edge server {} runs as its local administrator {}, but the password cannot be read: {e}",
                    server.name, edge.user
                ))
            })?
            .ok_or_else(|| {
                StepError::failed(format!(
                    "the installer task on Edge server {} runs as {}, but the plan gives no password source",
                    server.name, edge.user
                ))
            })?;
        return Ok(TaskAccount {
            user: edge.user.clone(),
            password: secret.expose().to_string(),
        });
    }
    if plan.rollout.installer_account == InstallerAccount::Transport {
        let (user, secret) = exec.installer_account().ok_or_else(|| {
            StepError::failed(
                "the installer runs as the transport's account, but this transport has none; \
                 give [connection] user and password_env or password_file"
                    .to_string(),
            )
        })?;
        return Ok(TaskAccount {
            user,
            password: secret.expose().to_string(),
        });
    }
    let user = plan.connection.user.clone().unwrap_or_default();
    let secret = crate::plan::read_secret(&plan.connection.secret)
        .map_err(|e| {
            StepError::failed(format!(
                "the installer task runs as {user}, but its password cannot be read: {e}"
            ))
        })?
        .ok_or_else(|| {
            StepError::failed(format!(
                "the installer task runs as {user}, but the plan gives no password source"
            ))
        })?;
    Ok(TaskAccount {
        user,
        password: secret.expose().to_string(),
    })
}

/// For dry-run output on `server`: an Edge server's local administrator
/// (as [`account_for_run`] chooses), else [`account_for_display`].
pub fn account_for_display_on(plan: &Plan, server: &crate::plan::Server) -> TaskAccount {
    match &server.edge {
        Some(edge) => TaskAccount {
            user: edge.user.clone(),
            password: match &edge.secret {
                SecretSource::Env(name) => format!("<password from ${name}>"),
                SecretSource::File(path) => format!("<password from {}>", path.display()),
                SecretSource::None => "<no password>".to_string(),
            },
        },
        None => account_for_display(plan),
    }
}

/// For dry-run output: the password shown as where it comes from.
pub fn account_for_display(plan: &Plan) -> TaskAccount {
    if plan.rollout.installer_account == InstallerAccount::Transport {
        return TaskAccount {
            user: "<the lab's [lab] username>".to_string(),
            password: "<the lab's [lab] password>".to_string(),
        };
    }
    let source = match &plan.connection.secret {
        SecretSource::Env(name) => format!("password from ${name}"),
        SecretSource::File(path) => format!("password from {}", path.display()),
        SecretSource::None => "no password".to_string(),
    };
    TaskAccount {
        user: plan.connection.user.clone().unwrap_or_default(),
        password: format!("<{source}>"),
    }
}
