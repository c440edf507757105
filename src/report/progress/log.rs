//! Sends every live-display event to the `tracing` log (see
//! [`crate::logging`]) with structured fields, so the log file tells the
//! run's story even when the display is hidden.
//!
//! Logging only: it neither draws nor decides anything.

use crate::runbook::{Progress, RunEvent};

/// Wraps a display and also sends every event to the `tracing` log, so
/// the log file holds the run's story even when the display is hidden.
pub struct Logged<P>(pub P);

impl<P: Progress> Progress for Logged<P> {
    fn event(&mut self, event: &RunEvent) {
        log_event(event);
        self.0.event(event);
    }
}

/// Sends one event to the `tracing` log with structured fields.
pub fn log_event(event: &RunEvent) {
    const T: &str = "cu_roll::run";
    match event {
        RunEvent::Started { servers, resumed } => {
            let names: Vec<&str> = servers.iter().map(|(n, _)| n.as_str()).collect();
            tracing::info!(target: T, resumed, servers = %names.join(","), "rollout started");
        }
        RunEvent::Note { server, message } => {
            tracing::info!(target: T, server = server.as_deref().unwrap_or(""), "{message}");
        }
        RunEvent::ServerStarted { server } => {
            tracing::info!(target: T, server, "server started");
        }
        RunEvent::ServerSkipped { server, reason } => {
            tracing::info!(target: T, server, reason, "server skipped");
        }
        RunEvent::StepStarted { server, step } => {
            tracing::info!(target: T, server, step = step.id(), "step started");
        }
        RunEvent::StepProgress {
            server,
            step,
            message,
        } => {
            tracing::debug!(target: T, server, step = step.id(), "{message}");
        }
        RunEvent::StepFinished {
            server,
            step,
            already_done,
            detail,
            elapsed,
        } => {
            tracing::info!(
                target: T,
                server,
                step = step.id(),
                already_done,
                elapsed_s = elapsed.as_secs_f64(),
                detail,
                "step done"
            );
        }
        RunEvent::StepSkipped {
            server,
            step,
            reason,
        } => {
            tracing::info!(target: T, server, step = step.id(), reason, "step skipped");
        }
        RunEvent::StepFailed {
            server,
            step,
            error,
            elapsed,
        } => {
            tracing::error!(
                target: T,
                server,
                step = step.id(),
                elapsed_s = elapsed.as_secs_f64(),
                error,
                "step failed"
            );
        }
        RunEvent::ServerFinished { server, elapsed } => {
            tracing::info!(target: T, server, elapsed_s = elapsed.as_secs_f64(), "server finished");
        }
        RunEvent::Finished {
            ok,
            message,
            elapsed,
        } => {
            if *ok {
                tracing::info!(target: T, elapsed_s = elapsed.as_secs_f64(), message, "rollout done");
            } else {
                tracing::warn!(target: T, elapsed_s = elapsed.as_secs_f64(), message, "rollout stopped");
            }
        }
    }
}
