//! The live display when stderr is not a terminal (a CI log, `2>run.log`,
//! a scheduled task): one stamped, greppable line per state change. A
//! step's progress message is printed when it changes, not at every poll
//! (a 3-hour setup polled every 5 s would repeat one line ~2,160 times);
//! while it stays the same, a heartbeat line says the step still runs
//! every [`HEARTBEAT`].
//!
//! Shows events only; a write that fails is ignored, because the journal,
//! not this display, is what a resumed run relies on.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use super::event_line;
use crate::report::text::{format_duration, one_line};
use crate::runbook::{Progress, RunEvent, StepId};

/// Wall-clock source for the plain display's timestamps (injectable so
/// tests get stable lines).
pub type WallClock = Box<dyn Fn() -> SystemTime + Send>;

/// How often an unchanged step says it still runs.
pub const HEARTBEAT: Duration = Duration::from_secs(5 * 60);

/// What was last printed for one server's running step.
struct Shown {
    step: StepId,
    started: SystemTime,
    message: Option<String>,
    printed: SystemTime,
}

/// One line per state change, each prefixed with its UTC time to the
/// second: `2026-11-27T10:00:03Z EX02 setup started`. Stable and greppable.
pub struct PlainProgress {
    out: Box<dyn Write + Send>,
    now: WallClock,
    /// Per server (as named in events), its running step.
    running: HashMap<String, Shown>,
}

impl PlainProgress {
    /// Writes to `out` with the system clock.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self::with_clock(out, Box::new(SystemTime::now))
    }

    pub fn with_clock(out: Box<dyn Write + Send>, now: WallClock) -> Self {
        PlainProgress {
            out,
            now,
            running: HashMap::new(),
        }
    }

    fn print(&mut self, at: SystemTime, line: &str) {
        let stamp = humantime::format_rfc3339_seconds(at);
        // A closed stderr must not stop a rollout half-way: the journal,
        // not this display, is what a resumed run relies on.
        let _ = writeln!(self.out, "{stamp} {line}");
        let _ = self.out.flush();
    }

    /// The line for a progress message, if one is due: the message when it
    /// changed, a heartbeat when it did not for [`HEARTBEAT`].
    fn progress_line(
        &mut self,
        at: SystemTime,
        server: &str,
        step: StepId,
        message: &str,
    ) -> Option<String> {
        let shown = self
            .running
            .entry(server.to_string())
            .or_insert_with(|| Shown {
                step,
                started: at,
                message: None,
                printed: at,
            });
        if shown.step != step {
            *shown = Shown {
                step,
                started: at,
                message: None,
                printed: at,
            };
        }
        if shown.message.as_deref() != Some(message) {
            shown.message = Some(message.to_string());
            shown.printed = at;
            return Some(format!(
                "{} {step}: {}",
                one_line(server),
                one_line(message)
            ));
        }
        let quiet = at.duration_since(shown.printed).unwrap_or_default();
        if quiet < HEARTBEAT {
            return None;
        }
        shown.printed = at;
        let running = at.duration_since(shown.started).unwrap_or_default();
        Some(format!(
            "{} {step}: still running after {}: {}",
            one_line(server),
            format_duration(running),
            one_line(message)
        ))
    }
}

impl Progress for PlainProgress {
    fn event(&mut self, event: &RunEvent) {
        let at = (self.now)();
        match event {
            RunEvent::StepProgress {
                server,
                step,
                message,
            } => {
                if let Some(line) = self.progress_line(at, server, *step, message) {
                    self.print(at, &line);
                }
                return;
            }
            RunEvent::StepStarted { server, step } => {
                self.running.insert(
                    server.clone(),
                    Shown {
                        step: *step,
                        started: at,
                        message: None,
                        printed: at,
                    },
                );
            }
            RunEvent::StepFinished { server, .. }
            | RunEvent::StepFailed { server, .. }
            | RunEvent::ServerFinished { server, .. } => {
                self.running.remove(server);
            }
            _ => {}
        }
        self.print(at, &event_line(event));
    }
}
