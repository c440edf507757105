//! What `QUORUM` reads on one DAG member before another member leaves: its
//! quorum checks and the DAG's members and witness, typed. Judging them is
//! `assess::gate`'s business; nothing here decides or changes anything.

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{Operation, QueryError};
use super::{templates, ReplicationCheckObs};
use crate::plan::Server;
use crate::ps::Arg;

/// What `QUORUM` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuorumObs {
    /// QuorumGroup and FileShareQuorum, as Test-ReplicationHealth reports them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub checks: Vec<ReplicationCheckObs>,
    /// The DAG's `Servers` (short names).
    #[serde(default, deserialize_with = "one_or_many")]
    pub servers: Vec<String>,
    /// How many `StoppedMailboxServers` the DAG has.
    #[serde(default)]
    pub stopped_mailbox_servers: usize,
    #[serde(default)]
    pub witness_server: Option<String>,
    /// `Primary`, `Alternate`, `None` or `InvalidConfiguration`.
    #[serde(default)]
    pub witness_share_in_use: Option<String>,
}

impl QuorumObs {
    /// StartDagServerMaintenance.ps1's `$dagServers - $stoppedDagServers`.
    pub fn running_members(&self) -> usize {
        self.servers
            .len()
            .saturating_sub(self.stopped_mailbox_servers)
    }
}

/// Reads quorum as `server` sees it, with DAG `dag`'s witness (`quorum`).
pub fn read_quorum(server: &str, dag: &str) -> Operation {
    templates::QUORUM.render(
        "quorum checks and the DAG's witness",
        &[("server", Arg::Str(server)), ("dag", Arg::Str(dag))],
    )
}

pub fn quorum(reach: &Reach<'_>, server: &Server, dag: &str) -> Result<QuorumObs, QueryError> {
    query(reach, server, &read_quorum(&server.name, dag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_accepts_lone_objects() {
        let q: QuorumObs = serde_json::from_str(
            r#"{"Checks":{"Check":"QuorumGroup","Result":"Passed","Error":""},
            "Servers":["EX01","EX02","EX03","EX04"],"StoppedMailboxServers":1,
            "WitnessServer":"fs01.contoso.local","WitnessShareInUse":"Primary"}"#,
        )
        .unwrap();
        assert_eq!(q.checks.len(), 1);
        assert_eq!(q.running_members(), 3);
    }
}
