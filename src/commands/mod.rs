//! What each command does, one thin module per command: load the plan,
//! call the library, render, and return an `Outcome` or a typed `Error`
//! (`crate::error`), which `main` prints once and turns into the exit code.
//! This module dispatches and holds what every command loads the same way
//! (the plan, its state directory, the executor, the servers named on the
//! command line). No command picks an exit code itself.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, GlobalArgs, RunFlags};
use crate::error::Error;
use crate::exit::Outcome;
use crate::plan::{self, Plan};

mod auth_guard;
mod backup;
mod bench;
mod catalog;
mod confirm;
mod exec;
mod interrupt;
mod journal_note;
pub(crate) mod lab;
mod output;
mod report;
mod run;
mod selection;
mod setup_log;
mod status;
mod unlock;
mod window;

pub(crate) use self::lab::LabExecutor;

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let state_dir = cli.global.state_dir.as_deref();
    match cli.command {
        Some(Command::Report(args)) => report::run(&args, state_dir),
        Some(Command::Exec(args)) => exec::run(&args, state_dir),
        Some(Command::Catalog(args)) => catalog::run(&args),
        Some(Command::SetupLog(args)) => setup_log::run(&args),
        Some(Command::Lab { command }) => lab::run(&command, state_dir),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Run(args)) => {
            let global = with_log(&cli.global, &args.flags);
            run::run(&args.plan, args.flags, &global)
        }
        Some(Command::Status(args)) => status::run(&args, &cli.global),
        Some(Command::Unlock(args)) => unlock::run(&args, &cli.global),
        Some(Command::Backup(args)) => backup::backup(&args, &cli.global),
        Some(Command::Drift(args)) => backup::drift(&args, &cli.global),
        Some(Command::RestoreConfig(args)) => backup::restore_config(&args, &cli.global),
        Some(Command::Completions { shell }) => {
            output::stdout(&String::from_utf8_lossy(&crate::cli::completions(shell)))?;
            Ok(Outcome::Done)
        }
        Some(Command::Man) => {
            let page = crate::cli::man_page().map_err(Error::Stdout)?;
            output::stdout(&String::from_utf8_lossy(&page))?;
            Ok(Outcome::Done)
        }
        None => match cli.plan {
            Some(plan) => {
                let global = with_log(&cli.global, &cli.run_flags);
                run::run(&plan, cli.run_flags, &global)
            }
            None => Err(Error::Usage(
                "no plan given: cu-roll PLAN, or cu-roll --help".into(),
            )),
        },
    }
}

/// `--log-format` belongs to `run` (the only command that logs); the run
/// reads it with the global options.
fn with_log(global: &GlobalArgs, flags: &RunFlags) -> GlobalArgs {
    GlobalArgs {
        state_dir: global.state_dir.clone(),
        log_format: flags.log_format,
    }
}

/// Where state directories go when `--state-dir` is not given: a folder
/// `<plan stem>.cu-roll` inside it (one per plan, so two plans never share
/// a journal), instead of beside the plan. For a plan on a read-only share,
/// or one state root that a scheduled task and the console both use.
pub const STATE_DIR_ENV: &str = "CU_ROLL_STATE_DIR";

/// The state directory: `--state-dir`, else `<plan stem>.cu-roll` in
/// `$CU_ROLL_STATE_DIR` (when set and not empty), else beside the plan.
pub fn state_dir(plan_path: &Path, explicit: Option<&Path>) -> PathBuf {
    state_dir_with(plan_path, explicit, std::env::var_os(STATE_DIR_ENV))
}

fn state_dir_with(
    plan_path: &Path,
    explicit: Option<&Path>,
    root: Option<std::ffi::OsString>,
) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let stem = plan_path
        .file_stem()
        .map_or_else(|| "plan".into(), |s| s.to_string_lossy().into_owned());
    let parent = match root.filter(|r| !r.is_empty()) {
        Some(root) => PathBuf::from(root),
        None => plan_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .to_path_buf(),
    };
    parent.join(format!("{stem}.cu-roll"))
}

/// The plan at `path`, with its `[lab]` section (if any) read by the lab
/// crate from the same text, so a mistake anywhere in the file is reported
/// when the plan is loaded.
fn load_plan_and_lab(path: &Path) -> Result<(Plan, Option<::lab::LabSpec>), Error> {
    let text = plan::read(path)?;
    let plan = plan::parse(&text, path)?;
    let spec = lab::spec_of(&plan, &text)?;
    Ok((plan, spec))
}

fn load_plan(path: &Path) -> Result<Plan, Error> {
    load_plan_and_lab(path).map(|(plan, _)| plan)
}

/// The executor for the plan's transport: the lab's, built here (the one
/// seam between the product and the lab), or a remote one from `exec`;
/// either behind the guard that stops at the first refused logon.
fn open_executor(plan: &Plan, state: &Path) -> Result<Box<dyn crate::exec::Executor>, Error> {
    Ok(open_guarded(plan, state)?)
}

/// [`open_executor`], keeping the guard's type: `report` and `run` ask it
/// whether the account was refused.
fn open_guarded(plan: &Plan, state: &Path) -> Result<Box<auth_guard::AuthGuard>, Error> {
    if plan.connection.transport == plan::Transport::Lab {
        let (_, spec) = load_plan_and_lab(&plan.path)?;
        let spec = spec.ok_or_else(|| Error::NoLabSection {
            plan: plan.path.clone(),
            why: ", which transport = \"lab\" needs: add one, or choose another [connection] transport",
        })?;
        let exec = LabExecutor::open(state, &spec, &spec.dag)?
            .with_operation_timeout(plan.connection.operation_timeout);
        return Ok(Box::new(auth_guard::AuthGuard::new(Box::new(exec))));
    }
    Ok(Box::new(auth_guard::AuthGuard::new(crate::exec::open(
        plan,
    )?)))
}

/// `open_executor` for a command that reaches servers outside a rollout
/// (`exec`, `backup`, `restore-config`, `report`, `drift`): every script it
/// sends is written to the state directory's audit log (`crate::audit`).
fn open_audited(
    plan: &Plan,
    state: &Path,
    command: &'static str,
) -> Result<Box<dyn crate::exec::Executor>, Error> {
    let exec = open_executor(plan, state)?;
    let audit = crate::audit::Audit::open(state, command, plan)?;
    Ok(Box::new(crate::audit::AuditedExecutor::new(exec, audit)))
}

/// The account Exchange remote sessions are opened with, read once here:
/// the transport's own account where it has one (the lab's `[lab]
/// username`), else `[connection] user` with the password from its source.
fn exchange_credential(
    plan: &Plan,
    exec: &dyn crate::exec::Executor,
) -> Result<crate::exchange::Credential, Error> {
    if let Some((user, secret)) = exec.installer_account() {
        return Ok(crate::exchange::Credential { user, secret });
    }
    let missing = || {
        Error::Usage(format!(
            "{}: Exchange cmdlets run in an Exchange remote session opened with an explicit account;              give [connection] user (a member of Organization Management) and password_env or password_file",
            plan.path.display()
        ))
    };
    let user = plan.connection.user.clone().ok_or_else(missing)?;
    let secret = plan::read_secret(&plan.connection.secret)
        .map_err(|e| Error::Usage(format!("{}: {e}", plan.path.display())))?
        .ok_or_else(missing)?;
    Ok(crate::exchange::Credential { user, secret })
}

/// Every Edge server's local administrator password can be read from its
/// source (`[[server]] local_password_env`/`local_password_file`): checked
/// before a rollout starts, so a missing one refuses the run before any
/// server leaves service rather than at that server's setup.
fn edge_passwords_readable(plan: &Plan) -> Result<(), Error> {
    for s in plan.edge_servers() {
        let Some(edge) = &s.edge else { continue };
        match plan::read_secret(&edge.secret) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::Usage(format!(
                    "{}: Edge server {} has no password source for its local administrator {}",
                    plan.path.display(),
                    s.name,
                    edge.user
                )))
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "{}: Edge server {}: cu-roll logs on to it as its local administrator {}, whose password cannot be read: {e}",
                    plan.path.display(),
                    s.name,
                    edge.user
                )))
            }
        }
    }
    Ok(())
}

/// The servers a command acts on: the one named with `--server`, or all.
fn select_servers<'p>(
    plan: &'p Plan,
    name: Option<&str>,
    plan_path: &Path,
) -> Result<Vec<&'p plan::Server>, Error> {
    match name {
        None => Ok(plan.servers.iter().collect()),
        Some(n) => plan
            .server(n)
            .map(|s| vec![s])
            .ok_or_else(|| Error::UnknownServer {
                plan: plan_path.to_path_buf(),
                name: n.to_string(),
                known: plan.servers.iter().map(|s| s.name.clone()).collect(),
            }),
    }
}

/// The current time as the reports write it.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_is_explicit_else_under_the_env_root_else_beside_the_plan() {
        let plan = Path::new("plans/prod.toml");
        let explicit = Path::new("/srv/state");
        assert_eq!(
            state_dir_with(plan, Some(explicit), Some("/x".into())),
            explicit
        );
        assert_eq!(
            state_dir_with(plan, None, Some("/var/lib/cu-roll".into())),
            Path::new("/var/lib/cu-roll/prod.cu-roll")
        );
        assert_eq!(
            state_dir_with(plan, None, Some("".into())),
            Path::new("plans/prod.cu-roll")
        );
        assert_eq!(
            state_dir_with(plan, None, None),
            Path::new("plans/prod.cu-roll")
        );
    }
}
