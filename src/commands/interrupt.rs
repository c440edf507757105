//! Ctrl-C and SIGTERM (and SIGHUP) for `run`, through the `ctrlc` crate.
//! The first asks the rollout to stop at its next safe point and says so;
//! the second ends the process at once, between two journal records, with
//! exit 5. What still runs on a server (setup, a restart) is never stopped:
//! the run's last message names it. Only `run` installs this: every other
//! command changes nothing on a server and may die where it stands.
//!
//! Windows: Ctrl-C and Ctrl-Break arrive here. Closing the console does
//! not get its safe stop: `ctrlc` returns from the console handler at once
//! and Windows then ends the process (Detegr/rust-ctrlc#122); the OS lock
//! dies with it and the journal is whole up to its last synced record, so
//! the next run resumes as after a crash.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::exit;

/// Installs the handler; the flag it sets on the first signal. A handler
/// that cannot be installed leaves the default (the process dies at once,
/// as after a crash) and says so.
pub fn install() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = AtomicUsize::new(0);
    let set = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            set.store(true, Ordering::SeqCst);
            eprintln!(
                "\ncu-roll: interrupted: stopping at the next safe point (before the next step, or in the current step's next wait). \
                 Whatever already runs on a server (setup, a restart) goes on there. Press Ctrl-C again to stop at once."
            );
        } else {
            eprintln!(
                "\ncu-roll: stopping at once. The journal is whole; anything started on a server goes on there. Run the same command again to resume."
            );
            crate::journal::exit_between_appends(exit::INTERRUPTED);
        }
    });
    if let Err(e) = installed {
        eprintln!("cu-roll: warning: Ctrl-C cannot be caught ({e}); it ends cu-roll at once, and the next run resumes");
    }
    flag
}
