//! What the journal says about a rollout so far, as the scheduler needs it
//! to resume: which steps finished, which servers are done, what cu-roll
//! changed on each server, the order chosen when the rollout began, and
//! the plan's fingerprint then.
//!
//! Write-ahead intents: an `intent` record whose `changed` records never
//! came (a crash between the command and its record, or a torn tail) is
//! adopted as cu-roll's own change on resume, unless it would have put
//! something back in service (the observation shows whether it did). An
//! intent followed by `step-failed` was refused by the server and is
//! dropped. The first intent's `before` is the server's baseline.

use std::collections::{HashMap, HashSet};

use crate::journal::{Baseline, Change, Entry, PlanFingerprint, Record};

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
    /// True when any change was ever recorded (or intended).
    pub any_change: bool,
    /// Per server (upper-cased), what it looked like before cu-roll's
    /// maintenance: the `before` of its first intent.
    pub baselines: HashMap<String, Baseline>,
    /// Per server (upper-cased), intended changes whose outcome the
    /// journal does not hold (adopted into `changes` when they take a
    /// server out of service).
    pub in_flight: HashMap<String, Vec<Change>>,
    /// (server, step) of every `reboot-requested` journaled.
    pub reboots_requested: HashSet<(String, String)>,
    /// The `--only` and `--exclude` of the last run (both empty: every
    /// server), which a resumed run keeps unless told otherwise.
    pub only: Vec<String>,
    pub exclude: Vec<String>,
}

impl JournalState {
    pub fn from_entries(entries: &[Entry]) -> JournalState {
        let mut s = JournalState::default();
        for e in entries {
            match &e.record {
                Record::RunStarted {
                    plan,
                    order,
                    only,
                    exclude,
                    ..
                } => {
                    if s.fingerprint.is_none() {
                        s.fingerprint = Some(plan.clone());
                        s.order.clone_from(order);
                    }
                    s.only.clone_from(only);
                    s.exclude.clone_from(exclude);
                    s.finished_ok = false;
                }
                Record::StepStarted { server, .. } => {
                    s.servers_started.insert(server.to_ascii_uppercase());
                }
                Record::Intent {
                    server,
                    changes,
                    before,
                    ..
                } => {
                    let key = server.to_ascii_uppercase();
                    s.any_change = true;
                    s.adopt_in_flight(&key);
                    if let Some(b) = before {
                        s.baselines.entry(key.clone()).or_insert_with(|| b.clone());
                    }
                    s.in_flight.insert(key, changes.clone());
                }
                Record::Changed { server, change, .. } => {
                    let key = server.to_ascii_uppercase();
                    s.any_change = true;
                    if let Some(pending) = s.in_flight.get_mut(&key) {
                        if let Some(i) = pending.iter().position(|c| c == change) {
                            pending.remove(i);
                        }
                    }
                    if let Change::RebootRequested { step, .. } = change {
                        s.reboots_requested.insert((key.clone(), step.clone()));
                    }
                    s.changes.entry(key).or_default().push(change.clone());
                }
                Record::StepFailed { server, .. } => {
                    // The server refused the command (or a later check
                    // failed after its outcome was journaled).
                    s.in_flight.remove(&server.to_ascii_uppercase());
                }
                Record::StepDone { server, step, .. } => {
                    s.steps_done
                        .insert((server.to_ascii_uppercase(), step.clone()));
                }
                Record::ServerDone { server } | Record::ServerSkipped { server, .. } => {
                    s.servers_done.insert(server.to_ascii_uppercase());
                }
                Record::RunFinished { outcome } => s.finished_ok = outcome == "done",
                Record::Observed { .. } => {}
            }
        }
        let servers: Vec<String> = s.in_flight.keys().cloned().collect();
        for key in servers {
            s.adopt_in_flight(&key);
        }
        s
    }

    /// Adopts what `server`'s last intent would have changed, as far as it
    /// takes the server out of service, and keeps the rest listed as in
    /// flight (for `status` and the report).
    fn adopt_in_flight(&mut self, key: &str) {
        let Some(pending) = self.in_flight.get(key) else {
            return;
        };
        let adopted: Vec<Change> = pending
            .iter()
            .filter(|c| !c.restores_service())
            .cloned()
            .collect();
        if pending.is_empty() {
            self.in_flight.remove(key);
        }
        self.changes
            .entry(key.to_string())
            .or_default()
            .extend(adopted);
    }

    /// What `server` looked like before cu-roll's maintenance, if journaled.
    pub fn baseline(&self, server: &str) -> Option<Baseline> {
        self.baselines.get(&server.to_ascii_uppercase()).cloned()
    }

    /// Whether cu-roll journaled a reboot for `step` on `server`.
    pub fn reboot_requested(&self, server: &str, step: &str) -> bool {
        self.reboots_requested
            .contains(&(server.to_ascii_uppercase(), step.to_string()))
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
