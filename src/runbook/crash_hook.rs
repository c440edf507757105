//! TEST-ONLY crash hook: with `CU_ROLL_TEST_CRASH_AFTER_CHANGE=N` in the
//! environment, the process aborts (SIGABRT, no clean-up, like a SIGKILL
//! or a power cut) right after the N-th change command of the process
//! returned from the server and before its `changed` record is written:
//! the exact boundary a write-ahead intent protects. The crash harness
//! (`tests/it/crash_harness.rs`) uses it to kill a rollout at every change
//! boundary. Nothing in production sets it; it is read once per process
//! and costs one atomic increment per change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable, documented in docs/reliability.md as test-only.
pub const CRASH_AFTER_CHANGE: &str = "CU_ROLL_TEST_CRASH_AFTER_CHANGE";

static SENT: AtomicU64 = AtomicU64::new(0);

fn limit() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var(CRASH_AFTER_CHANGE)
            .ok()
            .and_then(|v| v.trim().parse().ok())
    })
}

/// Called right after a change command succeeded, before it is journaled.
pub fn after_change() {
    let Some(n) = limit() else { return };
    if SENT.fetch_add(1, Ordering::SeqCst) + 1 == n {
        eprintln!("cu-roll: {CRASH_AFTER_CHANGE}={n}: aborting after change {n} (test hook)");
        std::process::abort();
    }
}
