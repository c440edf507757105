//! The final check of a run that would end "done" (issue 11): it may say
//! "every server is at the target" (exit 0) only once every server is
//! observed at the target and, where cu-roll took it out of service, back
//! as its baseline says (`assess::service`). Otherwise the run fails at
//! the first server that is not, journaled as an `observed` record at its
//! `health` step, naming what differs. Observes (PowerShell, once per
//! server; no installer of cu-roll's runs by then); decides nothing else.

use super::events::Recorder;
use super::RolloutOutcome;
use crate::exchange::{self, Reach};
use crate::journal::Record;
use crate::plan::{ResolvedTarget, Server};
use crate::runbook::{JournalState, StepId};

/// `None` when every server passes; the run's failure otherwise.
pub(super) fn check(
    target: &ResolvedTarget,
    reach: &Reach<'_>,
    ordered: &[&Server],
    state: &JournalState,
    recorder: &Recorder<'_>,
) -> Option<RolloutOutcome> {
    for server in ordered {
        let before = state
            .baseline(&server.name)
            .or_else(|| recorder.baseline_this_run(&server.name));
        let mut problems = Vec::new();
        // A server cu-roll never took out of service that cannot be read
        // now was judged when it was skipped or rolled.
        match exchange::server_facts(reach, server).map(|f| f.build()) {
            Ok(Some(b)) if b >= target.build() => {}
            Ok(Some(b)) => {
                problems.push(format!("it runs {b}, below the target {}", target.build()))
            }
            Ok(None) => problems.push("its Exchange build cannot be read".into()),
            Err(e) if before.is_some() => problems.push(format!("it cannot be observed: {e}")),
            Err(_) => {}
        }
        if let Some(b) = before {
            match exchange::exchange_state(reach, server) {
                Ok(now) => problems.extend(crate::assess::service::not_as_before(&now, &b)),
                Err(e) => problems.push(format!("its state cannot be observed: {e}")),
            }
        }
        if problems.is_empty() {
            continue;
        }
        let error = format!(
            "the final check observed {} not at the target and back in service as before cu-roll: {}",
            server.name,
            problems.join("; ")
        );
        let _ = recorder.append(Record::Observed {
            server: server.name.clone(),
            step: StepId::Health.id().into(),
            what: error.clone(),
        });
        return Some(RolloutOutcome::StepFailed {
            server: server.name.clone(),
            step: StepId::Health,
            error,
        });
    }
    None
}
