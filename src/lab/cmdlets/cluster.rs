//! FailoverClusters cmdlets: Get-ClusterNode, Suspend-ClusterNode and
//! Resume-ClusterNode (cmdlets.md §6). The cluster is named after the DAG;
//! its nodes are the lab servers. Autoloaded like PowerShell 3+ does.

use super::{string_list, wildcard, Answer};
use crate::lab::host::ServerHost;
use crate::lab::model::{DrainStatus, NodeState, Server};
use crate::lab::pwsh::bind::bind;
use crate::lab::pwsh::host::{positional, switch, value};
use crate::lab::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::lab::pwsh::value::{PsObject, Value};

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

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-clusternode" => node_command(host, args, &GET_NODE, None),
        "suspend-clusternode" => node_command(host, args, &SUSPEND_NODE, Some(NodeState::Paused)),
        "resume-clusternode" => node_command(host, args, &RESUME_NODE, Some(NodeState::Up)),
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
    let cluster = host.world.dag.clone();
    if let Some(c) = b
        .string("Cluster")
        .filter(|c| !c.eq_ignore_ascii_case(&cluster))
    {
        return Err(PsError::new(
            ErrorCategory::ObjectNotFound,
            &format!("ClusterCmdletException,Microsoft.FailoverClusters.PowerShell.{}Command", spec.name.replace('-', "")),
            format!("The cluster service is not running.  Make sure that the service is running on all nodes in the cluster.\r\n    There are no more endpoints available from the endpoint mapper.\r\n    Failed to connect to cluster '{c}'."),
        )
        .in_command(spec.name)
        .terminating());
    }
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
        let hits: Vec<usize> = (0..host.world.servers.len())
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
