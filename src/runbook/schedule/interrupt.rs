//! The operator's interrupt as the scheduler sees it: the runtime's
//! cancellation (`runtime::Cancel`) the command layer sets on Ctrl-C or
//! SIGTERM, and the system clock that reports it to waits and ends a sleep
//! the moment it is set (the sleep is on the runtime's timer, racing the
//! cancellation). Where a run may stop (between steps, in a wait) is the
//! runner's and the step's business; catching the signal is the command
//! layer's.

use std::time::{Duration, Instant};

use crate::runbook::Clock;
use crate::runtime::Cancel;

/// How far a wall clock runs ahead of the system's (ms), asked afresh.
pub type WallOffset = Box<dyn Fn() -> i64 + Send + Sync>;

/// The system clock, interruptible through `cancel`; its wall clock may
/// run ahead of the system's (the lab's, moved by `cu-roll lab advance`).
pub struct InterruptibleClock {
    cancel: Cancel,
    offset: Option<WallOffset>,
}

impl InterruptibleClock {
    pub fn new(cancel: Cancel) -> Self {
        InterruptibleClock {
            cancel,
            offset: None,
        }
    }

    /// The same clock, its wall time `offset()` ms ahead of the system's.
    pub fn with_wall_offset(mut self, offset: Option<WallOffset>) -> Self {
        self.offset = offset;
        self
    }
}

impl Clock for InterruptibleClock {
    fn sleep(&self, d: Duration) {
        self.cancel.sleep(d);
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn interrupted(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn wall_ms(&self) -> i64 {
        let ahead = self.offset.as_ref().map_or(0, |f| f());
        crate::runbook::system_wall_ms().saturating_add(ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sleep ends when the interrupt comes, not at the end of a slice
    /// (it polled every 100 ms before the runtime's timer carried it).
    #[test]
    fn a_sleep_ends_at_the_interrupt() {
        let cancel = Cancel::new();
        let clock = InterruptibleClock::new(cancel.clone());
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let at = Instant::now();
            cancel.cancel();
            at
        });
        clock.sleep(Duration::from_secs(30));
        let woke = Instant::now();
        let set_at = setter.join().unwrap();
        assert!(clock.interrupted());
        assert!(
            woke.saturating_duration_since(set_at) < Duration::from_millis(1_000),
            "{:?}",
            woke.saturating_duration_since(set_at)
        );
    }
}
