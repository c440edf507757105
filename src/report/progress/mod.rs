//! The rollout's live display on stderr: an `indicatif` board (one line per
//! server, an overall bar, notes printed above the bars) when stderr is a
//! terminal, and plain, greppable line-per-event output when it is not
//! (a CI log, `2>run.log`, a scheduled task).
//!
//! This module only shows [`RunEvent`]s: it never decides anything, never
//! touches the journal (the durable truth) and never writes to stdout, which
//! belongs to results (the final summary table). Every display also sends
//! each event to the `tracing` log (see [`crate::logging`]) so the log file
//! tells the run's story without the terminal.

mod bars;
mod failure;
mod log;
mod plain;

use std::io::IsTerminal;

use indicatif::ProgressDrawTarget;

pub use bars::BarsProgress;
pub use failure::{failure_block, headline};
pub use log::{log_event, Logged};
pub use plain::{PlainProgress, WallClock};

use super::text::{format_duration, one_line};
use crate::runbook::{Progress, RunEvent};

/// The display for this process: bars when stderr is a terminal, plain
/// lines otherwise; both also log every event through `tracing`. With it,
/// what hides the board while a question is asked at the terminal.
pub fn progress_for_stderr() -> (Box<dyn Progress>, Suspend) {
    if std::io::stderr().is_terminal() {
        let bars = BarsProgress::new(ProgressDrawTarget::stderr());
        let suspend = Suspend(Some(bars.multi()));
        (Box::new(Logged(bars)), suspend)
    } else {
        let plain = PlainProgress::new(Box::new(std::io::stderr()));
        (Box::new(Logged(plain)), Suspend(None))
    }
}

/// Hides the board while something else writes to the terminal (the
/// `pause_between` question), so the board is not drawn over it or twice.
#[derive(Clone, Default)]
pub struct Suspend(Option<indicatif::MultiProgress>);

impl Suspend {
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }
}

/// The text of one event, without a timestamp: the plain display's lines
/// and the notes the bars print above themselves share it.
pub fn event_line(event: &RunEvent) -> String {
    match event {
        RunEvent::Started { servers, resumed } => {
            let names: Vec<&str> = servers.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "rollout {}: {} server{} in order {}",
                if *resumed { "resumed" } else { "started" },
                servers.len(),
                if servers.len() == 1 { "" } else { "s" },
                one_line(&names.join(", "))
            )
        }
        RunEvent::Note { server, message } => match server {
            Some(s) => format!("{} note: {}", one_line(s), one_line(message)),
            None => format!("note: {}", one_line(message)),
        },
        RunEvent::ServerStarted { server } => format!("{} started", one_line(server)),
        RunEvent::ServerSkipped { server, reason } => {
            format!("{} skipped: {}", one_line(server), one_line(reason))
        }
        RunEvent::StepStarted { server, step } => format!("{} {step} started", one_line(server)),
        RunEvent::StepProgress {
            server,
            step,
            message,
        } => format!("{} {step}: {}", one_line(server), one_line(message)),
        RunEvent::StepFinished {
            server,
            step,
            already_done,
            detail,
            elapsed,
        } => {
            let mut line = format!(
                "{} {step} done in {}",
                one_line(server),
                format_duration(*elapsed)
            );
            if *already_done {
                line.push_str(" (already done)");
            }
            if !detail.trim().is_empty() {
                line.push_str(": ");
                line.push_str(&one_line(detail));
            }
            line
        }
        RunEvent::StepSkipped {
            server,
            step,
            reason,
        } => format!("{} {step} skipped: {}", one_line(server), one_line(reason)),
        RunEvent::StepFailed {
            server,
            step,
            error,
            elapsed,
        } => format!(
            "{} {step} FAILED after {}: {} (the whole text is printed at the end)",
            one_line(server),
            format_duration(*elapsed),
            one_line(&headline(error, 160))
        ),
        RunEvent::ServerFinished { server, elapsed } => {
            format!(
                "{} finished in {}",
                one_line(server),
                format_duration(*elapsed)
            )
        }
        RunEvent::Finished {
            ok,
            message,
            elapsed,
        } => {
            let mut line = if *ok {
                format!("rollout done in {}", format_duration(*elapsed))
            } else {
                format!("rollout STOPPED after {}", format_duration(*elapsed))
            };
            if !message.trim().is_empty() {
                line.push_str(": ");
                line.push_str(&one_line(message));
            }
            line
        }
    }
}

#[cfg(test)]
mod tests;
