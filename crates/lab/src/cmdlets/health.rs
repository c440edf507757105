//! Health-test cmdlets: Test-ServiceHealth, Test-ReplicationHealth and
//! Test-MAPIConnectivity (cmdlets.md §8–§10). They read the world and
//! report; only the `health-fails` fault and the `health` step event change it.
//! They read real service states: a stopped or Disabled service shows.

use super::exchange::{dc, select_servers};
use super::{exchange_not_found, Answer};
use crate::host::ServerHost;
use crate::model::{CopyStatus, Database, DbCopy};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, Bound, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "test-servicehealth" => test_service_health(host, args),
        "test-replicationhealth" => test_replication(host, args),
        "test-mapiconnectivity" => test_mapi(host, args),
        _ => return None,
    })
}

const TEST_REPLICATION: CmdletSpec = CmdletSpec {
    name: "Test-ReplicationHealth",
    params: &[
        positional("Identity", 0),
        value("DatabaseAvailabilityGroup"),
        switch("OutputObjects"),
        value("TransientEventSuppressionWindow"),
        switch("MonitoringContext"),
        value("ActiveDirectoryTimeout"),
        value("DomainController"),
    ],
    should_process: None,
};
const TEST_MAPI: CmdletSpec = CmdletSpec {
    name: "Test-MAPIConnectivity",
    params: &[
        positional("Identity", 0),
        value("Server"),
        value("Database"),
        value("CopyOnServer"),
        switch("IncludePassive"),
        switch("Archive"),
        value("PerConnectionTimeout"),
        value("AllConnectionsTimeout"),
        value("ActiveDirectoryTimeout"),
        switch("MonitoringContext"),
    ],
    should_process: None,
};

const TEST_SERVICE_HEALTH: CmdletSpec = CmdletSpec {
    name: "Test-ServiceHealth",
    params: &[
        positional("Server", 0),
        value("ActiveDirectoryTimeout"),
        value("DomainController"),
        switch("MonitoringContext"),
    ],
    should_process: None,
};

/// Services each role needs (cmdlets.md §8, CAP order).
const ROLES: &[(&str, &[&str])] = &[
    (
        "Mailbox Server Role",
        &[
            "IISAdmin",
            "MSExchangeADTopology",
            "MSExchangeDelivery",
            "MSExchangeIS",
            "MSExchangeMailboxAssistants",
            "MSExchangeRepl",
            "MSExchangeRPC",
            "MSExchangeServiceHost",
            "MSExchangeSubmission",
            "MSExchangeThrottling",
            "MSExchangeTransportLogSearch",
            "W3Svc",
            "WinRM",
        ],
    ),
    (
        "Client Access Server Role",
        &[
            "IISAdmin",
            "MSExchangeADTopology",
            "MSExchangeMailboxReplication",
            "MSExchangeRPC",
            "MSExchangeServiceHost",
            "W3Svc",
            "WinRM",
        ],
    ),
    (
        "Unified Messaging Server Role",
        &[
            "IISAdmin",
            "MSExchangeADTopology",
            "MSExchangeServiceHost",
            "MSExchangeUM",
            "W3Svc",
            "WinRM",
        ],
    ),
    (
        "Hub Transport Server Role",
        &[
            "IISAdmin",
            "MSExchangeADTopology",
            "MSExchangeEdgeSync",
            "MSExchangeServiceHost",
            "MSExchangeTransport",
            "MSExchangeTransportLogSearch",
            "W3Svc",
            "WinRM",
        ],
    ),
];

fn test_service_health(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&TEST_SERVICE_HEALTH, args)?;
    let ids = match b.string("Server") {
        Some(id) => select_servers(
            host,
            Some(id),
            "Test-ServiceHealth",
            "Monitoring.TestServiceHealth",
            false,
        )?,
        None => vec![host.server],
    };
    let mut out = Vec::new();
    for i in ids {
        let name = host.world.servers[i].name.clone();
        // health-fails: while its hold lasts, one required service reports not running.
        let failing = host
            .world
            .trigger_fault("health-fails", &name, None)
            .then_some("MSExchangeMailboxAssistants");
        host.world.step_event(&name, "health");
        let s = &host.world.servers[i];
        for (role, services) in ROLES {
            if *role == "Unified Messaging Server Role" && s.build.minor != 1 {
                continue;
            }
            let (running, stopped): (Vec<&str>, Vec<&str>) = services
                .iter()
                .partition(|n| s.service_running(n) && failing != Some(**n));
            out.push(
                PsObject::new("Microsoft.Exchange.Monitoring.ServerStatus")
                    .with("Role", *role)
                    .with("RequiredServicesRunning", stopped.is_empty())
                    .with(
                        "ServicesRunning",
                        Value::Array(running.into_iter().map(Value::from).collect()),
                    )
                    .with(
                        "ServicesNotRunning",
                        Value::Array(stopped.into_iter().map(Value::from).collect()),
                    )
                    .with("Identity", Value::Null)
                    .with("IsValid", true)
                    .with(
                        "ObjectState",
                        Value::enumv("Microsoft.Exchange.Data.ObjectState", "New", 0),
                    )
                    .into(),
            );
        }
    }
    Ok(out)
}

fn check_result(passed: bool) -> Value {
    let (name, n) = if passed {
        ("Passed", 1)
    } else {
        ("*FAILED*", 3)
    };
    PsObject::new("Microsoft.Exchange.Monitoring.ReplicationCheckResult")
        .with("Value", n)
        .display(name)
        .into()
}

fn test_replication(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&TEST_REPLICATION, args)?;
    let ids = match b.string("Identity") {
        Some(id) => select_servers(
            host,
            Some(id),
            "Test-ReplicationHealth",
            "Monitoring.TestReplicationHealth",
            false,
        )?,
        None => vec![host.server],
    };
    let mut out = Vec::new();
    for i in ids {
        let name = host.world.servers[i].name.clone();
        // health-fails: while its hold lasts, the Replication service check fails.
        let failing = host.world.trigger_fault("health-fails", &name, None);
        let checks = replication_checks(host.world, i, failing);
        for (check, desc, ok) in checks {
            out.push(
                PsObject::new("Microsoft.Exchange.Monitoring.ReplicationCheckOutcome")
                    .with("Server", name.clone())
                    .with("Check", check)
                    .with("CheckDescription", desc)
                    .with("Result", check_result(ok))
                    .with(
                        "Error",
                        if ok {
                            String::new()
                        } else {
                            format!("The {check} check failed on {name}.")
                        },
                    )
                    .into(),
            );
        }
    }
    Ok(out)
}

/// One Test-ReplicationHealth check: name, description, passed.
type Check = (&'static str, &'static str, bool);

/// The checks Test-ReplicationHealth runs on server `i`; `failing` is the
/// `health-fails` fault (the Replication service check fails).
fn replication_checks(world: &crate::world::World, i: usize, failing: bool) -> Vec<Check> {
    let s = &world.servers[i];
    let name = &s.name;
    let mine: Vec<(&Database, &DbCopy)> = world
        .databases
        .iter()
        .filter_map(|d| d.copy_on(name).map(|c| (d, c)))
        .collect();
    let passive: Vec<&DbCopy> = mine
        .iter()
        .filter(|(_, c)| c.status != CopyStatus::Mounted)
        .map(|(_, c)| *c)
        .collect();
    let dag = world.dag_of(i).to_string();
    let members_up = world
        .members(&dag)
        .into_iter()
        .all(|m| world.servers[m].cluster_node.state != crate::model::NodeState::Down);
    let redundant = mine.iter().all(|(d, _)| {
        d.copies
            .iter()
            .filter(|c| matches!(c.status, CopyStatus::Healthy | CopyStatus::Mounted))
            .count()
            >= 2
    });
    let available = mine.iter().all(|(d, _)| d.active_server().is_some());

    let mut checks: Vec<Check> = vec![
        (
            "ClusterService",
            "Checks if the cluster service is healthy.",
            s.service_running("ClusSvc"),
        ),
        (
            "ReplayService",
            "Checks if the Microsoft Exchange Replication service is running.",
            s.service_running("MSExchangeRepl") && !failing,
        ),
        (
            "ActiveManager",
            "Checks that Active Manager is running and has a valid role.",
            s.service_running("MSExchangeRepl"),
        ),
        (
            "TasksRpcListener",
            "Checks that the Tasks RPC Listener is running and is responding to remote requests.",
            s.service_running("MSExchangeRepl"),
        ),
        (
            "TcpListener",
            "Checks that the TCP Listener is running and is responding to requests.",
            s.service_running("MSExchangeRepl"),
        ),
        (
            "ServerLocatorService",
            "Checks that the Server Locator Service is running and is responding to requests.",
            s.service_running("MSExchangeRepl"),
        ),
        (
            "MonitoringService",
            "Checks that the Monitoring WCF Service is running and is responding to requests.",
            s.service_running("MSExchangeRepl"),
        ),
        (
            "DagMembersUp",
            "Verifies that the members of a database availability group are up and running.",
            members_up,
        ),
        (
            "ClusterNetwork",
            "Checks that the networks are healthy.",
            true,
        ),
        // Quorum and witness: crate::quorum (the witness can be made unreachable).
        (
            "QuorumGroup",
            "Checks that the quorum and witness for the database availability group is healthy.",
            world.has_quorum(&dag) && !world.witness_failed(&dag),
        ),
        (
            "FileShareQuorum",
            "Verifies that the path used for the file share witness can be reached.",
            !world.witness_failed(&dag),
        ),
    ];
    if mine.iter().any(|(_, c)| c.status == CopyStatus::Mounted) || !passive.is_empty() {
        checks.push((
            "DatabaseRedundancy",
            "Checks whether there are at least two healthy copies of each database.",
            redundant,
        ));
        checks.push((
            "DatabaseAvailability",
            "Checks whether there is at least one healthy copy available for each database.",
            available,
        ));
    }
    if !passive.is_empty() {
        checks.extend(copy_checks(&passive));
    }
    checks
}

/// The database copy checks, run when the server holds passive copies.
fn copy_checks(passive: &[&DbCopy]) -> Vec<Check> {
    let any = |st: &[CopyStatus]| passive.iter().any(|c| st.contains(&c.status));
    vec![
        (
            "DBCopySuspended",
            "Checks if any database copies are in the 'Suspended' state.",
            !any(&[CopyStatus::Suspended, CopyStatus::FailedAndSuspended]),
        ),
        (
            "DBCopyFailed",
            "Checks if any database copies are in the 'Failed' state.",
            !any(&[CopyStatus::Failed, CopyStatus::FailedAndSuspended]),
        ),
        (
            "DBInitializing",
            "Checks if any database copies are in the 'Initializing' state.",
            !any(&[CopyStatus::Initializing]),
        ),
        (
            "DBDisconnected",
            "Checks if any database copies are in the 'Disconnected' state.",
            true,
        ),
        ("DBLogCopyKeepingUp", "Verifies that log copying and inspection by the passive database copies is able to keep up with log generation activity on the active copy.", true),
        ("DBLogReplayKeepingUp", "Verifies that replay activity for the passive database copies is able to keep up with log copying and inspection activity.", true),
    ]
}

fn test_mapi(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Test-MAPIConnectivity";
    let b = bind(&TEST_MAPI, args)?;
    if b.get("Server").is_some() && b.get("Database").is_some() {
        return Err(PsError::new(
            ErrorCategory::InvalidArgument,
            "AmbiguousParameterSet,Microsoft.Exchange.Monitoring.TestMapiConnectivity",
            "Parameter set cannot be resolved using the specified named parameters.",
        )
        .in_command(cmd)
        .terminating());
    }
    let targets = mapi_targets(host, &b, cmd)?;
    Ok(targets
        .into_iter()
        .map(|(d, server)| {
            // mapi-fails: while its hold lasts, the logon to this database
            // (the fault's `database`, else any) on the fault's server fails.
            let name = host.world.databases[d].name.clone();
            let failing = host.world.trigger_fault("mapi-fails", &server, Some(&name));
            mapi_outcome(host.world, &b, d, server, failing)
        })
        .collect())
}

/// The (database, server) pairs Test-MAPIConnectivity tests: `-Database`
/// on `-CopyOnServer` or its active server, else every mounted (with
/// `-IncludePassive`, every) copy on `-Server` or the local server.
fn mapi_targets(
    host: &mut ServerHost,
    b: &Bound,
    cmd: &str,
) -> Result<Vec<(usize, String)>, PsError> {
    let mut targets: Vec<(usize, String)> = Vec::new();
    if let Some(db) = b.string("Database") {
        let Some(d) = host.world.database_index(&db) else {
            return Err(
                exchange_not_found(cmd, "Monitoring.TestMapiConnectivity", &db, &dc(host))
                    .terminating(),
            );
        };
        let on = b
            .string("CopyOnServer")
            .or_else(|| host.world.databases[d].active_server().map(str::to_string));
        targets.push((d, on.unwrap_or_default()));
    } else {
        let ids = match b.string("Server") {
            Some(sv) => select_servers(
                host,
                Some(sv),
                cmd,
                "Monitoring.TestMapiConnectivity",
                false,
            )?,
            None => vec![host.server],
        };
        for i in ids {
            let name = host.world.servers[i].name.clone();
            for (d, db) in host.world.databases.iter().enumerate() {
                let here = db.copy_on(&name);
                if here
                    .is_some_and(|c| c.status == CopyStatus::Mounted || b.switch("IncludePassive"))
                {
                    targets.push((d, name.clone()));
                }
            }
        }
    }
    Ok(targets)
}

/// Test-MAPIConnectivity's outcome for database `d` on `server`: success
/// on a mounted or healthy copy while the store service runs.
fn mapi_outcome(
    world: &crate::world::World,
    b: &Bound,
    d: usize,
    server: String,
    failing: bool,
) -> Value {
    let db = &world.databases[d];
    let copy = db.copy_on(&server);
    let active = copy.is_some_and(|c| c.status == CopyStatus::Mounted);
    let store_up = world
        .server(&server)
        .is_some_and(|s| s.service_running("MSExchangeIS"));
    let (res, n, err) = match (
        store_up,
        copy.is_some() && (active || b.switch("IncludePassive") || b.get("CopyOnServer").is_some()),
    ) {
        (false, _) => (
            "*FAILURE*",
            4,
            "The Microsoft Exchange Information Store service isn't running.".to_string(),
        ),
        // The wording of a failed logon is UNVERIFIED.
        (true, true) if failing => (
            "*FAILURE*",
            2,
            format!(
                "Logon to database '{}' on server '{server}' failed (lab fault mapi-fails).",
                db.name
            ),
        ),
        (true, true) if active || copy.is_some_and(|c| c.status == CopyStatus::Healthy) => {
            ("Success", 1, String::new())
        }
        _ => (
            "*FAILURE*",
            2,
            format!(
                "Database '{}' is not available on server '{server}'.",
                db.name
            ),
        ),
    };
    PsObject::new("Microsoft.Exchange.Monitoring.MapiTransactionOutcome")
        .with("Server", server.clone())
        .with("Database", db.name.clone())
        .with(
            "Mailbox",
            format!(
                "SystemMailbox{{{}}}",
                "e0dc1c29-89c3-4034-b678-e6c29d823ed9"
            ),
        )
        .with("IsArchive", false)
        .with("IsDatabaseCopyActive", active)
        .with(
            "Result",
            PsObject::new("Microsoft.Exchange.Monitoring.MapiTransactionResult")
                .with("Value", n)
                .display(res),
        )
        .with(
            "Latency",
            PsObject::new("System.TimeSpan")
                .with("TotalMilliseconds", 12.0)
                .display("00:00:00.0120000"),
        )
        .with("Error", err)
        .into()
}
