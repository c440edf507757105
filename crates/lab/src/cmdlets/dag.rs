//! Get-DatabaseAvailabilityGroup: the lab's DAGs, with `-Status` the
//! operational members, the PAM and the witness in use (cmdlets.md §8).
//! Reads the world only; no PowerShell here.

use super::exchange::{dc, server_dn};
use super::{ad_object_id, exchange_not_found};
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, PsError};
use crate::pwsh::value::{PsObject, Value};

const GET_DAG: CmdletSpec = CmdletSpec {
    name: "Get-DatabaseAvailabilityGroup",
    params: &[
        positional("Identity", 0),
        switch("Status"),
        value("DomainController"),
    ],
    should_process: None,
};
/// The lab domain's DNS name (`contoso.local` from `DC=contoso,DC=local`).
fn domain(host: &ServerHost) -> String {
    host.world
        .ad
        .domain_dn
        .split(',')
        .filter_map(|p| p.trim().get(3..))
        .collect::<Vec<_>>()
        .join(".")
}

fn witness_server(host: &ServerHost) -> String {
    format!("fs01.{}", domain(host))
}

/// Get-DatabaseAvailabilityGroup: every DAG of the lab (one per plan
/// `[[server]] dag`), or those `-Identity` matches.
pub(super) fn get_dag(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_DAG, args)?;
    let id = b.string("Identity");
    let dags: Vec<String> = host
        .world
        .dags()
        .into_iter()
        .filter(|d| id.as_ref().is_none_or(|id| super::wildcard(id, d)))
        .collect();
    if dags.is_empty() {
        if let Some(id) = id {
            host.write_error(exchange_not_found(
                "Get-DatabaseAvailabilityGroup",
                "SystemConfigurationTasks.GetDatabaseAvailabilityGroup",
                &id,
                &dc(host),
            ));
        }
        return Ok(Vec::new());
    }
    Ok(dags
        .iter()
        .map(|dag| dag_object(host, dag, b.switch("Status")))
        .collect())
}

/// One DAG as Get-DatabaseAvailabilityGroup writes it.
fn dag_object(host: &ServerHost, dag: &str, status: bool) -> Value {
    let members = host.world.members(dag);
    let servers: Vec<Value> = members
        .iter()
        .map(|&i| &host.world.servers[i])
        .map(|s| ad_object_id(&s.name, server_dn(host, &s.name)))
        .collect();
    let pam = members
        .iter()
        .map(|&i| &host.world.servers[i])
        .find(|s| s.cluster_node.state == crate::model::NodeState::Up)
        .map(|s| s.name.clone());
    let mut o = PsObject::new(
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.DatabaseAvailabilityGroup",
    )
    .with("Name", dag.to_string())
    .with("Servers", Value::Array(servers))
    // The lab's witness: a file server outside the DAG (crate::quorum).
    .with("WitnessServer", witness_server(host))
    .with(
        "WitnessDirectory",
        format!(r"C:\DAGFileShareWitnesses\{dag}.{}", domain(host)),
    )
    // MultiValuedProperty<string>: the lab never stops a member's DAG role
    // (Stop-DatabaseAvailabilityGroup is not modelled).
    .with("StoppedMailboxServers", Value::Array(Vec::new()));
    if status {
        let operational: Vec<Value> = members
            .iter()
            .map(|&i| &host.world.servers[i])
            .filter(|s| s.cluster_node.state != crate::model::NodeState::Down)
            .map(|s| ad_object_id(&s.name, server_dn(host, &s.name)))
            .collect();
        let witness = host.world.witness_share_in_use(dag);
        o = o
            .with("OperationalServers", Value::Array(operational))
            .with(
                "PrimaryActiveManager",
                pam.map(|p| ad_object_id(&p, server_dn(host, &p))),
            )
            .with(
                "WitnessShareInUse",
                // Type name and numbers UNVERIFIED; the names are the
                // documented values of the property.
                Value::enumv(
                    "Microsoft.Exchange.Data.Directory.SystemConfiguration.WitnessShareUsage",
                    witness,
                    match witness {
                        "Primary" => 1,
                        "InvalidConfiguration" => 3,
                        _ => 0,
                    },
                ),
            );
    }
    o.with("Identity", ad_object_id(dag, format!("CN={dag}")))
        .display(dag.to_string())
        .into()
}
