//! The observation templates, one constant each: the PowerShell (as
//! [`Template`]s, opened by `template!` according to their placement) and
//! the cmd.exe lines cu-roll reads servers with. Holes (`{{name}}`) are
//! filled by `ps::Script::render` with quoted literals only. Every
//! PowerShell template projects what it reads into `[pscustomobject]`s with
//! names converted via `.ToString()` (enums arrive as numbers otherwise, and
//! deserialised objects as strings: cmdlets.md §14) and prints one
//! compressed JSON value. The cmd.exe lines (`CMD_*`) are plain strings:
//! cmd.exe is the server's own, so they always run on the target.
//! Nothing here changes a server.

use crate::exchange::Template;

/// Build, prerequisites, pending reboot and free space of the server the
/// script runs on. Reads what CSS-Exchange's HealthChecker reads:
/// ExSetup.exe's ProductVersion under MsiInstallPath (includes the SU), the
/// .NET 4.x `Release` DWORD, the Uninstall keys (VC++ runtimes, UCMA,
/// URL Rewrite) and the pending-reboot indicators of
/// `Shared/Get-ServerRebootPending.ps1` — including the Configuration
/// Manager client's `CCM_ClientUtilities.DetermineIfRebootPending`
/// (`RebootPending` or `IsHardRebootPending`), whose namespace is absent
/// where no CCM client is installed: that error is not a finding, as in
/// CSS-Exchange; the free space of the system drive and of the drive
/// Exchange is installed on (`MsiInstallPath`'s drive, often `D:`;
/// Microsoft Learn "Exchange Server system requirements": 30 GB on the
/// drive Exchange is installed on); and the setup values of the role
/// keys ExchangeDsc's `Test-ExchangeSetupPartiallyCompleted` reads
/// (`source/Modules/ExchangeDscHelper/ExchangeDscHelper.psm1`, formerly
/// `xExchangeHelper.psm1`): a failed upgrade leaves ExSetup.exe at the new
/// build, so the build alone cannot say that setup finished.
pub const SERVER_FACTS: Template = template!(
    Target,
    r#"$setupKey = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup'
$roles = @(foreach ($role in @('CafeRole', 'ClientAccessRole', 'FrontendTransportRole', 'HubTransportRole', 'MailboxRole', 'UnifiedMessagingRole')) {
    $key = Get-ItemProperty -Path ('HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\' + $role) -ErrorAction SilentlyContinue
    if ($null -ne $key) {
        [pscustomobject]@{ Role = $role; UnpackedVersion = $key.UnpackedVersion; ConfiguredVersion = $key.ConfiguredVersion; Action = $key.Action; Watermark = $key.Watermark }
    }
})
$exSetup = Get-Item -LiteralPath (Join-Path -Path $setupKey.MsiInstallPath -ChildPath 'bin\ExSetup.exe')
$ndp = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -ErrorAction SilentlyContinue
$os = Get-CimInstance -ClassName 'Win32_OperatingSystem'
$disk = Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter ("DeviceID='" + $env:SystemDrive + "'")
$installDrive = ([string]$setupKey.MsiInstallPath).Substring(0, 2)
$installDisk = Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter ("DeviceID='" + $installDrive + "'")
$products = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
    Where-Object { $_.DisplayName } |
    ForEach-Object { [pscustomobject]@{ Key = $_.PSChildName; DisplayName = $_.DisplayName; Version = $_.Version } })
$pending = @()
if (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue) { $pending += 'PendingFileRenameOperations' }
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') { $pending += 'Component Based Servicing\RebootPending' }
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { $pending += 'WindowsUpdate\Auto Update\RebootRequired' }
if (Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Updates\UpdateExeVolatile' -Name 'Flags' -ErrorAction SilentlyContinue) { $pending += 'Updates\UpdateExeVolatile\Flags' }
$ccm = Invoke-CimMethod -Namespace 'root\ccm\ClientSDK' -ClassName 'CCM_ClientUtilities' -MethodName 'DetermineIfRebootPending' -ErrorAction SilentlyContinue
if ($ccm -and ($ccm.RebootPending -or $ccm.IsHardRebootPending)) { $pending += 'CCM_ClientUtilities\DetermineIfRebootPending' }
[pscustomobject]@{
    ComputerName = $env:COMPUTERNAME
    ExSetupVersion = $exSetup.VersionInfo.ProductVersion
    DotNetRelease = $ndp.Release
    OsCaption = $os.Caption
    OsVersion = $os.Version
    LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    SystemDriveFreeBytes = $disk.FreeSpace
    SystemDrive = $env:SystemDrive
    InstallDrive = $installDrive
    InstallDriveFreeBytes = $installDisk.FreeSpace
    Products = $products
    PendingReboot = $pending
    SetupRoles = $roles
} | ConvertTo-Json -Depth 4 -Compress
"#
);

/// The reads of [`EXCHANGE_STATE`] about the server in `$server`, shared
/// with the DAG-wide [`DAG_STATE`] (one text, so a change reaches both).
macro_rules! exchange_state_reads {
    () => {
        concat!(
            components_read!(),
            r#"$mailboxServer = Get-MailboxServer -Identity $server<#DomainController#>
$dag = [string]$mailboxServer.DatabaseAvailabilityGroup
# ReplayLagTimes (AD configuration): which copies here are lagged, even
# while the replication service reports no lag status.
$lagTimes = @{}
foreach ($database in @(Get-MailboxDatabase -Server $server)) {
    foreach ($lag in @($database.ReplayLagTimes)) {
        if ([string]$lag.Key.Name -eq $server) { $lagTimes[[string]$database.Name] = $lag.Value.ToString() }
    }
}
$copies = @(Get-MailboxDatabaseCopyStatus -Server $server | ForEach-Object {
    [pscustomobject]@{
        Name = [string]$_.Name
        DatabaseName = [string]$_.DatabaseName
        MailboxServer = [string]$_.MailboxServer
        Status = $_.Status.ToString()
        ActiveCopy = $_.ActiveCopy
        ActivationSuspended = $_.ActivationSuspended
        ActivationPreference = $_.ActivationPreference
        CopyQueueLength = $_.CopyQueueLength
        ReplayQueueLength = $_.ReplayQueueLength
        ContentIndexState = $_.ContentIndexState.ToString()
        ReplayLagEnabled = [bool]($_.ReplayLagStatus -and $_.ReplayLagStatus.Enabled)
        ReplayLagTime = $lagTimes[[string]$_.DatabaseName]
    }
})
"#,
            queues_read!()
        )
    };
}

/// The server's component states, with every requester's entry, into
/// `$components` (Mailbox and Edge servers alike).
macro_rules! components_read {
    () => {
        r#"$components = @(Get-ServerComponentState -Identity $server<#DomainController#> | ForEach-Object {
    [pscustomobject]@{
        Component = $_.Component
        State = $_.State.ToString()
        LocalStates = @($_.LocalStates | ForEach-Object { [pscustomobject]@{ Requester = $_.Requester; State = $_.State.ToString(); Timestamp = $_.Timestamp.ToUniversalTime().ToString('o') } })
        RemoteStates = @($_.RemoteStates | ForEach-Object { [pscustomobject]@{ Requester = $_.Requester; State = $_.State.ToString(); Timestamp = $_.Timestamp.ToUniversalTime().ToString('o') } })
    }
})
"#
    };
}
pub(crate) use components_read;

/// The server's queues into `$queues`, or the error into `$queuesError`
/// (Mailbox and Edge servers alike).
macro_rules! queues_read {
    () => {
        r#"# Get-Queue fails while the transport service is restarting (e.g. right
# after the transport restart of maintenance): report that, rather than
# losing the whole observation.
$queues = @()
$queuesError = $null
try {
    $queues = @(Get-Queue -Server $server | ForEach-Object {
        [pscustomobject]@{
            Identity = $_.Identity.ToString()
            DeliveryType = $_.DeliveryType.ToString()
            NextHopDomain = [string]$_.NextHopDomain
            MessageCount = $_.MessageCount
        }
    })
}
catch { $queuesError = $_.Exception.Message }
"#
    };
}
pub(crate) use queues_read;

/// The object [`EXCHANGE_STATE`] prints, from [`exchange_state_reads`]'s
/// variables.
macro_rules! exchange_state_object {
    () => {
        r#"[pscustomobject]@{
    Components = $components
    ActivationPolicy = $mailboxServer.DatabaseCopyAutoActivationPolicy.ToString()
    ActivationDisabledAndMoveNow = $mailboxServer.DatabaseCopyActivationDisabledAndMoveNow
    DatabaseAvailabilityGroup = $dag
    Copies = $copies
    Queues = $queues
    QueuesError = $queuesError
}"#
    };
}

/// Maintenance state, database copies and queues of server `{{server}}`,
/// read in an Exchange session. Requester entries are sent raw (both
/// lists, with timestamps) so the effective state and who holds it can be
/// worked out the way Exchange does (cmdlets.md §5). Results arrive
/// deserialized (cmdlets.md "Deserialized objects"): enums are read with
/// `.ToString()`, and `Identity`/`DatabaseAvailabilityGroup` with
/// `[string]`. The cluster node's state is Windows-level work, read apart
/// on the server itself ([`CLUSTER_NODE_STATE`]); `ClusterNodeState` is
/// filled from it.
pub const EXCHANGE_STATE: Template = template!(
    ExchangeSession,
    "$server = {{server}}\n",
    exchange_state_reads!(),
    exchange_state_object!(),
    " | ConvertTo-Json -Depth 5 -Compress\n"
);

/// The failover cluster node state of `{{server}}`, read on the server
/// itself (the FailoverClusters module: Windows-level, no Exchange cmdlet).
/// `Get-ClusterNode` fails while the cluster service restarts: that is
/// reported as `Error`, rather than losing the observation.
pub const CLUSTER_NODE_STATE: Template = template!(
    Target,
    r#"$state = $null
$nodeError = $null
try { $state = (Get-ClusterNode -Name {{server}}).State.ToString() }
catch { $nodeError = $_.Exception.Message }
[pscustomobject]@{ State = $state; Error = $nodeError } | ConvertTo-Json -Compress
"#
);

/// Every member of a DAG in one call (issue 13, "one DAG-wide observation
/// per poll"): [`EXCHANGE_STATE`]'s reads for each of `{{servers}}` in one
/// Exchange session, each member's failure its own (`Error`), as the
/// per-member reads failed one by one; the cluster node states from one
/// `Get-ClusterNode` on the peer (Microsoft Learn, Get-ClusterNode:
/// without `-Name` it "gets information about … nodes" of the local
/// cluster, which on a DAG member is the DAG's; a DAG member has the
/// FailoverClusters module, as [`CLUSTER_NODE_STATE`] relies on); and for
/// `{{quorum_of}}`, [`QUORUM`]'s reads: each member's QuorumGroup and
/// FileShareQuorum checks and the DAG's `-Status` once. The body runs in
/// the peer's local powershell.exe (`Operation::session_script`), so the
/// FailoverClusters cmdlet runs there, not in the session. `ClusterNodes`
/// lists the nodes read, so the caller can tell a peer of another cluster
/// (it then reads each node on the node itself, as before). UNVERIFIED on a
/// real DAG: that a peer's local `Get-ClusterNode` reports another member
/// `Down` while it reboots, as the cluster documents node states.
pub const DAG_STATE: Template = template!(
    ExchangeSession,
    r#"$servers = @({{servers}})
$quorumOf = @({{quorum_of}})
$nodes = @{}
$nodesError = $null
try {
    foreach ($node in @(Get-ClusterNode)) { $nodes[([string]$node.Name).ToLowerInvariant()] = $node.State.ToString() }
}
catch { $nodesError = $_.Exception.Message }
$dagStatus = $null
$dagError = $null
if ($quorumOf.Count -gt 0) {
    try { $dagStatus = Get-DatabaseAvailabilityGroup -Identity {{dag}} -Status }
    catch { $dagError = $_.Exception.Message }
}
$members = @(foreach ($server in $servers) {
    $state = $null
    $stateError = $null
    try {
"#,
    exchange_state_reads!(),
    "$state = ",
    exchange_state_object!(),
    r#"
    }
    catch { $stateError = $_.Exception.Message }
    $checks = $null
    $checksError = $null
    if ($quorumOf -contains $server) {
        try {
            $checks = @(Test-ReplicationHealth -Identity $server | Where-Object { $_.Check -eq 'QuorumGroup' -or $_.Check -eq 'FileShareQuorum' } | ForEach-Object {
                [pscustomobject]@{ Check = $_.Check; Result = $_.Result.ToString(); Error = $_.Error }
            })
        }
        catch { $checksError = $_.Exception.Message }
    }
    [pscustomobject]@{
        Server = $server
        State = $state
        Error = $stateError
        NodeState = $nodes[$server.ToLowerInvariant()]
        Checks = $checks
        ChecksError = $checksError
    }
})
$dagObject = $null
if ($null -ne $dagStatus) {
    $dagObject = [pscustomobject]@{
        Servers = @($dagStatus.Servers | ForEach-Object { [string]$_.Name })
        StoppedMailboxServers = @($dagStatus.StoppedMailboxServers).Count
        WitnessServer = [string]$dagStatus.WitnessServer
        WitnessShareInUse = [string]$dagStatus.WitnessShareInUse
    }
}
[pscustomobject]@{
    Members = $members
    ClusterNodes = @($nodes.Keys)
    NodesError = $nodesError
    Dag = $dagObject
    DagError = $dagError
} | ConvertTo-Json -Depth 8 -Compress
"#
);

/// The forest's Exchange AD levels, read as SetupAssist reads them: schema
/// `ms-Exch-Schema-Version-Pt` rangeUpper, the organisation container's
/// objectVersion, and the domain's `Microsoft Exchange System Objects`
/// objectVersion (exchange-facts.md §3). In a WinRM network logon the
/// ActiveDirectory module has no credential to present to a domain
/// controller (the second hop): every call passes the admin's
/// `$credential` (built from stdin by the `TargetWithCredential` head).
pub const AD_LEVELS: Template = template!(
    TargetWithCredential,
    r#"Import-Module -Name 'ActiveDirectory'
$rootDse = Get-ADRootDSE -Credential $credential
$schema = Get-ADObject -Identity ('CN=ms-Exch-Schema-Version-Pt,' + $rootDse.schemaNamingContext) -Properties 'rangeUpper' -Credential $credential
$org = @(Get-ADObject -SearchBase ('CN=Microsoft Exchange,CN=Services,' + $rootDse.configurationNamingContext) -SearchScope 'OneLevel' -LDAPFilter '(objectClass=msExchOrganizationContainer)' -Properties 'objectVersion' -Credential $credential)
$domain = Get-ADObject -Identity ('CN=Microsoft Exchange System Objects,' + $rootDse.defaultNamingContext) -Properties 'objectVersion' -Credential $credential
[pscustomobject]@{
    SchemaRangeUpper = $schema.rangeUpper
    OrganizationName = $org[0].Name
    OrgObjectVersion = $org[0].objectVersion
    DomainObjectVersion = $domain.objectVersion
} | ConvertTo-Json -Compress
"#
);

/// cmd.exe: is setup running? (`ExSetup.exe` is the process the media's
/// Setup.exe starts.) Read with cmd, never PowerShell: setup refuses to
/// start while other powershell.exe processes run (rule
/// ProcessNeedsToBeClosedOnUpgrade).
pub const CMD_EXSETUP_PROCESS: &str = r#"tasklist /FI "IMAGENAME eq ExSetup.exe" /FO CSV /NH"#;

/// Boot time and the Exchange services (after a reboot: is the server back,
/// and did Exchange start?). `StartType` shows services a failed setup left
/// Disabled (exchange-facts.md §5).
pub const BOOT_STATE: Template = template!(
    Target,
    r#"$os = Get-CimInstance -ClassName 'Win32_OperatingSystem'
$services = @(Get-Service -Name 'MSExchange*', 'ClusSvc', 'W3SVC', 'WinMgmt' -ErrorAction SilentlyContinue | ForEach-Object {
    [pscustomobject]@{ Name = $_.Name; Status = $_.Status.ToString(); StartType = $_.StartType.ToString() }
})
[pscustomobject]@{
    LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    Services = $services
} | ConvertTo-Json -Depth 3 -Compress
"#
);

/// The services an Exchange installer disables (CSS-Exchange SetupAssist
/// `Test-ExchangeServices`, plus W3SVC and IISAdmin) and ServiceControl's
/// leftover `C:\ExchangeSetupLogs\Service*.xml` files (`observe::services`).
/// The list is `services::INSTALLER_SERVICES` (a test keeps them equal).
pub const SERVICE_SET: Template = template!(
    Target,
    r#"$names = @('MpsSvc', 'FMS', 'HostControllerService', 'MSExchangeADTopology', 'MSExchangeAntispamUpdate', 'MSExchangeDagMgmt', 'MSExchangeDelivery', 'MSExchangeDiagnostics', 'MSExchangeEdgeSync', 'MSExchangeFastSearch', 'MSExchangeFrontEndTransport', 'MSExchangeHM', 'MSExchangeIS', 'MSExchangeMailboxAssistants', 'MSExchangeMailboxReplication', 'MSExchangeRepl', 'MSExchangeRPC', 'MSExchangeServiceHost', 'MSExchangeSubmission', 'MSExchangeThrottling', 'MSExchangeTransport', 'MSExchangeTransportLogSearch', 'RemoteRegistry', 'WinMgmt', 'W3SVC', 'IISAdmin')
$services = @(Get-Service | Where-Object { $names -contains $_.Name } | ForEach-Object {
    [pscustomobject]@{ Name = $_.Name; Status = $_.Status.ToString(); StartType = $_.StartType.ToString() }
})
$leftover = @()
if (Test-Path -LiteralPath 'C:\ExchangeSetupLogs') {
    $leftover = @(Get-ChildItem -Path 'C:\ExchangeSetupLogs' -Filter 'Service*.xml' | ForEach-Object { $_.FullName })
}
[pscustomobject]@{
    Services = $services
    LeftoverFiles = $leftover
} | ConvertTo-Json -Depth 3 -Compress
"#
);

/// How many shadow-redundancy messages each of the members `{{peers}}`
/// still holds for the primary the `{{filter}}` names (ExchangeDsc
/// TransportMaintenance.psm1 `Drain-DiscardEvents` filter; its
/// `Wait-EmptyDiscards` reads every shadow server in turn), in one call:
/// a JSON array of `{ Server, Messages }`.
pub const SHADOW_MESSAGES: Template = template!(
    ExchangeSession,
    r#"$held = @(foreach ($peer in @({{peers}})) {
    $count = 0
    Get-Queue -Server $peer -Filter {{filter}} | ForEach-Object { $count += [int]$_.MessageCount }
    [pscustomobject]@{ Server = $peer; Messages = $count }
})
ConvertTo-Json -InputObject $held -Compress
"#
);

/// Which node owns the core `Cluster Group` (the PAM), for verification.
pub const CLUSTER_GROUP_OWNER: Template = template!(
    Target,
    r#"[pscustomobject]@{ Owner = [string](Get-ClusterGroup -Name 'Cluster Group').OwnerNode.Name } | ConvertTo-Json -Compress
"#
);

/// Runbook §5: Test-ServiceHealth, Test-MAPIConnectivity and
/// Test-ReplicationHealth, projected with their results as names.
/// `-IncludePassive`: "If you don't use this switch, the command tests
/// MAPI connectivity from active database copies only" (Microsoft Learn,
/// Test-MAPIConnectivity, `-IncludePassive`), and the health step runs before the databases
/// move back, when the server holds passive copies only (review
/// real-exchange.md #12).
pub const HEALTH_TESTS: Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$serviceHealth = @(Test-ServiceHealth -Server $server | ForEach-Object {
    [pscustomobject]@{ Role = $_.Role; RequiredServicesRunning = $_.RequiredServicesRunning; ServicesNotRunning = @($_.ServicesNotRunning) }
})
$mapi = @(Test-MAPIConnectivity -Server $server -IncludePassive | ForEach-Object {
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

/// Quorum as DAG member `{{server}}` sees it, before another member leaves:
/// its `Test-ReplicationHealth` QuorumGroup and FileShareQuorum checks, and
/// DAG `{{dag}}`'s members, stopped members and `WitnessShareInUse` from
/// `Get-DatabaseAvailabilityGroup -Status` (the witness values are blank
/// without `-Status`: Microsoft Learn, Get-DatabaseAvailabilityGroup).
pub const QUORUM: Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$checks = @(Test-ReplicationHealth -Identity $server | Where-Object { $_.Check -eq 'QuorumGroup' -or $_.Check -eq 'FileShareQuorum' } | ForEach-Object {
    [pscustomobject]@{ Check = $_.Check; Result = $_.Result.ToString(); Error = $_.Error }
})
$dag = Get-DatabaseAvailabilityGroup -Identity {{dag}} -Status
[pscustomobject]@{
    Checks = $checks
    Servers = @($dag.Servers | ForEach-Object { [string]$_.Name })
    StoppedMailboxServers = @($dag.StoppedMailboxServers).Count
    WitnessServer = [string]$dag.WitnessServer
    WitnessShareInUse = [string]$dag.WitnessShareInUse
} | ConvertTo-Json -Depth 4 -Compress
"#
);

/// One certificate `$c` as the certificate reads print it (its `Expired`
/// against `$now`), closing the `ForEach-Object` over the certificates,
/// then opening the result object (Mailbox and Edge servers alike).
macro_rules! certificate_fields {
    () => {
        r#"    [pscustomobject]@{
        Thumbprint = [string]$c.Thumbprint
        Subject = [string]$c.Subject
        Issuer = [string]$c.Issuer
        NotAfter = $c.NotAfter.ToUniversalTime().ToString('o')
        Expired = ($c.NotAfter -lt $now)
        Services = [string]$c.Services
    }
})
[pscustomobject]@{
"#
    };
}
pub(crate) use certificate_fields;

/// The Exchange certificates of server `{{server}}` and the organisation's
/// current Auth certificate (`exchange::observe::certs`). `Expired` is
/// judged with the clock of the machine running the cmdlets, as
/// CSS-Exchange's MonitorExchangeAuthCertificate does. With Serialization
/// Data Signing on and the Auth certificate expired, `Get-ExchangeCertificate`
/// returns `RawData` only (CSS-Exchange
/// `Shared/CertificateFunctions/Import-ExchangeCertificateFromRawData.ps1`;
/// the E19 `GetExchangeCertificate.xml` capture has only `RawData` too): the
/// certificate is then rebuilt from it as that script does, and `Services`
/// is empty.
pub const EXCHANGE_CERTIFICATES: Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$now = Get-Date
$auth = Get-AuthConfig
$certificates = @(Get-ExchangeCertificate -Server $server | ForEach-Object {
    $c = $_
    if ($null -eq $c.Thumbprint -and $null -ne $c.RawData) {
        $c = New-Object -TypeName 'System.Security.Cryptography.X509Certificates.X509Certificate2'
        $c.Import($_.RawData)
    }
"#,
    certificate_fields!(),
    r#"    AuthCertificateThumbprint = [string]$auth.CurrentCertificateThumbprint
    Certificates = $certificates
} | ConvertTo-Json -Depth 3 -Compress
"#
);

/// IIS's https bindings that carry a certificate, on the server the script
/// runs on (WebAdministration; `ItemXPath` names the site).
pub const IIS_BINDINGS: Template = template!(
    Target,
    r#"Import-Module -Name 'WebAdministration'
$bindings = @(Get-WebBinding -Protocol 'https' | Where-Object { $_.certificateHash } | ForEach-Object {
    [pscustomobject]@{
        ItemXPath = [string]$_.ItemXPath
        BindingInformation = [string]$_.bindingInformation
        CertificateHash = [string]$_.certificateHash
    }
})
[pscustomobject]@{ Bindings = $bindings } | ConvertTo-Json -Depth 3 -Compress
"#
);

/// cmd.exe: the exit code file written by the batch (absent while running).
pub const CMD_READ_EXIT_CODE: &str = r#"type "%SystemDrive%\cu-roll\{exit_file}""#;

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
