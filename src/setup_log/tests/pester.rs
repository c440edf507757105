//! The assertions of CSS-Exchange's `Setup/Tests/SetupLogReviewer.Tests.ps1`
//! on the logs we hold, one test per `It` block or `Context` (named in each
//! test's comment). An `Assert-MockCalled -Exactly N -CommandName Write-Host
//! -ParameterFilter { $Object -like "P" }` is `assert_printed(&r, "P", N)`.

use super::{assert_printed, judged};
use crate::setup_log::SetupLogReview;

/// `SetupLogReviewer.Tests.ps1` "Prerequisite Checks": `Test-GeneralAdditionalContext`.
#[track_caller]
fn general_context(r: &SetupLogReview, schema: bool) {
    for label in [
        "User Logged On: *",
        "Setup Running on: *",
        "Setup Running in Domain: *",
        "Setup Running in AD Site Name: *",
    ] {
        assert_printed(r, label, 1);
    }
    if schema {
        assert_printed(r, "Schema Master: *", 1);
        assert_printed(r, "Schema Master in Domain: *", 1);
    }
}

/// It "Prepare AD with Reboot and Remote Registry As Well".
#[test]
fn pester_prepare_ad_with_reboot_and_remote_registry() {
    let r = judged("ExchangeSetup_AD_Prep_Reboot.log");
    assert_printed(&r, "Setup failed to validate AD environment level. This is the internal exception that occurred:", 1);
    assert_printed(&r, "Exchange organization-level objects have not been created, and setup cannot create them because the local computer is not in the same domain and site as the schema master.*", 1);
    assert_printed(
        &r,
        "Computer is pending reboot based off the Windows Component is the registry",
        1,
    );
    assert_printed(
        &r,
        "Additional PowerShell Sessions are open. Close them before running setup again.",
        1,
    );
    assert_printed(&r, "Schema Master in AD Site Name: *", 1);
    assert_printed(&r, "Unable to run setup in current domain.", 1);
    assert_printed(&r, "Unable to run setup in the current AD Site", 1);
    assert_printed(&r, "Failed to run '[Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [System.Net.Dns]::GetHostEntry([System.Net.Dns]::GetHostName()).HostName)' on this computer causing setup to fail", 1);
    assert_printed(
        &r,
        "The MSDTC Service is currently stopped. Start it before running setup again.",
        1,
    );
    assert_printed(
        &r,
        "IIS URL Rewrite is not installed on the computer. Install it before running setup again.",
        1,
    );
    general_context(&r, true);
}

/// It "Additional Context" and It "Prepare AD Failed".
#[test]
fn pester_fail_in_child_domain() {
    let r = judged("ExchangeSetup_Fail_In_Child.log");
    for line in [
        "User Logged On: CHILD\\Han",
        "Setup Running on: Solo-E16A.Child.Solo.net",
        "Setup Running in Domain: Child",
        "Setup Running in AD Site Name: Default-First-Site-Name",
        "Schema Master: Solo-DC1.Solo.net",
        "Schema Master in Domain: Solo",
    ] {
        assert_printed(&r, line, 1);
    }
    assert_printed(&r, "Unable to run setup in current domain.", 1);
    assert_printed(&r, "*Run setup with the /prepareAD parameter on a computer in the domain Solo and site Default-First-Site-Name, and wait for replication to complete.*", 1);
    assert_printed(&r, "Setup Running in AD Site Name*", 1);
    assert_printed(&r, "Setup failed to validate AD environment level. This is the internal exception that occurred:", 1);
    assert_printed(&r, "Schema Master in AD Site Name: *", 1);
    assert_printed(
        &r,
        "Computer is pending reboot based off the Session Manager is the registry",
        1,
    );
    general_context(&r, true);
}

/// It "No ORG Man".
#[test]
fn pester_no_organization_management() {
    let r = judged("ExchangeSetup_ADUpdated_NoOrgMan.log");
    assert_printed(
        &r,
        "User SOLO\\Han isn't apart of Organization Management group.",
        1,
    );
    assert_printed(
        &r,
        "Looking to be in this group SID: S-1-5-21-2947011988-2654620456-2749465584-1105",
        1,
    );
    general_context(&r, false);
}

/// It "Schema Admins group" (ExchangeSetup_NoPerm.log) and It "Enterprise
/// Admins Group" (ExchangeSetup_SchemaAdmin_PrepareSchema.log).
#[test]
fn pester_schema_and_enterprise_admins() {
    let r = judged("ExchangeSetup_NoPerm.log");
    assert_printed(
        &r,
        "/PrepareSchema is required and user SOLO\\Han isn't apart of the Schema Admins group.",
        1,
    );
    general_context(&r, true);
    let r = judged("ExchangeSetup_SchemaAdmin_PrepareSchema.log");
    assert_printed(
        &r,
        "/PrepareSchema is required and user SOLO\\Han isn't apart of the Enterprise Admins group.",
        1,
    );
    assert_printed(
        &r,
        "/PrepareAD is required and user SOLO\\Han isn't apart of the Enterprise Admins group.",
        1,
    );
    general_context(&r, true);
}

/// It "Reboot Pending" and It "Domain Prep Required".
#[test]
fn pester_reboot_pending_and_domain_prep() {
    let r = judged("ExchangeSetup_Reboot_Pending.log");
    assert_printed(
        &r,
        "Computer is pending reboot based off the Windows Component is the registry",
        1,
    );
    let r = judged("ExchangeSetup_DomainPrepRequired.log");
    assert_printed(
        &r,
        "Local Domain Is Not Prepped or might have duplicate MESO Containers",
        1,
    );
    assert_printed(
        &r,
        "*Run SetupAssist on the server to determine the problem and correct action plan.",
        1,
    );
}

/// It "DC Out of Site - 1" and "- 2". The script prefixes the first line
/// with a line break, which ours leaves out.
#[test]
fn pester_domain_controller_out_of_site() {
    let r = judged("ExchangeSetup_DC_Site_1.log");
    assert_printed(
        &r,
        "Selected domain controller that isn't in the same site as the Exchange Server.",
        1,
    );
    assert_printed(&r, "Domain Controller: 'DC2.Solo.local'", 1);
    assert_printed(&r, "Domain Controller Site: 'NULL VALUE'", 1);
    general_context(&r, false);
    let r = judged("ExchangeSetup_DC_Site_2.log");
    assert_printed(
        &r,
        "Selected domain controller that isn't in the same site as the Exchange Server.",
        1,
    );
    assert_printed(&r, "Domain Controller: 'DC2.Child.Solo.local'", 1);
    assert_printed(&r, "Domain Controller Site: 'SiteA'", 1);
}

/// Context "Known Issues": the security groups container, ldifde, the
/// group type, the well-known objects. Action plan lines carry no leading
/// tab here (the script's `New-ActionPlan` adds it when printing).
#[test]
fn pester_known_issues_in_active_directory() {
    let r = judged("ExchangeSetupmsExchangeSecurityGroupsContainerDeleted.log");
    assert_printed(&r, "*OU=Microsoft Exchange Security Groups' was deleted from the root of the domain. We need to have it created again at the root of the domain to continue.", 1);
    assert_printed(&r, "*System.NullReferenceException*", 1);
    assert_printed(&r, "*at Microsoft.Exchange.Management.Tasks.InitializeExchangeUniversalGroups.CreateOrMoveEWPGroup(ADGroup ewp, ADOrganizationalUnit usgContainer)", 1);

    let r = judged("ExchangeSetup-PrepareSchema-8245.log");
    let ldf = r"C:\Windows\Temp\ExchangeSetup\Setup\Data\PostExchange2003_schema80.ldf";
    assert_printed(
        &r,
        &format!("Failed to import schema setting from file '{ldf}'"),
        1,
    );
    assert_printed(&r, &format!("Review ldif.err file 'C:\\Users\\Han\\AppData\\Local\\Temp\\ldif.err' to help determine which object in the file '{ldf}' was trying to be imported that was causing problems."), 1);
    assert_printed(&r, "If you can't find the ldf file in the C:\\Windows\\Temp location, then find the file in the ISO.", 1);
    assert_printed(&r, &format!("*There was an error while running 'ldifde.exe' to import the schema file '{ldf}'. The error code is: 8245.*"), 1);

    let r = judged("ExchangeSetupWrongGroupType.log");
    assert_printed(&r, "- Change the CN=Exchange Servers,OU=Test,DC=Solo,DC=local object to Universal, SecurityEnabled", 1);
    assert_printed(&r, "- Another problem can be that the group is set correctly, but is mail enabled and shouldn't be.", 1);
    assert_printed(
        &r,
        "*The well-known object entry with the GUID \"6c01d2a7-f083-4503-8132-789eeb127b84\"*",
        1,
    );

    let r = judged("ExchangeSetup_InvalidWKObjectException.log");
    assert_printed(&r, "*CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=Solo,DC=local points to an invalid DN or a deleted object*", 1);
    assert_printed(
        &r,
        "*Run the SetupAssist.ps1 script to address the deleted objects type",
        1,
    );
}

/// It "Services Disabled", It "Missing PF Object", It "Arbitration Mailbox
/// UPN", It "ServiceControl Reverse Error".
#[test]
fn pester_known_issues_in_tasks() {
    let r = judged("ExchangeSetup_Service_Disabled.log");
    assert_printed(&r, "*System.ComponentModel.Win32Exception: The service cannot be started, either because it is disabled or because it has no enabled devices associated with it*", 1);
    assert_printed(&r, "Required Exchange Services are failing to start because it appears to be disabled or dependent services are disabled. Enable them and try again", 1);
    assert_printed(
        &r,
        "NOTE: Might need to do this often while setup is running",
        1,
    );
    assert_printed(
        &r,
        "Example Command: Get-Service MSExchange* | Set-Service -StartupType Automatic",
        1,
    );

    let r = judged("ExchangeSetup_Missing_PF_Object.log");
    let object = "CN=Folder Hierarchies,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=SoloORG,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=Solo,DC=local";
    assert_printed(&r, &format!("*Active Directory operation failed on DC2.Solo.local. The object '{object}' already exists.*"), 1);
    assert_printed(&r, "Public Folder Object needs to be created", 1);
    assert_printed(
        &r,
        &format!("- Open AdsiEdit and go to this location'{object}'"),
        1,
    );
    for step in [
        "- Right Click select New - Object",
        "- Select mxExchPFTree",
        "- Enter any value for the cn (Common Name) value, such as PF",
        "- Right-click the newly created msExchPFTree object and select Properties",
        "- On the Attribute Editor tab, click msExchPFTreeType, and then click Edit.",
        "- In the Value box type 1, and then click OK two times.",
        "- Exit and wait for AD Replication",
    ] {
        assert_printed(&r, step, 1);
    }

    let r = judged("ExchangeSetup_Arbitration_UPN.log");
    assert_printed(&r, "*Microsoft.Exchange.Data.Directory.ADConstraintViolationException: An Active Directory Constraint Violation error occurred on DC2.Solo.local. Additional information: The operation failed because UPN value provided for addition/modification is not unique forest-wide.*", 2);
    assert_printed(&r, "*This is a known issue, however, we are still investigating as to why this issue is occurring in some environments. Please email 'ExToolsFeedback@microsoft.com' ASAP to investigate this issue.", 1);
    assert_printed(&r, "*Do NOT remove the arbitration mailboxes/accounts as they may contain critical information for your environment.", 1);

    let r = judged("ExchangeSetup_ServiceControl_Reverse.log");
    assert_printed(
        &r,
        "*System.Management.Automation.MethodInvocationException*",
        1,
    );
    for step in [
        "*1. Find the ServiceControl.ps1 in the Exchange Bin Directory",
        "*2. Find the following line in the script, within the StopServices function:",
        "*$services = Get-ServiceToControl $Roles -Active",
        "*3. Add in the following:",
        "*if ($services -eq $null) { return $true }",
        "*4. Save the file and try to run Setup again.",
    ] {
        assert_printed(&r, step, 1);
    }
}

/// It "MSI Issue 1" to "MSI Issue 5": the error lines in the first ten of
/// the context, and FixInstallerCache against the build before the upgrade.
#[test]
fn pester_msi_issues() {
    let cases = [
        ("ExchangeSetup_MSI_1.log", "*Couldn't remove product with code 8466eaed-7024-4aee-9d13-f3a55b98d114. The installation source for this product is not available. Verify that the source exists and that you can access it. Error code is 1612*", 4, "15.0.995.29"),
        ("ExchangeSetup_MSI_2.log", "*Installing product D:\\cu23\\Setup\\ServerRoles\\UnifiedMessaging\\MSSpeech_SR_TEL.zh-CN.msi failed. The installation source for this product is not available. Verify that the source exists and that you can access it. Error code is 1612.", 3, "15.0.1367.3"),
        ("ExchangeSetup_MSI_3.log", "* Installing product C:\\ExchangeCU23\\exchangeServer.msi failed. Fatal error during installation. Error code is 1603.", 3, "15.0.1130.7"),
        ("ExchangeSetup_MSI_4.log", "*Object reference not set to an instance of an object.", 4, "15.1.1913.5"),
        ("ExchangeSetup_MSI_5.log", "*Unable to remove product with code c3f10d8c-bd70-4516-b2b4-bf6901980741. Fatal error during installation. Error code is 1603.*", 4, "15.1.2242.4"),
    ];
    for (file, error, times, build) in cases {
        let r = judged(file);
        assert_printed(&r, error, times);
        assert_printed(
            &r,
            &format!("*Run FixInstallerCache.ps1 against {build}"),
            1,
        );
    }
    assert_printed(
        &judged("ExchangeSetup_MSI_4.log"),
        "*Installing a new product. Package: N:\\en\\ServerLanguagePack.msi. Property values*",
        1,
    );
}

/// Context "Virtual Directory" (each also expects "*Run SetupAssist on the
/// server and address the issues it calls out with the virtual directories.").
#[test]
fn pester_virtual_directories() {
    let cases = [
        ("ExchangeSetup_Vdir_1.log", "*The operation couldn't be performed because object 'ExSvr1\\OWA (Exchange Back End)' couldn't be found on 'DC2.Solo.local'.", 5, "*was run: \"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException: The operation couldn't be performed because object 'ExSvr1\\OWA (Exchange Back End)' couldn't be found on*"),
        ("ExchangeSetup_Vdir_2.log", "*The virtual directory 'PushNotifications' already exists under 'ExSvr1.child.SoloORG.COM/Exchange Back End'.", 6, "*was run: \"System.ArgumentException: The virtual directory 'PushNotifications' already exists under 'ExSvr1.child.SoloORG.COM/Exchange Back End'."),
        ("ExchangeSetup_Vdir_3.log", "*Process execution failed with exit code 50.", 6, "*was run: \"Microsoft.Exchange.Configuration.Tasks.TaskException: Process execution failed with exit code 50."),
    ];
    for (file, error, times, was_run) in cases {
        let r = judged(file);
        assert_printed(&r, error, times);
        assert_printed(&r, was_run, 1);
        assert_printed(&r, "*Run SetupAssist on the server and address the issues it calls out with the virtual directories.", 1);
    }
}

/// Context "Error Reference".
#[test]
fn pester_error_references() {
    let r = judged("ExchangeSetup_FIPS_AccessDenied.log");
    assert_printed(&r, "[03/11/2021 12:06:22.0926] [2] [ERROR] Upgrade of Configuration.xml was unsuccessful, Exception calling \"Upgrade\" with \"0\" argument(s): \"Access to the path is denied.\"", 2);
    assert_printed(
        &r,
        "*Failed to access the path and upgrade '\\V15\\FIP-FS\\Data\\Configuration.xml'",
        1,
    );
    assert_printed(
        &r,
        "*Check access rights to this location OR use PROCMON to determine why this is occurring.",
        1,
    );

    let r = judged("ExchangeSetup_Multi_EAS_Vdirs.log");
    assert_printed(&r, "*Cannot convert 'System.Object*' to the type 'Microsoft.Exchange.Configuration.Tasks.VirtualDirectoryIdParameter' required by parameter 'Identity'*", 2);
    assert_printed(
        &r,
        "*Remove the secondary virtual directory that is custom on the server.",
        1,
    );
    assert_printed(
        &r,
        "*NOTE: You should only return one value when running the following cmdlet on the server:",
        1,
    );
    assert_printed(
        &r,
        "*Get-ActiveSyncVirtualDirectory -Server $env:ComputerName",
        1,
    );
}

/// Context "Error Context": missing directory, firewall, mount, HomeMdb,
/// install from Bin.
#[test]
fn pester_error_context() {
    let grammars = r"C:\Program Files\Microsoft\Exchange Server\V15\UnifiedMessaging\grammars";
    let r = judged("ExchangeSetup_MissingDirectory.log");
    assert_printed(&r, &format!("*was run: \"System.Management.Automation.ItemNotFoundException: Cannot find path '{grammars}' because it does not exist."), 1);
    assert_printed(&r, &format!("*Create the directory: \"{grammars}\""), 1);

    let r = judged("ExchangeSetup_Firewall_Endpoint.log");
    assert_printed(&r, "*was run: \"System.Runtime.InteropServices.COMException (0x800706D9): There are no more endpoints available from the endpoint mapper. (Exception from HRESULT: 0x800706D9)", 1);
    assert_printed(&r, "* at Interop.NetFw.INetFwRules.Add(NetFwRule rule)", 1);
    assert_printed(
        &r,
        "*Start the Windows Firewall Service, as this is required to run setup.",
        1,
    );

    let r = judged("ExchangeSetup_Failed_Mount_Database.log");
    assert_printed(&r, "*was run: \"System.InvalidOperationException: Failed to mount database \"ExSvr1 - DB1\". Error: An Active Manager operation failed. Error: The database action failed.*", 1);
    assert_printed(&r, "* at Microsoft.Exchange.Data.Storage.ActiveManager.AmRpcClientHelper.MountDatabaseDirectEx(String serverToRpc, Guid dbGuid, AmMountArg mountArg)", 1);
    assert_printed(&r, "*Determine why you aren't able to mount the database and have it mounted prior to running setup again.", 1);

    let r = judged("ExchangeSetup_Missing_HomeMdb.log");
    assert_printed(
        &r,
        "[03/07/2021 16:22:39.0469] [2] [ERROR] Database is mandatory on UserMailbox.",
        1,
    );
    assert_printed(&r, "*Missing homeMdb on critical mailbox. Run SetupAssist.ps1 to find all problem mailboxes that needs to be addressed.", 1);

    let r = judged("ExchangeSetup_InstallFromBin.log");
    assert_printed(&r, "*was run: \"System.Management.Automation.CommandNotFoundException: The term 'D:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\ManageScheduledTask.ps1'*", 1);
    assert_printed(
        &r,
        "*Run Setup again, but when using powershell.exe you MUST USE '.\\' prior to setup.exe.",
        1,
    );
}

/// It "Search Foundation Failure - Upgrade" and "- Install".
#[test]
fn pester_search_foundation() {
    let data =
        r#""C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\HostController\Data""#;
    let remove = r"Remove all SubFolders under C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\HostController\Data\Nodes\Fsis";
    let navigate = r"Open Powershell as Administrator and navigate to the folder C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\Installer";
    let r = judged("ExchangeSetup_Search_Foundation_Failure.log");
    assert_printed(&r, "*was run: \"System.Exception: Failure configuring SearchFoundation through InstallConfig.ps1*", 1);
    assert_printed(&r, "*at Microsoft.Ceres.Exchange.PostSetup.DeploymentManager.WaitForAdminNode(String hostControllerNetTcpWcfUrl)", 2);
    for line in [
        "*- Make sure the Microsoft Exchange Search Host Controller and Microsoft Exchange Search service is not disabled and started.".to_string(),
        "*- Make sure that all 4 noderunner.exe processes are able to start and run. If they aren't able to troubleshoot that.".to_string(),
        "*- Try to manually configure the Search Foundation by following these steps, and troubleshoot why it might be failing before trying setup again:".to_string(),
        "* 1. Stop the Microsoft Exchange Search and Microsoft Exchange Search Host Controller services.".to_string(),
        format!("* 2. {remove}"),
        format!("* 3. {navigate}"),
        format!("* 4. Now uninstall the Search Foundation with this command: .\\InstallConfig.ps1 -action U -DataFolder {data}"),
        format!("* 5. Now install the Search Foundation with this command: .\\InstallConfig.ps1 -action I -DataFolder {data}"),
    ] {
        assert_printed(&r, &line, 1);
    }
    let r = judged("ExchangeSetup_Search_Foundation_Failure_Install.log");
    assert_printed(&r, "*was run: \"System.Exception: Failure configuring SearchFoundation through InstallConfig.ps1*", 1);
    assert_printed(
        &r,
        "*Old nodes belonging to the system 'Fsis', already exist in*",
        2,
    );
    for line in [
        "*- Make sure the Microsoft Exchange Host Controller and Microsoft Exchange Search service is not running and not disabled.".to_string(),
        "*- Uninstall the Search Foundation".to_string(),
        format!("* 1. {remove}"),
        format!("* 2. {navigate}"),
        format!("* 3. Now uninstall the Search Foundation with this command: .\\InstallConfig.ps1 -action U -DataFolder {data}"),
    ] {
        assert_printed(&r, &line, 1);
    }
}

/// Context "Unable to set Shared Config DC". The script prints the error
/// line and its inner exception as one text; ours keeps them as two
/// evidence lines, so the first pattern is split at the line break.
#[test]
fn pester_shared_config_dc() {
    let r = judged("ExchangeSetup_NoSuitableDC.log");
    assert_printed(&r, "*Unable to set shared config DC*", 1);
    assert_printed(&r, "Inner Exception: *'TopologyClientTcpEndpoint (localhost)' returned an error. Error details No Suitable Directory Servers Found*", 1);
    assert_printed(&r, "*It appears that the Microsoft Exchange Active Directory Topology service was started on the server and we ran into a different inner exception.", 1);
    assert_printed(&r, "*NOTE: It is common that the service will not stay started after the initial failure, make sure you keep the Microsoft Exchange Active Directory Topology service running during the entire setup process", 1);

    let r = judged("ExchangeSetup_ADServiceNotStarted.log");
    assert_printed(&r, "Inner Exception: Topology Provider coundn't find the Microsoft Exchange Active Directory Topology service on end point 'TopologyClientTcpEndpoint (localhost)'.", 1);
    assert_printed(
        &r,
        "*MAKE SURE IT IS RUNNING DURING THE WHOLE SETUP AFTER COPYING FILES",
        1,
    );
}
