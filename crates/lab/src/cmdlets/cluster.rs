//! FailoverClusters cmdlets: Get-ClusterNode, Suspend-ClusterNode and
//! Resume-ClusterNode (cmdlets.md §6), Get-ClusterGroup and
//! Move-ClusterGroup. The cluster is named after the DAG; its nodes are the
//! lab servers. Its one group is the core `Cluster Group`, whose owner is
//! the DAG's Primary Active Manager (`World::cluster_group_owner`).
//! Autoloaded like PowerShell 3+ does.

use super::{string_list, wildcard, Answer};
use crate::host::ServerHost;
use crate::model::{DrainStatus, NodeState, Server};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

const GET_NODE: CmdletSpec = CmdletSpec {
    name: "Get-ClusterNode",
    params: &[
        positional("Name", 0),
        value("Cluster"),
        value("InputObject"),
    ],
    should_process: None,
};
const SUSPEND_NODE: CmdletSpec = CmdletSpec {
    name: "Suspend-ClusterNode",
    params: &[
        positional("Name", 0),
        positional("TargetNode", 1),
        switch("Drain"),
        switch("ForceDrain"),
        switch("Wait"),
        value("Cluster"),
        value("InputObject"),
    ],
    should_process: None,
};
const RESUME_NODE: CmdletSpec = CmdletSpec {
    name: "Resume-ClusterNode",
    params: &[
        positional("Name", 0),
        positional("Failback", 1),
        value("Cluster"),
        value("InputObject"),
    ],
    should_process: None,
};

const GET_GROUP: CmdletSpec = CmdletSpec {
    name: "Get-ClusterGroup",
    params: &[
        positional("Name", 0),
        value("VMId"),
        value("Cluster"),
        value("InputObject"),
    ],
    should_process: None,
};
const MOVE_GROUP: CmdletSpec = CmdletSpec {
    name: "Move-ClusterGroup",
    params: &[
        positional("Name", 0),
        positional("Node", 1),
        switch("IgnoreLocked"),
        value("Wait"),
        value("Cluster"),
        value("InputObject"),
    ],
    should_process: None,
};

/// The core group's name, as the cluster reports it.
pub(crate) const CORE_GROUP: &str = "Cluster Group";

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-clusternode" => node_command(host, args, &GET_NODE, None),
        "suspend-clusternode" => node_command(host, args, &SUSPEND_NODE, Some(NodeState::Paused)),
        "resume-clusternode" => node_command(host, args, &RESUME_NODE, Some(NodeState::Up)),
        "get-clustergroup" => group_command(host, args, &GET_GROUP, false),
        "move-clustergroup" => group_command(host, args, &MOVE_GROUP, true),
        _ => return None,
    })
}

fn node_object(cluster: &str, s: &Server) -> Value {
    let state = s.cluster_node.state;
    let drain = s.cluster_node.drain_status;
    PsObject::new("Microsoft.FailoverClusters.PowerShell.ClusterNode")
        .with("Name", s.name.to_ascii_lowercase())
        .with("Id", s.cluster_node.id.to_string())
        .with("NodeName", s.name.to_ascii_lowercase())
        .with(
            "State",
            Value::enumv(
                "Microsoft.FailoverClusters.PowerShell.ClusterNodeState",
                &format!("{state:?}"),
                state.number(),
            ),
        )
        .with(
            "DrainStatus",
            Value::enumv(
                "Microsoft.FailoverClusters.PowerShell.ClusterNodeDrainStatus",
                &format!("{drain:?}"),
                drain.number(),
            ),
        )
        .with(
            "FailbackStatus",
            Value::enumv(
                "Microsoft.FailoverClusters.PowerShell.ClusterNodeFailbackStatus",
                "NotInitiated",
                0,
            ),
        )
        .with(
            "StatusInformation",
            Value::enumv(
                "Microsoft.FailoverClusters.PowerShell.ClusterNodeStatusInformation",
                "Normal",
                0,
            ),
        )
        .with("NodeWeight", 1_i64)
        .with("DynamicWeight", 1_i64)
        .with(
            "Cluster",
            PsObject::new("Microsoft.FailoverClusters.PowerShell.Cluster")
                .with("Name", cluster)
                .display(cluster),
        )
        .display(s.name.to_ascii_lowercase())
        .into()
}

fn node_command(
    host: &mut ServerHost,
    args: &[Argument],
    spec: &CmdletSpec,
    to: Option<NodeState>,
) -> Result<Vec<Value>, PsError> {
    let b = bind(spec, args)?;
    // `-Cluster` may name any of the lab's clusters (one per DAG).
    let named = b.string("Cluster");
    let cluster = match &named {
        Some(c) => host.world.find_dag(c),
        None => Some(host.world.dag_of(host.server).to_string()),
    };
    let Some(cluster) = cluster else {
        let c = named.unwrap_or_default();
        return Err(PsError::new(
            ErrorCategory::ObjectNotFound,
            &format!("ClusterCmdletException,Microsoft.FailoverClusters.PowerShell.{}Command", spec.name.replace('-', "")),
            format!("The cluster service is not running.  Make sure that the service is running on all nodes in the cluster.\r\n    There are no more endpoints available from the endpoint mapper.\r\n    Failed to connect to cluster '{c}'."),
        )
        .in_command(spec.name)
        .terminating());
    };
    // Suspend/Resume without -Name act on the local node.
    let names = b
        .get("Name")
        .or_else(|| b.get("InputObject"))
        .map(string_list)
        .unwrap_or_else(|| {
            if to.is_some() {
                vec![host.this().name.clone()]
            } else {
                vec!["*".to_string()]
            }
        });
    let mut out = Vec::new();
    for n in names {
        let hits: Vec<usize> = host
            .world
            .members(&cluster)
            .into_iter()
            .filter(|&i| wildcard(&n, &host.world.servers[i].name))
            .collect();
        if hits.is_empty() {
            return Err(PsError::new(
                ErrorCategory::ObjectNotFound,
                &format!(
                    "ClusterCmdletException,Microsoft.FailoverClusters.PowerShell.{}Command",
                    spec.name.replace('-', "")
                ),
                format!("The node '{n}' does not exist in the cluster '{cluster}'."),
            )
            .in_command(spec.name)
            .terminating());
        }
        for i in hits {
            if let Some(state) = to {
                let node = &mut host.world.servers[i].cluster_node;
                if node.state != NodeState::Down {
                    node.state = state;
                    node.drain_status = if state == NodeState::Paused && b.switch("Drain") {
                        DrainStatus::Completed
                    } else {
                        DrainStatus::NotInitiated
                    };
                }
            }
            out.push(node_object(&cluster, &host.world.servers[i]));
        }
    }
    Ok(out)
}

fn cluster_error(spec: &CmdletSpec, category: ErrorCategory, message: String) -> PsError {
    PsError::new(
        category,
        &format!(
            "ClusterCmdletException,Microsoft.FailoverClusters.PowerShell.{}Command",
            spec.name.replace('-', "")
        ),
        message,
    )
    .in_command(spec.name)
    .terminating()
}

/// `Cluster Group` as a `ClusterGroup` object: its `OwnerNode` is the
/// owner's `ClusterNode` object, which shows (and converts to string) as
/// the node name.
fn group_object(host: &ServerHost) -> Value {
    let w = &host.world;
    let dag = w.dag_of(host.server);
    let owner = w.cluster_group_owner(dag);
    let node = w
        .server_index(&owner)
        .map(|i| node_object(dag, &w.servers[i]))
        .unwrap_or_else(|| Value::from(owner.to_ascii_lowercase()));
    PsObject::new("Microsoft.FailoverClusters.PowerShell.ClusterGroup")
        .with("Name", CORE_GROUP)
        .with("OwnerNode", node)
        .with(
            "State",
            Value::enumv(
                "Microsoft.FailoverClusters.PowerShell.ClusterGroupState",
                "Online",
                0,
            ),
        )
        .with("IsCoreGroup", true)
        .display(CORE_GROUP)
        .into()
}

/// Get-ClusterGroup / Move-ClusterGroup on the core group. A move without
/// `-Node` picks another node that is Up (not Paused, not Down); with
/// none, or a named node that is not Up, it fails as the cluster does.
fn group_command(
    host: &mut ServerHost,
    args: &[Argument],
    spec: &CmdletSpec,
    move_it: bool,
) -> Result<Vec<Value>, PsError> {
    let b = bind(spec, args)?;
    let names = b
        .get("Name")
        .map(string_list)
        .unwrap_or_else(|| vec!["*".to_string()]);
    for n in &names {
        if !wildcard(n, CORE_GROUP) {
            return Err(cluster_error(
                spec,
                ErrorCategory::ObjectNotFound,
                format!(
                    "The resource group '{n}' does not exist in the cluster '{}'.",
                    host.world.dag_of(host.server)
                ),
            ));
        }
    }
    if move_it {
        let dag = host.world.dag_of(host.server).to_string();
        let from = host.world.cluster_group_owner(&dag);
        let to = match b.string("Node") {
            Some(node) => host
                .world
                .server(&node)
                .filter(|s| s.dag_is(&dag, &host.world.dag))
                .filter(|s| s.cluster_node.state == NodeState::Up)
                .map(|s| s.name.clone()),
            None => host.world.cluster_group_target(&from),
        };
        let Some(to) = to else {
            return Err(cluster_error(
                spec,
                ErrorCategory::NotSpecified,
                format!("An error occurred while moving the clustered role '{CORE_GROUP}'.\r\n    A cluster node is not available for this operation."),
            ));
        };
        host.world.set_cluster_group_owner(&dag, to);
    }
    Ok(vec![group_object(host)])
}

#[cfg(test)]
mod tests {
    use crate::host::ServerHost;
    use crate::tests::{lab_plan, T0};
    use crate::world::World;

    fn lab() -> World {
        World::from_spec(&lab_plan(), "DAG01", T0)
    }

    /// Runs `script` on `server`; stdout, or the error output.
    fn run_on(w: &mut World, server: &str, script: &str) -> String {
        let mut host = ServerHost::new(w, server, T0).unwrap();
        let out = crate::pwsh::run(script, &mut host);
        format!("{}{}", out.stdout, out.stderr)
    }

    #[test]
    fn the_core_group_is_owned_by_the_first_server_and_moves_off_on_request() {
        let mut w = lab();
        let first = w.servers[0].name.clone();
        let out = run_on(
            &mut w,
            &first,
            "[string](Get-ClusterGroup -Name 'Cluster Group').OwnerNode",
        );
        assert_eq!(out.trim(), first.to_ascii_lowercase());
        // A paused node is not a target: the move goes to the next Up node.
        w.servers[1].cluster_node.state = crate::model::NodeState::Paused;
        w.servers[0].cluster_node.state = crate::model::NodeState::Paused;
        let out = run_on(
            &mut w,
            &first,
            "(Move-ClusterGroup -Name 'Cluster Group').OwnerNode.Name",
        );
        let third = w.servers[2].name.to_ascii_lowercase();
        assert_eq!(out.trim(), third);
        assert_eq!(w.cluster_group_owner("DAG01"), w.servers[2].name);
        // Named node.
        let second = w.servers[1].name.clone();
        w.servers[1].cluster_node.state = crate::model::NodeState::Up;
        run_on(
            &mut w,
            &first,
            &format!("Move-ClusterGroup 'Cluster Group' '{second}' | Out-Null"),
        );
        assert_eq!(w.cluster_group_owner("DAG01"), second);
    }

    #[test]
    fn a_move_with_no_other_node_up_fails() {
        let mut w = lab();
        let first = w.servers[0].name.clone();
        for s in &mut w.servers {
            s.cluster_node.state = crate::model::NodeState::Paused;
        }
        let out = run_on(&mut w, &first, "try { Move-ClusterGroup -Name 'Cluster Group' | Out-Null; 'moved' } catch { 'failed: ' + $_.Exception.Message }");
        assert!(
            out.contains("failed: ") && out.contains("A cluster node is not available"),
            "{out}"
        );
        assert_eq!(w.cluster_group_owner("DAG01"), first);
    }

    #[test]
    fn a_reboot_of_the_owner_fails_the_group_over() {
        let mut w = lab();
        let first = w.servers[0].name.clone();
        w.begin_reboot(0);
        assert_ne!(w.cluster_group_owner("DAG01"), first);
        assert_eq!(w.cluster_group_owner("DAG01"), w.servers[1].name);
    }
}
