//! Every member of a DAG observed in one call (`DAG_STATE`): each member's
//! `exchange_state`, its cluster node as the peer's cluster lists it, and
//! for the members asked, quorum as `quorum` reads it. The performance
//! review measured a read per member, twice per server and at every
//! redistribute poll: calls per rollout ≈ 141·N + 4.7·N². This is the one
//! builder of that read (helper B's `-DomainController` pinning goes
//! into the shared template text). Nothing here decides or changes anything.

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{ExchangeState, Operation, QueryError};
use super::{templates, ClusterNodeObs, QuorumObs, ReplicationCheckObs};
use crate::plan::Server;
use crate::ps::Arg;

/// One member as the DAG-wide read saw it.
#[derive(Debug, Clone)]
pub struct MemberObservation {
    pub name: String,
    /// The member's state (cluster node included), or why it could not be read.
    pub state: Result<ExchangeState, String>,
    /// Quorum as the member sees it, for the members it was asked of.
    pub quorum: Option<Result<QuorumObs, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DagStateObs {
    #[serde(default, deserialize_with = "one_or_many")]
    members: Vec<MemberObs>,
    /// The nodes the peer's cluster listed (lower-case names).
    #[serde(default, deserialize_with = "one_or_many")]
    cluster_nodes: Vec<String>,
    #[serde(default)]
    dag: Option<DagStatusObs>,
    #[serde(default)]
    dag_error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MemberObs {
    server: String,
    #[serde(default)]
    state: Option<ExchangeState>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    node_state: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    checks: Vec<ReplicationCheckObs>,
    #[serde(default)]
    checks_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DagStatusObs {
    #[serde(default, deserialize_with = "one_or_many")]
    servers: Vec<String>,
    #[serde(default)]
    stopped_mailbox_servers: usize,
    #[serde(default)]
    witness_server: Option<String>,
    #[serde(default)]
    witness_share_in_use: Option<String>,
}

/// The DAG-wide read of `servers`, with quorum for `quorum_of` (members of
/// DAG `dag`; `dag` is used only when `quorum_of` is not empty).
///
/// Not pinned to a domain controller (`exchange::pin`): it reads several
/// servers, each of which may have its own, through the session's.
pub fn read_dag_state(servers: &[&str], dag: &str, quorum_of: &[&str]) -> Operation {
    templates::DAG_STATE
        .render(
            "reading every DAG member's maintenance state, copies and queues",
            &[
                ("servers", Arg::List(servers)),
                ("quorum_of", Arg::List(quorum_of)),
                ("dag", Arg::Str(dag)),
            ],
        )
        .pinned(None)
}

/// Observes `members` in one call through the Exchange peer chosen for
/// `about`, with quorum as each of `quorum_of` sees it. A member whose node
/// the peer's cluster does not list (the peer is of another cluster, or
/// its cluster could not be read) has its node read on itself, as
/// `exchange_state` does. `Err` when the one call fails.
pub fn dag_state(
    reach: &Reach<'_>,
    about: &Server,
    members: &[&Server],
    quorum_of: &[&str],
) -> Result<Vec<MemberObservation>, QueryError> {
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let dag = about.dag.as_deref().unwrap_or_default();
    let obs: DagStateObs = query(reach, about, &read_dag_state(&names, dag, quorum_of))?;
    let listed = |name: &str| {
        obs.cluster_nodes
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    };
    let mut out = Vec::with_capacity(members.len());
    for member in members {
        let seen = obs
            .members
            .iter()
            .find(|m| m.server.eq_ignore_ascii_case(&member.name));
        let state = match seen {
            None => Err(format!("{} is missing from the DAG-wide read", member.name)),
            Some(MemberObs {
                error: Some(e),
                state: None,
                ..
            }) => Err(e.clone()),
            Some(MemberObs { state: None, .. }) => Err(format!(
                "{}: the DAG-wide read returned no state",
                member.name
            )),
            Some(m) => {
                let mut st = m.state.clone().expect("matched Some");
                if st
                    .database_availability_group
                    .as_deref()
                    .is_some_and(|d| !d.is_empty())
                {
                    if listed(&member.name) {
                        st.cluster_node_state = m.node_state.clone();
                    } else {
                        match query::<ClusterNodeObs>(
                            reach,
                            member,
                            &super::read_cluster_node_state(&member.name),
                        ) {
                            Ok(node) => {
                                st.cluster_node_state = node.state;
                                st.cluster_node_error = node.error;
                            }
                            Err(e) => {
                                out.push(MemberObservation {
                                    name: member.name.clone(),
                                    state: Err(e.to_string()),
                                    quorum: quorum_for(&obs, seen, quorum_of, &member.name),
                                });
                                continue;
                            }
                        }
                    }
                }
                Ok(st)
            }
        };
        out.push(MemberObservation {
            name: member.name.clone(),
            state,
            quorum: quorum_for(&obs, seen, quorum_of, &member.name),
        });
    }
    Ok(out)
}

/// Quorum as `name` sees it, when it was asked for.
fn quorum_for(
    obs: &DagStateObs,
    seen: Option<&MemberObs>,
    quorum_of: &[&str],
    name: &str,
) -> Option<Result<QuorumObs, String>> {
    if !quorum_of.iter().any(|q| q.eq_ignore_ascii_case(name)) {
        return None;
    }
    Some((|| {
        let m = seen.ok_or_else(|| format!("{name} is missing from the DAG-wide read"))?;
        if let Some(e) = &m.checks_error {
            return Err(e.clone());
        }
        let dag = match (&obs.dag, &obs.dag_error) {
            (_, Some(e)) => return Err(e.clone()),
            (Some(d), None) => d.clone(),
            (None, None) => return Err("the DAG's status was not read".into()),
        };
        Ok(QuorumObs {
            checks: m.checks.clone(),
            servers: dag.servers,
            stopped_mailbox_servers: dag.stopped_mailbox_servers,
            witness_server: dag.witness_server,
            witness_share_in_use: dag.witness_share_in_use,
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_error_and_a_lone_member_are_read() {
        let obs: DagStateObs = serde_json::from_str(
            r#"{"Members":{"Server":"EX02","State":null,"Error":"server unreachable","NodeState":"Down","Checks":null,"ChecksError":null},
            "ClusterNodes":["ex01","ex02"],"NodesError":null,"Dag":null,"DagError":null}"#,
        )
        .unwrap();
        assert_eq!(obs.members.len(), 1);
        assert_eq!(obs.members[0].error.as_deref(), Some("server unreachable"));
        assert!(quorum_for(&obs, obs.members.first(), &["EX02"], "EX02")
            .unwrap()
            .is_err());
        assert!(quorum_for(&obs, obs.members.first(), &[], "EX02").is_none());
    }
}
