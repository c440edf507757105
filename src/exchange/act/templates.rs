//! The action templates: the PowerShell the rollout steps send to change a
//! server, one [`Template`] each, in runbook order
//! (`shared/domain/runbook.md`). Holes `{{name}}` are filled by
//! `ps::Script::render` with single-quoted literals only. Each template
//! does one thing, so a step acts only where its observation says the work
//! is not yet done, and the journal can record each change; the typed
//! constructors in `act` say which change that is.
//!
//! The `Target` templates run in a shell on the server being rolled:
//! `Suspend-ClusterNode` must run on `S` itself (runbook §2.5), and so do
//! services, tasks and the reboot. The `ExchangeSession` templates are
//! Exchange cmdlets only, sent in an Exchange remote session from a peer
//! in service (`exchange::Reach`), naming `S` with `-Identity`/`-Server`.
//! A HubTransport change takes effect when transport restarts: that
//! restart is [`RESTART_TRANSPORT`], a `Target` template sent right after.
//! Every Set-ServerComponentState and Set-MailboxServer carries the
//! `<#DomainController#>` marker (`Operation::pinned`): it is sent to the
//! domain controller chosen for the server, whose reads verify it
//! (review real-exchange.md #23; ExchangeDsc's maintenance and mailbox
//! server resources take a `DomainController` for the same writes).

use crate::exchange::Template;

// ------------------------------------------------------ enter-maintenance

/// Runbook §2.1: drain transport ([`RESTART_TRANSPORT`] follows, §2.2).
pub const DRAIN_HUB_TRANSPORT: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'HubTransport' -State 'Draining' -Requester 'Maintenance'<#DomainController#>\n"
);

/// Runbook §2.2 and §4.7: the transport restart on the server itself,
/// after each HubTransport change (the change takes effect only on
/// restart), and alone for a resumed run whose HubTransport change was
/// journaled but whose restart was not (a crash between the two). A
/// service found stopped (a restart cut off before it started again) is
/// only started: starting it applies the change as well (review
/// real-exchange.md #4, "Start the service only when it is not running").
/// Minutes on a real server: the action carries its own deadline.
pub const RESTART_TRANSPORT: Template = template!(
    Target,
    r#"if ((Get-Service -Name 'MSExchangeTransport').Status -eq 'Running') {
    Restart-Service -Name 'MSExchangeTransport'
} else {
    Start-Service -Name 'MSExchangeTransport'
}
"#
);

/// Runbook §2.3 (Exchange 2016 only).
pub const DRAIN_UM_CALL_ROUTER: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'UMCallRouter' -State 'Draining' -Requester 'Maintenance'<#DomainController#>\n"
);

/// Runbook §2.4: queued mail to another member; `-Target` must be an FQDN.
/// Redirect-Message has ConfirmImpact High (cmdlets.md §7): `-Confirm:$false`.
pub const REDIRECT_MESSAGES: Template = template!(
    ExchangeSession,
    "Redirect-Message -Server {{server}} -Target {{target}} -Confirm:$false\n"
);

/// After the drain, before the long outage: a heartbeat on member
/// `{{peer}}`'s shadow queues for this server, which brings back this
/// server's discard notifications so the member drops its shadow copies
/// (ExchangeDsc TransportMaintenance.psm1 `Drain-DiscardEvents`: "Forcing
/// heart-beat", `Retry-Queue -server $_ -Filter $filter`). Not part of
/// Microsoft's documented procedure (manage-dags has no such step); a CU
/// can outlast the default ShadowResubmitTimeSpan (3 h), after which the
/// member would resubmit its shadows (review real-exchange.md #14).
pub const SHADOW_HEARTBEAT: Template = template!(
    ExchangeSession,
    "Retry-Queue -Server {{peer}} -Filter {{filter}}\n"
);

/// Runbook §2.5: the node cannot become the PAM while paused.
pub const SUSPEND_CLUSTER_NODE: Template =
    template!(Target, "Suspend-ClusterNode -Name {{server}} | Out-Null\n");

/// After the pause: the core `Cluster Group` off this server, so it is no
/// longer the Primary Active Manager when it reboots (Microsoft's
/// StartDagServerMaintenance.ps1 moves the PAM the same way; pausing the
/// node moves no group). Observes first and moves only when this server
/// owns the group, so a resumed run never moves it twice; `Move-ClusterGroup`
/// without `-Node` picks the best other node (a Paused node is not one).
/// `OwnerNode` is a ClusterNode object: its `Name` is the node name.
pub const MOVE_CLUSTER_GROUP_OFF: Template = template!(
    Target,
    r#"$from = [string](Get-ClusterGroup -Name 'Cluster Group').OwnerNode.Name
$to = $from
if ($from -eq {{server}}) {
    $to = [string](Move-ClusterGroup -Name 'Cluster Group').OwnerNode.Name
}
[pscustomobject]@{ From = $from; To = $to } | ConvertTo-Json -Compress
"#
);

/// Runbook §2.6: Active Manager moves every active copy off the server.
pub const MOVE_NOW_ON: Template = template!(
    ExchangeSession,
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyActivationDisabledAndMoveNow $true<#DomainController#>\n"
);

/// Runbook §2.7: nothing may activate here while maintenance lasts.
pub const BLOCK_ACTIVATION: Template = template!(
    ExchangeSession,
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyAutoActivationPolicy 'Blocked'<#DomainController#>\n"
);

/// When copies stay mounted after MoveNow (Active Manager found no better
/// copy in time): ask for the moves explicitly and report each result.
/// `-Confirm:$false` because skip-check variants prompt (cmdlets.md §11).
pub const MOVE_ACTIVE_DATABASES: Template = template!(
    ExchangeSession,
    r#"$results = @(Move-ActiveMailboxDatabase -Server {{server}} -Confirm:$false | ForEach-Object {
    [pscustomobject]@{ Identity = [string]$_.Identity; Status = $_.Status.ToString(); ActiveServerAtEnd = $_.ActiveServerAtEnd; ErrorMessage = $_.ErrorMessage }
})
ConvertTo-Json -InputObject $results -Depth 3 -Compress
"#
);

/// Runbook §2.9: the whole server offline, after the copies and queues are gone.
pub const SERVER_WIDE_OFFLINE: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'ServerWideOffline' -State 'Inactive' -Requester 'Maintenance'<#DomainController#>\n"
);

// ---------------------------------------------------------------- reboots

/// Runbook §3: reboot the server. Run on the server itself; the connection
/// drops while it goes down, so the step then polls `BOOT_STATE` until the
/// boot time changes.
/// A service an installer left Disabled: its start type back, then started
/// (CSS-Exchange SetupAssist Test-ExchangeServices: "Set the service to
/// Automatic and start it"). Windows-level: on the target.
pub const SET_SERVICE_START_TYPE: Template = template!(
    Target,
    "Set-Service -Name {{service}} -StartupType {{start_type}}\nStart-Service -Name {{service}}\n"
);

pub const RESTART_COMPUTER: Template = template!(Target, "Restart-Computer -Force\n");

// ------------------------------------------------------------------ setup

/// Opens the Task Scheduler's COM service (Microsoft Learn, "Task
/// Scheduler Scripting Objects": `TaskService.Connect`, `NewTask(0)`: its
/// flags are reserved, 0) and starts a task definition whose principal runs
/// with the highest privileges (`RunLevel` 1 = TASK_RUNLEVEL_HIGHEST,
/// "Principal.RunLevel property"), as `-RunLevel Highest` did. Shared by
/// the templates that register a task with the admin's credential.
macro_rules! task_definition {
    () => {
        r#"$service = New-Object -ComObject 'Schedule.Service'
$service.Connect()
$definition = $service.NewTask(0)
$definition.Principal.RunLevel = 1
"#
    };
}

/// Registers `$definition` as task `$task` in the root folder for the
/// account `$user` with the password from `$credential` (stdin):
/// `TaskFolder.RegisterTaskDefinition(path, definition, flags, userId,
/// password, logonType)` with flags 6 = TASK_CREATE_OR_UPDATE (the
/// cmdlet's `-Force`) and logon type 1 = TASK_LOGON_PASSWORD (Microsoft
/// Learn, "TaskFolder.RegisterTaskDefinition method", TASK_CREATION and
/// TASK_LOGON_TYPE enumerations). The password goes to a method call, not
/// a cmdlet parameter: module logging (4103) records command invocations
/// and their parameter bindings (Microsoft Learn, about_Logging_Windows);
/// that a .NET/COM method call's arguments are not logged there is
/// UNVERIFIED (no source says so for method calls; the lab assumes it).
/// Script block logging (4104) records only this text, which holds no
/// secret.
macro_rules! register_task_definition {
    () => {
        r#"$password = $credential.GetNetworkCredential().Password
$null = $service.GetFolder('\').RegisterTaskDefinition($task, $definition, 6, $user, $password, 1)
"#
    };
}

/// Writes the batch file that runs the installer and records its exit
/// code, and prepares the scheduled task's definition: its action runs the
/// batch file; priority 4 (normal), as ExchangeDsc uses, rather than the
/// default 7 (below normal CPU, low I/O) for an install that can take
/// hours; and no battery conditions (`TaskSettings.Priority`,
/// `DisallowStartIfOnBatteries`, `StopIfGoingOnBatteries`: Microsoft Learn,
/// "TaskSettings object"). `{{batch}}` is the whole batch text, rendered
/// by the step from validated paths.
macro_rules! installer_task_action {
    () => {
        r#"$dir = Join-Path -Path $env:SystemDrive -ChildPath 'cu-roll'
New-Item -ItemType Directory -Path $dir -Force | Out-Null
Remove-Item -Path (Join-Path -Path $dir -ChildPath {{exit_file}}) -Force -ErrorAction SilentlyContinue
$batch = Join-Path -Path $dir -ChildPath {{batch_file}}
Set-Content -Path $batch -Value {{batch}} -Encoding ASCII
"#
    };
}

/// Runs the installer detached, as a scheduled task, then starts it: a
/// dropped connection or an orchestrator crash cannot kill setup, and no
/// PowerShell stays open on the server while setup runs (setup refuses to
/// start while other powershell.exe processes run: exchange-facts.md, rule
/// ProcessNeedsToBeClosedOnUpgrade).
///
/// The task runs as an account with Exchange's rights (the plan's
/// `[connection] user`, or the lab transport's account), never SYSTEM:
/// setup needs Organization Management rights (and Schema/Enterprise Admins
/// for AD preparation), which the computer account SYSTEM acts as does not
/// have (CSS-Exchange `ExchangeSetup_ADUpdated_NoOrgMan.log`: Failed
/// [Rule:DelegatedMailboxFirstInstall] and friends); ExchangeDsc's xExchInstall registers its
/// setup task with the admin's credential for the same reason. The
/// password arrives on stdin (`TargetWithCredential`: `$credential`), so
/// no script text (4104) holds it, and it is registered through the Task
/// Scheduler's COM objects, not `Register-ScheduledTask -Password`, whose
/// plain-text parameter module logging (4103) would record.
pub const START_TASK_AS_USER: Template = template!(
    TargetWithCredential,
    installer_task_action!(),
    task_definition!(),
    r#"$task = {{task}}
$user = {{user}}
$definition.Settings.Priority = 4
$definition.Settings.DisallowStartIfOnBatteries = $false
$definition.Settings.StopIfGoingOnBatteries = $false
$exec = $definition.Actions.Create(0)
$exec.Path = $batch
"#,
    register_task_definition!(),
    r#"Start-ScheduledTask -TaskName $task
"#
);

/// Removes the task once setup (or the SU) has finished.
pub const REMOVE_TASK: Template = template!(
    Target,
    "Unregister-ScheduledTask -TaskName {{task}} -Confirm:$false\n"
);

// ------------------------------------------------------- exit-maintenance

/// Runbook §4.1.
pub const SERVER_WIDE_ONLINE: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'ServerWideOffline' -State 'Active' -Requester 'Maintenance'<#DomainController#>\n"
);

/// Runbook §4.2 (Exchange 2016 only).
pub const UM_CALL_ROUTER_ACTIVE: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'UMCallRouter' -State 'Active' -Requester 'Maintenance'<#DomainController#>\n"
);

/// Runbook §4.3.
pub const RESUME_CLUSTER_NODE: Template =
    template!(Target, "Resume-ClusterNode -Name {{server}} | Out-Null\n");

/// Runbook §4.4: back to the policy the server had before (normally Unrestricted).
pub const SET_ACTIVATION_POLICY: Template = template!(
    ExchangeSession,
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyAutoActivationPolicy {{policy}}<#DomainController#>\n"
);

/// Runbook §4.5.
pub const MOVE_NOW_OFF: Template = template!(
    ExchangeSession,
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyActivationDisabledAndMoveNow $false<#DomainController#>\n"
);

/// Runbook §4.6: a copy on the server that became suspended while cu-roll
/// had the server out (one suspended before is reported, not resumed).
pub const RESUME_COPY: Template = template!(
    ExchangeSession,
    "Resume-MailboxDatabaseCopy -Identity {{copy}}\n"
);

/// Runbook §4.6 for a lagged or activation-suspended copy: Microsoft
/// Learn, Resume-MailboxDatabaseCopy, `-ReplicationOnly` resumes
/// replication and leaves the activation setting as it is (the copy stays
/// blocked for activation); review real-exchange.md #16 cites known
/// scripts that resume lagged copies so.
pub const RESUME_COPY_REPLICATION_ONLY: Template = template!(
    ExchangeSession,
    "Resume-MailboxDatabaseCopy -Identity {{copy}} -ReplicationOnly\n"
);

/// Runbook §4.7: transport back ([`RESTART_TRANSPORT`] follows).
pub const HUB_TRANSPORT_ACTIVE: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component 'HubTransport' -State 'Active' -Requester 'Maintenance'<#DomainController#>\n"
);

/// Runbook §4.8: a component a failed or interrupted setup left Inactive
/// under requester Functional.
pub const CLEAR_FUNCTIONAL: Template = template!(
    ExchangeSession,
    "Set-ServerComponentState -Identity {{server}} -Component {{component}} -State 'Active' -Requester 'Functional'<#DomainController#>\n"
);

// ------------------------------------------------------------ redistribute

/// Runbook §5: every database back on its most preferred healthy copy.
/// The script prompts per move unless `-Confirm:$false` (cmdlets.md §12).
/// It is a file of the Exchange installation that loads the Exchange
/// snap-in itself, so it cannot run in an Exchange remote session
/// (no-language mode, KB5001779), nor in the WinRM shell on the server: a
/// network logon, where the snap-in's cmdlets reach AD without credentials
/// (the second hop, Microsoft Learn "Making the second hop in PowerShell
/// Remoting"; KB 2827611). So it runs as a scheduled task registered with
/// the admin's credential (a batch logon that holds it, as setup's task),
/// started and waited for here, at most `{{timeout_s}}` seconds; the
/// task's `LastTaskResult` is the script's exit code. `{{encoded}}` is the
/// `-EncodedCommand` form of [`REDISTRIBUTE_COMMAND`]. How soon a started
/// task reports `Running` is UNVERIFIED: the script waits a second first.
/// The task is registered through the Task Scheduler's COM objects (see
/// [`START_TASK_AS_USER`]), so no logged cmdlet parameter holds the password.
/// Once the task has ended, the per-database results it left in
/// `%SystemDrive%\cu-roll\redistribute.json` are printed (and the file
/// removed): what the step reports (review real-exchange.md #21, "Move
/// results").
pub const REDISTRIBUTE: Template = template!(
    TargetWithCredential,
    r#"$task = 'cu-roll-redistribute'
$user = $credential.UserName
"#,
    task_definition!(),
    r#"$exec = $definition.Actions.Create(0)
$exec.Path = 'powershell.exe'
$exec.Arguments = '-NoProfile -NonInteractive -EncodedCommand ' + {{encoded}}
"#,
    register_task_definition!(),
    r#"$moves = Join-Path -Path $env:SystemDrive -ChildPath 'cu-roll\redistribute.json'
if (Test-Path -Path $moves) { Remove-Item -Path $moves }
try {
    Start-ScheduledTask -TaskName $task
    Start-Sleep -Seconds 1
    $waited = 0
    while ((Get-ScheduledTask -TaskName $task).State.ToString() -eq 'Running') {
        if ($waited -ge {{timeout_s}}) { throw ('RedistributeActiveDatabases.ps1 still runs after ' + $waited + ' seconds (scheduled task ' + $task + ')') }
        Start-Sleep -Seconds 2
        $waited += 2
    }
    $result = (Get-ScheduledTaskInfo -TaskName $task).LastTaskResult
} finally {
    Unregister-ScheduledTask -TaskName $task -Confirm:$false
}
if ($result -ne 0) { throw ('RedistributeActiveDatabases.ps1 ended with exit code ' + $result) }
if (Test-Path -Path $moves) {
    Get-Content -Path $moves -Raw
    Remove-Item -Path $moves
}
"#
);

/// What the redistribution task's powershell.exe runs (for DAG
/// `{{dag}}`): Microsoft's script from the Exchange installation, in a
/// process of its own (the task's), so the caller's `$ErrorActionPreference`
/// does not turn the script's non-terminating errors fatal (review
/// real-exchange.md #21). Each database's `DatabaseMoveStatus` (DbName,
/// ActiveServerAtStart/End, MoveStatus: cmdlets.md §12) and the errors the
/// script wrote (`-ErrorVariable`; a move Active Manager suppressed is
/// one: StartDagServerMaintenance.ps1 handles
/// `AmDbMoveMoveSuppressedBlackoutException`) go to
/// `%SystemDrive%\cu-roll\redistribute.json` as one JSON object.
pub const REDISTRIBUTE_COMMAND: &str = r#"$script = Join-Path -Path $env:ExchangeInstallPath -ChildPath 'Scripts\RedistributeActiveDatabases.ps1'
$file = Join-Path -Path $env:SystemDrive -ChildPath 'cu-roll\redistribute.json'
$radErrors = @()
$moves = @(& $script -DagName {{dag}} -BalanceDbsByActivationPreference -Confirm:$false -ErrorAction Continue -ErrorVariable radErrors | Where-Object { $_.DbName } | ForEach-Object {
    [pscustomobject]@{ Database = [string]$_.DbName; From = [string]$_.ActiveServerAtStart; To = [string]$_.ActiveServerAtEnd; Status = [string]$_.MoveStatus }
})
$errors = @($radErrors | ForEach-Object { $_.ToString() })
$null = New-Item -ItemType Directory -Path (Split-Path -Path $file -Parent) -Force
$json = ConvertTo-Json -InputObject ([pscustomobject]@{ Moves = $moves; Errors = $errors }) -Depth 3 -Compress
Set-Content -Path $file -Value $json -Encoding UTF8
"#;
