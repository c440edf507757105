//! Database cmdlets: Get-MailboxDatabaseCopyStatus, Get-MailboxDatabase,
//! Move-ActiveMailboxDatabase, Suspend-/Resume-MailboxDatabaseCopy,
//! Test-ReplicationHealth and Test-MAPIConnectivity (cmdlets.md §2, §3,
//! §9–§11). Active Manager's choices live in `World`; this file translates.

use super::exchange::{dc, policy_value, select_servers};
use super::{
    ad_object_id, confirm_false, exchange_not_found, need, server_matches, wildcard, Answer,
};
use crate::host::ServerHost;
use crate::model::{CopyStatus, Database, DbCopy};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

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
const MOVE_ACTIVE: CmdletSpec = CmdletSpec {
    name: "Move-ActiveMailboxDatabase",
    params: &[
        positional("Identity", 0),
        positional("ActivateOnServer", 1),
        value("Server"),
        value("ActivatePreferredOnServer"),
        switch("MoveAllDatabasesOrNone"),
        value("MoveComment"),
        value("MountDialOverride"),
        switch("SkipAllChecks"),
        switch("SkipActiveCopyChecks"),
        switch("SkipClientExperienceChecks"),
        switch("SkipCpuChecks"),
        switch("SkipHealthChecks"),
        switch("SkipLagChecks"),
        switch("SkipMaximumActiveDatabasesChecks"),
        switch("SkipMoveSuppressionChecks"),
        switch("TerminateOnWarning"),
        value("DomainController"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const SUSPEND_COPY: CmdletSpec = CmdletSpec {
    name: "Suspend-MailboxDatabaseCopy",
    params: &[
        positional("Identity", 0),
        switch("ActivationOnly"),
        value("SuspendComment"),
        switch("EnableReplayLag"),
        value("DomainController"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const RESUME_COPY: CmdletSpec = CmdletSpec {
    name: "Resume-MailboxDatabaseCopy",
    params: &[
        positional("Identity", 0),
        switch("ReplicationOnly"),
        switch("DisableReplayLag"),
        value("DisableReplayLagReason"),
        value("DomainController"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-mailboxdatabasecopystatus" => get_copy_status(host, args),
        "get-mailboxdatabase" => get_mailbox_database(host, args),
        "move-activemailboxdatabase" => move_active(host, args),
        "suspend-mailboxdatabasecopy" => suspend_copy(host, args),
        "resume-mailboxdatabasecopy" => resume_copy(host, args),
        _ => return None,
    })
}

/// (database index, copy index) pairs a copy identity names: `DB01\EX01`,
/// `DB01`, `DB01\*`, `*\EX01`.
fn select_copies(host: &ServerHost, id: &str) -> Vec<(usize, usize)> {
    let (db_pat, srv_pat) = id.split_once('\\').unwrap_or((id, "*"));
    let mut out = Vec::new();
    for (d, db) in host.world.databases.iter().enumerate() {
        if !wildcard(db_pat, &db.name) {
            continue;
        }
        for (c, copy) in db.copies.iter().enumerate() {
            if wildcard(srv_pat, &copy.server) {
                out.push((d, c));
            }
        }
    }
    out
}

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
        .with("ReplayLagStatus", Value::Null)
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

fn get_copy_status(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
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

fn get_mailbox_database(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Get-MailboxDatabase";
    let b = bind(&GET_MAILBOX_DATABASE, args)?;
    let id = b.string("Identity");
    let server = b.string("Server");
    let status = b.switch("Status");
    let dag = host.world.dag.clone();
    let mut out = Vec::new();
    for db in &host.world.databases {
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
                    ad_object_id(&dag, format!("CN={dag}")),
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
        out.push(
            o.with(
                "Identity",
                ad_object_id(&db.name, format!("CN={}", db.name)),
            )
            .display(db.name.clone())
            .into(),
        );
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

fn move_result(
    db: &str,
    from: &str,
    to: &str,
    status: (&str, i64),
    error: Option<String>,
) -> Value {
    let mount = |mounted: bool| {
        if mounted {
            Value::enumv(
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.MountStatus",
                "Mounted",
                1,
            )
        } else {
            Value::enumv(
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.MountStatus",
                "Dismounted",
                2,
            )
        }
    };
    PsObject::new("Microsoft.Exchange.Management.SystemConfigurationTasks.DatabaseMoveResult")
        .with("Identity", db)
        .with("ActiveServerAtStart", from.to_ascii_lowercase())
        .with("ActiveServerAtEnd", to.to_ascii_lowercase())
        .with(
            "Status",
            Value::enumv(
                "Microsoft.Exchange.Management.SystemConfigurationTasks.MoveStatus",
                status.0,
                status.1,
            ),
        )
        .with("ErrorMessage", error)
        .with("MountStatusAtMoveStart", mount(true))
        .with("MountStatusAtMoveEnd", mount(true))
        .with("NumberOfLogsLost", 0_i64)
        .with("RecoveryPointObjective", Value::Null)
        .display(db)
        .into()
}

/// Moves one database as Move-ActiveMailboxDatabase does; `Err` carries the
/// Active Manager text. Shared with the DAG scripts.
pub(crate) fn move_one(
    host: &mut ServerHost,
    d: usize,
    target: Option<&str>,
    skip: bool,
) -> Result<Value, (String, String)> {
    let db = host.world.databases[d].name.clone();
    let from = host.world.databases[d]
        .active_server()
        .unwrap_or_default()
        .to_string();
    match host.world.move_database(d, target, skip) {
        Ok(to) => {
            let status = if to.eq_ignore_ascii_case(&from) {
                ("Skipped", 4)
            } else {
                ("Succeeded", 1)
            };
            Ok(move_result(&db, &from, &to, status, None))
        }
        Err(e) => Err((db, e.0)),
    }
}

fn move_active(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Move-ActiveMailboxDatabase";
    let b = bind(&MOVE_ACTIVE, args)?;
    // Skipping these checks makes the cmdlet ShouldContinue even at Medium impact (§11).
    let risky = [
        "SkipClientExperienceChecks",
        "SkipHealthChecks",
        "SkipLagChecks",
        "SkipActiveCopyChecks",
        "SkipMaximumActiveDatabasesChecks",
    ];
    if risky.iter().any(|p| b.switch(p)) && !confirm_false(args) {
        return Err(PsError::non_interactive_prompt(cmd));
    }
    let skip = b.switch("SkipAllChecks")
        || b.switch("SkipActiveCopyChecks")
        || b.switch("SkipHealthChecks");
    let target = b
        .string("ActivateOnServer")
        .or_else(|| b.string("ActivatePreferredOnServer"));
    let dbs: Vec<usize> = if let Some(id) = b.string("Identity") {
        let hits: Vec<usize> = (0..host.world.databases.len())
            .filter(|&d| wildcard(&id, &host.world.databases[d].name))
            .collect();
        if hits.is_empty() {
            return Err(exchange_not_found(
                cmd,
                "SystemConfigurationTasks.MoveActiveMailboxDatabase",
                &id,
                &dc(host),
            )
            .terminating());
        }
        hits
    } else if let Some(sv) = b.string("Server") {
        let ids = select_servers(
            host,
            Some(sv),
            cmd,
            "SystemConfigurationTasks.MoveActiveMailboxDatabase",
            true,
        )?;
        let names: Vec<String> = ids
            .iter()
            .map(|&i| host.world.servers[i].name.clone())
            .collect();
        (0..host.world.databases.len())
            .filter(|&d| {
                host.world.databases[d]
                    .active_server()
                    .is_some_and(|a| names.iter().any(|n| n.eq_ignore_ascii_case(a)))
            })
            .collect()
    } else if let Some(t) = b.string("ActivatePreferredOnServer") {
        (0..host.world.databases.len())
            .filter(|&d| {
                host.world.databases[d]
                    .copies
                    .first()
                    .is_some_and(|c| c.server.eq_ignore_ascii_case(&t))
            })
            .collect()
    } else {
        return Err(super::missing_mandatory(cmd, &["Identity"]));
    };
    if b.what_if {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for d in dbs {
        match move_one(host, d, target.as_deref(), skip) {
            Ok(v) => out.push(v),
            Err((db, msg)) => host.write_error(
                PsError::new(
                    ErrorCategory::InvalidOperation,
                    "AmDbActionWrapperException,Microsoft.Exchange.Management.SystemConfigurationTasks.MoveActiveMailboxDatabase",
                    msg,
                )
                .in_command(cmd)
                .with_target(&db),
            ),
        }
    }
    Ok(out)
}

trait WithTarget {
    fn with_target(self, t: &str) -> Self;
}
impl WithTarget for PsError {
    fn with_target(mut self, t: &str) -> Self {
        self.target = Some(format!("{t}:DatabaseIdParameter"));
        self
    }
}

fn copy_pairs_or_error(
    host: &mut ServerHost,
    b: &crate::pwsh::host::Bound,
    cmd: &str,
    class: &str,
) -> Result<Vec<(usize, usize)>, PsError> {
    let id = need(b, "Identity", cmd)?;
    let pairs = select_copies(host, &id);
    if pairs.is_empty() || !id.contains('\\') {
        return Err(exchange_not_found(cmd, class, &id, &dc(host)).terminating());
    }
    Ok(pairs)
}

fn suspend_copy(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Suspend-MailboxDatabaseCopy";
    let b = bind(&SUSPEND_COPY, args)?;
    let pairs = copy_pairs_or_error(
        host,
        &b,
        cmd,
        "SystemConfigurationTasks.SuspendDatabaseCopy",
    )?;
    let now = host.now_ms;
    for (d, c) in pairs {
        let db_name = host.world.databases[d].name.clone();
        let copy = &mut host.world.databases[d].copies[c];
        if copy.status == CopyStatus::Mounted {
            return Err(PsError::new(
                ErrorCategory::InvalidOperation,
                "InvalidOperationException,Microsoft.Exchange.Management.SystemConfigurationTasks.SuspendDatabaseCopy",
                format!("The suspend operation can't proceed because database '{}' on Exchange Mailbox server '{}' is the active mailbox database copy.", db_name, copy.server),
            )
            .in_command(cmd)
            .terminating());
        }
        copy.activation_suspended = true;
        copy.suspend_comment = b.string("SuspendComment");
        if !b.switch("ActivationOnly") {
            copy.status = if copy.status == CopyStatus::Failed {
                CopyStatus::FailedAndSuspended
            } else {
                CopyStatus::Suspended
            };
            copy.last_status_transition_ms = now;
        }
    }
    Ok(Vec::new())
}

fn resume_copy(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Resume-MailboxDatabaseCopy";
    let b = bind(&RESUME_COPY, args)?;
    let pairs = copy_pairs_or_error(host, &b, cmd, "SystemConfigurationTasks.ResumeDatabaseCopy")?;
    let now = host.now_ms;
    for (d, c) in pairs {
        let copy = &mut host.world.databases[d].copies[c];
        if copy.status == CopyStatus::Mounted {
            continue;
        }
        // A resumed copy catches up (Initializing → Healthy in real life within seconds).
        copy.status = CopyStatus::Healthy;
        copy.last_status_transition_ms = now;
        if !b.switch("ReplicationOnly") {
            copy.activation_suspended = false;
            copy.suspend_comment = None;
        }
    }
    Ok(Vec::new())
}
