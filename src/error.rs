//! The command layer's one error type: every way a command can stop early,
//! typed until `main` prints it, and `Error::exit_code`, the one mapping
//! from an error to the exit codes defined beside it in `exit.rs` (the
//! pattern of nextest's `ExpectedError::process_exit_code`). Each message
//! says what happened, where, and what to do next; the library's own
//! errors arrive through `#[from]` and keep their words. This module
//! decides no behaviour and prints nothing.

use std::path::PathBuf;

use crate::catalog::update::UpdateError;
use crate::exec::OpenError;
use crate::exit;
use crate::journal::{JournalError, LockError, LockState};
use crate::logging::LoggingError;
use crate::plan::{PlanError, TargetError};
use crate::runbook::schedule::RolloutError;
use crate::runbook::StepId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- the command line or the plan (exit 2) ---
    /// A command line that cannot be run as given; the message says how to
    /// call it.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("server '{name}' is not in {}{}; servers: {}", .plan.display(),
        crate::plan::did_you_mean(.name, .known).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default(),
        .known.join(", "))]
    UnknownServer {
        plan: PathBuf,
        name: String,
        known: Vec<String>,
    },
    /// `why` ends the sentence: what needed the section.
    #[error("{} has no [lab] section{why}", .plan.display())]
    NoLabSection { plan: PathBuf, why: &'static str },
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Loading or updating the catalogue: a refusal of the input is exit 2,
    /// a network or disk failure exit 1 (worth retrying as it is).
    #[error(transparent)]
    Catalog(#[from] UpdateError),
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The lab (the simulated DAG) could not open, reset or serve its
    /// world. Boxed because only the command layer names the lab crate's
    /// types: `commands::lab` converts them (`From`).
    #[error(transparent)]
    Lab(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Logging(#[from] LoggingError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("{}", unlock_refusal(.plan, .lock))]
    UnlockNeedsForce { plan: PathBuf, lock: Box<LockState> },
    /// `status` could not read the journal it reports on.
    #[error(transparent)]
    ReadJournal(JournalError),
    #[error("cannot keep the finished rollout's journal {} under a dated name: {source}; move it aside by hand to start the new rollout", .journal.display())]
    ArchiveJournal {
        journal: PathBuf,
        source: std::io::Error,
    },
    /// Reading the local backups, or planning a restore from one.
    #[error(transparent)]
    Backup(crate::backup::BackupError),
    #[error("{server} has no backup in {}", .dir.display())]
    NoBackup { server: String, dir: PathBuf },
    #[error("cannot read the setup log {}: {source}. Give the path of a copy of ExchangeSetup.log (on the server: %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log)", .path.display())]
    SetupLogUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a file: give the path of ExchangeSetup.log", .path.display())]
    SetupLogNotAFile { path: PathBuf },
    #[error("{} is not an Exchange setup log: none of its {read} bytes is a line 'Starting Microsoft Exchange Server <2013|2016|2019|Subscription Edition> Setup'. Give the path of ExchangeSetup.log (on the server: %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log)", .path.display())]
    NotASetupLog { path: PathBuf, read: u64 },
    /// A server refused the plan's account; no other was tried (lockout).
    #[error("{0}")]
    AuthRefused(String),
    /// `--output FILE` could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },

    // --- the lock (exit 4, or 2 when the lock file itself fails) ---
    #[error("{source}{}", .source.next_step(.plan).map(|s| format!("; {s}")).unwrap_or_default())]
    Lock { plan: PathBuf, source: LockError },

    // --- the pre-flight gate (exit 3) ---
    #[error("the pre-flight gate refused to start; nothing was changed:\n  - {}\n(`cu-roll report {}` shows the details)", .blockers.join("\n  - "), .plan.display())]
    PreflightBlocked {
        plan: PathBuf,
        blockers: Vec<String>,
    },

    // --- a rollout or a change that stopped (exit 1; a gate before any change: 3) ---
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("stopped: {server} {step} failed:\n{}The journal is saved; fix the cause and run the same command again to resume (`cu-roll status {}` shows where it stands).", crate::report::progress::failure_block(.error, "  "), .plan.display())]
    StepFailed {
        plan: PathBuf,
        server: String,
        step: StepId,
        error: String,
    },
    #[error("stopped: the gate refused to take {server} out of service:\n  - {}\n{}", .reasons.join("\n  - "), if *.before_any_change { "Nothing was changed." } else { "Servers finished earlier are back in service. The journal is saved; once the DAG is healthy, run the same command again to resume." })]
    GateRefused {
        server: String,
        reasons: Vec<String>,
        before_any_change: bool,
    },
    #[error("stopped before {before} at your request; the journal is saved, run the same command again to go on")]
    Paused { before: String },
    /// "no" at the confirmation after the plan view: nothing started.
    #[error("not started at your request; nothing was changed")]
    Declined,

    // --- interrupted by the operator (exit 5) ---
    #[error("{}", interrupted_message(.plan, .at.as_ref(), .still_running))]
    Interrupted {
        plan: PathBuf,
        at: Option<(String, StepId)>,
        still_running: Vec<String>,
    },

    // --- the maintenance window was reached (exit 6) ---
    #[error(
        "stopped: the maintenance window ends at {not_after}, and {before}'s roll is estimated at {} (policy.server_estimate), so it was not started; every server before it is finished and back in service.\nThe journal is saved; run `cu-roll run {}` in the next window to resume (with a later not_after in [policy]).",
        humantime::format_duration(*.estimate),
        .plan.display()
    )]
    WindowReached {
        plan: PathBuf,
        before: String,
        not_after: String,
        estimate: std::time::Duration,
    },
    /// `restore-config`: applying the restore failed on the server.
    #[error(transparent)]
    Restore(crate::backup::BackupError),
    /// `backup verify FILE`: the zip does not verify.
    #[error("{}: {source}", .file.display())]
    Verify {
        file: PathBuf,
        source: crate::backup::BackupError,
    },

    // --- the answer could not be delivered (exit 8) ---
    #[error("writing to stdout: {0}; the command itself ran — send its output somewhere that accepts it (a file with --output, or a pipe that reads to the end)")]
    Stdout(std::io::Error),
}

impl Error {
    /// The process exit code for this error (the codes are in `exit.rs`,
    /// documented in `--help` and docs/troubleshooting.md). Exhaustive on
    /// purpose: a new variant must choose its code here.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::Plan(_)
            | Error::UnknownServer { .. }
            | Error::NoLabSection { .. }
            | Error::Target(_)
            | Error::Open(_)
            | Error::Lab(_)
            | Error::Logging(_)
            | Error::Audit(_)
            | Error::UnlockNeedsForce { .. }
            | Error::ReadJournal(_)
            | Error::ArchiveJournal { .. }
            | Error::Backup(_)
            | Error::NoBackup { .. }
            | Error::SetupLogUnreadable { .. }
            | Error::SetupLogNotAFile { .. }
            | Error::NotASetupLog { .. }
            | Error::WriteFile { .. }
            | Error::AuthRefused(_) => exit::BAD_INPUT,
            Error::Catalog(e) => {
                if e.is_refusal() {
                    exit::BAD_INPUT
                } else {
                    exit::STEP_FAILED
                }
            }
            Error::Lock { source, .. } => match source {
                LockError::Held { .. } | LockError::HolderAlive { .. } => exit::LOCKED,
                LockError::Io { .. } => exit::BAD_INPUT,
            },
            // "no" at a question (the confirmation or a `pause_between`
            // pause) is the operator stopping the run at a safe point, as
            // Ctrl-C does: not a failure, resumable (issue 12).
            Error::Interrupted { .. } | Error::Paused { .. } | Error::Declined => exit::INTERRUPTED,
            Error::WindowReached { .. } => exit::WINDOW_REACHED,
            Error::PreflightBlocked { .. } => exit::GATE_REFUSED,
            Error::Rollout(e) => match e {
                RolloutError::PlanChanged { .. } => exit::BAD_INPUT,
                RolloutError::Journal(_) => exit::STEP_FAILED,
            },
            Error::GateRefused {
                before_any_change, ..
            } => {
                if *before_any_change {
                    exit::GATE_REFUSED
                } else {
                    exit::STEP_FAILED
                }
            }
            Error::Journal(_)
            | Error::StepFailed { .. }
            | Error::Restore(_)
            | Error::Verify { .. } => exit::STEP_FAILED,
            Error::Stdout(_) => exit::OUTPUT_FAILED,
        }
    }
}

/// `Interrupted during EX02 setup; setup keeps running on EX02 (…). Run … to resume.`
fn interrupted_message(
    plan: &std::path::Path,
    at: Option<&(String, StepId)>,
    still_running: &[String],
) -> String {
    let place = match at {
        Some((server, step)) => format!("Interrupted during {server} {step}"),
        None => "Interrupted before the next server".to_string(),
    };
    let running = if still_running.is_empty() {
        "; nothing cu-roll started is still running on a server (a server it had taken out of service stays so)".to_string()
    } else {
        format!("; {}", still_running.join("; "))
    };
    format!(
        "{place}{running}.\nThe journal is saved and the lock released; run `cu-roll run {}` to resume (`cu-roll status {}` shows where it stands).",
        plan.display(),
        plan.display()
    )
}

/// `unlock` without `--force`: who holds the lock, and whether `--force`
/// would clear anything.
fn unlock_refusal(plan: &std::path::Path, lock: &LockState) -> String {
    match lock {
        LockState::Held(Some(h)) => format!(
            "the lock is held by a running cu-roll: {} on {} (pid {}) since {}; stop that run first (`unlock --force` refuses while it runs)",
            h.owner, h.host, h.pid, h.since
        ),
        LockState::Held(None) => "the lock is held by a running cu-roll whose owner record is not readable; stop that run first (`unlock --force` refuses while it runs)".into(),
        LockState::Stale(h) => format!(
            "the lock record left by {} on {} (pid {}) since {} belongs to no running process (the next run takes it over); clear it with `cu-roll unlock {} --force`",
            h.owner,
            h.host,
            h.pid,
            h.since,
            plan.display()
        ),
        LockState::Free => "there is no lock to clear (unlock needs --force anyway)".into(),
    }
}

/// An error and every cause under it, joined with ": ". reqwest's
/// top-level message ("error sending request") hides the cause (connection
/// refused, a timeout, an unknown certificate): the catalogue download and
/// the webhooks show the whole chain.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::LockInfo;
    use std::path::Path;

    fn held() -> LockError {
        LockError::Held {
            path: PathBuf::from("/srv/q3.cu-roll/lock"),
            holder: Some(Box::new(LockInfo {
                owner: "admin".into(),
                host: "JUMP01".into(),
                pid: 42,
                since: "2026-11-27T10:00:00Z".into(),
                command: "run".into(),
            })),
        }
    }

    #[test]
    fn a_held_lock_is_exit_4_and_names_the_plan_for_status() {
        let e = Error::Lock {
            plan: PathBuf::from("/srv/q3.toml"),
            source: held(),
        };
        assert_eq!(e.exit_code(), exit::LOCKED);
        let text = e.to_string();
        assert!(
            text.ends_with("`cu-roll status /srv/q3.toml` shows where it stands"),
            "{text}"
        );
        assert!(!text.contains("PLAN"), "{text}");
    }

    #[test]
    fn a_lock_file_that_cannot_be_written_is_exit_2_without_an_unlock_hint() {
        let e = Error::Lock {
            plan: PathBuf::from("q3.toml"),
            source: LockError::Io {
                action: "create",
                path: PathBuf::from("q3.cu-roll/lock"),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
        };
        assert_eq!(e.exit_code(), exit::BAD_INPUT);
        assert!(!e.to_string().contains("unlock"), "{e}");
    }

    #[test]
    fn a_gate_refusal_is_exit_3_only_before_any_change() {
        let refusal = |before_any_change| Error::GateRefused {
            server: "EX02".into(),
            reasons: vec!["DB01 would keep 0 healthy copies".into()],
            before_any_change,
        };
        assert_eq!(refusal(true).exit_code(), exit::GATE_REFUSED);
        assert_eq!(refusal(false).exit_code(), exit::STEP_FAILED);
        assert!(refusal(true).to_string().ends_with("Nothing was changed."));
    }

    #[test]
    fn an_interrupt_is_exit_5_and_says_what_keeps_running() {
        let e = Error::Interrupted {
            plan: PathBuf::from("plans/lab.toml"),
            at: Some(("EX02".into(), StepId::Setup)),
            still_running: vec!["setup keeps running on EX02 (scheduled task cu-roll-setup)".into()],
        };
        assert_eq!(e.exit_code(), exit::INTERRUPTED);
        let text = e.to_string();
        assert!(
            text.starts_with("Interrupted during EX02 setup; setup keeps running on EX02"),
            "{text}"
        );
        assert!(
            text.contains("run `cu-roll run plans/lab.toml` to resume"),
            "{text}"
        );
    }

    #[test]
    fn a_lost_stdout_has_its_own_code() {
        let e = Error::Stdout(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_code(), exit::OUTPUT_FAILED);
        assert_ne!(exit::OUTPUT_FAILED, exit::STEP_FAILED);
        assert_ne!(exit::OUTPUT_FAILED, exit::BAD_INPUT);
    }

    #[test]
    fn the_unlock_refusal_names_the_plan_for_a_dead_runs_record_only() {
        let LockError::Held {
            holder: Some(holder),
            ..
        } = held()
        else {
            unreachable!()
        };
        let refusal = |lock| Error::UnlockNeedsForce {
            plan: Path::new("q3.toml").to_path_buf(),
            lock: Box::new(lock),
        };
        let stale = refusal(LockState::Stale(*holder.clone()));
        assert_eq!(stale.exit_code(), exit::BAD_INPUT);
        assert!(
            stale
                .to_string()
                .contains("`cu-roll unlock q3.toml --force`"),
            "{stale}"
        );
        let live = refusal(LockState::Held(Some(*holder))).to_string();
        assert!(
            live.contains("held by a running cu-roll: admin on JUMP01 (pid 42)"),
            "{live}"
        );
        assert!(!live.contains("cu-roll unlock q3.toml"), "{live}");
    }

    #[test]
    fn an_unknown_server_gets_a_did_you_mean_when_one_is_close() {
        let e = Error::UnknownServer {
            plan: PathBuf::from("plans/lab.toml"),
            name: "ex2".into(),
            known: vec!["EX01".into(), "EX02".into()],
        };
        assert_eq!(
            e.to_string(),
            "server 'ex2' is not in plans/lab.toml (did you mean 'EX02'?); servers: EX01, EX02"
        );
        assert_eq!(e.exit_code(), exit::BAD_INPUT);
    }
}
