//! Shadow redundancy before the long outage (review real-exchange.md #14),
//! for `enter-maintenance` once the queues are drained: each other member
//! gets a heartbeat on its shadow queue for this server, and cu-roll waits
//! until no member holds shadow copies of this server's mail, as
//! ExchangeDsc's TransportMaintenance.psm1 `Drain-DiscardEvents` does
//! (`Retry-Queue -Server <member> -Filter "{DeliveryType -eq
//! 'ShadowRedundancy' -and NextHopDomain -like '<primary>*'}"`, then
//! `Wait-EmptyDiscards` with a two-minute no-progress timeout, after which
//! it logs "Transport service is going to Maintenance with N unacknowledged
//! discard events" and goes on). It is not part of Microsoft's documented
//! procedure (manage-dags), so what remains is reported, never fatal. It
//! journals nothing: a heartbeat changes nothing cu-roll would undo.

use std::time::Duration;

use crate::exchange::act;
use crate::exchange::observe::{read_shadow_messages, ShadowHeld};
use crate::runbook::{StepContext, StepError, StepErrorKind};

/// ExchangeDsc's `Wait-EmptyDiscards -NoProgressTimeout (New-TimeSpan
/// -Minutes 2)`; cu-roll waits that long in all.
const WAIT: Duration = Duration::from_secs(120);

/// Sends the heartbeats (one call for every other member, as ExchangeDsc's
/// one loop does) and waits for the members' shadow queues for this server
/// to empty (one call per poll for all of them); reports what is left
/// after [`WAIT`].
pub(super) fn flush(ctx: &mut StepContext<'_>) -> Result<(), StepError> {
    let fqdn = ctx.server.fqdn.clone();
    let peers: Vec<String> = ctx.peers.iter().map(|p| p.name.clone()).collect();
    if peers.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = peers.iter().map(String::as_str).collect();
    let action = act::shadow_heartbeat(&names, &fqdn);
    ctx.events.progress(action.op.script.purpose);
    // ExchangeDsc sends it with -ErrorAction SilentlyContinue: a failure is
    // said, never fatal.
    let out = ctx.run_ps(&action.op)?;
    let failed = if out.success() {
        failures(&out.stdout)
    } else {
        vec![crate::exchange::first_error_line(&out.stderr)]
    };
    if !failed.is_empty() {
        ctx.events
            .progress(&format!("Retry-Queue failed: {}", failed.join("; ")));
    }
    let read = read_shadow_messages(&names, &fqdn);
    let mut held = Vec::new();
    let waited = ctx.wait_until(
        "waiting for the members to drop their shadow copies",
        WAIT,
        |ctx| {
            let counts: Vec<ShadowHeld> =
                crate::exchange::query_list(&ctx.exchange, ctx.server, &read)?;
            held = counts
                .iter()
                .filter(|c| c.messages > 0)
                .map(|c| format!("{} {}", c.server, c.messages))
                .collect();
            Ok(held.is_empty().then_some(()))
        },
    );
    match waited {
        Ok(()) => Ok(()),
        Err(e) if e.kind == StepErrorKind::Interrupted => Err(e),
        Err(_) => ctx.events.observed(format!(
            "shadow-redundancy copies of {}'s mail still held after {} ({}): the members resubmit them if the outage outlasts their ShadowResubmitTimeSpan (ExchangeDsc goes on the same way)",
            ctx.server.name,
            humantime::format_duration(WAIT),
            held.join(", ")
        )),
    }
}

/// The members whose Retry-Queue failed, from the heartbeat's JSON array
/// (nothing printed: none; 5.1 prints a one-element array as its element).
fn failures(stdout: &str) -> Vec<String> {
    match crate::ps::parse_json::<serde_json::Value>(stdout) {
        Ok(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Ok(serde_json::Value::String(one)) => vec![one],
        _ => Vec::new(),
    }
}
