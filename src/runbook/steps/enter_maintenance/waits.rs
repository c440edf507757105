//! The waits of `enter-maintenance` (runbook §2.4, §2.8): handing queued
//! mail to a peer once Get-Queue answers after the transport restart,
//! waiting until no copy is mounted here (with one explicit
//! Move-ActiveMailboxDatabase at half the limit), and waiting until the
//! queues are empty. Each journals what it changed; a timeout says what is
//! left on the server. Which actions the step sends, and in what order,
//! is `enter_maintenance`'s business, not this module's.

use crate::exchange::act::{self, MoveResultObs};
use crate::journal::Change;
use crate::runbook::{StepContext, StepError};

use super::super::undo::left_on;
use super::{mounted_copies, redirect_target};

/// Runbook §2.4 after the transport restart: waits until Get-Queue answers
/// on the server (its bootloader is ready: ExchangeDsc waits for it before
/// any queue call, DSC_ExchMaintenanceMode.psm1 "If we're checking queues
/// too soon after restarting Transport, Get-Queue may fail. Wait for
/// bootloader"), then sends Redirect-Message to a member in service,
/// choosing it again and retrying while it fails, within timeouts.drain
/// (review real-exchange.md #5). The intent is journaled once, before the
/// first attempt; the change once one succeeded.
pub(super) fn redirect_when_ready(
    ctx: &mut StepContext<'_>,
    made: &mut Vec<Change>,
) -> Result<(), StepError> {
    redirect_when_ready_to(ctx, made, redirect_target)
}

/// [`redirect_when_ready`] with the target chosen by `choose` (a server in
/// no DAG hands its mail to the plan's `redirect_to` or another Mailbox
/// server: `standalone`).
pub(in crate::runbook::steps) fn redirect_when_ready_to(
    ctx: &mut StepContext<'_>,
    made: &mut Vec<Change>,
    mut choose: impl FnMut(&mut StepContext<'_>) -> Result<String, StepError>,
) -> Result<(), StepError> {
    let mut last = String::new();
    let mut intended = false;
    let timeout = ctx.plan.policy.timeouts.drain;
    let done = ctx.wait_until("redirecting queued mail", timeout, |ctx| {
        // Not said while it lasts (seconds, and how many polls varies):
        // a timeout quotes it.
        if let Some(e) = ctx.exchange_state()?.queues_error {
            last = format!("Get-Queue does not answer yet: {e}");
            return Ok(None);
        }
        let target = choose(ctx)?;
        let action = act::redirect_messages(&ctx.server.name, &target);
        if !intended {
            ctx.events.progress(action.op.script.purpose);
            ctx.intend(&action.changes)?;
            intended = true;
        }
        let out = ctx.run_ps(&action.op)?;
        if !out.success() {
            last = format!(
                "Redirect-Message to {target} failed: {}",
                crate::exchange::first_error_line(&out.stderr)
            );
            ctx.events.progress(&format!("{last} (retrying)"));
            return Ok(None);
        }
        Ok(Some(action.changes))
    });
    let changes = done.map_err(|e| {
        e.with_context(&format!(
            "Last: {last}. The server is drained but its queued mail was not handed over. {}",
            left_on(ctx, made)
        ))
    })?;
    crate::runbook::crash_hook::after_change();
    for change in changes {
        ctx.events.changed(change.clone())?;
        made.push(change);
    }
    Ok(())
}

/// What a timeout leaves, for its message.
fn timeout_context(ctx: &StepContext<'_>, made: &[Change]) -> String {
    format!(
        "The server stays drained and blocked, which is safe: its databases are served by the other members. {}",
        left_on(ctx, made)
    )
}

/// Runbook §2.8: waits until nothing is mounted here. When Active Manager
/// has not moved everything by half the limit, asks once explicitly and
/// reports what each database did. True when it asked.
pub(super) fn wait_copies_moved(
    ctx: &mut StepContext<'_>,
    made: &[Change],
) -> Result<bool, StepError> {
    let timeout = ctx.plan.policy.timeouts.move_databases;
    let start = ctx.clock.now();
    let mut move_results: Option<String> = None;
    let mut still_mounted = Vec::new();
    let waited = ctx.wait_until("moving every active database copy off", timeout, |ctx| {
        still_mounted = mounted_copies(&ctx.exchange_state()?);
        if still_mounted.is_empty() {
            return Ok(Some(()));
        }
        ctx.events.progress(&format!(
            "waiting for {} to move off ({})",
            still_mounted.join(", "),
            ctx.server.name
        ));
        if move_results.is_none() && ctx.clock.now().duration_since(start) >= timeout / 2 {
            move_results = Some(explicit_move(ctx)?);
        }
        Ok(None)
    });
    if let Err(e) = waited {
        let mut extra = format!(
            "Still mounted on {}: {}.",
            ctx.server.name,
            still_mounted.join(", ")
        );
        if let Some(r) = &move_results {
            extra.push_str(&format!(" Move-ActiveMailboxDatabase said: {r}."));
        }
        extra.push(' ');
        extra.push_str(&timeout_context(ctx, made));
        return Err(e.with_context(&extra));
    }
    Ok(move_results.is_some())
}

/// Sends `MOVE_ACTIVE_DATABASES` and reports each database's result; a
/// failure of the command itself is reported, not fatal: the wait goes on.
fn explicit_move(ctx: &mut StepContext<'_>) -> Result<String, StepError> {
    let action = act::move_active_databases(&ctx.server.name);
    ctx.events.progress(action.op.script.purpose);
    let results =
        crate::exchange::query_list::<MoveResultObs>(&ctx.exchange, ctx.server, &action.op);
    let summary = match results {
        Ok(results) if results.is_empty() => "no database moved".to_string(),
        Ok(results) => results
            .iter()
            .map(|r| {
                let mut s = format!("{} {}", r.identity, r.status);
                if let Some(to) = r.active_server_at_end.as_deref().filter(|t| !t.is_empty()) {
                    s.push_str(&format!(" (active on {to})"));
                }
                if let Some(e) = r.error_message.as_deref().filter(|e| !e.is_empty()) {
                    s.push_str(&format!(": {e}"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("the command failed: {e}"),
    };
    ctx.events.observed(format!(
        "copies still mounted after half of timeouts.move_databases; Move-ActiveMailboxDatabase -Server {}: {summary}",
        ctx.server.name
    ))?;
    ctx.events.changed(Change::Other {
        what: format!(
            "Move-ActiveMailboxDatabase -Server {}: {summary}",
            ctx.server.name
        ),
    })?;
    Ok(summary)
}

/// Runbook §2.8: queues empty, not counting shadow redundancy and poison.
pub(in crate::runbook::steps) fn wait_drained(
    ctx: &mut StepContext<'_>,
    made: &[Change],
) -> Result<(), StepError> {
    let mut queued = 0;
    let drained = ctx.wait_until(
        "draining the transport queues",
        ctx.plan.policy.timeouts.drain,
        |ctx| {
            let s = ctx.exchange_state()?;
            queued = s.queued_messages();
            if let Some(e) = &s.queues_error {
                ctx.events.progress(&format!(
                    "Get-Queue does not answer yet on {}: {e}",
                    ctx.server.name
                ));
                return Ok(None);
            }
            if s.drained() {
                return Ok(Some(()));
            }
            ctx.events.progress(&format!(
                "{queued} messages still queued on {}",
                ctx.server.name
            ));
            Ok(None)
        },
    );
    drained.map_err(|e| {
        e.with_context(&format!(
            "{queued} messages are still queued (shadow-redundancy and poison queues not counted): check Get-Queue -Server {} for a stuck queue. {}",
            ctx.server.name,
            timeout_context(ctx, made)
        ))
    })
}
