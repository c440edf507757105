//! The operator's interrupt as the scheduler sees it: a shared flag the
//! command layer sets on Ctrl-C or SIGTERM, and the system clock that
//! reports it to waits and ends a sleep early when it is set. Where a run
//! may stop (between steps, in a wait) is the runner's and the step's
//! business; catching the signal is the command layer's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runbook::Clock;

/// How long a sleep goes on after the flag is set, at most.
const SLICE: Duration = Duration::from_millis(100);

/// How far a wall clock runs ahead of the system's (ms), asked afresh.
pub type WallOffset = Box<dyn Fn() -> i64 + Send + Sync>;

/// The system clock, interruptible through `flag`; its wall clock may run
/// ahead of the system's (the lab's, moved by `cu-roll lab advance`).
pub struct InterruptibleClock {
    flag: Arc<AtomicBool>,
    offset: Option<WallOffset>,
}

impl InterruptibleClock {
    pub fn new(flag: Arc<AtomicBool>) -> Self {
        InterruptibleClock { flag, offset: None }
    }

    /// The same clock, its wall time `offset()` ms ahead of the system's.
    pub fn with_wall_offset(mut self, offset: Option<WallOffset>) -> Self {
        self.offset = offset;
        self
    }
}

impl Clock for InterruptibleClock {
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.interrupted() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(SLICE));
        }
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    fn wall_ms(&self) -> i64 {
        let ahead = self.offset.as_ref().map_or(0, |f| f());
        crate::runbook::system_wall_ms().saturating_add(ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_soon_after_the_interrupt() {
        let flag = Arc::new(AtomicBool::new(false));
        let clock = InterruptibleClock::new(flag.clone());
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(true, Ordering::SeqCst);
        });
        let start = Instant::now();
        clock.sleep(Duration::from_secs(30));
        setter.join().unwrap();
        assert!(clock.interrupted());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
}
