//! `run --only NAME… / --exclude NAME… / --all`: which servers this run
//! rolls, checked against the plan, and how a resumed run carries the
//! journaled selection over: kept when the command line names none (said
//! so), replaced when it names one (what changed is said), and never one
//! that leaves out a server part-way through its roll. What the selection
//! means for the rollout is the scheduler's (`runbook::schedule`).

use crate::cli::RunFlags;
use crate::error::Error;
use crate::plan::{Plan, Selection};
use crate::runbook::JournalState;

/// The selection the command line asks for (checked before the lock is
/// taken or the journal opened).
pub(super) fn given(plan: &Plan, flags: &RunFlags) -> Result<Selection, Error> {
    Selection::resolve(plan, &flags.only, &flags.exclude).map_err(|e| Error::Usage(e.to_string()))
}

/// The selection this run uses, given what its command line asked for
/// (`given`) and the journal so far.
pub(super) fn choose(
    plan: &Plan,
    given: Selection,
    flags: &RunFlags,
    prior: &JournalState,
) -> Result<Selection, Error> {
    if prior.fingerprint.is_none() {
        return Ok(given);
    }
    let journaled = Selection {
        only: prior.only.clone(),
        exclude: prior.exclude.clone(),
    };
    let chosen = if flags.all {
        Selection::all()
    } else if given.is_all() {
        if !journaled.is_all() {
            eprintln!(
                "cu-roll: this rollout's last run rolled {}; this run keeps that (--only/--exclude choose others, --all rolls every server)",
                journaled.describe()
            );
        }
        journaled.clone()
    } else {
        given
    };
    if chosen != journaled {
        eprintln!(
            "cu-roll: the selection changed since this rollout's last run: it rolled {}, this run rolls {}",
            journaled.describe(),
            chosen.describe()
        );
    }
    let half_way: Vec<&str> = plan
        .servers
        .iter()
        .filter(|s| prior.server_in_progress(&s.name) && !chosen.includes(&s.name))
        .map(|s| s.name.as_str())
        .collect();
    if !half_way.is_empty() {
        return Err(Error::Usage(format!(
            "{} left out by {}, but {} part-way through its roll in this rollout (cu-roll may hold it out of service); finish it first: run again without leaving it out",
            half_way.join(", "),
            chosen.describe(),
            if half_way.len() == 1 { "it is" } else { "they are" }
        )));
    }
    Ok(chosen)
}
