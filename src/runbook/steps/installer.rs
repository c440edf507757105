//! The detached-installer mechanism `setup`, `security-update` and
//! `prepare-ad` share (design principle 4, exchange-facts.md §6): a batch
//! file that runs the installer and writes its exit code to a file, run by
//! a scheduled task, so a dropped connection or a crash of cu-roll cannot
//! kill it (the operations are `exchange::act::start_installer` and
//! `remove_installer_task`). While it may run, the step polls with cmd.exe
//! only — setup refuses to start, or fails, when other PowerShell processes
//! run on the server (rule ProcessNeedsToBeClosedOnUpgrade). The journal's
//! `InstallerStarted`/`InstallerFinished` pair tells a resumed run whether
//! an exit code on disk is one it has not evaluated yet.

use std::time::Duration;

use crate::exchange::act::{self, Action, InstallerTask};
use crate::exchange::observe::{self, read_server_facts, templates::CMD_EXSETUP_PROCESS};
use crate::exec::Executor;
use crate::journal::Change;
use crate::plan::{InstallerAccount, Plan, SecretSource};
use crate::runbook::{PlannedCommand, StepContext, StepError, StepErrorKind, StepId, StepOutcome};

pub use crate::exchange::act::TaskAccount;

use super::undo::left_on;

/// Names on the server of one installer's task and files (under
/// `%SystemDrive%\cu-roll`).
#[derive(Debug, Clone, Copy)]
pub struct InstallerSpec {
    pub step: StepId,
    /// What it is, for messages: `setup`, `the security update`.
    pub what: &'static str,
    pub task: &'static str,
    pub batch_file: &'static str,
    pub exit_file: &'static str,
    /// Whether `ExSetup.exe` running means this installer runs (setup).
    pub exsetup: bool,
}

pub const SETUP: InstallerSpec = InstallerSpec {
    step: StepId::Setup,
    what: "setup",
    task: "cu-roll-setup",
    batch_file: "setup.cmd",
    exit_file: "setup.exitcode",
    exsetup: true,
};

pub const SECURITY_UPDATE: InstallerSpec = InstallerSpec {
    step: StepId::SecurityUpdate,
    what: "the security update",
    task: "cu-roll-su",
    batch_file: "su.cmd",
    exit_file: "su.exitcode",
    exsetup: false,
};

/// The operations of one installer, the same for `drive` and `planned`.
impl InstallerSpec {
    fn files(&self) -> InstallerTask {
        InstallerTask {
            task: self.task,
            batch_file: self.batch_file,
            exit_file: self.exit_file,
        }
    }

    /// Writes the batch and starts the task (journaled as started).
    pub fn start(&self, command_line: &str, account: &TaskAccount) -> Action {
        act::start_installer(self.step.id(), &self.files(), command_line, account)
    }

    pub fn remove(&self) -> Action {
        act::remove_installer_task(&self.files())
    }

    pub fn read_exit_cmd(&self) -> String {
        observe::exit_code_cmd(self.exit_file)
    }

    pub fn task_status_cmd(&self) -> String {
        observe::task_status_cmd(self.task)
    }
}

/// Refuses a path that cannot sit inside double quotes on a cmd.exe line
/// unchanged. The plan refuses these already; this keeps the batch safe
/// even if a caller builds a plan some other way.
pub fn check_batch_path(what: &str, path: &str) -> Result<(), StepError> {
    match path
        .chars()
        .find(|c| {
            // Set-Content -Encoding ASCII would turn any other character into '?'.
            matches!(c, '"' | '%' | '!' | '&' | '^' | '|' | '<' | '>') || c.is_control() || !c.is_ascii()
        })
    {
        Some(c) => Err(StepError::failed(format!(
            "{what} {path:?} contains {c:?}, which cmd.exe would interpret inside the batch file; use a path without quotes or cmd metacharacters"
        ))),
        None if path.trim().is_empty() => Err(StepError::failed(format!("{what} is empty"))),
        None => Ok(()),
    }
}

/// For running: the plan's choice, with the password read from its source
/// (never from the plan itself), or the transport's own account.
pub fn account_for_run(plan: &Plan, exec: &dyn Executor) -> Result<TaskAccount, StepError> {
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

/// The last `InstallerStarted` for `step` that no `InstallerFinished` for
/// the same step followed: an installer cu-roll started and has not yet
/// evaluated.
pub fn installer_pending(changes: &[Change], step: &str) -> bool {
    let started = changes
        .iter()
        .rposition(|c| matches!(c, Change::InstallerStarted { step: s, .. } if s == step));
    let finished = changes
        .iter()
        .rposition(|c| matches!(c, Change::InstallerFinished { step: s, .. } if s == step));
    match (started, finished) {
        (Some(s), Some(f)) => s > f,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The exit code file's content: `None` while absent or still empty.
pub fn parse_exit_file(
    stdout: &str,
    exit_code: i32,
    server: &str,
) -> Result<Option<i32>, StepError> {
    if exit_code != 0 {
        return Ok(None);
    }
    let text = stdout.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        StepError::new(
            StepErrorKind::BadOutput,
            format!("{server}: the installer's exit code file holds {text:?}, not a number"),
        )
    })
}

/// `schtasks /Query /FO CSV /NH`: `"\cu-roll-setup","N/A","Running"`.
/// `None` when cmd does not know schtasks (cannot tell).
pub fn task_running(stdout: &str, stderr: &str, exit_code: i32) -> Option<bool> {
    if exit_code != 0 {
        return if stderr.contains("is not recognized") {
            None
        } else {
            // "ERROR: The system cannot find the file specified.": no such task.
            Some(false)
        };
    }
    Some(stdout.lines().any(|line| {
        let cols: Vec<&str> = line
            .trim()
            .split("\",\"")
            .map(|c| c.trim_matches('"'))
            .collect();
        // Verbose rows: `Last Result` (7th) is SCHED_S_TASK_RUNNING in any
        // language; a short row's `Status` (3rd) is English-only.
        cols.get(6) == Some(&"267009") || (cols.len() == 3 && cols[2] == "Running")
    }))
}

/// What to do first, from the cmd-only observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallerDecision {
    /// It is running: wait for its exit code (re-attach).
    Attach,
    /// It finished and nobody evaluated it yet.
    Evaluate(i32),
    /// Not running and nothing to evaluate: safe to read the build with
    /// PowerShell, then skip or start.
    CheckBuild,
}

pub fn installer_decision(pending: bool, exit: Option<i32>, running: bool) -> InstallerDecision {
    match (running, exit) {
        (true, _) => InstallerDecision::Attach,
        (false, Some(code)) if pending => InstallerDecision::Evaluate(code),
        _ => InstallerDecision::CheckBuild,
    }
}

fn read_exit_code(ctx: &StepContext<'_>, spec: &InstallerSpec) -> Result<Option<i32>, StepError> {
    let out = ctx.exec.run_cmd(ctx.server, &spec.read_exit_cmd())?;
    parse_exit_file(&out.stdout, out.exit_code, &ctx.server.name)
}

/// Whether the installer runs, as far as cmd can tell; `None` = cannot tell.
fn is_running(ctx: &StepContext<'_>, spec: &InstallerSpec) -> Result<Option<bool>, StepError> {
    if spec.exsetup && observe::setup_running(ctx.exec, ctx.server)? {
        return Ok(Some(true));
    }
    let out = ctx.exec.run_cmd(ctx.server, &spec.task_status_cmd())?;
    Ok(task_running(&out.stdout, &out.stderr, out.exit_code))
}

/// Everything the mechanism may send, for dry-run: the same operations
/// `drive_until` sends, in its order.
pub fn planned(plan: &Plan, spec: &InstallerSpec, command_line: &str) -> Vec<PlannedCommand> {
    let mut out = vec![PlannedCommand::cmd(
        "first (cmd only: no PowerShell while an installer may run), and at every poll: the exit code file",
        spec.read_exit_cmd(),
    )];
    if spec.exsetup {
        out.push(PlannedCommand::cmd(
            "first: is ExSetup.exe running (re-attach after a crash)?",
            CMD_EXSETUP_PROCESS,
        ));
    }
    out.extend([
        PlannedCommand::cmd(
            "first: is cu-roll's scheduled task still running its batch?",
            spec.task_status_cmd(),
        ),
        PlannedCommand::ps(
            "when nothing runs and no exit code waits: read the build",
            &read_server_facts(),
        ),
        {
            let account = account_for_display(plan);
            PlannedCommand::ps(
                format!("if there is something to install: write the batch and start it as a scheduled task as {} (the password on the script's stdin: {})", account.user, account.password),
                &spec.start(command_line, &account).op,
            )
        },
        PlannedCommand::ps(
            "after the exit code is read and evaluated",
            &spec.remove().op,
        ),
    ]);
    if spec.exsetup {
        out.insert(
            out.len() - 1,
            PlannedCommand::cmd(
                "while it runs, every few polls: its stage, from the marker lines of ExchangeSetup.log",
                crate::setup_log::stage::CMD_SETUP_STAGE,
            ),
        );
    }
    out
}

/// The whole mechanism: observe (cmd only), skip, start, re-attach, wait,
/// then `evaluate` the exit code (it may use PowerShell: the installer has
/// ended) and clean up. `done` runs (with PowerShell, so only once nothing
/// runs) and answers `Ok(detail)` when there is nothing to install,
/// `Err(why)` when the installer must run (`why` completes "… left no exit
/// code, and …"). `setup` judges by the build and the role keys, the
/// security update by its build, `prepare-ad` by the AD levels.
pub fn drive_until(
    ctx: &mut StepContext<'_>,
    spec: &InstallerSpec,
    command_line: &str,
    timeout: Duration,
    done: impl FnOnce(&mut StepContext<'_>) -> Result<Result<String, String>, StepError>,
    evaluate: impl FnOnce(&mut StepContext<'_>, i32) -> Result<String, StepError>,
) -> Result<StepOutcome, StepError> {
    let pending = installer_pending(&ctx.prior_changes, spec.step.id());
    let exit = read_exit_code(ctx, spec)?;
    let running = is_running(ctx, spec)?;
    // When schtasks cannot tell: for setup, ExSetup.exe not running is the
    // answer (it was checked); for the SU, a task cu-roll started that left
    // no exit code is waited for rather than risk PowerShell beside msiexec.
    let running = running.unwrap_or(!spec.exsetup && pending && exit.is_none());
    let code = match installer_decision(pending, exit, running) {
        InstallerDecision::Attach => {
            ctx.events.observed(format!(
                "{} is already running on {}: re-attaching and waiting for it",
                spec.what, ctx.server.name
            ))?;
            wait_exit(ctx, spec, timeout)?
        }
        InstallerDecision::Evaluate(code) => {
            ctx.events.observed(format!(
                "{} started earlier on {} has ended with exit code {code}",
                spec.what, ctx.server.name
            ))?;
            code
        }
        InstallerDecision::CheckBuild => match done(ctx)? {
            Ok(detail) if pending => return Ok(StepOutcome::Done { detail }),
            Ok(detail) => return Ok(StepOutcome::AlreadyDone { detail }),
            Err(still) => {
                if pending {
                    ctx.events.observed(format!(
                        "{} started earlier on {} is not running, left no exit code, and {still}: starting it again",
                        spec.what, ctx.server.name
                    ))?;
                }
                start(ctx, spec, command_line)?;
                wait_exit(ctx, spec, timeout)?
            }
        },
    };
    let result = evaluate(ctx, code);
    ctx.events.changed(Change::InstallerFinished {
        step: spec.step.id().into(),
        exit_code: code,
    })?;
    if let Err(e) = ctx.run_ps_ok(&spec.remove().op) {
        ctx.events.observed(format!(
            "could not remove scheduled task {} (remove it by hand: Unregister-ScheduledTask -TaskName {} -Confirm:$false): {e}",
            spec.task, spec.task
        ))?;
    }
    result.map(|detail| StepOutcome::Done { detail })
}

/// Starts the installer's task (journaled as started).
fn start(
    ctx: &mut StepContext<'_>,
    spec: &InstallerSpec,
    command_line: &str,
) -> Result<(), StepError> {
    ctx.events.progress(&format!("starting {}", spec.what));
    let account = account_for_run(ctx.plan, ctx.exec)?;
    let action = spec.start(command_line, &account);
    // The password goes on the script's stdin, never in its text.
    let credential = crate::exchange::Credential {
        user: account.user.clone(),
        secret: crate::plan::Secret::new(account.password),
    };
    ctx.intend(&action.changes)?;
    ctx.run_ps_ok_as(&action.op, &credential)?;
    crate::runbook::crash_hook::after_change();
    for change in action.changes {
        ctx.events.changed(change)?;
    }
    Ok(())
}

/// In the message of an installer that ended without an exit code (the
/// machine restarted under it, or its task was stopped).
pub const INTERRUPTED: &str = "ended without writing an exit code";

fn wait_exit(
    ctx: &mut StepContext<'_>,
    spec: &InstallerSpec,
    timeout: Duration,
) -> Result<i32, StepError> {
    // Polls in a row that found no exit code and the task not running: two
    // are needed, and the file is read again, so a task seen between its
    // start and "Running" is not taken for an ended one.
    // Only after the server dropped out during the wait (restarted under
    // the installer) is that taken as an interruption; otherwise the
    // timeout decides, as before.
    let mut gone = 0;
    let mut dropped = false;
    let mut stage = super::setup_stage::StageReader::default();
    let waited = ctx.wait_until(
        &format!("waiting for {} to finish", spec.what),
        timeout,
        |ctx| {
            // Setup restarts IIS and WMI and may restart WinRM: a call that
            // does not get through is "no answer yet", not a failed setup
            // (the timeout still bounds the wait).
            let code = match read_exit_code(ctx, spec) {
                Err(e) if e.kind == crate::runbook::StepErrorKind::Unreachable => {
                    dropped = true;
                    ctx.events.progress(&format!(
                        "{} does not answer while {} runs ({}); polling again",
                        ctx.server.name, spec.what, e.message
                    ));
                    return Ok(None);
                }
                other => other?,
            };
            if code.is_none() && dropped {
                gone = match is_running(ctx, spec) {
                    Ok(Some(false)) => gone + 1,
                    _ => 0,
                };
                if gone >= 2 && read_exit_code(ctx, spec)?.is_none() {
                    return Err(StepError::failed(format!(
                        "{} on {} {INTERRUPTED} (the server restarted under it and scheduled task {} no longer runs)",
                        spec.what, ctx.server.name, spec.task
                    )));
                }
            }
            if code.is_none() {
                // Where setup is, from ExchangeSetup.log (cmd only).
                let at = match spec.exsetup.then(|| stage.poll(ctx)).flatten() {
                    Some(stage) => format!(": {stage}"),
                    None => String::new(),
                };
                ctx.events.progress(&format!(
                    "{} running on {}{at}",
                    spec.what, ctx.server.name
                ));
            }
            Ok(code)
        },
    );
    waited.map_err(|e| {
        if e.kind == StepErrorKind::Interrupted {
            // By design: an installer killed half-way can leave Exchange
            // unusable, so cu-roll never stops one (design principle 4).
            return StepError::interrupted(format!(
                "{} keeps running on {} (scheduled task {}); cu-roll never stops an installer, and the next run re-attaches to it and waits for its exit code",
                spec.what, ctx.server.name, spec.task
            ));
        }
        let still = match is_running(ctx, spec) {
            Ok(Some(true)) => "it is still running",
            Ok(Some(false)) => "it no longer runs but wrote no exit code (was the server rebooted, or the task stopped?)",
            _ => "whether it still runs is unknown",
        };
        e.with_context(
            &format!(
                "{still}; cu-roll never stops an installer (scheduled task {}, exit code in %SystemDrive%\\cu-roll\\{}; setup logs to %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log). Run cu-roll again to re-attach and wait. {}",
                spec.task,
                spec.exit_file,
                left_on(ctx, &[])
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::exsetup_in_tasklist;

    #[test]
    fn hostile_paths_are_refused() {
        assert!(check_batch_path("setup_path", "D:\\Setup.exe").is_ok());
        for bad in [
            "D:\\a\"b.exe",
            "D:\\a&calc.exe",
            "D:\\%TEMP%\\s.exe",
            "D:\\a>b",
            "",
        ] {
            assert!(check_batch_path("setup_path", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_file_parsing() {
        assert_eq!(parse_exit_file("0 \r\n", 0, "EX02").unwrap(), Some(0));
        assert_eq!(parse_exit_file("3010\r\n", 0, "EX02").unwrap(), Some(3010));
        assert_eq!(
            parse_exit_file("", 1, "EX02").unwrap(),
            None,
            "type fails while the file is absent"
        );
        assert_eq!(parse_exit_file("", 0, "EX02").unwrap(), None);
        assert!(parse_exit_file("ECHO is off.", 0, "EX02").is_err());
    }

    #[test]
    fn process_and_task_states() {
        assert!(exsetup_in_tasklist(
            "\"ExSetup.exe\",\"5012\",\"Services\",\"0\",\"412,332 K\"\r\n"
        ));
        assert!(!exsetup_in_tasklist(
            "INFO: No tasks are running which match the specified criteria.\r\n"
        ));
        assert_eq!(
            task_running("\"\\cu-roll-setup\",\"N/A\",\"Running\"\r\n", "", 0),
            Some(true)
        );
        assert_eq!(
            task_running("\"\\cu-roll-setup\",\"N/A\",\"Ready\"\r\n", "", 0),
            Some(false)
        );
        // A German server: the Status column is translated, Last Result is not.
        let running_de = "\"EX02\",\"\\cu-roll-setup\",\"Nicht zutreffend\",\"Wird ausgeführt\",\"Interaktiv/Hintergrund\",\"27.11.2026 07:30:01\",\"267009\",\"CONTOSO\\adm\"\r\n";
        assert_eq!(task_running(running_de, "", 0), Some(true));
        let ended_de = running_de
            .replace("267009", "0")
            .replace("Wird ausgeführt", "Bereit");
        assert_eq!(task_running(&ended_de, "", 0), Some(false));
        assert_eq!(
            task_running(
                "",
                "ERROR: The system cannot find the file specified.\r\n",
                1
            ),
            Some(false)
        );
        assert_eq!(
            task_running(
                "",
                "'schtasks' is not recognized as an internal or external command,\r\n",
                1
            ),
            None
        );
    }

    #[test]
    fn an_installer_is_pending_until_its_result_is_recorded() {
        let started = Change::InstallerStarted {
            step: "setup".into(),
            task: "cu-roll-setup".into(),
            command: "x".into(),
        };
        let finished = Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 1,
        };
        assert!(installer_pending(std::slice::from_ref(&started), "setup"));
        assert!(!installer_pending(
            std::slice::from_ref(&started),
            "security-update"
        ));
        assert!(!installer_pending(
            &[started.clone(), finished.clone()],
            "setup"
        ));
        assert!(installer_pending(
            &[started.clone(), finished, started],
            "setup"
        ));
    }

    #[test]
    fn decisions() {
        use InstallerDecision::*;
        assert_eq!(installer_decision(false, None, true), Attach);
        assert_eq!(installer_decision(true, Some(1), false), Evaluate(1));
        // An exit code cu-roll already evaluated (or never started) is stale.
        assert_eq!(installer_decision(false, Some(1), false), CheckBuild);
        assert_eq!(installer_decision(true, None, false), CheckBuild);
    }
}

#[cfg(test)]
#[path = "installer_account_tests.rs"]
mod account_tests;
