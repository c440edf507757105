//! What the journal says about a rollout so far, as the scheduler needs it
//! to resume: which steps finished, which servers are done, what cu-roll
//! changed on each server, the order chosen when the rollout began, and
//! the plan's fingerprint then.

use std::collections::{HashMap, HashSet};

use crate::journal::{Change, Entry, PlanFingerprint, Record};

#[derive(Debug, Default, Clone)]
pub struct JournalState {
    /// The fingerprint of the first run of this rollout.
    pub fingerprint: Option<PlanFingerprint>,
    /// The server order chosen by the first run.
    pub order: Vec<String>,
    /// (server, step) pairs that finished.
    pub steps_done: HashSet<(String, String)>,
    pub servers_done: HashSet<String>,
    /// Servers with at least one step started and not yet done.
    pub servers_started: HashSet<String>,
    /// Changes cu-roll made, per server (upper-cased name), in order.
    pub changes: HashMap<String, Vec<Change>>,
    /// True when the last run of this journal finished the whole rollout.
    pub finished_ok: bool,
    /// True when any change was ever recorded.
    pub any_change: bool,
}

impl JournalState {
    pub fn from_entries(entries: &[Entry]) -> JournalState {
        let mut s = JournalState::default();
        for e in entries {
            match &e.record {
                Record::RunStarted { plan, order, .. } => {
                    if s.fingerprint.is_none() {
                        s.fingerprint = Some(plan.clone());
                        s.order.clone_from(order);
                    }
                    s.finished_ok = false;
                }
                Record::StepStarted { server, .. } => {
                    s.servers_started.insert(server.to_ascii_uppercase());
                }
                Record::Changed { server, change, .. } => {
                    s.any_change = true;
                    s.changes
                        .entry(server.to_ascii_uppercase())
                        .or_default()
                        .push(change.clone());
                }
                Record::StepDone { server, step, .. } => {
                    s.steps_done
                        .insert((server.to_ascii_uppercase(), step.clone()));
                }
                Record::ServerDone { server } | Record::ServerSkipped { server, .. } => {
                    s.servers_done.insert(server.to_ascii_uppercase());
                }
                Record::RunFinished { outcome } => s.finished_ok = outcome == "done",
                Record::Observed { .. } | Record::StepFailed { .. } => {}
            }
        }
        s
    }

    pub fn step_done(&self, server: &str, step: &str) -> bool {
        self.steps_done
            .contains(&(server.to_ascii_uppercase(), step.to_string()))
    }

    pub fn server_done(&self, server: &str) -> bool {
        self.servers_done.contains(&server.to_ascii_uppercase())
    }

    /// Started and not done: the server may be in maintenance by cu-roll.
    pub fn server_in_progress(&self, server: &str) -> bool {
        let s = server.to_ascii_uppercase();
        self.servers_started.contains(&s) && !self.servers_done.contains(&s)
    }

    pub fn changes_for(&self, server: &str) -> Vec<Change> {
        self.changes
            .get(&server.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default()
    }
}
