//! What the journal and the lock say about a plan, for the commands that
//! otherwise only observe the servers (`report`, `run --dry-run`): a run
//! holding the lock, servers a rollout has in progress, a change sent
//! whose outcome is not journaled. Printed on stderr, so the reports'
//! own output (and its JSON) stays as it is. Reads; never writes or locks.

use std::path::Path;

use crate::journal::{Journal, Lock};
use crate::runbook::JournalState;

/// One line per thing worth knowing, each starting `cu-roll: `.
pub fn notes(state: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = Lock::holder(state) {
        out.push(format!(
            "cu-roll: a run holds this plan's lock: {} on {} (pid {}, `cu-roll {}`) since {}; what follows is the servers as they are now, mid-rollout",
            h.owner, h.host, h.pid, h.command, h.since
        ));
    }
    let Ok(loaded) = Journal::load(&Journal::path_in(state)) else {
        return out;
    };
    let js = JournalState::from_entries(&loaded.entries);
    if js.finished_ok {
        return out;
    }
    let mut in_progress: Vec<&String> = js
        .servers_started
        .iter()
        .filter(|s| !js.servers_done.contains(*s))
        .collect();
    in_progress.sort();
    for s in in_progress {
        out.push(format!(
            "cu-roll: the journal shows {s} in progress: cu-roll may have it in maintenance; `cu-roll run` resumes it"
        ));
    }
    let mut flight: Vec<(&String, &Vec<crate::journal::Change>)> =
        js.in_flight.iter().filter(|(_, c)| !c.is_empty()).collect();
    flight.sort_by(|a, b| a.0.cmp(b.0));
    for (s, changes) in flight {
        let kinds: Vec<String> = changes
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v["kind"].as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        out.push(format!(
            "cu-roll: on {s} a change was sent but its outcome is not journaled ({}): the next run observes it and adopts or finishes it",
            kinds.join(", ")
        ));
    }
    out
}
