//! `cu-roll lab advance PLAN DURATION`: moves the lab's clock forward by
//! DURATION (the offset lives beside the world, in the state directory), so
//! a test passes a fault's `hold` without sleeping through it. It only
//! reaches the lab through `Lab::advance`; it changes nothing else.

use std::path::Path;
use std::time::Duration;

use crate::error::Error;

/// Advances the lab of `spec` in `state` by `by` and says so on stderr.
pub(super) fn run(
    state: &Path,
    spec: &::lab::LabSpec,
    dag: &str,
    by: Duration,
) -> Result<(), Error> {
    let lab = ::lab::Lab::open(state, spec, dag)?;
    let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    let offset = lab.advance(by_ms)?;
    let ahead = Duration::from_millis(u64::try_from(offset).unwrap_or(0));
    eprintln!(
        "lab clock advanced by {} (now {} ahead of the wall clock; state in {})",
        humantime::format_duration(by),
        humantime::format_duration(ahead),
        state.display()
    );
    Ok(())
}
