//! The ScheduledTasks module on a lab server: New-ScheduledTaskAction,
//! New-ScheduledTaskPrincipal, Register-, Start-, Get-, Unregister-
//! ScheduledTask and Get-ScheduledTaskInfo (MicrosoftDocs
//! windows-powershell-docs `scheduledtasks/*.md`), and Restart-Computer.
//! Outputs are the CIM objects with their real class names and enums;
//! running a task is the world's business (`tasks.rs`). The New-* cmdlets
//! that only build objects live in `task_objects`.

use super::{identity_string, missing_mandatory, task_objects, wildcard, Answer};
use crate::host::ServerHost;
use crate::model::ScheduledTask;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{
    Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError, TaskRegistration,
};
use crate::pwsh::value::{PsObject, Value};
use crate::tasks::TASK_HAS_NOT_RUN;

pub(super) const CIM: &str =
    "Microsoft.Management.Infrastructure.CimInstance#Root/Microsoft/Windows/TaskScheduler";
pub(super) const GENERATED: &str =
    "Microsoft.PowerShell.Cmdletization.GeneratedTypes.ScheduledTask";

/// `LastRunTime` of a task that never ran: 11/30/1999 00:00:00.
const NEVER_RAN_MS: i64 = 943_920_000_000;

const REGISTER: CmdletSpec = CmdletSpec {
    name: "Register-ScheduledTask",
    params: &[
        positional("TaskName", 0),
        positional("TaskPath", 1),
        positional("Action", 2),
        positional("Trigger", 3),
        positional("Settings", 4),
        positional("User", 5),
        positional("Password", 6),
        value("RunLevel"),
        value("Description"),
        value("Principal"),
        value("InputObject"),
        value("Xml"),
        switch("Force"),
        value("CimSession"),
    ],
    should_process: None,
};
const TASK_BY_NAME: &[crate::pwsh::host::ParamSpec] = &[
    positional("TaskName", 0),
    positional("TaskPath", 1),
    value("InputObject"),
    value("CimSession"),
];
const START: CmdletSpec = CmdletSpec {
    name: "Start-ScheduledTask",
    params: TASK_BY_NAME,
    should_process: None,
};
const GET: CmdletSpec = CmdletSpec {
    name: "Get-ScheduledTask",
    params: TASK_BY_NAME,
    should_process: None,
};
const GET_INFO: CmdletSpec = CmdletSpec {
    name: "Get-ScheduledTaskInfo",
    params: TASK_BY_NAME,
    should_process: None,
};
/// ConfirmImpact High: it prompts unless `-Confirm:$false` (the docs'
/// example "You must confirm the action"; MicrosoftDocs/windows-powershell-docs
/// issue #2141 and PR #2146: "The default value of the Confirm switch is $True").
const UNREGISTER: CmdletSpec = CmdletSpec {
    name: "Unregister-ScheduledTask",
    params: &[
        positional("TaskName", 0),
        positional("TaskPath", 1),
        value("InputObject"),
        switch("PassThru"),
        value("CimSession"),
    ],
    should_process: Some(ConfirmImpact::High),
};
const RESTART_COMPUTER: CmdletSpec = CmdletSpec {
    name: "Restart-Computer",
    params: &[
        positional("ComputerName", 0),
        switch("Force"),
        switch("Wait"),
        value("For"),
        value("Timeout"),
        value("Delay"),
        value("Credential"),
        value("Protocol"),
        value("WsmanAuthentication"),
        value("DcomAuthentication"),
        value("Impersonation"),
        switch("AsJob"),
        value("ThrottleLimit"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};

pub(crate) fn dispatch(
    host: &mut ServerHost,
    lname: &str,
    args: &[Argument],
    input: &[Value],
) -> Answer {
    Some(match lname {
        "new-scheduledtaskaction" => task_objects::new_action(args),
        "new-scheduledtaskprincipal" => task_objects::new_principal(args),
        "new-scheduledtasksettingsset" => task_objects::new_settings(args),
        "register-scheduledtask" => register(host, args),
        "start-scheduledtask" => start(host, args, input),
        "get-scheduledtask" => get(host, args),
        "get-scheduledtaskinfo" => get_info(host, args, input),
        "unregister-scheduledtask" => unregister(host, args, input),
        "restart-computer" => restart_computer(host, args),
        _ => return None,
    })
}

fn state_value(t: &ScheduledTask) -> Value {
    let (name, n) = if t.running {
        ("Running", 4)
    } else {
        ("Ready", 3)
    };
    Value::enumv(&format!("{GENERATED}.StateEnum"), name, n)
}

fn task_object(t: &ScheduledTask) -> Value {
    let action = PsObject::new(&format!("{CIM}/MSFT_TaskExecAction"))
        .with("Id", Value::Null)
        .with(
            "Arguments",
            t.arguments.clone().map_or(Value::Null, Value::str),
        )
        .with("Execute", t.execute.clone())
        .with("WorkingDirectory", Value::Null)
        .display("MSFT_TaskExecAction");
    let principal = PsObject::new(&format!("{CIM}/MSFT_TaskPrincipal2"))
        .with("Id", "Author")
        .with("LogonType", t.logon_type.clone())
        .with("RunLevel", t.run_level.clone())
        .with("UserId", t.user_id.clone())
        .display("MSFT_TaskPrincipal2");
    PsObject::new(&format!("{CIM}/MSFT_ScheduledTask"))
        .with("Actions", Value::Array(vec![action.into()]))
        .with("Author", Value::Null)
        .with("Date", Value::Null)
        .with("Description", Value::Null)
        .with("Principal", principal)
        .with("TaskName", t.name.clone())
        .with("TaskPath", "\\")
        .with("State", state_value(t))
        .with("PSComputerName", Value::Null)
        .display(
            "MSFT_ScheduledTask (TaskName = \"".to_string() + &t.name + "\", TaskPath = \"\\\")",
        )
        .into()
}

fn not_found(cmd: &str, name: &str) -> PsError {
    PsError::new(
        ErrorCategory::ObjectNotFound,
        &format!("CmdletizationQuery_NotFound_TaskName,{cmd}"),
        format!(
            "No MSFT_ScheduledTask objects found with property 'TaskName' equal to '{name}'.  Verify the value of the property and retry."
        ),
    )
    .in_command(cmd)
}

/// Task names from `-TaskName` or piped/`-InputObject` task objects.
fn task_names(b: &crate::pwsh::host::Bound, input: &[Value]) -> Vec<String> {
    if let Some(v) = b.get("TaskName") {
        return super::string_list(v);
    }
    let objects: Vec<Value> = match b.get("InputObject") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => input.to_vec(),
    };
    objects
        .iter()
        .map(|o| {
            o.property("TaskName")
                .map_or_else(|| identity_string(o), |v| identity_string(&v))
        })
        .collect()
}

fn register(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = REGISTER.name;
    let b = bind(&REGISTER, args)?;
    let name = b
        .string("TaskName")
        .ok_or_else(|| missing_mandatory(cmd, &["TaskName"]))?;
    let action = match b.get("Action") {
        Some(Value::Array(a)) => a.first().cloned(),
        Some(v) => Some(v.clone()),
        None => None,
    }
    .ok_or_else(|| missing_mandatory(cmd, &["Action"]))?;
    let execute = action
        .property("Execute")
        .map(|v| identity_string(&v))
        .ok_or_else(|| {
            PsError::new(
                ErrorCategory::InvalidArgument,
                &format!("CannotConvertArgument,{cmd}"),
                "Cannot process argument transformation on parameter 'Action'. Use New-ScheduledTaskAction to create the action.",
            )
            .in_command(cmd)
            .terminating()
        })?;
    let arguments = action
        .property("Arguments")
        .filter(|v| *v != Value::Null)
        .map(|v| identity_string(&v));
    // A task registered with a password logs on as that account: Windows
    // checks the password at registration (HRESULT 0x8007052E).
    if let Some(password) = b.string("Password") {
        let user = b.string("User").unwrap_or_default();
        if unknown_on_edge(host, &user) {
            return Err(crate::edge::unknown_account(cmd));
        }
        if !known_account(host, &user, &password) {
            return Err(PsError::new(
                ErrorCategory::PermissionDenied,
                &format!("HRESULT 0x8007052e,{cmd}"),
                BAD_ACCOUNT,
            )
            .in_command(cmd)
            .terminating());
        }
    }
    let principal = b.get("Principal");
    let prop = |n: &str| {
        principal
            .and_then(|p| p.property(n))
            .map(|v| identity_string(&v))
    };
    let task = ScheduledTask {
        name: name.clone(),
        execute,
        arguments,
        user_id: prop("UserId")
            .or_else(|| b.string("User"))
            .unwrap_or_else(|| "Administrator".to_string()),
        logon_type: prop("LogonType").unwrap_or_else(|| {
            if b.get("Password").is_some() {
                "Password"
            } else {
                "Interactive"
            }
            .to_string()
        }),
        run_level: prop("RunLevel")
            .or_else(|| b.string("RunLevel"))
            .unwrap_or_else(|| "Limited".to_string()),
        running: false,
        last_run_ms: None,
        last_result: TASK_HAS_NOT_RUN,
    };
    if host.world.task(host.server, &name).is_some() && !b.switch("Force") {
        return Err(PsError::new(
            ErrorCategory::ResourceExists,
            &format!("HRESULT 0x800700b7,{cmd}"),
            EXISTS,
        )
        .in_command(cmd)
        .terminating());
    }
    // -Force replaces the definition; a running instance keeps running.
    store(host, task);
    let t = host.world.task(host.server, &name).cloned();
    Ok(t.iter().map(task_object).collect())
}

const BAD_ACCOUNT: &str = "The user name or password is incorrect.";
const EXISTS: &str = "Cannot create a file when that file already exists.";
const NOT_FOUND: &str = "The system cannot find the file specified.";

/// On an Edge server (in no domain), an account other than its local
/// administrator does not exist (`edge.rs`).
fn unknown_on_edge(host: &ServerHost, user: &str) -> bool {
    let s = &host.world.servers[host.server];
    s.edge
        .as_ref()
        .is_some_and(|e| !crate::edge::local_account(e, &s.name, user))
}

/// Whether `user` (any domain prefix) with `password` is the lab's account
/// (on an Edge server, its local administrator has the lab's password).
fn known_account(host: &ServerHost, user: &str, password: &str) -> bool {
    let s = &host.world.servers[host.server];
    if let Some(e) = &s.edge {
        return crate::edge::local_account(e, &s.name, user)
            && host
                .world
                .account
                .as_ref()
                .is_some_and(|(_, p)| p == password);
    }
    host.world.account.as_ref().is_some_and(|(u, p)| {
        let short = |x: &str| x.rsplit('\\').next().unwrap_or(x).to_ascii_lowercase();
        short(u) == short(user) && *p == password
    })
}

/// `TaskFolder.RegisterTaskDefinition` (Microsoft Learn,
/// "TaskFolder.RegisterTaskDefinition method" and ITaskFolder's): the same
/// task `Register-ScheduledTask` registers, so setup judges the same
/// account (`setup_rules`). Flags are TASK_CREATION (2 create, 4 update, 6
/// create or update, 1 validate only); logon types TASK_LOGON_TYPE, in the
/// order of the cmdlets' LogonTypeEnum (1 = password); run level 1 =
/// TASK_RUNLEVEL_HIGHEST. A wrong password fails as Windows checks it at
/// registration: 0x8007052E (the message texts are Windows' for those
/// HRESULTs; how the COM exception words them is UNVERIFIED).
pub(crate) fn register_definition(
    host: &mut ServerHost,
    reg: &TaskRegistration,
) -> Result<(), String> {
    let hresult = |m: &str, h: &str| format!("{m} (Exception from HRESULT: {h})");
    let logon = usize::try_from(reg.logon_type)
        .ok()
        .and_then(|i| task_objects::LOGON_TYPES.get(i))
        .ok_or_else(|| hresult("The parameter is incorrect.", "0x80070057 (E_INVALIDARG)"))?;
    if reg.logon_type == 1 || (reg.logon_type == 6 && reg.password.is_some()) {
        let user = reg.user.clone().unwrap_or_default();
        if unknown_on_edge(host, &user) {
            return Err(hresult(
                "No mapping between account names and security IDs was done.",
                "0x80070534",
            ));
        }
        if !known_account(host, &user, reg.password.as_deref().unwrap_or_default()) {
            return Err(hresult(BAD_ACCOUNT, "0x8007052E"));
        }
    }
    let exists = host.world.task(host.server, &reg.name).is_some();
    if exists && reg.flags & 4 == 0 {
        return Err(hresult(EXISTS, "0x800700B7"));
    }
    if !exists && reg.flags & 2 == 0 {
        return Err(hresult(NOT_FOUND, "0x80070002"));
    }
    if reg.flags & 1 != 0 {
        return Ok(());
    }
    let task = ScheduledTask {
        name: reg.name.clone(),
        execute: reg.execute.clone(),
        arguments: reg.arguments.clone(),
        user_id: reg
            .user
            .clone()
            .unwrap_or_else(|| "Administrator".to_string()),
        logon_type: (*logon).to_string(),
        run_level: if reg.run_level == 1 {
            "Highest"
        } else {
            "Limited"
        }
        .to_string(),
        running: false,
        last_run_ms: None,
        last_result: TASK_HAS_NOT_RUN,
    };
    store(host, task);
    Ok(())
}

/// Adds `task`, or replaces the definition of the one of that name (a
/// running instance keeps running).
fn store(host: &mut ServerHost, task: ScheduledTask) {
    let tasks = &mut host.this_mut().tasks;
    match tasks
        .iter()
        .position(|t| t.name.eq_ignore_ascii_case(&task.name))
    {
        Some(pos) => {
            let running = tasks[pos].running;
            tasks[pos] = ScheduledTask { running, ..task };
        }
        None => tasks.push(task),
    }
}

fn start(host: &mut ServerHost, args: &[Argument], input: &[Value]) -> Result<Vec<Value>, PsError> {
    let cmd = START.name;
    let b = bind(&START, args)?;
    let names = task_names(&b, input);
    if names.is_empty() {
        return Err(missing_mandatory(cmd, &["TaskName"]));
    }
    for name in names {
        if !host.world.start_task(host.server, &name) {
            return Err(PsError::new(
                ErrorCategory::ObjectNotFound,
                &format!("HRESULT 0x80070002,{cmd}"),
                "The system cannot find the file specified.",
            )
            .in_command(cmd)
            .terminating());
        }
    }
    Ok(Vec::new())
}

fn get(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = GET.name;
    let b = bind(&GET, args)?;
    let tasks = host.this().tasks.clone();
    let Some(patterns) = b.get("TaskName").map(super::string_list) else {
        return Ok(tasks.iter().map(task_object).collect());
    };
    let mut out = Vec::new();
    for p in patterns {
        let hits: Vec<Value> = tasks
            .iter()
            .filter(|t| wildcard(&p, &t.name))
            .map(task_object)
            .collect();
        if hits.is_empty() && !p.contains('*') {
            host.write_error(not_found(cmd, &p));
        }
        out.extend(hits);
    }
    Ok(out)
}

fn get_info(
    host: &mut ServerHost,
    args: &[Argument],
    input: &[Value],
) -> Result<Vec<Value>, PsError> {
    let cmd = GET_INFO.name;
    let b = bind(&GET_INFO, args)?;
    let names = task_names(&b, input);
    if names.is_empty() {
        return Err(missing_mandatory(cmd, &["TaskName"]));
    }
    let mut out = Vec::new();
    for name in names {
        let Some(t) = host.world.task(host.server, &name).cloned() else {
            host.write_error(not_found(cmd, &name));
            continue;
        };
        out.push(
            PsObject::new(&format!("{CIM}/MSFT_TaskDynamicInfo"))
                .with(
                    "LastRunTime",
                    Value::DateTime(t.last_run_ms.unwrap_or(NEVER_RAN_MS)),
                )
                .with("LastTaskResult", i64::from(t.last_result))
                .with("NextRunTime", Value::Null)
                .with("NumberOfMissedRuns", 0_i64)
                .with("TaskName", t.name.clone())
                .with("TaskPath", "\\")
                .with("PSComputerName", Value::Null)
                .display("MSFT_TaskDynamicInfo")
                .into(),
        );
    }
    Ok(out)
}

fn unregister(
    host: &mut ServerHost,
    args: &[Argument],
    input: &[Value],
) -> Result<Vec<Value>, PsError> {
    let cmd = UNREGISTER.name;
    let b = bind(&UNREGISTER, args)?;
    let names = task_names(&b, input);
    if names.is_empty() {
        return Err(missing_mandatory(cmd, &["TaskName"]));
    }
    if b.what_if {
        return Ok(Vec::new());
    }
    for name in names {
        let tasks = &mut host.this_mut().tasks;
        match tasks
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(&name))
        {
            // A running instance is not stopped by unregistering (the batch runs on).
            Some(pos) => {
                tasks.remove(pos);
            }
            None => host.write_error(not_found(cmd, &name)),
        }
    }
    Ok(Vec::new())
}

/// `Restart-Computer`: this server restarts once the running script ends
/// (the session is cut then, so the script's own output still arrives);
/// `-ComputerName` naming another lab server restarts that one at once.
fn restart_computer(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = RESTART_COMPUTER.name;
    let b = bind(&RESTART_COMPUTER, args)?;
    if b.what_if {
        return Ok(Vec::new());
    }
    let targets = b
        .get("ComputerName")
        .map(super::string_list)
        .unwrap_or_else(|| vec![".".to_string()]);
    for t in targets {
        let me = host.this();
        let local = t == "."
            || t.eq_ignore_ascii_case("localhost")
            || t.eq_ignore_ascii_case(&me.name)
            || t.eq_ignore_ascii_case(&me.fqdn);
        if local {
            if b.switch("Wait") {
                host.write_error(
                    PsError::new(
                        ErrorCategory::InvalidOperation,
                        &format!("TestComputerNameWaitLocalComputer,Microsoft.PowerShell.Commands.{}", "RestartComputerCommand"),
                        format!("The computer {} is skipped. Cannot wait for the local computer to restart. The local computer is ignored when the Wait parameter is specified.", me.name.to_ascii_uppercase()),
                    )
                    .in_command(cmd),
                );
                continue;
            }
            host.reboot_requested = true;
            continue;
        }
        match host.world.server_index(&t) {
            Some(j) => {
                if !host.world.servers[j].is_down() {
                    host.world.begin_reboot(j);
                }
            }
            None => host.write_error(
                PsError::new(
                    ErrorCategory::OperationStopped,
                    &format!("RestartcomputerFailed,Microsoft.PowerShell.Commands.{}", "RestartComputerCommand"),
                    format!("Failed to restart the computer {t} with the following error message: The RPC server is unavailable. "),
                )
                .in_command(cmd),
            ),
        }
    }
    Ok(Vec::new())
}
