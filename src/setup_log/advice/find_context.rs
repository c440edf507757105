//! SetupLogReviewer's checks under `Checks/FindContext/` other than the
//! prerequisite check and `Test-KnownIssuesByErrors` (see
//! `error_context.rs`): each looks for one known line in the last run and
//! answers with the script's action plan. Wording as in the scripts.

use std::sync::LazyLock;

use regex::Regex;

use super::{any_line, first_error_context, found, regex, Advice, Ctx};

static LDIF: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\[ERROR\] There was an error while running 'ldifde.exe' to import the schema file '(.*)'. The error code is: (\d+). More details can be found in the error file: '(.*)'",
    )
});

/// `Test-KnownLdifErrors.ps1`.
pub(super) fn known_ldif_errors(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let (i, c) = ctx.run.last_match(&LDIF)?;
    let (file, err_file) = (&c[1], &c[3]);
    Some(
        Advice::new("Test-KnownLdifErrors.ps1")
            .evidence([ctx.run.raw(i)])
            .actions([
                format!("Failed to import schema setting from file '{file}'"),
                format!("Review ldif.err file '{err_file}' to help determine which object in the file '{file}' was trying to be imported that was causing problems."),
                "If you can't find the ldf file in the C:\\Windows\\Temp location, then find the file in the ISO.".to_string(),
            ]),
    )
}

static MSI_PATTERNS: LazyLock<[Regex; 4]> = LazyLock::new(|| {
    [
        regex(
            r"(?i)Couldn't remove product with code (.+). The installation source for this product is not available",
        ),
        regex(r"(?i)Unable to remove product with code (.+). Fatal error during installation"),
        regex(
            r"(?i)\[ERROR\] Installing product .+ failed\. The installation source for this product is not available",
        ),
        regex(
            r"(?i)\[ERROR\] Installing product .+\.msi failed\. Fatal error during installation\. Error code is 1603\.",
        ),
    ]
});
static MSI_NEW_PRODUCT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Installing a new product\. Package: .+\.msi\. Property values"));
static MSI_NULL_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\[ERROR\] Object reference not set to an instance of an object\.")
});

/// `Test-KnownMsiIssuesCheck.ps1`: the installer cache lacks the MSI of
/// the installed build.
pub(super) fn known_msi_issues(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let context = first_error_context(ctx.run, None, 2, 200)?;
    let known = MSI_PATTERNS.iter().any(|re| any_line(&context, re))
        || (any_line(&context, &MSI_NEW_PRODUCT) && any_line(&context, &MSI_NULL_REFERENCE));
    known.then(|| {
        Advice::new("Test-KnownMsiIssuesCheck.ps1")
            .evidence(context.iter().take(10))
            .actions([format!(
                "Run FixInstallerCache.ps1 against {}",
                ctx.local_build().unwrap_or("")
            )])
    })
}

static CERT_EXPIRED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\[ERROR\] The certificate is expired."));
static CERT_INSTALLING: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)Installing certificate signed by '(.*)' for site '(.*)'.  Certificate is valid from (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w) until (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w)",
    )
});

/// `Test-ExpiredCertificate.ps1`.
pub(super) fn expired_certificate(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    ctx.run.last_match(&CERT_EXPIRED)?;
    let cert = ctx.run.last_match(&CERT_INSTALLING);
    let mut actions = vec![format!(
        "Certificate: {} has expired.",
        cert.as_ref()
            .map_or("", |(_, c)| c.get(2).map_or("", |m| m.as_str()))
    )];
    if let Some((_, c)) = &cert {
        actions.push(format!("Certificate expired on: {}.", &c[4]));
    }
    actions.push("Please replace it, reboot the server and run setup again.".to_string());
    Some(Advice::new("Test-ExpiredCertificate.ps1").actions(actions))
}

static OTHER_WKO: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\[ERROR\] The well-known object entry (.+) on the otherWellKnownObjects attribute in the container object (.+) points to an invalid DN or a deleted object",
    )
});

/// `Test-OtherWellKnownObjects.ps1`.
pub(super) fn other_well_known_objects(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let (i, _) = ctx.run.last_match(&OTHER_WKO)?;
    Some(
        Advice::new("Test-OtherWellKnownObjects.ps1")
            .evidence([ctx.run.raw(i)])
            .actions([
                "Option 1: Restore the objects that were deleted.",
                "Option 2: Run the SetupAssist.ps1 script to address the deleted objects type",
            ]),
    )
}

static HYBRID_SETTING: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Evaluated \[Setting:IsHybridObjectFoundOnPremises\]"));
static TARGET_APPLICATION_URI: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Searching for (.+) as the TargetApplicationUri"));

/// `Test-IsHybridObjectFoundOnPremises.ps1`: an organization relationship
/// with no application URI.
pub(super) fn hybrid_object_found_on_premises(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    if !ctx
        .facts
        .is_true("Rule", "DidOnPremisesSettingCreatedAnException")
    {
        return None;
    }
    let advice = Advice::new("Test-IsHybridObjectFoundOnPremises.ps1");
    let Some((at, _)) = ctx.run.last_match(&HYBRID_SETTING) else {
        return Some(advice.finding("Ran into a logical error. Failed to find the IsHybridObjectFoundOnPremises context in the last run of the setup"));
    };
    // 20 lines either side of the setting, the line itself left out.
    let lines: Vec<String> = (at.saturating_sub(20)..=(at + 20).min(ctx.run.lines.len() - 1))
        .filter(|&i| i != at)
        .map(|i| ctx.run.raw(i).to_string())
        .collect();
    let uris: Vec<String> = lines
        .iter()
        .filter_map(|l| TARGET_APPLICATION_URI.captures(l).map(|c| c[1].to_string()))
        .collect();
    let advice = advice.evidence(&lines);
    Some(match uris.as_slice() {
        [uri] => advice.actions([
            "One of the Organization Relationship objects has a null value to the ApplicationURI attribute.".to_string(),
            format!("Please add \"{uri}\" to it"),
        ]),
        _ => advice.finding("Ran into a logical error. Failed to find targetApplicationUri context"),
    })
}

static WRONG_GROUP_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)The well-known object entry with the GUID "(.+)", which is on the "(.+)" container object's otherWellKnownObjects attribute, refers to a group "(.+)" of the wrong group type. Either delete the well-known object entry, or promote the target object to "(.+)"."#,
    )
});

/// `Test-InvalidWKObjectTargetException.ps1`: a well-known group of the
/// wrong type.
pub(super) fn invalid_wk_object_target(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let (i, c) = ctx.run.last_match(&WRONG_GROUP_TYPE)?;
    Some(
        Advice::new("Test-InvalidWKObjectTargetException.ps1")
            .evidence([ctx.run.raw(i)])
            .actions([
                format!("- Change the {} object to {}", &c[3], &c[4]),
                "- Another problem can be that the group is set correctly, but is mail enabled and shouldn't be.".to_string(),
            ]),
    )
}

static SHARED_CONFIG_DC: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\[ERROR\] Unable to set shared config DC"));
static SHARED_CONFIG_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\[ERROR-REFERENCE\] Id=AllADRolesCommonServiceControl___ee47ab1c06fb47919398e2e95ed99c6c",
    )
});
// "ocurred" as setup spells it.
static SHARED_CONFIG_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\] An error ocurred while setting shared config DC\. Error: (.+)")
});
static SHARED_CONFIG_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\] An exception ocurred while setting shared config DC\. Exception: (.+)")
});

const TOPOLOGY_NOTE: &str = "NOTE: It is common that the service will not stay started after the initial failure, make sure you keep the Microsoft Exchange Active Directory Topology service running during the entire setup process";
const TOPOLOGY_STARTED: &str = "It appears that the Microsoft Exchange Active Directory Topology service was started on the server and we ran into a different inner exception.";
// "coundn't" as the product spells it.
const TOPOLOGY_NOT_FOUND: &str = "Topology Provider coundn't find the Microsoft Exchange Active Directory Topology service on end point 'TopologyClientTcpEndpoint (localhost)'.";

/// `Test-SharedConfigDc.ps1`: setup could not reach AD through the
/// Active Directory Topology service.
pub(super) fn shared_config_dc(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let (i, _) = ctx.run.last_match(&SHARED_CONFIG_DC)?;
    ctx.run.last_match(&SHARED_CONFIG_REFERENCE)?;
    let line = ctx.run.raw(i);
    let advice = Advice::new("Test-SharedConfigDc.ps1");
    let generic = [
        TOPOLOGY_STARTED.to_string(),
        "Carefully read the inner exception and review the application logs to determine why we can't connect to Active Directory.".to_string(),
        TOPOLOGY_NOTE.to_string(),
    ];
    if let Some(inner) = ctx.run.last_value(&SHARED_CONFIG_ERROR) {
        let advice = advice.evidence([line.to_string(), format!("Inner Exception: {inner}")]);
        return Some(if inner == TOPOLOGY_NOT_FOUND {
            advice.actions([
                "1. The service needs to be started prior to setup & during setup. Setup could be stopping and disabling this service preventing setup from working.",
                "     MAKE SURE IT IS RUNNING DURING THE WHOLE SETUP AFTER COPYING FILES",
                "2. After starting the service, make sure it stays running and check the application logs to make sure there are no errors.",
                "     We could have failed the first time because we couldn't find a suitable domain controller for various number of reasons.",
                "     If those errors are still there after starting the service, you need to address those prior to trying to run setup again.",
            ])
        } else {
            advice.actions(generic)
        });
    }
    if let Some(inner) = ctx.run.last_value(&SHARED_CONFIG_EXCEPTION) {
        return Some(
            advice
                .evidence([line.to_string(), format!("Inner Exception: {inner}")])
                .actions(generic),
        );
    }
    Some(advice.evidence([line]).actions([
        "Determined that we found an issue with trying to set the Shared Config DC, but was unable to get find the inner exception.",
        "Start the Microsoft Exchange Active Directory Topology service and see if there are any errors in the application log related to the service after it has started.",
        "Troubleshoot those error messages prior to trying to run setup again.",
        TOPOLOGY_NOTE,
    ]))
}

/// `Write-LastErrorInformation.ps1`: no known cause; the first error of the
/// run with 30 lines before it and 200 after.
pub(super) fn last_error_information(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let mut advice = Advice::new("Write-LastErrorInformation.ps1");
    if let Some(context) = first_error_context(ctx.run, None, 30, 200) {
        advice = advice
            .finding("Failed to determine known cause, but here is your error context that we are seeing")
            .evidence(context);
    }
    found(advice.actions([
        "Looks like we weren't able to determine the cause of the issue with Setup. Please run SetupAssist.ps1 on the server.",
    ]))
}
