//! The Task Scheduler's COM objects on a lab server (`pwsh/com.rs`, then
//! `tasks::register_definition`): the task they register is the one
//! `Register-ScheduledTask` would, a wrong password fails at registration,
//! and no log event holds the password.

use crate::model::ScheduledTask;
use crate::world::World;

const SECRET: &str = "lab-only-password";

/// Registers task `name` running `C:\cu-roll\x.cmd` through the COM
/// objects as `user` with the password read from stdin, as cu-roll does.
fn com_script(name: &str, user: &str, flags: i64) -> String {
    format!(
        r#"$password = [Console]::In.ReadLine()
$service = New-Object -ComObject 'Schedule.Service'
$service.Connect()
$definition = $service.NewTask(0)
$definition.Principal.RunLevel = 1
$definition.Settings.Priority = 4
$exec = $definition.Actions.Create(0)
$exec.Path = 'C:\cu-roll\x.cmd'
$exec.Arguments = '/quiet'
$folder = $service.GetFolder('\')
$null = $folder.RegisterTaskDefinition('{name}', $definition, {flags}, '{user}', $password, 1)
'registered'
"#
    )
}

fn world() -> World {
    let spec = crate::testkit::three_member_spec();
    World::from_spec(&spec, &spec.dag, crate::testkit::T0)
}

fn run(w: &mut World, script: &str) -> crate::pwsh::ScriptOutput {
    crate::store::run_ps_fed(
        w,
        "EX02",
        script,
        &format!("{SECRET}\r\n"),
        crate::testkit::T0,
    )
    .unwrap()
}

fn task(w: &World, name: &str) -> Option<ScheduledTask> {
    let i = w.server_index("EX02").unwrap();
    w.task(i, name).cloned()
}

#[test]
fn com_registration_is_the_task_register_scheduled_task_makes() {
    let mut w = world();
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 6));
    assert_eq!(out.stdout.trim(), "registered", "{out:?}");
    let t = task(&w, "cu-roll-com").expect("registered");
    assert_eq!(t.execute, r"C:\cu-roll\x.cmd");
    assert_eq!(t.arguments.as_deref(), Some("/quiet"));
    assert_eq!(t.user_id, "LAB\\admin");
    assert_eq!(t.logon_type, "Password");
    assert_eq!(t.run_level, "Highest");
    // What the cmdlet path registers for the same request.
    let cmdlet = r#"$password = [Console]::In.ReadLine()
$action = New-ScheduledTaskAction -Execute 'C:\cu-roll\x.cmd' -Argument '/quiet'
Register-ScheduledTask -TaskName 'cu-roll-cmdlet' -Action $action -User 'LAB\admin' -Password $password -RunLevel Highest -Force | Out-Null
"#;
    let out = run(&mut w, cmdlet);
    assert_eq!(out.exit_code, 0, "{out:?}");
    let c = task(&w, "cu-roll-cmdlet").unwrap();
    assert_eq!(
        ScheduledTask {
            name: c.name.clone(),
            ..t
        },
        c
    );
}

#[test]
fn a_wrong_password_fails_registration_like_the_api() {
    let mut w = world();
    let script = com_script("cu-roll-com", "LAB\\admin", 6).replace(
        "$password = [Console]::In.ReadLine()",
        "$password = [Console]::In.ReadLine() + 'x'",
    );
    let out = run(&mut w, &script);
    assert!(
        out.stderr.contains("Exception calling \"RegisterTaskDefinition\" with \"6\" argument(s): \"The user name or password is incorrect. (Exception from HRESULT: 0x8007052E)\""),
        "{out:?}"
    );
    assert!(task(&w, "cu-roll-com").is_none());
    // Under cu-roll's prelude the exception ends the script.
    let out = run(
        &mut w,
        &format!("$ErrorActionPreference = 'Stop'\n{script}"),
    );
    assert_eq!(out.exit_code, 1, "{out:?}");
    assert!(!out.stdout.contains("registered"), "{out:?}");
}

#[test]
fn creation_flags_decide_between_create_and_update() {
    let mut w = world();
    // TASK_UPDATE (4) of a task that does not exist.
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 4));
    assert!(out.stderr.contains("0x80070002"), "{out:?}");
    // TASK_CREATE (2), then again: it exists.
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 2));
    assert_eq!(out.stderr, "", "{out:?}");
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 2));
    assert!(out.stderr.contains("0x800700B7"), "{out:?}");
    // TASK_CREATE_OR_UPDATE (6) replaces it.
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 6));
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn objects_are_references_and_unknown_members_fail() {
    let mut w = world();
    let script = r#"$service = New-Object -ComObject 'Schedule.Service'
$service.Connect()
$definition = $service.NewTask(0)
$settings = $definition.Settings
$settings.Priority = 4
$definition.Settings.Priority
$definition.Actions.Count
$null = $definition.Actions.Create(0)
$definition.Actions.Count
$definition.Settings.NoSuchThing = 1
"#;
    let out = run(&mut w, script);
    assert_eq!(out.stdout, "4\r\n0\r\n1\r\n", "{out:?}");
    assert!(
        out.stderr
            .contains("The property 'NoSuchThing' cannot be found on this object."),
        "{out:?}"
    );
    let out = run(&mut w, "New-Object -ComObject 'No.Such.Class'");
    assert!(
        out.stderr.contains("80040154 Class not registered"),
        "{out:?}"
    );
}

#[test]
fn neither_log_holds_the_password() {
    let mut w = world();
    let out = run(&mut w, &com_script("cu-roll-com", "LAB\\admin", 6));
    assert_eq!(out.stderr, "", "{out:?}");
    let i = w.server_index("EX02").unwrap();
    let log = &w.servers[i].powershell_log;
    let blocks: String = log
        .script_blocks
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    let calls: String = log.invocations.iter().map(|e| e.message.as_str()).collect();
    assert!(blocks.contains("RegisterTaskDefinition"), "{blocks}");
    // 4103: the cmdlet invocation is there, the method call is not.
    assert!(
        calls.contains(
            "ParameterBinding(New-Object): name=\"ComObject\"; value=\"Schedule.Service\""
        ),
        "{calls}"
    );
    assert!(!calls.contains("RegisterTaskDefinition"), "{calls}");
    assert!(!blocks.contains(SECRET) && !calls.contains(SECRET));
}
