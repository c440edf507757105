//! The live display when stderr is not a terminal (a CI log, `2>run.log`,
//! a scheduled task): one stamped, greppable line per event.
//!
//! Shows events only; a write that fails is ignored, because the journal,
//! not this display, is what a resumed run relies on.

use std::io::Write;
use std::time::SystemTime;

use super::event_line;
use crate::runbook::{Progress, RunEvent};

/// Wall-clock source for the plain display's timestamps (injectable so
/// tests get stable lines).
pub type WallClock = Box<dyn Fn() -> SystemTime + Send>;

/// One line per event, each prefixed with its UTC time to the second:
/// `2026-11-27T10:00:03Z EX02 setup started`. Stable and greppable.
pub struct PlainProgress {
    out: Box<dyn Write + Send>,
    now: WallClock,
}

impl PlainProgress {
    /// Writes to `out` with the system clock.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self::with_clock(out, Box::new(SystemTime::now))
    }

    pub fn with_clock(out: Box<dyn Write + Send>, now: WallClock) -> Self {
        PlainProgress { out, now }
    }
}

impl Progress for PlainProgress {
    fn event(&mut self, event: &RunEvent) {
        let stamp = humantime::format_rfc3339_seconds((self.now)());
        // A closed stderr must not stop a rollout half-way: the journal,
        // not this display, is what a resumed run relies on.
        let _ = writeln!(self.out, "{stamp} {}", event_line(event));
        let _ = self.out.flush();
    }
}
