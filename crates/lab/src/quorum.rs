//! The DAG's quorum and file share witness as the lab models them, and the
//! lag of lagged copies: what `Get-DatabaseAvailabilityGroup -Status`
//! (`WitnessShareInUse`) and `Test-ReplicationHealth` (`QuorumGroup`,
//! `FileShareQuorum`) report, and whether the cluster still has a majority
//! of votes, per DAG (each DAG is a cluster of its own; `dags.rs`). Pure
//! questions over the world; nothing here changes it.
//!
//! Sources: Microsoft Learn, "Database availability groups" (Exchange
//! Server), section on quorum: a DAG with an even number of members uses
//! the cluster's Node and File Share Majority model (the witness votes), a
//! DAG with an odd number uses Node Majority; Exchange sets the model as
//! members are added or removed. The members counted are the DAG's
//! `Servers` minus its `StoppedMailboxServers` (the lab stops none).
//! UNVERIFIED: what `WitnessShareInUse` shows while the witness cannot be
//! reached (the lab says `InvalidConfiguration`), and that `FileShareQuorum`
//! only fails while the witness votes.

use crate::model::NodeState;
use crate::world::World;

/// `[lab] witness_reachable` when a saved world predates it.
pub fn reachable_by_default() -> bool {
    true
}

/// Logs a lagged copy holds inspected but not replayed: 20 an hour of lag
/// (an invented, steady log rate: the lab has no mail flow to measure).
pub fn lagged_logs(lag_ms: i64) -> i64 {
    if lag_ms <= 0 {
        0
    } else {
        (lag_ms / 3_600_000).max(1) * 20
    }
}

/// `ReplayLagTime` as `EnhancedTimeSpan.ToString()` writes it: `7.00:00:00`,
/// `12:00:00` (days only when there are some).
pub fn lag_text(lag_ms: i64) -> String {
    let secs = lag_ms / 1000;
    let (d, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

impl World {
    /// Members of `dag` that count for quorum: `Servers` minus `StoppedMailboxServers`.
    pub fn quorum_members(&self, dag: &str) -> usize {
        self.members(dag).len()
    }

    /// Whether `dag`'s file share witness votes (an even number of members).
    pub fn witness_in_use(&self, dag: &str) -> bool {
        self.quorum_members(dag) % 2 == 0
    }

    /// `WitnessShareInUse`: `Primary` while the witness votes and answers,
    /// `None` under Node Majority, `InvalidConfiguration` (UNVERIFIED) while
    /// it votes but cannot be reached.
    pub fn witness_share_in_use(&self, dag: &str) -> &'static str {
        match (self.witness_in_use(dag), self.witness_reachable) {
            (false, _) => "None",
            (true, true) => "Primary",
            (true, false) => "InvalidConfiguration",
        }
    }

    /// Whether the witness votes but cannot be reached.
    pub fn witness_failed(&self, dag: &str) -> bool {
        self.witness_in_use(dag) && !self.witness_reachable
    }

    /// Whether the cluster has a majority of its votes: every member whose
    /// cluster service runs (Up or Paused, not rebooting) and the witness
    /// when it votes and answers.
    pub fn has_quorum(&self, dag: &str) -> bool {
        let witness = usize::from(self.witness_in_use(dag));
        let total = self.quorum_members(dag) + witness;
        let up = self
            .members(dag)
            .into_iter()
            .map(|i| &self.servers[i])
            .filter(|s| s.cluster_node.state != NodeState::Down && !s.is_down())
            .count()
            + usize::from(self.witness_in_use(dag) && self.witness_reachable);
        2 * up > total
    }
}
