//! The read cmdlets: Get-MailboxDatabaseCopyStatus and Get-MailboxDatabase,
//! with the properties and display forms Exchange writes (cmdlets.md §2,
//! §3). They must not change the world.

use super::super::exchange::{dc, policy_value, select_servers};
use super::super::{ad_object_id, exchange_not_found, server_matches, wildcard};
use super::select_copies;
use crate::host::ServerHost;
use crate::model::{CopyStatus, Database, DbCopy};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::quorum::lag_text;

const GET_COPY_STATUS: CmdletSpec = CmdletSpec {
    name: "Get-MailboxDatabaseCopyStatus",
    params: &[
        positional("Identity", 0),
        value("Server"),
        switch("Active"),
        switch("Local"),
        switch("ConnectionStatus"),
        switch("ExtendedErrorInfo"),
        switch("UseServerCache"),
        value("DomainController"),
    ],
    should_process: None,
};
const GET_MAILBOX_DATABASE: CmdletSpec = CmdletSpec {
    name: "Get-MailboxDatabase",
    params: &[
        positional("Identity", 0),
        value("Server"),
        switch("Status"),
        value("DomainController"),
        switch("IncludePreExchange2013"),
    ],
    should_process: None,
};

fn copy_status_entry(host: &ServerHost, db: &Database, copy: &DbCopy) -> Value {
    let server = host.world.server(&copy.server);
    let active = db.active_server().map(str::to_ascii_lowercase);
    let is_active = copy.status == CopyStatus::Mounted;
    let copy_queue = if is_active {
        0
    } else {
        (db.last_log_generated - copy.last_log_inspected).max(0)
    };
    let replay_queue = (copy.last_log_inspected - copy.last_log_replayed).max(0);
    // Exchange 2019/SE index through Big Funnel and report NotApplicable (no
    // ContentIndexStatusType number is documented for it: UNVERIFIED name only).
    let ci = match server.map(|s| s.build.minor) {
        Some(1) => Value::enumv(
            "Microsoft.Exchange.Management.SystemConfigurationTasks.ContentIndexStatusType",
            "Healthy",
            1,
        ),
        _ => Value::enumv(
            "Microsoft.Exchange.Management.SystemConfigurationTasks.ContentIndexStatusType",
            "NotApplicable",
            10,
        ),
    };
    let t = copy.last_status_transition_ms;
    let log_time = host.world.now_ms - 60_000;
    let name = format!("{}\\{}", db.name, copy.server);
    PsObject::new("Microsoft.Exchange.Management.SystemConfigurationTasks.DatabaseCopyStatusEntry")
        .with("Name", name.clone())
        .with("DatabaseName", db.name.clone())
        .with(
            "Status",
            Value::enumv(
                "Microsoft.Exchange.Management.SystemConfigurationTasks.CopyStatus",
                copy.status.name(),
                copy.status.number(),
            ),
        )
        .with("MailboxServer", copy.server.clone())
        .with("ActiveDatabaseCopy", active)
        .with("ActiveCopy", is_active)
        .with("ActivationPreference", i64::from(copy.preference))
        .with(
            "ActionInitiator",
            Value::enumv(
                "Microsoft.Exchange.Management.SystemConfigurationTasks.ActionInitiatorType",
                "Administrator",
                2,
            ),
        )
        .with("ErrorMessage", Value::Null)
        .with("SuspendComment", copy.suspend_comment.clone())
        .with("ActivationSuspended", copy.activation_suspended)
        .with("CopyQueueLength", copy_queue)
        .with("ReplayQueueLength", replay_queue)
        .with("LatestAvailableLogTime", Value::DateTime(log_time))
        .with("LastCopiedLogTime", Value::DateTime(log_time))
        .with("LastInspectedLogTime", Value::DateTime(log_time))
        .with("LastReplayedLogTime", Value::DateTime(log_time))
        .with("LastLogGenerated", db.last_log_generated)
        .with("LastLogCopied", copy.last_log_copied)
        .with("LastLogInspected", copy.last_log_inspected)
        .with("LastLogReplayed", copy.last_log_replayed)
        .with("LastStatusTransitionTime", Value::DateTime(t))
        .with("ContentIndexState", ci)
        .with("ContentIndexErrorMessage", Value::Null)
        .with("ReplayLagStatus", replay_lag_status(copy))
        .with(
            "AutoActivationPolicy",
            server.map_or(Value::Null, |s| policy_value(s.activation_policy)),
        )
        .with(
            "ActivationDisabledAndMoveNow",
            server.is_some_and(|s| s.move_now),
        )
        .with(
            "WorkerProcessId",
            if is_active {
                Value::Int(4242)
            } else {
                Value::Null
            },
        )
        .with("Identity", name.clone())
        .display(name)
        .into()
}

/// An `EnhancedTimeSpan` (Exchange's TimeSpan wrapper): TimeSpan's parts
/// and totals, shown as `7.00:00:00`.
fn enhanced_timespan(ms: i64) -> Value {
    let t = ms as f64;
    PsObject::new("Microsoft.Exchange.Data.EnhancedTimeSpan")
        .with("Days", ms / 86_400_000)
        .with("Hours", (ms / 3_600_000) % 24)
        .with("Minutes", (ms / 60_000) % 60)
        .with("Seconds", (ms / 1000) % 60)
        .with("TotalHours", t / 3_600_000.0)
        .with("TotalSeconds", t / 1000.0)
        .display(lag_text(ms))
        .into()
}

/// One `ReplayLagTimes` entry: `KeyValuePair<ADObjectId, EnhancedTimeSpan>`,
/// shown `[EX03, 7.00:00:00]` (cmdlets.md §3); every copy has one, 0 when
/// not lagged.
fn lag_pair(server: &str, lag_ms: i64) -> Value {
    PsObject::new("System.Collections.Generic.KeyValuePair`2[[Microsoft.Exchange.Data.Directory.ADObjectId],[Microsoft.Exchange.Data.EnhancedTimeSpan]]")
        .with("Key", ad_object_id(server, format!("CN={server}")))
        .with("Value", enhanced_timespan(lag_ms))
        .display(format!("[{server}, {}]", lag_text(lag_ms)))
        .into()
}

/// `ReplayLagStatus` (cmdlets.md §2): for a lagged copy, Enabled with its
/// configured and actual lag; `$null` for a copy without lag (UNVERIFIED:
/// real servers may report a disabled status object instead of null).
fn replay_lag_status(copy: &DbCopy) -> Value {
    if copy.replay_lag_ms <= 0 {
        return Value::Null;
    }
    let actual = copy.replay_lag_ms * 4 / 10;
    PsObject::new("Microsoft.Exchange.Management.SystemConfigurationTasks.ReplayLagStatus")
        .with("Enabled", true)
        .with(
            "PlayDownReason",
            Value::enumv(
                "Microsoft.Exchange.Management.SystemConfigurationTasks.ReplayLagPlayDownReason",
                "None",
                0,
            ),
        )
        .with("Percentage", 40_i64)
        .with("ConfiguredLagTime", enhanced_timespan(copy.replay_lag_ms))
        .with("ActualLagTime", enhanced_timespan(actual))
        .with("DisabledReason", Value::Null)
        .display(format!(
            "Enabled:True; PlayDownReason:None; Percentage:40; Configured:{}; Actual:{}",
            lag_text(copy.replay_lag_ms),
            lag_text(actual)
        ))
        .into()
}

pub(super) fn get_copy_status(
    host: &mut ServerHost,
    args: &[Argument],
) -> Result<Vec<Value>, PsError> {
    let cmd = "Get-MailboxDatabaseCopyStatus";
    let b = bind(&GET_COPY_STATUS, args)?;
    let id = b.string("Identity").filter(|s| !s.is_empty());
    let server = b.string("Server");
    if id.is_some() && server.is_some() {
        return Err(PsError::new(
            ErrorCategory::InvalidArgument,
            "AmbiguousParameterSet,Microsoft.Exchange.Management.SystemConfigurationTasks.GetDatabaseCopyStatus",
            "Parameter set cannot be resolved using the specified named parameters.",
        )
        .in_command(cmd)
        .terminating());
    }
    let mut pairs = select_copies(host, id.as_deref().unwrap_or("*"));
    if let Some(sv) = &server {
        let ids = select_servers(
            host,
            Some(sv.clone()),
            cmd,
            "SystemConfigurationTasks.GetDatabaseCopyStatus",
            false,
        )?;
        let names: Vec<String> = ids
            .iter()
            .map(|&i| host.world.servers[i].name.clone())
            .collect();
        pairs.retain(|&(d, c)| {
            names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&host.world.databases[d].copies[c].server))
        });
    } else if let Some(id) = &id {
        if pairs.is_empty() && !id.contains('*') {
            host.write_error(exchange_not_found(
                cmd,
                "SystemConfigurationTasks.GetDatabaseCopyStatus",
                id,
                &dc(host),
            ));
        }
    }
    if b.switch("Local") {
        let me = host.this().name.clone();
        pairs.retain(|&(d, c)| {
            host.world.databases[d].copies[c]
                .server
                .eq_ignore_ascii_case(&me)
        });
    }
    if b.switch("Active") {
        pairs.retain(|&(d, c)| host.world.databases[d].copies[c].status == CopyStatus::Mounted);
    }
    Ok(pairs
        .into_iter()
        .map(|(d, c)| {
            copy_status_entry(
                host,
                &host.world.databases[d],
                &host.world.databases[d].copies[c],
            )
        })
        .collect())
}

pub(super) fn get_mailbox_database(
    host: &mut ServerHost,
    args: &[Argument],
) -> Result<Vec<Value>, PsError> {
    let cmd = "Get-MailboxDatabase";
    let b = bind(&GET_MAILBOX_DATABASE, args)?;
    let id = b.string("Identity");
    let server = b.string("Server");
    let status = b.switch("Status");
    let mut out = Vec::new();
    for (d, db) in host.world.databases.iter().enumerate() {
        let dag = host.world.dag_of_database(d);
        if id.as_ref().is_some_and(|i| !wildcard(i, &db.name)) {
            continue;
        }
        if server.as_ref().is_some_and(|sv| {
            !db.copies.iter().any(|c| {
                host.world
                    .server(&c.server)
                    .is_some_and(|s| server_matches(sv, &s.name, &s.fqdn))
            })
        }) {
            continue;
        }
        out.push(mailbox_database(host, db, &dag, status));
    }
    if out.is_empty() {
        if let Some(i) = id.filter(|i| !i.contains('*')) {
            host.write_error(exchange_not_found(
                cmd,
                "SystemConfigurationTasks.GetMailboxDatabase",
                &i,
                &dc(host),
            ));
        }
    }
    Ok(out)
}

/// One `MailboxDatabase` object as Get-MailboxDatabase writes it; the
/// mount state only with `-Status`, as in Exchange.
fn mailbox_database(host: &ServerHost, db: &Database, dag: &str, status: bool) -> Value {
    let active = db.active_server();
    let owner = active.unwrap_or(&db.copies[0].server).to_string();
    let prefs: Vec<Value> = db
        .copies
        .iter()
        .map(|c| {
            PsObject::new("System.Collections.Generic.KeyValuePair`2[[Microsoft.Exchange.Data.Directory.ADObjectId],[System.Int32]]")
                .with("Key", ad_object_id(&c.server, format!("CN={}", c.server)))
                .with("Value", i64::from(c.preference))
                .display(format!("[{}, {}]", c.server, c.preference))
                .into()
        })
        .collect();
    let mut o =
        PsObject::new("Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxDatabase")
            .with("Name", db.name.clone())
            .with("Server", ad_object_id(&owner, format!("CN={owner}")))
            .with("ServerName", owner.clone())
            .with(
                "MasterServerOrAvailabilityGroup",
                ad_object_id(dag, format!("CN={dag}")),
            )
            .with(
                "Servers",
                Value::Array(
                    db.copies
                        .iter()
                        .map(|c| ad_object_id(&c.server, format!("CN={}", c.server)))
                        .collect(),
                ),
            )
            .with(
                "DatabaseCopies",
                Value::Array(
                    db.copies
                        .iter()
                        .map(|c| Value::str(format!("{}\\{}", db.name, c.server)))
                        .collect(),
                ),
            )
            .with("ActivationPreference", Value::Array(prefs))
            .with(
                "ReplayLagTimes",
                Value::Array(
                    db.copies
                        .iter()
                        .map(|c| lag_pair(&c.server, c.replay_lag_ms))
                        .collect(),
                ),
            )
            .with(
                "ReplicationType",
                Value::enumv(
                    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReplicationType",
                    "Remote",
                    2,
                ),
            );
    if status {
        let fqdn = active
            .and_then(|a| host.world.server(a))
            .map(|s| s.fqdn.clone());
        o = o
            .with("Mounted", active.is_some())
            .with("MountedOnServer", fqdn)
            .with("BackupInProgress", false);
    } else {
        o = o
            .with("Mounted", Value::Null)
            .with("MountedOnServer", Value::Null);
    }
    o.with(
        "Identity",
        ad_object_id(&db.name, format!("CN={}", db.name)),
    )
    .display(db.name.clone())
    .into()
}
