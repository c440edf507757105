//! Ctrl-C and SIGTERM (and SIGHUP) for `run`, through the `ctrlc` crate.
//! The first sets the runtime's cancellation (`runtime::Cancel::process`):
//! the rollout stops at its next safe point, a wait ends at once, and a
//! command whose answer the transport is waiting for is given up and
//! terminated (docs/winrm.md, "Cancellation"); it says so. The second ends
//! the process at once, between two journal records, with exit 5. What
//! runs detached on a server (setup, an SU, a restart) is never stopped:
//! the run's last message names it. Only `run` installs this: every other
//! command changes nothing on a server and may die where it stands.
//!
//! Windows: Ctrl-C and Ctrl-Break arrive here. Closing the console does
//! not get its safe stop: `ctrlc` returns from the console handler at once
//! and Windows then ends the process (Detegr/rust-ctrlc#122); the OS lock
//! dies with it and the journal is whole up to its last synced record, so
//! the next run resumes as after a crash.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::exit;
use crate::runtime::Cancel;

/// Installs the handler; the cancellation it sets on the first signal. A
/// handler that cannot be installed leaves the default (the process dies
/// at once, as after a crash) and says so.
pub fn install() -> Cancel {
    let cancel = Cancel::process();
    let seen = AtomicUsize::new(0);
    let set = cancel.clone();
    let installed = ctrlc::set_handler(move || {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "\ncu-roll: interrupted: stopping at the next safe point (before the next step, in the current step's next wait, or now if it waits for a command's answer). \
                 Whatever already runs detached on a server (setup, a restart) goes on there. Press Ctrl-C again to stop at once."
            );
            set.cancel();
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
    cancel
}
