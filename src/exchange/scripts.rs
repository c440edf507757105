//! The PowerShell templates cu-roll sends, one constant each. Holes
//! (`{{name}}`) are filled by `ps::Script::render` with quoted literals only.
//! Every template projects what it reads into `[pscustomobject]`s with
//! names converted via `.ToString()` (enums arrive as numbers otherwise, and
//! deserialised objects as strings: cmdlets.md §14) and prints one
//! compressed JSON object.

/// Opens a script: stop on the first error, no progress records on the wire.
macro_rules! prelude {
    () => {
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
    };
}

/// Loads the Exchange snap-in, as Microsoft's own DAG scripts do, so the
/// Exchange cmdlets run locally on the server over WinRM.
macro_rules! exchange_snapin {
    () => {
        "Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.SnapIn'\n"
    };
}

/// Build, prerequisites, pending reboot and free space of the server the
/// script runs on. Reads what CSS-Exchange's HealthChecker reads:
/// ExSetup.exe's ProductVersion under MsiInstallPath (includes the SU), the
/// .NET 4.x `Release` DWORD, the Uninstall keys (VC++ runtimes, UCMA,
/// URL Rewrite) and the pending-reboot indicators of
/// `Shared/Get-ServerRebootPending.ps1`.
pub const SERVER_FACTS: &str = concat!(
    prelude!(),
    r#"$setupKey = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup'
$exSetup = Get-Item -LiteralPath (Join-Path -Path $setupKey.MsiInstallPath -ChildPath 'bin\ExSetup.exe')
$ndp = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -ErrorAction SilentlyContinue
$os = Get-CimInstance -ClassName 'Win32_OperatingSystem'
$disk = Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter ("DeviceID='" + $env:SystemDrive + "'")
$products = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
    Where-Object { $_.DisplayName } |
    ForEach-Object { [pscustomobject]@{ Key = $_.PSChildName; DisplayName = $_.DisplayName; Version = $_.Version } })
$pending = @()
if (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue) { $pending += 'PendingFileRenameOperations' }
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') { $pending += 'Component Based Servicing\RebootPending' }
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { $pending += 'WindowsUpdate\Auto Update\RebootRequired' }
if (Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Updates\UpdateExeVolatile' -Name 'Flags' -ErrorAction SilentlyContinue) { $pending += 'Updates\UpdateExeVolatile\Flags' }
[pscustomobject]@{
    ComputerName = $env:COMPUTERNAME
    ExSetupVersion = $exSetup.VersionInfo.ProductVersion
    DotNetRelease = $ndp.Release
    OsCaption = $os.Caption
    OsVersion = $os.Version
    LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    SystemDriveFreeBytes = $disk.FreeSpace
    Products = $products
    PendingReboot = $pending
} | ConvertTo-Json -Depth 4 -Compress
"#
);

/// Maintenance state, database copies and queues of server `{{server}}`,
/// read on that server. Requester entries are sent raw (both lists, with
/// timestamps) so the effective state and who holds it can be worked out
/// the way Exchange does (cmdlets.md §5).
pub const EXCHANGE_STATE: &str = concat!(
    prelude!(),
    exchange_snapin!(),
    r#"$server = {{server}}
$components = @(Get-ServerComponentState -Identity $server | ForEach-Object {
    [pscustomobject]@{
        Component = $_.Component
        State = $_.State.ToString()
        LocalStates = @($_.LocalStates | ForEach-Object { [pscustomobject]@{ Requester = $_.Requester; State = $_.State.ToString(); Timestamp = $_.Timestamp.ToUniversalTime().ToString('o') } })
        RemoteStates = @($_.RemoteStates | ForEach-Object { [pscustomobject]@{ Requester = $_.Requester; State = $_.State.ToString(); Timestamp = $_.Timestamp.ToUniversalTime().ToString('o') } })
    }
})
$mailboxServer = Get-MailboxServer -Identity $server
$dag = [string]$mailboxServer.DatabaseAvailabilityGroup
# Get-ClusterNode and Get-Queue fail while the cluster or transport service
# is restarting (e.g. right after the transport restart of maintenance):
# report that, rather than losing the whole observation.
$nodeState = $null
$nodeError = $null
if ($dag) {
    try { $nodeState = (Get-ClusterNode -Name $server).State.ToString() }
    catch { $nodeError = $_.Exception.Message }
}
$copies = @(Get-MailboxDatabaseCopyStatus -Server $server | ForEach-Object {
    [pscustomobject]@{
        Name = $_.Name
        DatabaseName = $_.DatabaseName
        MailboxServer = $_.MailboxServer
        Status = $_.Status.ToString()
        ActiveCopy = $_.ActiveCopy
        ActivationSuspended = $_.ActivationSuspended
        ActivationPreference = $_.ActivationPreference
        CopyQueueLength = $_.CopyQueueLength
        ReplayQueueLength = $_.ReplayQueueLength
        ContentIndexState = $_.ContentIndexState.ToString()
        ReplayLagEnabled = [bool]($_.ReplayLagStatus -and $_.ReplayLagStatus.Enabled)
    }
})
$queues = @()
$queuesError = $null
try {
    $queues = @(Get-Queue -Server $server | ForEach-Object {
        [pscustomobject]@{
            Identity = $_.Identity.ToString()
            DeliveryType = $_.DeliveryType.ToString()
            NextHopDomain = $_.NextHopDomain
            MessageCount = $_.MessageCount
        }
    })
}
catch { $queuesError = $_.Exception.Message }
[pscustomobject]@{
    Components = $components
    ActivationPolicy = $mailboxServer.DatabaseCopyAutoActivationPolicy.ToString()
    ActivationDisabledAndMoveNow = $mailboxServer.DatabaseCopyActivationDisabledAndMoveNow
    DatabaseAvailabilityGroup = $dag
    ClusterNodeState = $nodeState
    ClusterNodeError = $nodeError
    Copies = $copies
    Queues = $queues
    QueuesError = $queuesError
} | ConvertTo-Json -Depth 5 -Compress
"#
);

/// The forest's Exchange AD levels, read as SetupAssist reads them: schema
/// `ms-Exch-Schema-Version-Pt` rangeUpper, the organisation container's
/// objectVersion, and the domain's `Microsoft Exchange System Objects`
/// objectVersion (exchange-facts.md §3).
pub const AD_LEVELS: &str = concat!(
    prelude!(),
    r#"Import-Module -Name 'ActiveDirectory'
$rootDse = Get-ADRootDSE
$schema = Get-ADObject -Identity ('CN=ms-Exch-Schema-Version-Pt,' + $rootDse.schemaNamingContext) -Properties 'rangeUpper'
$org = @(Get-ADObject -SearchBase ('CN=Microsoft Exchange,CN=Services,' + $rootDse.configurationNamingContext) -SearchScope 'OneLevel' -LDAPFilter '(objectClass=msExchOrganizationContainer)' -Properties 'objectVersion')
$domain = Get-ADObject -Identity ('CN=Microsoft Exchange System Objects,' + $rootDse.defaultNamingContext) -Properties 'objectVersion'
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
