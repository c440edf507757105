//! Remoting through the interpreter: the contract's script (issue 9 §1)
//! opening a session to a peer with a credential read from stdin, the
//! deserialized results, no-language mode, and every refusal.

use crate::host::ServerHost;
use crate::model::ServiceStatus;
use crate::pwsh::{self, ScriptOutput};
use crate::testkit::{three_member_spec, T0};
use crate::world::World;

fn world() -> World {
    World::from_spec(&three_member_spec(), "DAG01", T0)
}

fn stdin_secret(password: &str) -> String {
    use base64::Engine;
    format!(
        "{}\r\n",
        base64::engine::general_purpose::STANDARD.encode(password.as_bytes())
    )
}

/// The contract's script shape, opening a session to `uri_host` as `user`
/// and running `body` between Import-PSSession and Remove-PSSession.
fn contract_script(user: &str, uri_host: &str, commands: &str, body: &str) -> String {
    format!(
        r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$secret = New-Object -TypeName System.Security.SecureString
foreach ($c in [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine())).ToCharArray()) {{ $secret.AppendChar($c) }}
$secret.MakeReadOnly()
$credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList '{user}', $secret
$session = New-PSSession -ConfigurationName 'Microsoft.Exchange' -ConnectionUri 'http://{uri_host}/PowerShell/' -Authentication 'Kerberos' -Credential $credential
try {{
    $null = Import-PSSession -Session $session -CommandName {commands} -DisableNameChecking -AllowClobber
{body}
}} finally {{
    Remove-PSSession -Session $session
}}
"#
    )
}

fn run_on(w: &mut World, server: &str, script: &str, stdin: &str) -> ScriptOutput {
    let mut host = ServerHost::new(w, server, T0).unwrap();
    pwsh::run_with_stdin(script, stdin, &mut host)
}

#[test]
fn the_contract_script_reaches_a_peer_and_gets_deserialized_objects() {
    let mut w = world();
    let script = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Get-MailboxServer', 'Get-ServerComponentState'",
        r#"    $m = Get-MailboxServer -Identity 'EX03'
    $m.Name
    $m.DatabaseCopyAutoActivationPolicy.ToString()
    $m.DatabaseCopyAutoActivationPolicy.GetType().FullName
    $m.PSComputerName
    (Get-ServerComponentState -Identity 'EX03' -Component 'HubTransport').State.ToString()
    (Get-PSSession).State.ToString()"#,
    );
    let out = run_on(&mut w, "EX01", &script, &stdin_secret("lab-only-password"));
    assert_eq!(out.stderr, "", "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "EX03",
            "Unrestricted",
            "Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.DatabaseCopyAutoActivationPolicyType",
            "ex02.contoso.local",
            "Active",
            "Opened",
        ],
        "{out:?}"
    );
}

#[test]
fn a_secure_string_and_credential_never_show_their_text() {
    let mut w = world();
    let script = r#"$s = New-Object System.Security.SecureString
foreach ($c in 'p4ss'.ToCharArray()) { $s.AppendChar($c) }
$s.MakeReadOnly()
"$s"
$s.Length
$cred = New-Object System.Management.Automation.PSCredential -ArgumentList 'LAB\admin', $s
$cred.UserName
$cred.GetNetworkCredential().Password
$cred | ConvertTo-Json -Compress
$s.AppendChar('x')
"#;
    let out = run_on(&mut w, "EX01", script, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..4],
        ["System.Security.SecureString", "4", "LAB\\admin", "p4ss"]
    );
    assert!(!lines[4].contains("p4ss"), "{}", lines[4]);
    assert!(out.stderr.contains("Instance is read-only."), "{out:?}");
}

/// A script that only opens a session; its stderr.
fn refused(w: &mut World, user: &str, host: &str, password: &str) -> String {
    let script = contract_script(user, host, "'Get-MailboxServer'", "    'connected'");
    let out = run_on(w, "EX01", &script, &stdin_secret(password));
    assert_eq!(out.exit_code, 1, "{out:?}");
    assert!(!out.stdout.contains("connected"), "{out:?}");
    out.stderr
}

#[test]
fn a_wrong_credential_is_access_denied() {
    let mut w = world();
    let e = refused(&mut w, "LAB\\admin", "ex02.contoso.local", "wrong");
    assert!(e.contains("Connecting to remote server ex02.contoso.local failed with the following error message : Access is denied."), "{e}");
    assert!(e.contains("AccessDenied,PSSessionOpenFailed"), "{e}");
    let e = refused(
        &mut w,
        "LAB\\someone",
        "ex02.contoso.local",
        "lab-only-password",
    );
    assert!(e.contains("Access is denied."), "{e}");
}

#[test]
fn a_server_that_is_down_or_unknown_refuses() {
    let mut w = world();
    w.servers[1].down_until_ms = Some(T0 + 60_000);
    let e = refused(
        &mut w,
        "LAB\\admin",
        "ex02.contoso.local",
        "lab-only-password",
    );
    assert!(e.contains("WinRM cannot complete the operation."), "{e}");
    let e = refused(
        &mut w,
        "LAB\\admin",
        "ex09.contoso.local",
        "lab-only-password",
    );
    assert!(
        e.contains("Cannot find the computer ex09.contoso.local."),
        "{e}"
    );
}

#[test]
fn stopped_iis_or_exchange_services_refuse() {
    for (service, text) in [
        ("W3SVC", "WinRM cannot complete the operation."),
        ("MSExchangeADTopology", "HTTP server error status (500)"),
        ("MSExchangeServiceHost", "HTTP server error status (500)"),
    ] {
        let mut w = world();
        let svc = w.servers[1]
            .services
            .iter_mut()
            .find(|s| s.name == service)
            .unwrap();
        svc.status = ServiceStatus::Stopped;
        let e = refused(
            &mut w,
            "LAB\\admin",
            "ex02.contoso.local",
            "lab-only-password",
        );
        assert!(e.contains(text), "{service}: {e}");
    }
}

#[test]
fn a_session_needs_the_exchange_configuration_and_an_explicit_credential() {
    let mut w = world();
    let out = run_on(
        &mut w,
        "EX01",
        "$ErrorActionPreference = 'Stop'\nNew-PSSession -ConnectionUri 'http://ex02.contoso.local/PowerShell/' -ConfigurationName Microsoft.PowerShell -Authentication Kerberos",
        "",
    );
    assert!(out.stderr.contains("PSSessionOpenFailed"), "{out:?}");
    // In a WinRM network logon the process has no credential to pass on.
    let out = run_on(
        &mut w,
        "EX01",
        "$ErrorActionPreference = 'Stop'\nNew-PSSession -ConnectionUri 'http://ex02.contoso.local/PowerShell/' -ConfigurationName Microsoft.Exchange -Authentication Kerberos",
        "",
    );
    assert!(out.stderr.contains("Access is denied."), "{out:?}");
}

#[test]
fn invoke_command_runs_one_literal_command_and_refuses_script() {
    let mut w = world();
    let script = contract_script(
        "admin@contoso.local",
        "ex03.contoso.local",
        "'Get-Queue'",
        r#"    (Invoke-Command -Session $session -ScriptBlock { Get-MailboxServer -Identity 'EX01' }).Name
    Invoke-Command -Session $session -ScriptBlock { Get-MailboxServer -Identity 'EX01' | Select-Object Name }"#,
    );
    let out = run_on(&mut w, "EX02", &script, &stdin_secret("lab-only-password"));
    assert_eq!(out.stdout.lines().next(), Some("EX01"), "{out:?}");
    assert!(out.stderr.contains("The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."), "{out:?}");
    assert!(out.stderr.contains("ScriptsNotAllowed"), "{out:?}");
}

#[test]
fn a_proxy_fails_once_its_session_is_removed_or_its_server_goes_down() {
    let mut w = world();
    let script = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Get-MailboxServer'",
        "    Remove-PSSession -Session $session\n    Get-MailboxServer -Identity EX01",
    );
    let out = run_on(&mut w, "EX01", &script, &stdin_secret("lab-only-password"));
    assert!(out.stderr.contains("has been removed"), "{out:?}");
}

// ------------------------------------------------------------ second hop

const SECOND_HOP: &str = "Active Directory operation failed on dc01.contoso.local. This error is not retriable. Additional information: The supplied credential is invalid.";

#[test]
fn in_a_winrm_logon_the_snapin_loads_but_cmdlets_that_need_ad_fail() {
    let mut w = world();
    let out = run_on(
        &mut w,
        "EX01",
        "Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn\n(Get-Queue -Server EX01 | Measure-Object).Count -gt 0\n(Get-Service W3SVC).Status.ToString()\nGet-MailboxServer -Identity EX01\n'after'",
        "",
    );
    // A statement-terminating error: the script goes on.
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["True", "Running", "after"],
        "{out:?}"
    );
    assert!(out.stderr.contains(SECOND_HOP), "{out:?}");
    for cmd in [
        "Get-ServerComponentState -Identity EX01",
        "Set-ServerComponentState -Identity EX01 -Component HubTransport -State Draining -Requester Maintenance",
        "Get-MailboxDatabaseCopyStatus -Server EX01",
        "Move-ActiveMailboxDatabase -Server EX01 -Confirm:$false",
        "Get-ExchangeServer EX01",
        "Get-DatabaseAvailabilityGroup",
        "Redirect-Message -Server EX01 -Target ex02.contoso.local -Confirm:$false",
        "Test-ServiceHealth EX01",
        "& 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Scripts\\RedistributeActiveDatabases.ps1' -DagName DAG01 -BalanceDbsByActivationPreference -Confirm:$false",
    ] {
        let out = run_on(
            &mut w,
            "EX01",
            &format!("Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn\n{cmd}"),
            "",
        );
        assert!(out.stderr.contains(SECOND_HOP), "{cmd}: {out:?}");
    }
}

#[test]
fn ad_module_cmdlets_need_an_explicit_credential_in_a_winrm_logon() {
    let mut w = world();
    let out = run_on(
        &mut w,
        "EX01",
        "Import-Module ActiveDirectory\nGet-ADForest",
        "",
    );
    assert!(
        out.stderr.contains("Unable to contact the server."),
        "{out:?}"
    );
    let script = "Import-Module ActiveDirectory
$p = New-Object System.Security.SecureString
foreach ($c in 'lab-only-password'.ToCharArray()) { $p.AppendChar($c) }
$cred = New-Object System.Management.Automation.PSCredential -ArgumentList 'LAB\\admin', $p
(Get-ADForest -Credential $cred).Name";
    let out = run_on(&mut w, "EX01", script, "");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn a_task_registered_with_a_password_is_no_network_logon() {
    let mut w = world();
    let script = r#"New-Item -ItemType Directory -Path 'C:\Temp' -Force | Out-Null
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -NonInteractive -Command "Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn; Set-Content -Path C:\Temp\task.txt -Value (Get-MailboxServer -Identity EX03).Name"'
Register-ScheduledTask -TaskName 'cu-roll-test' -Action $action -User 'LAB\admin' -Password 'lab-only-password' -Force | Out-Null
Start-ScheduledTask -TaskName 'cu-roll-test'
(Get-ScheduledTaskInfo -TaskName 'cu-roll-test').LastTaskResult
"#;
    let out = run_on(&mut w, "EX01", script, "");
    assert_eq!(out.stdout.trim(), "0", "{out:?}");
    let i = w.server_index("EX01").unwrap();
    let file = w
        .file(i, r"C:\Temp\task.txt")
        .expect("the task wrote its output");
    assert_eq!(file.content.trim(), "EX03");
}

// ------------------------------------------------------------ 4104 / 4103

/// Every PowerShell log event of every server, as `lab state` shows them.
fn logs_of(lab: &crate::Lab) -> (String, String) {
    let state = lab.state_json();
    let mut blocks = String::new();
    let mut invocations = String::new();
    for s in state["servers"].as_array().unwrap() {
        let log = &s["powershell_log"];
        for e in log["script_blocks"].as_array().unwrap() {
            blocks.push_str(e["message"].as_str().unwrap());
        }
        for e in log["invocations"].as_array().unwrap() {
            invocations.push_str(e["message"].as_str().unwrap());
        }
    }
    (blocks, invocations)
}

#[test]
fn a_secret_on_stdin_leaves_no_trace_in_either_log_a_parameter_does() {
    let dir = tempfile::tempdir().unwrap();
    let lab = crate::Lab::open(dir.path(), &three_member_spec(), "DAG01").unwrap();
    let secret = "lab-only-password";
    let script = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Get-ServerComponentState'",
        "    (Get-ServerComponentState -Identity 'EX01' -Component 'HubTransport').State.ToString()",
    );
    let out = lab
        .run_ps_with_stdin("EX01", &script, &stdin_secret(secret))
        .unwrap();
    assert_eq!(out.stdout.trim(), "Active", "{out:?}");
    let (blocks, invocations) = logs_of(&lab);
    // The logs are there: the script's text, the cmdlets with their values,
    // the proxied cmdlet on the peer.
    assert!(blocks.contains("New-PSSession -ConfigurationName 'Microsoft.Exchange'"));
    assert!(invocations.contains("ParameterBinding(New-PSSession): name=\"Credential\"; value=\"System.Management.Automation.PSCredential\""), "{invocations}");
    assert!(invocations.contains(
        "ParameterBinding(Get-ServerComponentState): name=\"Component\"; value=\"HubTransport\""
    ));
    assert!(!blocks.contains(secret) && !invocations.contains(secret));

    // The same secret read from stdin but passed as a parameter value.
    let leaky =
        "$p = [Console]::In.ReadLine()\nGet-Service -Name $p -ErrorAction SilentlyContinue\n";
    lab.run_ps_with_stdin("EX03", leaky, &format!("{secret}\r\n"))
        .unwrap();
    let (blocks, invocations) = logs_of(&lab);
    assert!(!blocks.contains(secret), "4104 holds the text only");
    assert!(
        invocations.contains(&format!(
            "ParameterBinding(Get-Service): name=\"Name\"; value=\"{secret}\""
        )),
        "{invocations}"
    );
}

/// Two domain controllers, 15 s apart (`directory.rs`): a session binds to
/// one in turn; a write through one is read back there, not through the
/// other until the delay has passed, unless `-DomainController` names it;
/// a cmdlet without the parameter refuses it.
#[test]
fn a_write_through_one_domain_controller_is_old_news_on_the_other() {
    let mut w = world();
    w.ad.domain_controllers = vec!["dc01.contoso.local".into(), "dc02.contoso.local".into()];
    let secret = stdin_secret("lab-only-password");
    let write = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Set-MailboxServer', 'Get-MailboxServer', 'Get-ExchangeServer'",
        r#"    Set-MailboxServer -Identity 'EX03' -DatabaseCopyAutoActivationPolicy 'Blocked'
    (Get-MailboxServer -Identity 'EX03').DatabaseCopyAutoActivationPolicy.ToString()
    @((Get-ExchangeServer -Identity 'EX03' -Status).CurrentDomainControllers) -join ','
    @((Get-ExchangeServer -Identity 'EX03').CurrentDomainControllers).Count"#,
    );
    let out = run_on(&mut w, "EX01", &write, &secret);
    assert_eq!(out.stderr, "", "{out:?}");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["Blocked", "dc01.contoso.local,dc02.contoso.local", "0"],
        "the session's own controller has it; -Status lists the controllers"
    );
    let read = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Get-MailboxServer', 'Get-Queue'",
        r#"    (Get-MailboxServer -Identity 'EX03').DatabaseCopyAutoActivationPolicy.ToString()
    (Get-MailboxServer -Identity 'EX03' -DomainController 'dc01.contoso.local').DatabaseCopyAutoActivationPolicy.ToString()
    Get-Queue -Server 'EX03' -DomainController 'dc01.contoso.local'"#,
    );
    let out = run_on(&mut w, "EX01", &read, &secret);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["Unrestricted", "Blocked"],
        "the next session reads dc02, which replication has not reached: {out:?}"
    );
    assert!(
        out.stderr
            .contains("A parameter cannot be found that matches parameter name 'DomainController'"),
        "Get-Queue has no -DomainController (Microsoft Learn, Get-Queue): {out:?}"
    );
    let mut host = ServerHost::new(&mut w, "EX01", T0 + 15_000).unwrap();
    host.world_mut().settle(T0 + 15_000);
    let out = pwsh::run_with_stdin(
        &contract_script(
            "LAB\\admin",
            "ex02.contoso.local",
            "'Get-MailboxServer'",
            "    (Get-MailboxServer -Identity 'EX03' -DomainController 'dc02.contoso.local').DatabaseCopyAutoActivationPolicy.ToString()",
        ),
        &secret,
        &mut host,
    );
    assert_eq!(
        out.stdout.trim(),
        "Blocked",
        "dc02 has it after 15 s: {out:?}"
    );
}

/// What a PowerShell host does with an import (the product's session
/// wrapper): the module Import-PSSession returns is imported again with
/// `-Global`; `Get-Command` then finds the proxy as a function, an
/// unknown name finds nothing, and `-ModuleInfo` refuses what is not a
/// module. Each Import-PSSession makes a module of its own.
#[test]
fn an_import_makes_a_module_that_can_be_made_global_and_found() {
    let mut w = world();
    let script = contract_script(
        "LAB\\admin",
        "ex02.contoso.local",
        "'Get-MailboxServer'",
        r#"    $module = Import-PSSession -Session $session -CommandName 'Get-MailboxServer' -DisableNameChecking -AllowClobber
    Import-Module -ModuleInfo $module -Global -DisableNameChecking
    $module.Name -like 'tmp_*'
    (Get-Command -Name 'get-mailboxserver' -CommandType Function -ErrorAction SilentlyContinue).Name
    $null -eq (Get-Command -Name 'Get-Queue' -CommandType Function -ErrorAction SilentlyContinue)
    $null -eq (Get-Command -Name 'Get-MailboxServer' -CommandType Cmdlet -ErrorAction SilentlyContinue)
    try { Import-Module -ModuleInfo 'tmp_x' -Global } catch { 'refused' }"#,
    );
    let out = run_on(&mut w, "EX01", &script, &stdin_secret("lab-only-password"));
    assert_eq!(out.stderr, "", "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["True", "Get-MailboxServer", "True", "True", "refused"],
        "{out:?}"
    );
}
