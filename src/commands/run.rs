//! `cu-roll run` (and `cu-roll PLAN`) and `--dry-run`: the lock, the
//! journal, the pre-flight gate at a fresh start, the scheduler, the
//! summary and the run report. How the rollout ended becomes an `Outcome`
//! or an `Error`; the exit code is chosen in `error.rs`.

use std::path::Path;

use super::{load_plan, open_guarded, output, state_dir};
use crate::cli::{GlobalArgs, RunFlags};
use crate::error::Error;
use crate::exit::Outcome;
use crate::journal::{Journal, Lock};
use crate::plan::Plan;
use crate::plan::ResolvedTarget;
use crate::preflight;
use crate::runbook::schedule::{AlwaysYes, Confirm, InterruptibleClock, Rollout, RolloutOutcome};
use crate::runbook::{self, JournalState, Step};

/// A line for stderr, stamped like the progress lines when stderr is a
/// log (`logging::say`).
macro_rules! say {
    ($($t:tt)*) => {
        crate::logging::say(&format!($($t)*))
    };
}

pub fn run(plan_path: &Path, flags: RunFlags, global: &GlobalArgs) -> Result<Outcome, Error> {
    let plan = load_plan(plan_path)?;
    let catalog = crate::catalog::Catalog::active()?;
    let target = crate::plan::resolve_target(&plan, catalog)?;
    let state = state_dir(plan_path, global.state_dir.as_deref());
    let steps = runbook::rollout_steps(&state);
    let given = super::selection::given(&plan, &flags)?;
    if flags.dry_run {
        return dry_run(&plan, &target, &state, &steps, given, &flags);
    }
    crate::logging::stamp_console();
    super::confirm::terminal_or_yes(plan_path, plan.policy.pause_between, flags.yes)?;

    let lock = Lock::acquire(&state, "run").map_err(|source| Error::Lock {
        plan: plan_path.to_path_buf(),
        source,
    })?;
    if let Some(dead) = &lock.replaced {
        say!(
            "cu-roll: the run of {} on {} (pid {}, since {}) ended without releasing the lock (killed, or its console closed); this run takes over and resumes",
            dead.owner, dead.host, dead.pid, dead.since
        );
    }
    // From here a signal stops the run at a safe point (exit 5).
    let clock = InterruptibleClock::new(super::interrupt::install())
        .with_wall_offset(super::window::lab_wall_offset(&plan, &state));
    let _log = crate::logging::init(&state, global.log_format)?;
    let run_id = run_id();
    let notifier = start_notifier(&plan, plan_path, &target, &run_id)?;
    let (mut journal, mut loaded) = Journal::open(&state)?;
    if let Some(torn) = &loaded.torn_tail {
        say!("cu-roll: warning: {torn}");
    }
    let mut prior = JournalState::from_entries(&loaded.entries);
    let executor = open_guarded(&plan, &state)?;
    let credential = super::exchange_credential(&plan, executor.as_ref())?;
    super::edge_passwords_readable(&plan)?;
    // The journal is history, not truth: after a finished rollout, observe
    // the servers. All at the target: nothing to do, and nothing is
    // written (the night's journal and run report stay as they are). One
    // below it again (restored, rebuilt, next quarter's CU): a new rollout
    // with a new journal; the finished one is kept under a dated name.
    if prior.finished_ok {
        let reach = crate::exchange::Reach::new(executor.as_ref(), &credential, &plan.servers);
        let below = below_target(&plan, &target, &reach);
        refused(&executor)?;
        if below.is_empty() {
            say!(
                "cu-roll: the rollout journaled in {} finished, and every server is observed at {} or later now: nothing to do (its journal and run report are kept as they are)",
                journal.path().display(),
                target.build()
            );
            drop(lock);
            return Ok(Outcome::Done);
        }
        drop(journal);
        let archived = archive_journal(&state)?;
        say!(
            "cu-roll: the previous rollout finished (its journal is kept as {}), but {} {} below {} now: a new rollout begins",
            archived.display(),
            below.join(", "),
            if below.len() == 1 { "is" } else { "are" },
            target.build()
        );
        (journal, loaded) = Journal::open(&state)?;
        prior = JournalState::from_entries(&loaded.entries);
    }
    // This run's own log from here on (a re-run with nothing to do, above,
    // keeps none and touches no earlier run's files).
    if let Err(e) = crate::logging::keep_per_run(&per_run_dir(&state, &run_id)) {
        say!("cu-roll: warning: this run's log is only in the plan's cu-roll.log: {e}");
    }
    let selection = super::selection::choose(&plan, given, &flags, &prior)?;
    // Fresh start: the pre-flight gate must pass before anything changes.
    let mut observed = None;
    if prior.fingerprint.is_none() {
        let gate = preflight_gate(&plan, &executor, &credential, catalog, &target, &selection);
        // An interrupt gives up the pre-flight's reads in flight: what they
        // did not learn is no blocker, and nothing has changed yet.
        if runbook::Clock::interrupted(&clock) {
            warn_notifications(notifier.finish(crate::notify::DRAIN_BOUND));
            return Err(Error::Interrupted {
                plan: plan.path.clone(),
                at: None,
                still_running: Vec::new(),
            });
        }
        match gate {
            Ok(o) => observed = Some(o),
            Err(e) => {
                if let Error::PreflightBlocked { blockers, .. } = &e {
                    notifier.blocked(blockers);
                }
                warn_notifications(notifier.finish(crate::notify::DRAIN_BOUND));
                return Err(e);
            }
        }
    }

    super::confirm::plan_view_and_question(
        runbook::dry_run::Inputs {
            plan: &plan,
            target: &target,
            exec: executor.as_ref(),
            credential: &credential,
            steps: &steps,
            selection: &selection,
            observed: observed.as_ref(),
        },
        &mut prior,
        flags.yes,
    )?;

    let (progress, suspend) = crate::report::progress::progress_for_stderr();
    let mut progress = crate::notify::NotifyingProgress::new(progress, &notifier);
    let mut ask = super::confirm::AskAtTerminal(suspend);
    let mut yes = AlwaysYes;
    let confirm: &mut dyn Confirm = if plan.policy.pause_between && !flags.yes {
        &mut ask
    } else {
        &mut yes
    };
    let rollout = Rollout {
        plan: &plan,
        target: &target,
        exec: executor.as_ref(),
        credential: &credential,
        steps: &steps,
        clock: &clock,
        run_id,
        selection,
        observed: observed.as_ref(),
    };
    let outcome = rollout.run(journal, prior, &mut progress, confirm);
    drop(progress);
    notifier.outcome(&outcome);
    let result = finish(
        &plan,
        &state,
        executor.as_ref(),
        outcome?,
        &rollout.run_id,
        &notifier,
    );
    // Released before the last message is printed: a script that runs
    // again on exit 5 finds the plan free.
    drop(lock);
    warn_notifications(notifier.finish(crate::notify::DRAIN_BOUND));
    result
}

/// Starts the plan's webhook notifications (none without `[[notify]]`);
/// a secret that cannot be read stops the run before anything changes.
fn start_notifier(
    plan: &Plan,
    plan_path: &Path,
    target: &ResolvedTarget,
    run_id: &str,
) -> Result<crate::notify::Notifier, Error> {
    let context = crate::notify::RunContext {
        run_id: run_id.to_string(),
        plan: plan_path.display().to_string(),
        target: target.name(),
    };
    crate::notify::Notifier::start(plan, context)
        .map_err(|e| Error::Usage(format!("{}: {e}", plan_path.display())))
}

fn warn_notifications(warnings: Vec<String>) {
    for w in warnings {
        say!("cu-roll: warning: {w}");
    }
}

/// The pre-flight gate of a fresh start: every blocker, or what the
/// pre-flight read (the start of the run's order and plan view).
fn preflight_gate(
    plan: &Plan,
    executor: &super::auth_guard::AuthGuard,
    credential: &crate::exchange::Credential,
    catalog: &crate::catalog::Catalog,
    target: &ResolvedTarget,
    selection: &crate::plan::Selection,
) -> Result<crate::exchange::observe::StartObservation, Error> {
    let now = super::now_rfc3339();
    let (report, observed) =
        preflight::build_report_observing(plan, executor, credential, catalog, target, now);
    refused(executor)?;
    if report.verdict != preflight::model::OverallVerdict::Blocked {
        return Ok(observed);
    }
    let mut blockers = report.blockers.clone();
    // A blocked server left out by --only/--exclude does not block the
    // others; plan-wide blockers (AD, the DAG) still do.
    for s in report
        .servers
        .iter()
        .filter(|s| selection.includes(&s.name))
    {
        blockers.extend(s.blockers.iter().map(|b| format!("{}: {b}", s.name)));
    }
    if blockers.is_empty() {
        return Ok(observed);
    }
    Err(Error::PreflightBlocked {
        plan: plan.path.clone(),
        blockers,
    })
}

/// Prints the summary, writes the run report, and says how the rollout
/// ended.
fn finish(
    plan: &Plan,
    state: &Path,
    exec: &dyn crate::exec::Executor,
    outcome: RolloutOutcome,
    run_id: &str,
    notifier: &crate::notify::Notifier,
) -> Result<Outcome, Error> {
    let loaded = Journal::load(&Journal::path_in(state))?;
    let availability = lab_availability(plan, state);
    let mut report = crate::report::run::build(&loaded.entries, &plan.servers, availability);
    report.plan = Some(plan.path.display().to_string());
    // What the CU reverted on each server it upgraded (issue: customisations
    // silently overwritten): compared with the backup-config zip, every
    // server at once (issue 13: one after another, this kept a rollout
    // alive 15 s after "rollout done" at 50 ms per request).
    let done: Vec<&crate::plan::Server> = report
        .servers
        .iter()
        .filter(|s| s.result == crate::report::status::ServerState::Done)
        .filter_map(|s| plan.server(&s.name))
        .collect();
    let drifts = crate::pool::for_each_bounded(&done, crate::pool::SERVER_FAN_OUT, |server| {
        super::backup::drift_summary(exec, server, state, &loaded.entries)
    });
    for drift in drifts.into_iter().flatten() {
        for r in &drift.reverted {
            say!(
                "cu-roll: {}: the upgrade reverted appSettings '{}' in {} (was {}); `cu-roll restore-config {} --server {} --key {}` puts it back",
                drift.server,
                r.key,
                r.file,
                r.backup_value.as_deref().unwrap_or("absent"),
                plan.path.display(),
                drift.server,
                r.key
            );
        }
        report.config_drift.push(drift);
    }
    let html = match crate::report::run::write(state, &plan.path, &report) {
        Ok(written) => {
            say!(
                "run report: {}, {} and {}",
                written.json.display(),
                written.markdown.display(),
                written.html.display()
            );
            let journal = Journal::path_in(state);
            keep_per_run(
                state,
                run_id,
                &[&journal, &written.json, &written.markdown, &written.html],
            )
        }
        Err(e) => {
            say!("cu-roll: warning: the run report could not be written: {e}");
            None
        }
    };
    notifier.end(&report, html.as_deref());
    // How the rollout ended outranks a lost summary: the run report is on
    // disk, and the exit code must say whether the servers were rolled.
    if let Err(e) = output::stdout(&crate::report::run::summary_table(&report)) {
        say!("cu-roll: warning: {e}");
    }
    ended(plan, outcome)
}

/// The rollout's outcome as the command's: done, or the error that says
/// why it stopped and how to go on.
fn ended(plan: &Plan, outcome: RolloutOutcome) -> Result<Outcome, Error> {
    match outcome {
        RolloutOutcome::Done => Ok(Outcome::Done),
        RolloutOutcome::StepFailed {
            server,
            step,
            error,
        } => Err(Error::StepFailed {
            plan: plan.path.clone(),
            server,
            step,
            error,
        }),
        RolloutOutcome::GateRefused {
            server,
            reasons,
            before_any_change,
        } => Err(Error::GateRefused {
            server,
            reasons,
            before_any_change,
        }),
        RolloutOutcome::Paused { before } => Err(Error::Paused { before }),
        RolloutOutcome::WindowReached {
            before,
            not_after,
            estimate,
        } => Err(Error::WindowReached {
            plan: plan.path.clone(),
            before,
            not_after,
            estimate,
        }),
        RolloutOutcome::Interrupted { at, still_running } => Err(Error::Interrupted {
            plan: plan.path.clone(),
            at,
            still_running,
        }),
    }
}

/// With the lab transport, the lab's availability record (every moment a
/// database had no mounted copy, two members were out together, or a copy
/// was activated on a Blocked server) goes into the run report. A real DAG
/// keeps no such record, so other transports report none.
fn lab_availability(plan: &Plan, state: &Path) -> Option<crate::report::run::AvailabilityVerdict> {
    if plan.connection.transport != crate::plan::Transport::Lab {
        return None;
    }
    let incidents = super::lab::availability_incidents(plan, state)?;
    Some(crate::report::run::AvailabilityVerdict {
        kept: incidents.is_empty(),
        incidents,
    })
}

/// The servers observed below the target (or whose build cannot be read).
/// Only called once a rollout has finished, so no installer of cu-roll's
/// runs on any of them.
fn below_target(
    plan: &Plan,
    target: &ResolvedTarget,
    reach: &crate::exchange::Reach<'_>,
) -> Vec<String> {
    plan.servers
        .iter()
        .filter(|s| {
            crate::exchange::server_facts(reach, s)
                .ok()
                .and_then(|f| f.build())
                .is_none_or(|b| b < target.build())
        })
        .map(|s| s.name.clone())
        .collect()
}

/// Stops with one message when a server refused the plan's account (no
/// other server was tried: `auth_guard`).
fn refused(executor: &super::auth_guard::AuthGuard) -> Result<(), Error> {
    use crate::exec::Executor;
    executor
        .refusal()
        .map_or(Ok(()), |r| Err(Error::AuthRefused(r)))
}

/// Where one run's files are kept: `runs/<run id>/` in the state directory.
fn per_run_dir(state: &Path, run_id: &str) -> std::path::PathBuf {
    state.join("runs").join(run_id)
}

/// Keeps a copy of this run's report, and the journal as it stood at this
/// run's end, under `runs/<run id>/` (beside the run's `cu-roll.log`), so
/// a later run never overwrites them (the files beside the journal are the
/// latest). Returns the kept HTML report (the last of `files`), when kept.
fn keep_per_run(state: &Path, run_id: &str, files: &[&Path]) -> Option<std::path::PathBuf> {
    let dir = per_run_dir(state, run_id);
    let copied = std::fs::create_dir_all(&dir).and_then(|()| {
        files.iter().try_for_each(|f| {
            let name = f.file_name().unwrap_or_default();
            std::fs::copy(f, dir.join(name)).map(|_| ())
        })
    });
    match copied {
        Ok(()) => files
            .last()
            .and_then(|f| f.file_name())
            .map(|name| dir.join(name)),
        Err(e) => {
            say!(
                "cu-roll: warning: could not keep this run's report under {}: {e}",
                dir.display()
            );
            None
        }
    }
}

/// Keeps a finished rollout's journal under a dated name.
fn archive_journal(state: &Path) -> Result<std::path::PathBuf, Error> {
    let from = Journal::path_in(state);
    let stamp = super::now_rfc3339().replace(':', "-");
    let to = state.join(format!("journal-{stamp}.jsonl"));
    std::fs::rename(&from, &to).map_err(|source| Error::ArchiveJournal {
        journal: from,
        source,
    })?;
    Ok(to)
}

fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// Prints the plan view, then per server every step with its commands
/// (one line each, or the exact scripts with `--scripts`);
/// `runbook::dry_run` decides, `report::dry_run` renders. It reads the
/// journal as a run would, but changes nothing and writes nothing.
fn dry_run(
    plan: &Plan,
    target: &ResolvedTarget,
    state: &Path,
    steps: &[Box<dyn Step>],
    given: crate::plan::Selection,
    flags: &RunFlags,
) -> Result<Outcome, Error> {
    for note in super::journal_note::notes(state) {
        say!("{note}");
    }
    let journal = Journal::load(&Journal::path_in(state))
        .map(|l| JournalState::from_entries(&l.entries))
        .unwrap_or_default();
    // The selection a run would use: the command line's, or a resumed
    // rollout's journaled one (a finished rollout's is history).
    let selection = if journal.finished_ok {
        given
    } else {
        super::selection::choose(plan, given, flags, &journal)?
    };
    let executor = open_guarded(plan, state)?;
    let credential = super::exchange_credential(plan, executor.as_ref())?;
    let dry = runbook::dry_run::plan(
        &runbook::dry_run::Inputs {
            plan,
            target,
            exec: executor.as_ref(),
            credential: &credential,
            steps,
            selection: &selection,
            observed: None,
        },
        &journal,
    );
    refused(&executor)?;
    let detail = if flags.scripts {
        crate::report::dry_run::Detail::Scripts
    } else {
        crate::report::dry_run::Detail::Summary
    };
    output::stdout(&crate::report::dry_run::render(&dry, detail))?;
    Ok(Outcome::Done)
}
