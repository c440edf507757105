//! The PowerShell (and cmd.exe) the rollout steps send, one template each,
//! in runbook order (`shared/domain/runbook.md`). Holes `{{name}}` are
//! filled by `ps::Script::render` with single-quoted literals only. Each
//! template does one thing, so a step acts only where its observation says
//! the work is not yet done, and the journal can record each change.
//!
//! Every script runs on the server being rolled (`S`), over the plan's
//! transport: `Suspend-ClusterNode` must run on `S` itself (runbook §2.5),
//! and the Exchange cmdlets run locally after loading the snap-in.

/// Stop on the first error; no progress records on the wire.
macro_rules! prelude {
    () => {
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
    };
}

/// Exchange cmdlets, locally on the server.
macro_rules! snapin {
    () => {
        "Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.SnapIn'\n"
    };
}

// ---------------------------------------------------------------- observe

/// Boot time and the Exchange services (after a reboot: is the server back,
/// and did Exchange start?). `StartType` shows services a failed setup left
/// Disabled (exchange-facts.md §5).
pub const BOOT_STATE: &str = concat!(
    prelude!(),
    r#"$os = Get-CimInstance -ClassName 'Win32_OperatingSystem'
$services = @(Get-Service -Name 'MSExchange*' | ForEach-Object {
    [pscustomobject]@{ Name = $_.Name; Status = $_.Status.ToString(); StartType = $_.StartType.ToString() }
})
[pscustomobject]@{
    LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    Services = $services
} | ConvertTo-Json -Depth 3 -Compress
"#
);

// ------------------------------------------------------ enter-maintenance

/// Runbook §2.1–2.2: drain transport, then restart it so draining takes effect.
pub const DRAIN_HUB_TRANSPORT: &str = concat!(
    prelude!(),
    snapin!(),
    r#"Set-ServerComponentState -Identity {{server}} -Component 'HubTransport' -State 'Draining' -Requester 'Maintenance'
Restart-Service -Name 'MSExchangeTransport'
"#
);

/// The transport restart alone, for a resumed run whose HubTransport
/// change was journaled but whose restart was not (a crash between the
/// two): the component change takes effect only on restart.
pub const RESTART_TRANSPORT: &str =
    concat!(prelude!(), "Restart-Service -Name 'MSExchangeTransport'\n");

/// Runbook §2.3 (Exchange 2016 only).
pub const DRAIN_UM_CALL_ROUTER: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-ServerComponentState -Identity {{server}} -Component 'UMCallRouter' -State 'Draining' -Requester 'Maintenance'\n"
);

/// Runbook §2.4: queued mail to another member; `-Target` must be an FQDN.
/// Redirect-Message has ConfirmImpact High (cmdlets.md §7): `-Confirm:$false`.
pub const REDIRECT_MESSAGES: &str = concat!(
    prelude!(),
    snapin!(),
    "Redirect-Message -Server {{server}} -Target {{target}} -Confirm:$false\n"
);

/// Runbook §2.5: the node cannot become the PAM while paused.
pub const SUSPEND_CLUSTER_NODE: &str = concat!(
    prelude!(),
    "Suspend-ClusterNode -Name {{server}} | Out-Null\n"
);

/// After the pause: the core `Cluster Group` off this server, so it is no
/// longer the Primary Active Manager when it reboots (Microsoft's
/// StartDagServerMaintenance.ps1 moves the PAM the same way; pausing the
/// node moves no group). Observes first and moves only when this server
/// owns the group, so a resumed run never moves it twice; `Move-ClusterGroup`
/// without `-Node` picks the best other node (a Paused node is not one).
/// `OwnerNode` is a ClusterNode object: its `Name` is the node name.
pub const MOVE_CLUSTER_GROUP_OFF: &str = concat!(
    prelude!(),
    r#"$from = [string](Get-ClusterGroup -Name 'Cluster Group').OwnerNode.Name
$to = $from
if ($from -eq {{server}}) {
    $to = [string](Move-ClusterGroup -Name 'Cluster Group').OwnerNode.Name
}
[pscustomobject]@{ From = $from; To = $to } | ConvertTo-Json -Compress
"#
);

/// Which node owns the core `Cluster Group` (the PAM), for verification.
pub const CLUSTER_GROUP_OWNER: &str = concat!(
    prelude!(),
    r#"[pscustomobject]@{ Owner = [string](Get-ClusterGroup -Name 'Cluster Group').OwnerNode.Name } | ConvertTo-Json -Compress
"#
);

/// Runbook §2.6: Active Manager moves every active copy off the server.
pub const MOVE_NOW_ON: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyActivationDisabledAndMoveNow $true\n"
);

/// Runbook §2.7: nothing may activate here while maintenance lasts.
pub const BLOCK_ACTIVATION: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyAutoActivationPolicy 'Blocked'\n"
);

/// When copies stay mounted after MoveNow (Active Manager found no better
/// copy in time): ask for the moves explicitly and report each result.
/// `-Confirm:$false` because skip-check variants prompt (cmdlets.md §11).
pub const MOVE_ACTIVE_DATABASES: &str = concat!(
    prelude!(),
    snapin!(),
    r#"$results = @(Move-ActiveMailboxDatabase -Server {{server}} -Confirm:$false | ForEach-Object {
    [pscustomobject]@{ Identity = [string]$_.Identity; Status = $_.Status.ToString(); ActiveServerAtEnd = $_.ActiveServerAtEnd; ErrorMessage = $_.ErrorMessage }
})
ConvertTo-Json -InputObject $results -Depth 3 -Compress
"#
);

/// Runbook §2.9: the whole server offline, after the copies and queues are gone.
pub const SERVER_WIDE_OFFLINE: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-ServerComponentState -Identity {{server}} -Component 'ServerWideOffline' -State 'Inactive' -Requester 'Maintenance'\n"
);

// ---------------------------------------------------------------- reboots

/// Runbook §3: reboot the server. Run on the server itself; the connection
/// drops while it goes down, so the step then polls `BOOT_STATE` until the
/// boot time changes.
pub const RESTART_COMPUTER: &str = concat!(prelude!(), "Restart-Computer -Force\n");

// ------------------------------------------------------------------ setup

/// Writes the batch file that runs the installer and records its exit
/// code, and prepares the scheduled task's action and settings: priority 4
/// (normal), as ExchangeDsc uses, rather than the default 7 (below normal
/// CPU, low I/O) for an install that can take hours; and no battery
/// conditions. Shared by the two
/// `START_*_TASK` templates; `{{batch}}` is the whole batch text, rendered
/// by the step from validated paths.
macro_rules! installer_task_action {
    () => {
        r#"$dir = Join-Path -Path $env:SystemDrive -ChildPath 'cu-roll'
New-Item -ItemType Directory -Path $dir -Force | Out-Null
Remove-Item -Path (Join-Path -Path $dir -ChildPath {{exit_file}}) -Force -ErrorAction SilentlyContinue
$batch = Join-Path -Path $dir -ChildPath {{batch_file}}
Set-Content -Path $batch -Value {{batch}} -Encoding ASCII
$action = New-ScheduledTaskAction -Execute $batch
$settings = New-ScheduledTaskSettingsSet -Priority 4 -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
"#
    };
}

/// Runs the installer detached, as a scheduled task (SYSTEM, highest
/// privileges), then starts it: a dropped connection or an orchestrator
/// crash cannot kill setup, and no PowerShell stays open on the server
/// while setup runs (setup refuses to start while other powershell.exe
/// processes run: exchange-facts.md, rule ProcessNeedsToBeClosedOnUpgrade).
/// SYSTEM acts in AD as the computer account: see `START_TASK_AS_USER`.
pub const START_SETUP_TASK: &str = concat!(
    prelude!(),
    installer_task_action!(),
    r#"$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
Register-ScheduledTask -TaskName {{task}} -Action $action -Principal $principal -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName {{task}}
"#
);

/// The same, run as the connecting admin (`installer_account =
/// "connection-user"`): setup needs Organization Management rights (and
/// Schema/Enterprise Admins for AD preparation), which the computer account
/// SYSTEM acts as does not have; ExchangeDsc's xExchInstall registers its
/// setup task with the admin's credential for the same reason. The password
/// sits on a line of its own, so an error record quoting the failing
/// `Register-ScheduledTask` line never shows it.
pub const START_TASK_AS_USER: &str = concat!(
    prelude!(),
    installer_task_action!(),
    r#"$password = {{password}}
Register-ScheduledTask -TaskName {{task}} -Action $action -User {{user}} -Password $password -RunLevel Highest -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName {{task}}
"#
);

/// Removes the task once setup (or the SU) has finished.
pub const REMOVE_TASK: &str = concat!(
    prelude!(),
    "Unregister-ScheduledTask -TaskName {{task}} -Confirm:$false\n"
);

/// cmd.exe: the exit code file written by the batch (absent while running).
pub const CMD_READ_EXIT_CODE: &str = r#"type "%SystemDrive%\cu-roll\{exit_file}""#;

/// cmd.exe: is setup still running? (`ExSetup.exe` is the process the
/// media's Setup.exe starts.)
pub const CMD_SETUP_PROCESS: &str = crate::exchange::scripts::CMD_EXSETUP_PROCESS;

/// cmd.exe: is the scheduled task still running its batch? The verbose
/// CSV's 7th column, `Last Result`, is 267009 (0x41301,
/// SCHED_S_TASK_RUNNING) while it runs — a number in every language, where
/// the `Status` column is translated. The installers' own processes are
/// not enough: Setup.exe runs before ExSetup.exe starts, and msiexec.exe
/// also runs as a service.
pub const CMD_TASK_STATUS: &str = r#"schtasks /Query /TN "{task}" /V /FO CSV /NH"#;

/// cmd.exe: the setup log (appends across runs; the last run starts at
/// `Starting Microsoft Exchange Server … Setup`).
pub const CMD_SETUP_LOG: &str = r#"type "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#;

// ------------------------------------------------------- exit-maintenance

/// Runbook §4.1.
pub const SERVER_WIDE_ONLINE: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-ServerComponentState -Identity {{server}} -Component 'ServerWideOffline' -State 'Active' -Requester 'Maintenance'\n"
);

/// Runbook §4.2 (Exchange 2016 only).
pub const UM_CALL_ROUTER_ACTIVE: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-ServerComponentState -Identity {{server}} -Component 'UMCallRouter' -State 'Active' -Requester 'Maintenance'\n"
);

/// Runbook §4.3.
pub const RESUME_CLUSTER_NODE: &str = concat!(
    prelude!(),
    "Resume-ClusterNode -Name {{server}} | Out-Null\n"
);

/// Runbook §4.4: back to the policy the server had before (normally Unrestricted).
pub const SET_ACTIVATION_POLICY: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyAutoActivationPolicy {{policy}}\n"
);

/// Runbook §4.5.
pub const MOVE_NOW_OFF: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-MailboxServer -Identity {{server}} -DatabaseCopyActivationDisabledAndMoveNow $false\n"
);

/// Runbook §4.6: a copy on the server left suspended.
pub const RESUME_COPY: &str = concat!(
    prelude!(),
    snapin!(),
    "Resume-MailboxDatabaseCopy -Identity {{copy}}\n"
);

/// Runbook §4.7: transport back, restarted so it takes effect.
pub const HUB_TRANSPORT_ACTIVE: &str = concat!(
    prelude!(),
    snapin!(),
    r#"Set-ServerComponentState -Identity {{server}} -Component 'HubTransport' -State 'Active' -Requester 'Maintenance'
Restart-Service -Name 'MSExchangeTransport'
"#
);

/// Runbook §4.8: a component a failed or interrupted setup left Inactive
/// under requester Functional.
pub const CLEAR_FUNCTIONAL: &str = concat!(
    prelude!(),
    snapin!(),
    "Set-ServerComponentState -Identity {{server}} -Component {{component}} -State 'Active' -Requester 'Functional'\n"
);

// ------------------------------------------------------------ redistribute

/// Runbook §5: every database back on its most preferred healthy copy.
/// The script prompts per move unless `-Confirm:$false` (cmdlets.md §12).
pub const REDISTRIBUTE: &str = concat!(
    prelude!(),
    snapin!(),
    r#"$script = Join-Path -Path $env:ExchangeInstallPath -ChildPath 'Scripts\RedistributeActiveDatabases.ps1'
& $script -DagName {{dag}} -BalanceDbsByActivationPreference -Confirm:$false | Out-Null
"#
);

// ------------------------------------------------------------------ health

/// Runbook §5: Test-ServiceHealth, Test-MAPIConnectivity and
/// Test-ReplicationHealth, projected with their results as names.
pub const HEALTH_TESTS: &str = concat!(
    prelude!(),
    snapin!(),
    r#"$server = {{server}}
$serviceHealth = @(Test-ServiceHealth -Server $server | ForEach-Object {
    [pscustomobject]@{ Role = $_.Role; RequiredServicesRunning = $_.RequiredServicesRunning; ServicesNotRunning = @($_.ServicesNotRunning) }
})
$mapi = @(Test-MAPIConnectivity -Server $server | ForEach-Object {
    [pscustomobject]@{ Database = [string]$_.Database; Result = $_.Result.ToString(); Error = $_.Error }
})
$replication = @(Test-ReplicationHealth -Identity $server | ForEach-Object {
    [pscustomobject]@{ Check = $_.Check; Result = $_.Result.ToString(); Error = $_.Error }
})
[pscustomobject]@{
    ServiceHealth = $serviceHealth
    MapiConnectivity = $mapi
    ReplicationHealth = $replication
} | ConvertTo-Json -Depth 4 -Compress
"#
);
