//! The end of `exit-maintenance` for transport, after the actions: the
//! server's Submission queue must not stay Suspended (ExchangeDsc
//! `Set-TransportActive` / `Enable-SubmissionQueue`, review
//! real-exchange.md #15). Owns that check and what it reports; the
//! template is `exchange::act::transport_exit`. It never fails the step
//! over a queue it resumed; it fails when Get-Queue does not answer in
//! time or the queue stays Suspended.

use crate::exchange::act::transport_exit::{
    resume_submission_queue, SubmissionQueueCheck, SUBMISSION_QUEUE_WAIT_S,
};
use crate::exchange::same;
use crate::journal::Change;
use crate::runbook::{StepContext, StepError};

use super::undo::left_on;

/// Checks the Submission queue and resumes it when Suspended. Returns a
/// note for the step's detail when it resumed it. The resume is said in
/// the journal's observations: cu-roll did not suspend the queue (nothing
/// of cu-roll's suspends one), but a server left with it Suspended sends
/// no mail, so it is resumed as ExchangeDsc does after every transport
/// start.
pub fn submission_queue(
    ctx: &mut StepContext<'_>,
    made: &[Change],
) -> Result<Option<String>, StepError> {
    // Transport's bootloader first, waited for on cu-roll's own clock as
    // the redirect in enter-maintenance is (Get-Queue answers once it is
    // ready), so the script's own 10-second retry loop, ExchangeDsc's,
    // is a fallback that rarely runs.
    let mut last = String::new();
    let limit = std::time::Duration::from_secs(SUBMISSION_QUEUE_WAIT_S.unsigned_abs());
    ctx.wait_until("waiting for Get-Queue to answer", limit, |ctx| {
        match ctx.exchange_state()?.queues_error {
            Some(e) => {
                last = e;
                Ok(None)
            }
            None => Ok(Some(())),
        }
    })
    .map_err(|e| {
        e.with_context(&format!(
            "Last: Get-Queue does not answer yet: {last}. {}",
            left_on(ctx, made)
        ))
    })?;
    let action = resume_submission_queue(&ctx.server.name);
    let out = ctx
        .act_with_output(&action, &mut Vec::new())
        .map_err(|e| e.with_context(&left_on(ctx, made)))?;
    let check: SubmissionQueueCheck = crate::ps::parse_json(&out.stdout).map_err(|e| {
        StepError::failed(format!(
            "the Submission queue check on {} printed no status ({e}). {}",
            ctx.server.name,
            left_on(ctx, made)
        ))
    })?;
    if check.resumed {
        ctx.events.observed(format!(
            "the Submission queue of {} was Suspended after transport came back: resumed (Resume-Queue)",
            ctx.server.name
        ))?;
        return Ok(Some("resumed the Suspended Submission queue".into()));
    }
    if same(&check.status, "Suspended") {
        return Err(StepError::failed(format!(
            "the Submission queue of {} is Suspended and Resume-Queue did not resume it: no mail leaves the server (Resume-Queue -Identity '{}\\Submission'). {}",
            ctx.server.name,
            ctx.server.name,
            left_on(ctx, made)
        )));
    }
    Ok(None)
}
