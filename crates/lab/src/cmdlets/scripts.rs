//! Microsoft's DAG scripts from `$exscripts` (cmdlets.md §12):
//! RedistributeActiveDatabases.ps1, StartDagServerMaintenance.ps1 and
//! StopDagServerMaintenance.ps1, recognised by the path they are invoked
//! with and bound with their real parameters. The lab performs what they do
//! rather than interpreting their source.

use super::databases::move_one;
use super::{need, Answer};
use crate::components::{ServiceState, StateStore};
use crate::host::ServerHost;
use crate::model::{ActivationPolicy, CopyStatus, NodeState};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

/// The parameters of Microsoft's RedistributeActiveDatabases.ps1 as its
/// `param()` block declares them (the public copy, "Copyright (c)
/// Microsoft Corporation"; cmdlets.md §12; review real-exchange.md L7):
/// `-LogEvents` is a `[switch]` (default on), and there is no
/// `-SkipMoveSuppressionChecks` (some later builds are said to have it:
/// UNVERIFIED, so the lab refuses it as the reviewed copy would). The
/// script declares its own `[switch] $Confirm = $true`: one prompt per
/// move unless `-Confirm:$false`; `-WhatIf` is its own switch too.
const REDISTRIBUTE: CmdletSpec = CmdletSpec {
    name: "RedistributeActiveDatabases.ps1",
    params: &[
        positional("DagName", 0),
        switch("BalanceDbsByActivationPreference"),
        switch("BalanceDbsBySiteAndActivationPreference"),
        switch("BalanceDbsIgnoringActivationPreference"),
        switch("BalanceActivationPreferences"),
        switch("ShowDatabaseCurrentActives"),
        switch("ShowDatabaseDistributionByServer"),
        switch("ShowDatabaseDistributionBySite"),
        switch("ShowFinalDatabaseDistribution"),
        value("AllowedDeviationFromMeanPercentage"),
        switch("DotSourceMode"),
        switch("ShuffleActiveDatabases"),
        switch("RunOnlyOnPAM"),
        switch("LogEvents"),
        switch("IncludeNonReplicatedDatabases"),
    ],
    should_process: Some(ConfirmImpact::High),
};

/// What Active Manager answers when it suppresses a move (a database moved
/// or failed over too recently). Microsoft's StartDagServerMaintenance.ps1
/// handles it as `AmDbMoveMoveSuppressedBlackoutException` (review
/// real-exchange.md #21); the message text is UNVERIFIED (no capture).
pub(crate) fn move_suppressed_message(db: &str, target: &str) -> String {
    format!("An Active Manager operation failed. Error: The database action failed. Error: The move of database '{db}' to server '{target}' was suppressed: it was moved or failed over too recently (AmDbMoveMoveSuppressedBlackoutException).")
}

const START_MAINTENANCE: CmdletSpec = CmdletSpec {
    name: "StartDagServerMaintenance.ps1",
    params: &[
        positional("serverName", 0),
        value("MoveComment"),
        switch("pauseClusterNode"),
        switch("overrideMinimumTwoCopies"),
        value("Force"),
        switch("whatif"),
        value("UseMailboxServerRedundancy"),
    ],
    should_process: None,
};
const STOP_MAINTENANCE: CmdletSpec = CmdletSpec {
    name: "StopDagServerMaintenance.ps1",
    params: &[
        positional("serverName", 0),
        switch("whatif"),
        switch("setDatabaseCopyActivationDisabledAndMoveNow"),
    ],
    should_process: None,
};

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    let file = lname.rsplit(['\\', '/']).next().unwrap_or(lname);
    // Scripts run by path (`& "$exscripts\X.ps1"`, `.\X.ps1`); a bare name is
    // not looked up in the current directory by PowerShell.
    if file == lname && !lname.contains('\\') {
        return None;
    }
    Some(match file {
        "redistributeactivedatabases.ps1" => redistribute(host, args),
        "startdagservermaintenance.ps1" => start_maintenance(host, args),
        "stopdagservermaintenance.ps1" => stop_maintenance(host, args),
        _ => return None,
    })
}

fn script_error(script: &str, msg: String) -> PsError {
    PsError::new(
        ErrorCategory::NotSpecified,
        &format!("Microsoft.PowerShell.Commands.WriteErrorException,{script}"),
        msg,
    )
    .in_command(script)
    .terminating()
}

fn redistribute(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&REDISTRIBUTE, args)?;
    // The DAG named (any of the lab's), else the local server's.
    let dag = match b.string("DagName") {
        Some(d) => host.world.find_dag(&d).ok_or_else(|| {
            script_error(
                REDISTRIBUTE.name,
                format!("Couldn't find database availability group '{d}'."),
            )
        })?,
        None => host.world.dag_of(host.server).to_string(),
    };
    if !b.switch("BalanceDbsByActivationPreference")
        && !b.switch("BalanceDbsBySiteAndActivationPreference")
    {
        // The real script only warns without a balancing switch.
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for d in 0..host.world.databases.len() {
        if !host.world.dag_of_database(d).eq_ignore_ascii_case(&dag) {
            continue;
        }
        let db = host.world.databases[d].clone();
        let start = db.active_server().unwrap_or_default().to_string();
        let pref_of = |s: &str| db.copy_on(s).map_or(0, |c| i64::from(c.preference));
        // The most preferred copy that may be activated (never a Blocked server).
        let best = db
            .copies
            .iter()
            .filter(|c| host.world.can_activate(d, &c.server, true) || c.server == start)
            .min_by_key(|c| c.preference);
        let (status, end) = match best {
            Some(c) if !c.server.eq_ignore_ascii_case(&start) => {
                let to = c.server.clone();
                // Each move attempt takes its time (`redistribute_per_move`).
                host.spend(host.world.timings.redistribute_per_move_ms);
                if host
                    .world
                    .trigger_fault("moves-suppressed", &to, Some(&db.name))
                {
                    // The script calls Move-ActiveMailboxDatabase with
                    // -ErrorAction:Continue: the error is written, the
                    // database reported MoveFailed, the script goes on.
                    host.write_error(
                        PsError::new(
                            ErrorCategory::InvalidOperation,
                            "AmDbActionWrapperException,Microsoft.Exchange.Management.SystemConfigurationTasks.MoveActiveMailboxDatabase",
                            move_suppressed_message(&db.name, &to),
                        )
                        .in_command("Move-ActiveMailboxDatabase"),
                    );
                    (("MoveFailed", 2), start.clone())
                } else {
                    match move_one(host, d, Some(&to), false) {
                        Ok(_) => (("MoveSucceeded", 1), to),
                        Err(_) => (("MoveFailed", 2), start.clone()),
                    }
                }
            }
            _ => (("NoMoveAttempted", 0), start.clone()),
        };
        out.push(
            PsObject::new("System.Management.Automation.PSCustomObject")
                .with("DbName", db.name.clone())
                .with("ActiveOnPreferenceAtStart", pref_of(&start))
                .with("ActiveServerAtStart", start.clone())
                .with("ActiveOnPreferenceAtEnd", pref_of(&end))
                .with("ActiveServerAtEnd", end.clone())
                .with("IsOnMostPreferredCopy", pref_of(&end) == 1)
                .with("MoveStatus", Value::enumv("MoveStatus", status.0, status.1))
                .into(),
        );
    }
    host.world
        .step_event(&host.this().name.clone(), "redistribute");
    Ok(out)
}

fn start_maintenance(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let name = START_MAINTENANCE.name;
    let b = bind(&START_MAINTENANCE, args)?;
    let server = need(&b, "serverName", name)?;
    let short = server.split('.').next().unwrap_or(&server).to_string();
    let Some(i) = host.world.server_index(&short) else {
        return Err(script_error(
            name,
            format!("Couldn't find server '{short}'."),
        ));
    };
    if b.switch("whatif") {
        return Ok(Vec::new());
    }
    let members = host.world.members(host.world.dag_of(i)).len();
    let need_copies = if members == 2 || b.switch("overrideMinimumTwoCopies") {
        1
    } else {
        2
    };
    let me = host.world.servers[i].name.clone();
    // Refuse when a database would keep too few healthy copies elsewhere.
    for db in &host.world.databases {
        if db.copy_on(&me).is_none() {
            continue;
        }
        let healthy = db
            .copies
            .iter()
            .filter(|c| {
                !c.server.eq_ignore_ascii_case(&me)
                    && matches!(c.status, CopyStatus::Healthy | CopyStatus::Mounted)
            })
            .count();
        if healthy < need_copies {
            return Err(script_error(
                name,
                format!("Database '{}' would be left with {healthy} healthy copies; critical resources can't be moved off '{me}'.", db.name),
            ));
        }
    }
    let now = host.now_ms;
    let s = &mut host.world.servers[i];
    s.activation_policy = ActivationPolicy::Blocked;
    if let Some(c) = s
        .components
        .iter_mut()
        .find(|c| c.component == "HighAvailability")
    {
        if c.own_state() == ServiceState::Active {
            c.set("Maintenance", ServiceState::Inactive, now, StateStore::Both);
        }
    }
    if b.switch("pauseClusterNode") && s.cluster_node.state == NodeState::Up {
        s.cluster_node.state = NodeState::Paused;
    }
    for d in 0..host.world.databases.len() {
        if host.world.databases[d]
            .active_server()
            .is_some_and(|a| a.eq_ignore_ascii_case(&me))
        {
            if let Err((db, msg)) = move_one(host, d, None, false) {
                return Err(script_error(
                    name,
                    format!("Move-ActiveMailboxDatabase failed for '{db}': {msg}"),
                ));
            }
        }
    }
    Ok(Vec::new())
}

fn stop_maintenance(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let name = STOP_MAINTENANCE.name;
    let b = bind(&STOP_MAINTENANCE, args)?;
    let server = need(&b, "serverName", name)?;
    let short = server.split('.').next().unwrap_or(&server).to_string();
    let Some(i) = host.world.server_index(&short) else {
        return Err(script_error(
            name,
            format!("Couldn't find server '{short}'."),
        ));
    };
    if b.switch("whatif") {
        return Ok(Vec::new());
    }
    let now = host.now_ms;
    let s = &mut host.world.servers[i];
    if s.cluster_node.state == NodeState::Paused {
        s.cluster_node.state = NodeState::Up;
    }
    s.activation_policy = ActivationPolicy::Unrestricted;
    if b.switch("setDatabaseCopyActivationDisabledAndMoveNow") {
        s.move_now = false;
    }
    if let Some(c) = s
        .components
        .iter_mut()
        .find(|c| c.component == "HighAvailability")
    {
        c.set("Maintenance", ServiceState::Active, now, StateStore::Both);
    }
    let me = s.name.clone();
    for db in &mut host.world.databases {
        if let Some(c) = db.copy_on_mut(&me) {
            if matches!(c.status, CopyStatus::Suspended) || c.activation_suspended {
                c.status = if c.status == CopyStatus::Suspended {
                    CopyStatus::Healthy
                } else {
                    c.status
                };
                c.activation_suspended = false;
                c.suspend_comment = None;
                c.last_status_transition_ms = now;
            }
        }
    }
    Ok(Vec::new())
}
