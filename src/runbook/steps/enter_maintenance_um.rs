//! Exchange 2016's Unified Messaging calls before the outage (review
//! real-exchange.md #15): UMCallRouter Draining stops new calls, but calls
//! in progress go on; `enter-maintenance` waits for them to end before the
//! server goes offline, as ExchangeDsc's maintenance mode does
//! (`DSC_ExchMaintenanceMode.psm1` `Wait-ForUMToDrain`: `Get-UMActiveCalls`
//! every 15 s, up to 5 minutes, then goes on). Calls still in progress at
//! the deadline are reported, not fatal: they are cut off when the server
//! goes offline. Owns that wait; it changes nothing. Exchange 2019 has no
//! UM: not called there.

use std::time::Duration;

use crate::exchange::observe::read_um_active_calls;
use crate::runbook::{PlannedCommand, StepContext, StepError, StepErrorKind};

/// ExchangeDsc's `Wait-ForUMToDrain` default (`$WaitMinutes = 5`).
pub const UM_DRAIN_WAIT: Duration = Duration::from_secs(5 * 60);

/// Waits up to [`UM_DRAIN_WAIT`] until no UM call is in progress on the
/// server; a count still above zero then is journaled as an observation.
pub fn wait_um_calls_ended(ctx: &mut StepContext<'_>) -> Result<(), StepError> {
    let op = read_um_active_calls(&ctx.server.name);
    let mut calls = 0_i64;
    let waited = ctx.wait_until(
        "waiting for Unified Messaging calls in progress to end",
        UM_DRAIN_WAIT,
        |ctx| {
            calls = ctx.query(&op)?;
            if calls > 0 {
                ctx.events
                    .progress(&format!("{calls} UM calls still in progress"));
            }
            Ok((calls == 0).then_some(()))
        },
    );
    match waited {
        Ok(()) => Ok(()),
        Err(e) if e.kind == StepErrorKind::Interrupted => Err(e),
        Err(_) => ctx.events.observed(format!(
            "{calls} Unified Messaging calls still in progress on {} after {}: they are cut off when the server goes offline (ExchangeDsc goes on the same way)",
            ctx.server.name,
            humantime::format_duration(UM_DRAIN_WAIT)
        )),
    }
}

/// The dry run's line (Exchange 2016 only).
pub fn planned(server: &str) -> PlannedCommand {
    PlannedCommand::ps(
        "Exchange 2016 only, after the queues are drained and before ServerWideOffline: at every poll for up to 5 minutes, UM calls still in progress (ExchangeDsc Wait-ForUMToDrain; what remains is reported, not fatal)",
        &read_um_active_calls(server),
    )
}
