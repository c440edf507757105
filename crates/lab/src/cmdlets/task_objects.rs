//! New-ScheduledTaskAction, New-ScheduledTaskSettingsSet and
//! New-ScheduledTaskPrincipal on a lab server (MicrosoftDocs
//! windows-powershell-docs `scheduledtasks/*.md`): they build the CIM
//! objects Register-ScheduledTask takes, with their real class names and
//! enums, and touch no world state. Registering and running is `tasks`'s.

use super::missing_mandatory;
use super::tasks::{CIM, GENERATED};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

const NEW_ACTION: CmdletSpec = CmdletSpec {
    name: "New-ScheduledTaskAction",
    params: &[
        positional("Execute", 0),
        positional("Argument", 1),
        positional("WorkingDirectory", 2),
        value("Id"),
        value("CimSession"),
    ],
    should_process: None,
};
/// A subset of New-ScheduledTaskSettingsSet's parameters (the ones cu-roll
/// and admins use for installer tasks); the rest fail as unknown.
const NEW_SETTINGS: CmdletSpec = CmdletSpec {
    name: "New-ScheduledTaskSettingsSet",
    params: &[
        value("Priority"),
        value("ExecutionTimeLimit"),
        switch("AllowStartIfOnBatteries"),
        switch("DontStopIfGoingOnBatteries"),
        switch("StartWhenAvailable"),
        switch("Hidden"),
        value("MultipleInstances"),
        value("CimSession"),
    ],
    should_process: None,
};

const NEW_PRINCIPAL: CmdletSpec = CmdletSpec {
    name: "New-ScheduledTaskPrincipal",
    params: &[
        positional("UserId", 0),
        value("GroupId"),
        value("LogonType"),
        value("RunLevel"),
        value("ProcessTokenSidType"),
        value("RequiredPrivilege"),
        value("Id"),
        value("CimSession"),
    ],
    should_process: None,
};
pub(super) const LOGON_TYPES: &[&str] = &[
    "None",
    "Password",
    "S4U",
    "Interactive",
    "Group",
    "ServiceAccount",
    "InteractiveOrPassword",
];
const RUN_LEVELS: &[&str] = &["Limited", "Highest"];

fn enum_arg(
    cmd: &str,
    param: &str,
    v: &str,
    names: &[&str],
    type_name: &str,
) -> Result<(String, i64), PsError> {
    match names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
        Some(i) => Ok((names[i].to_string(), i64::try_from(i).unwrap_or(0))),
        None => Err(PsError::new(
            ErrorCategory::InvalidArgument,
            &format!("CannotConvertArgumentNoMessage,{cmd}"),
            format!(
                "Cannot bind parameter '{param}'. Cannot convert value \"{v}\" to type \"{type_name}\". Error: \
                 \"Unable to match the identifier name {v} to a valid enumerator name. Specify one of the following \
                 enumerator names and try again:\r\n{}\"",
                names.join(", ")
            ),
        )
        .in_command(cmd)
        .terminating()),
    }
}

pub(super) fn new_action(args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = NEW_ACTION.name;
    let b = bind(&NEW_ACTION, args)?;
    let execute = b
        .string("Execute")
        .ok_or_else(|| missing_mandatory(cmd, &["Execute"]))?;
    Ok(vec![PsObject::new(&format!("{CIM}/MSFT_TaskExecAction"))
        .with("Id", b.get("Id").cloned().unwrap_or(Value::Null))
        .with(
            "Arguments",
            b.get("Argument").cloned().unwrap_or(Value::Null),
        )
        .with("Execute", execute)
        .with(
            "WorkingDirectory",
            b.get("WorkingDirectory").cloned().unwrap_or(Value::Null),
        )
        .with("PSComputerName", Value::Null)
        .display("MSFT_TaskExecAction")
        .into()])
}

pub(super) fn new_settings(args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&NEW_SETTINGS, args)?;
    // Task Scheduler priorities run 0 (realtime) to 10 (idle); 7 is the default.
    let priority = match b.get("Priority") {
        None => 7,
        Some(v) => match crate::pwsh::convert::to_ps_string(v).parse::<i64>() {
            Ok(p) if (0..=10).contains(&p) => p,
            _ => {
                return Err(PsError::new(
                    ErrorCategory::InvalidData,
                    &format!("ParameterArgumentValidationError,{}", NEW_SETTINGS.name),
                    "Cannot validate argument on parameter 'Priority'. The argument is not in the range 0 to 10.",
                )
                .in_command(NEW_SETTINGS.name)
                .terminating())
            }
        },
    };
    Ok(vec![PsObject::new(&format!("{CIM}/MSFT_TaskSettings3"))
        .with("Priority", priority)
        .with(
            "DisallowStartIfOnBatteries",
            !b.switch("AllowStartIfOnBatteries"),
        )
        .with(
            "StopIfGoingOnBatteries",
            !b.switch("DontStopIfGoingOnBatteries"),
        )
        .with("ExecutionTimeLimit", "PT72H")
        .display("MSFT_TaskSettings3")
        .into()])
}

pub(super) fn new_principal(args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = NEW_PRINCIPAL.name;
    let b = bind(&NEW_PRINCIPAL, args)?;
    let user = b.string("UserId");
    let group = b.string("GroupId");
    if user.is_none() && group.is_none() {
        return Err(missing_mandatory(cmd, &["UserId"]));
    }
    let logon = match b.string("LogonType") {
        Some(v) => enum_arg(
            cmd,
            "LogonType",
            &v,
            LOGON_TYPES,
            &format!("{GENERATED}.LogonTypeEnum"),
        )?,
        None if group.is_some() => ("Group".to_string(), 4),
        None => ("Interactive".to_string(), 3),
    };
    let run = match b.string("RunLevel") {
        Some(v) => enum_arg(
            cmd,
            "RunLevel",
            &v,
            RUN_LEVELS,
            &format!("{GENERATED}.RunLevelEnum"),
        )?,
        None => ("Limited".to_string(), 0),
    };
    Ok(vec![PsObject::new(&format!("{CIM}/MSFT_TaskPrincipal2"))
        .with("DisplayName", Value::Null)
        .with("GroupId", group.map_or(Value::Null, Value::str))
        .with("Id", b.string("Id").unwrap_or_else(|| "Author".to_string()))
        .with(
            "LogonType",
            Value::enumv(&format!("{GENERATED}.LogonTypeEnum"), &logon.0, logon.1),
        )
        .with(
            "RunLevel",
            Value::enumv(&format!("{GENERATED}.RunLevelEnum"), &run.0, run.1),
        )
        .with("UserId", user.map_or(Value::Null, Value::str))
        .with("PSComputerName", Value::Null)
        .display("MSFT_TaskPrincipal2")
        .into()])
}
