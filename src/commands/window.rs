//! Which wall clock the maintenance window (`[policy] not_after`) is judged
//! by: the system's, or with the lab transport the lab's (the system's plus
//! the offset `cu-roll lab advance` keeps in the state directory), so a
//! test moves the window's "now" without waiting. Only reads the offset;
//! the window's rule is the scheduler's (`runbook::schedule`).

use std::path::Path;

use crate::plan::{Plan, Transport};
use crate::runbook::schedule::WallOffset;

/// The lab's clock offset, read afresh at each call (a `lab advance` during
/// a run counts), for a plan with the lab transport; none otherwise. An
/// unreadable clock file counts as no offset: the lab itself refuses to run
/// a script with it, which stops the run with that error.
pub(super) fn lab_wall_offset(plan: &Plan, state: &Path) -> Option<WallOffset> {
    if plan.connection.transport != Transport::Lab {
        return None;
    }
    let state = state.to_path_buf();
    Some(Box::new(move || {
        ::lab::clock_offset_ms(&state).unwrap_or(0)
    }))
}
