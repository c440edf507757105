//! Database cmdlets: Get-MailboxDatabaseCopyStatus, Get-MailboxDatabase,
//! Move-ActiveMailboxDatabase, Suspend-/Resume-MailboxDatabaseCopy,
//! Test-ReplicationHealth and Test-MAPIConnectivity (cmdlets.md §2, §3,
//! §9–§11). Active Manager's choices live in `World`; this file translates.
//! The read cmdlets are in `get`; this file holds the moves and suspends.

mod get;

use super::exchange::{dc, select_servers};
use super::{confirm_false, exchange_not_found, need, wildcard, Answer};
use crate::host::ServerHost;
use crate::model::CopyStatus;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

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
        "get-mailboxdatabasecopystatus" => get::get_copy_status(host, args),
        "get-mailboxdatabase" => get::get_mailbox_database(host, args),
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
