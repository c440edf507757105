//! SetupLogReviewer's `Checks/FindContext/Test-KnownIssuesByErrors.ps1`:
//! when the run has an `[ERROR-REFERENCE]` (the setup task that failed),
//! the lines from the first `[ERROR]` to that reference are matched
//! against the known issues of `Checks/ErrorContext/*.ps1`, then the
//! reference itself against `Checks/ErrorReference/*.ps1`. Wording as in
//! the scripts.

use std::sync::LazyLock;

use regex::Regex;

use super::{any_line, first_error_context, from_two_before, last_line, regex, Advice, Ctx};

type ContextCheck = fn(&[String]) -> Option<Advice>;

/// `Test-KnownIssuesByErrors`' first list, in its order.
const CONTEXT_CHECKS: [ContextCheck; 12] = [
    arbitration_mailbox,
    disabled_service,
    endpoint_mapper,
    ad_object_already_exists,
    failed_search_foundation,
    missing_directory,
    missing_home_mdb,
    mount_database_failure,
    security_groups_container_deleted,
    service_control_reverse,
    virtual_directory_failure,
    install_from_bin,
];

pub(super) fn known_issues_by_errors(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let reference_line = ctx.facts.error_reference_line?;
    let reference = ctx.facts.error_reference.as_deref()?;
    let context = first_error_context(ctx.run, Some(reference_line), 0, 200)?;
    CONTEXT_CHECKS
        .iter()
        .find_map(|check| check(&context))
        .or_else(|| by_reference(ctx, reference, reference_line))
}

/// One pattern, the whole context as evidence, a fixed action plan.
fn simple(
    context: &[String],
    pattern: &Regex,
    source: &'static str,
    actions: &[&str],
) -> Option<Advice> {
    any_line(context, pattern).then(|| {
        Advice::new(source)
            .evidence(context)
            .actions(actions.iter().copied())
    })
}

static UPN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)Microsoft.Exchange.Data.Directory.ADConstraintViolationException.+the operation failed because UPN value provided for addition/modification is not unique forest-wide",
    )
});

fn arbitration_mailbox(context: &[String]) -> Option<Advice> {
    simple(context, &UPN, "Test-ArbitrationMailbox.ps1", &[
        "This is a known issue, however, we are still investigating as to why this issue is occurring in some environments. Please email 'ExToolsFeedback@microsoft.com' ASAP to investigate this issue.",
        "Do NOT remove the arbitration mailboxes/accounts as they may contain critical information for your environment.",
    ])
}

static SERVICE_DISABLED: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)System.ComponentModel.Win32Exception: The service cannot be started, either because it is disabled or because it has no enabled devices associated with it",
    )
});

fn disabled_service(context: &[String]) -> Option<Advice> {
    simple(context, &SERVICE_DISABLED, "Test-DisabledService.ps1", &[
        "Required Exchange Services are failing to start because it appears to be disabled or dependent services are disabled. Enable them and try again",
        "NOTE: Might need to do this often while setup is running",
        "Example Command: Get-Service MSExchange* | Set-Service -StartupType Automatic",
    ])
}

/// A pattern whose evidence is the context from two lines before its last
/// match (`Test-EndpointMapper`, `Test-MountDatabaseFailure`, …).
fn from_match(
    context: &[String],
    pattern: &Regex,
    source: &'static str,
    actions: &[&str],
) -> Option<Advice> {
    let at = last_line(context, pattern)?;
    Some(
        Advice::new(source)
            .evidence(from_two_before(context, at))
            .actions(actions.iter().copied()),
    )
}

static ENDPOINT_MAPPER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)System.Runtime.InteropServices.COMException \(0x800706D9\): There are no more endpoints available from the endpoint mapper. \(Exception from HRESULT: 0x800706D9\)",
    )
});

fn endpoint_mapper(context: &[String]) -> Option<Advice> {
    from_match(
        context,
        &ENDPOINT_MAPPER,
        "Test-EndpointMapper.ps1",
        &["Start the Windows Firewall Service, as this is required to run setup."],
    )
}

static ALREADY_EXISTS: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)Active Directory operation failed on (.+). The object '(.+)' already exists.")
});

fn ad_object_already_exists(context: &[String]) -> Option<Advice> {
    let (line, c) = context
        .iter()
        .find_map(|l| ALREADY_EXISTS.captures(l).map(|c| (l, c)))?;
    let object = &c[2];
    let advice = Advice::new("Test-ExceptionADOperationFailedAlreadyExist.ps1").evidence([line]);
    Some(
        if object.starts_with("CN=Folder Hierarchies,CN=Exchange Administrative Group") {
            advice.actions([
                "Public Folder Object needs to be created".to_string(),
                format!("- Open AdsiEdit and go to this location'{object}'"),
                "- Right Click select New - Object".to_string(),
                "- Select mxExchPFTree".to_string(),
                "- Enter any value for the cn (Common Name) value, such as PF".to_string(),
                "- Right-click the newly created msExchPFTree object and select Properties"
                    .to_string(),
                "- On the Attribute Editor tab, click msExchPFTreeType, and then click Edit."
                    .to_string(),
                "- In the Value box type 1, and then click OK two times.".to_string(),
                "- Exit and wait for AD Replication".to_string(),
            ])
        } else {
            advice.actions([format!("Validate permissions are inherited to object \"{object}\" and that there aren't any denies that shouldn't be there")])
        },
    )
}

static SEARCH_OLD_NODES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)was run: "System.Exception: Failure configuring SearchFoundation through InstallConfig.ps1 - Old nodes belonging to the system 'Fsis', already exist in"#,
    )
});
static SEARCH_FAILURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)was run: "System.Exception: Failure configuring SearchFoundation through InstallConfig.ps1"#,
    )
});
const SEARCH_DATA: &str =
    r#""C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\HostController\Data""#;

fn failed_search_foundation(context: &[String]) -> Option<Advice> {
    let source = "Test-FailedSearchFoundation.ps1";
    let remove = r"Remove all SubFolders under C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\HostController\Data\Nodes\Fsis";
    let navigate = r"Open Powershell as Administrator and navigate to the folder C:\Program Files\Microsoft\Exchange Server\V15\Bin\Search\Ceres\Installer";
    let uninstall = format!("Now uninstall the Search Foundation with this command: .\\InstallConfig.ps1 -action U -DataFolder {SEARCH_DATA}");
    if let Some(at) = last_line(context, &SEARCH_OLD_NODES) {
        return Some(Advice::new(source).evidence(from_two_before(context, at)).actions([
            "- Make sure the Microsoft Exchange Host Controller and Microsoft Exchange Search service is not running and not disabled.".to_string(),
            "- Uninstall the Search Foundation".to_string(),
            format!("       1. {remove}"),
            format!("       2. {navigate}"),
            format!("       3. {uninstall}"),
            "       4. Run Setup again.".to_string(),
        ]));
    }
    let at = last_line(context, &SEARCH_FAILURE)?;
    Some(Advice::new(source).evidence(from_two_before(context, at)).actions([
        "- Make sure the Microsoft Exchange Search Host Controller and Microsoft Exchange Search service is not disabled and started.".to_string(),
        "- Make sure that all 4 noderunner.exe processes are able to start and run. If they aren't able to troubleshoot that.".to_string(),
        "- Try to manually configure the Search Foundation by following these steps, and troubleshoot why it might be failing before trying setup again:".to_string(),
        "     1. Stop the Microsoft Exchange Search and Microsoft Exchange Search Host Controller services.".to_string(),
        format!("     2. {remove}"),
        format!("     3. {navigate}"),
        format!("     4. {uninstall}"),
        format!("     5. Now install the Search Foundation with this command: .\\InstallConfig.ps1 -action I -DataFolder {SEARCH_DATA}"),
    ]))
}

static MISSING_DIRECTORY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)System.Management.Automation.ItemNotFoundException: Cannot find path '(.+)' because it does not exist",
    )
});

fn missing_directory(context: &[String]) -> Option<Advice> {
    let (line, c) = context
        .iter()
        .find_map(|l| MISSING_DIRECTORY.captures(l).map(|c| (l, c)))?;
    Some(
        Advice::new("Test-MissingDirectory.ps1")
            .evidence([line])
            .actions([format!("Create the directory: \"{}\"", &c[1])]),
    )
}

static HOME_MDB: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\[ERROR\] Database is mandatory on UserMailbox"));

fn missing_home_mdb(context: &[String]) -> Option<Advice> {
    let line = context.iter().find(|l| HOME_MDB.is_match(l))?;
    Some(
        Advice::new("Test-MissingHomeMdb.ps1")
            .evidence([line])
            .actions(["Missing homeMdb on critical mailbox. Run SetupAssist.ps1 to find all problem mailboxes that needs to be addressed."]),
    )
}

static MOUNT_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?i)was run: "System.InvalidOperationException: Failed to mount database "(.+)"\."#)
});

fn mount_database_failure(context: &[String]) -> Option<Advice> {
    from_match(context, &MOUNT_FAILED, "Test-MountDatabaseFailure.ps1", &[
        "Determine why you aren't able to mount the database and have it mounted prior to running setup again.",
    ])
}

static NULL_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)System.NullReferenceException: Object reference not set to an instance of an object.",
    )
});
static CREATE_OR_MOVE_EWP: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)Microsoft.Exchange.Management.Tasks.InitializeExchangeUniversalGroups.CreateOrMoveEWPGroup\(ADGroup ewp, ADOrganizationalUnit usgContainer\)",
    )
});

/// The null reference and `CreateOrMoveEWPGroup` on consecutive lines.
fn security_groups_container_deleted(context: &[String]) -> Option<Advice> {
    let mut hits = context.iter().enumerate().filter_map(|(i, l)| {
        if NULL_REFERENCE.is_match(l) {
            Some((i, 0))
        } else if CREATE_OR_MOVE_EWP.is_match(l) {
            Some((i, 1))
        } else {
            None
        }
    });
    let ((i, a), (j, b)) = (hits.next()?, hits.next()?);
    (a != b && i + 1 == j).then(|| {
        Advice::new("Test-MSExchangeSecurityGroupsContainerDeleted.ps1")
            .evidence([&context[i], &context[j]])
            .actions(["'OU=Microsoft Exchange Security Groups' was deleted from the root of the domain. We need to have it created again at the root of the domain to continue."])
    })
}

static REVERSE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)System.Management.Automation.MethodInvocationException: Exception calling "Reverse" with "1" argument"#,
    )
});
static SERVICE_CONTROL: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)ServiceControl.ps1"));

fn service_control_reverse(context: &[String]) -> Option<Advice> {
    if !any_line(context, &REVERSE) {
        return None;
    }
    simple(
        context,
        &SERVICE_CONTROL,
        "Test-ServiceControlReverse.ps1",
        &[
            "1. Find the ServiceControl.ps1 in the Exchange Bin Directory",
            "2. Find the following line in the script, within the StopServices function:",
            "\t$services = Get-ServiceToControl $Roles -Active",
            "3. Add in the following:",
            "\tif ($services -eq $null) { return $true }",
            "4. Save the file and try to run Setup again.",
        ],
    )
}

static VDIR_EXISTS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\[ERROR\] The virtual directory '.+' already exists under"));
// The script's pattern ends the object name with the .NET conditional
// `(?(Default Web Site | Exchange Back End))`, which has empty branches
// and so matches any name: written here as `.+`.
static VDIR_NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\[ERROR\] The operation couldn't be performed because object '.+' couldn't be found on",
    )
});
static PROCESS_FAILED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\[ERROR\] Process execution failed with exit code"));
static APPCMD: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)System32\\inetSrv\\appCmd.exe"));

fn virtual_directory_failure(context: &[String]) -> Option<Advice> {
    let detected = any_line(context, &VDIR_EXISTS)
        || any_line(context, &VDIR_NOT_FOUND)
        || (any_line(context, &PROCESS_FAILED) && any_line(context, &APPCMD));
    detected.then(|| {
        Advice::new("Test-VirtualDirectoryFailure.ps1")
            .evidence(context)
            .actions(["Run SetupAssist on the server and address the issues it calls out with the virtual directories."])
    })
}

static INSTALL_FROM_BIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)The term '.+\\V15\\Bin\\ManageScheduledTask.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again",
    )
});

fn install_from_bin(context: &[String]) -> Option<Advice> {
    simple(context, &INSTALL_FROM_BIN, "Test-InstallFromBin.ps1", &[
        "- Run Setup again, but when using powershell.exe you MUST USE '.\\' prior to setup.exe.",
    ])
}

static INSUFFICIENT_RIGHTS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)SecErr: DSid-.+ problem 4003 \(INSUFF_ACCESS_RIGHTS\)"));
static READ_OBJECT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Used domain controller (.+) to read object (.+)."));
static FIPS_DENIED: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)Access to the path is denied."));
static MULTI_EAS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)Cannot convert 'System.Object\[\]' to the type 'Microsoft.Exchange.Configuration.Tasks.VirtualDirectoryIdParameter'",
    )
});

/// `Checks/ErrorReference/*.ps1`: known failing tasks by their id.
fn by_reference(ctx: &Ctx<'_, '_>, reference: &str, line: usize) -> Option<Advice> {
    let is = |id: &str| reference.eq_ignore_ascii_case(id);
    if is("DomainGlobalConfig___27a706ffe123425f9ee60cb02b930e81") {
        // Test-InitializePermissionsOfDomain.ps1
        let context = first_error_context(ctx.run, Some(line), 1, 200)?;
        if !any_line(&context, &INSUFFICIENT_RIGHTS) {
            return None;
        }
        let object = READ_OBJECT.captures(context.first()?)?[2].to_string();
        let user = ctx.user();
        return Some(Advice::new("Test-InitializePermissionsOfDomain.ps1")
            .evidence(context.iter().take(10))
            .actions([
                format!("We failed to have the correct permissions to write ACE to '{object}' as the current user {user}"),
                "- Make sure there are no denies for this user on the object".to_string(),
                "- By default Enterprise Admins and BUILTIN\\Administrators give you the rights to do this action (dsAcls 'write permissions')".to_string(),
                format!("- If unable to determine the cause, you can apply FULL CONTROL to '{object}' for the user {user}"),
            ]));
    }
    if is("BridgeheadComponent___9FAA17C4-73D7-4E6D-9012-6274971434D5") {
        let context = first_error_context(ctx.run, Some(line), 0, 200)?;
        return simple(&context, &FIPS_DENIED, "Test-FipsUpgradeConfiguration.ps1", &[
            "Failed to access the path and upgrade '\\V15\\FIP-FS\\Data\\Configuration.xml'",
            "Check access rights to this location OR use PROCMON to determine why this is occurring.",
        ]);
    }
    if is("CafeComponent___e1130a139a734d90b6c5eec88868fbe9") {
        let context = first_error_context(ctx.run, Some(line), 1, 200)?;
        return simple(&context, &MULTI_EAS, "Test-MultiActiveSyncVirtualDirectories.ps1", &[
            "- Remove the secondary virtual directory that is custom on the server.",
            "- NOTE: You should only return one value when running the following cmdlet on the server:",
            "        Get-ActiveSyncVirtualDirectory -Server $env:ComputerName",
        ]);
    }
    None
}
