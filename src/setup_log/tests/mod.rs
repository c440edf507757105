//! Every captured setup log judged (`tests/fixtures/real/setup-logs/`,
//! CSS-Exchange `Setup/Tests/**`, MIT). Two kinds of expectation:
//! - read from the log itself (its `Setup version`, `The locally installed
//!   version is`, `installation mode`, `Failed [Rule:…]` and end lines): the
//!   `FACTS` table;
//! - CSS-Exchange's Pester tests, `Setup/Tests/SetupLogReviewer.Tests.ps1`:
//!   each `Assert-MockCalled … Write-Host -ParameterFilter { $Object -like
//!   "…" }` becomes an `assert_printed(…)` in `pester.rs`, with the `It`
//!   block named.
//!   SetupLogReviewer prints findings, action plans and error context with
//!   `Write-Host`; ours keeps them in `advice`, so `printed` flattens that
//!   (and the context, in the script's "Additional Context" wording).

use super::*;

mod pester;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real/setup-logs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn judged(name: &str) -> SetupLogReview {
    review(&fixture(name))
}

/// What SetupLogReviewer would `Write-Host`: every finding, action and
/// evidence line, then the context in its "Additional Context" wording.
fn printed(r: &SetupLogReview) -> Vec<String> {
    let mut out: Vec<String> = r
        .advice
        .iter()
        .filter(|a| a.source != "cu-roll")
        .flat_map(|a| a.findings.iter().chain(&a.actions).chain(&a.evidence))
        .cloned()
        .collect();
    let c = &r.context;
    let labelled = [
        ("User Logged On", &c.user),
        ("Setup Running on", &c.server),
        ("Setup Running in Domain", &c.domain),
        ("Setup Running in AD Site Name", &c.ad_site),
        ("Schema Master", &c.schema_master),
        ("Schema Master in Domain", &c.schema_master_domain),
        ("Schema Master in AD Site Name", &c.schema_master_site),
    ];
    out.extend(
        labelled
            .iter()
            .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label}: {v}"))),
    );
    out
}

/// PowerShell's `-like` (case-insensitive, `*` any run of characters).
fn like(text: &str, pattern: &str) -> bool {
    let (t, p) = (text.to_lowercase(), pattern.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !t.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return t.len() >= pos + part.len() && t.ends_with(part);
        } else {
            match t[pos..].find(part) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    t.len() == pos
}

/// How many printed lines match `pattern`.
fn count(r: &SetupLogReview, pattern: &str) -> usize {
    printed(r).iter().filter(|l| like(l, pattern)).count()
}

#[track_caller]
fn assert_printed(r: &SetupLogReview, pattern: &str, times: usize) {
    let n = count(r, pattern);
    assert_eq!(
        n,
        times,
        "{pattern:?} printed {n} times, expected {times}:\n{:#?}",
        printed(r)
    );
}

/// The SetupLogReviewer check that answered (the advice not from cu-roll).
fn answer(r: &SetupLogReview) -> &'static str {
    r.advice
        .iter()
        .rev()
        .find(|a| a.source != "cu-roll" && a.source != "SetupLogReviewerLogic.ps1")
        .map_or("(none)", |a| a.source)
}

use Outcome::{Failed, PrerequisitesFailed};

/// From each log itself: its `Setup version`, `The locally installed
/// version is`, `The installation mode is set to`, `Failed [Rule:…]` and end
/// lines. The answering check is the one whose `It` block in the Pester
/// tests runs that log.
/// One log's expected reading: file, outcome, setup version, installed
/// version, installation mode, failed rules, previous attempt incomplete,
/// the check that answers.
type Fact = (
    &'static str,
    Outcome,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [&'static str],
    bool,
    &'static str,
);

const B2B: Option<&str> = Some("BuildToBuildUpgrade");
const INSTALL: Option<&str> = Some("Install");

#[rustfmt::skip]
const FACTS: &[Fact] = &[
    ("ExchangeSetup-PrepareSchema-8245.log", Failed, "15.1.2176.2", Some("15.1.1531.3"), INSTALL, &[], false, "Test-KnownLdifErrors.ps1"),
    ("ExchangeSetupWrongGroupType.log", Failed, "15.1.2044.4", Some("15.1.1531.3"), INSTALL, &[], false, "Test-InvalidWKObjectTargetException.ps1"),
    ("ExchangeSetup_ADServiceNotStarted.log", Failed, "15.2.1544.4", Some("15.2.1544.4"), INSTALL, &[], false, "Test-SharedConfigDc.ps1"),
    ("ExchangeSetup_ADUpdated_NoOrgMan.log", PrerequisitesFailed, "15.2.792.3", Some("15.2.721.2"), B2B, &["ProcessNeedsToBeClosedOnUpgrade", "DelegatedBridgeheadFirstInstall", "DelegatedCafeFirstInstall", "DelegatedFrontendTransportFirstInstall", "DelegatedMailboxFirstInstall", "DelegatedClientAccessFirstInstall"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_AD_Prep_Reboot.log", PrerequisitesFailed, "15.1.2106.2", Some("15.1.1979.3"), B2B, &["UnifiedMessagingRoleNotInstalled", "BridgeheadRoleNotInstalled", "ProcessNeedsToBeClosedOnUpgrade", "PendingRebootWindowsComponents", "GlobalUpdateRequired", "LocalDomainPrep", "GlobalServerInstall", "DelegatedBridgeheadFirstInstall", "DelegatedCafeFirstInstall", "DelegatedFrontendTransportFirstInstall", "DelegatedMailboxFirstInstall", "DelegatedClientAccessFirstInstall", "DelegatedUnifiedMessagingFirstInstall", "AdInitErrorRule", "ForestLevelNotWin2003Native", "CannotAccessAD"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_Arbitration_UPN.log", Failed, "15.0.1497.2", Some("15.0.1156.6"), INSTALL, &[], false, "Test-ArbitrationMailbox.ps1"),
    ("ExchangeSetup_DC_Site_1.log", PrerequisitesFailed, "15.0.1497.2", Some("15.0.1395.4"), B2B, &["DomainControllerIsOutOfSite"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_DomainPrepRequired.log", PrerequisitesFailed, "15.2.922.7", None, INSTALL, &["DomainPrepRequired"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_FIPS_AccessDenied.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-FipsUpgradeConfiguration.ps1"),
    ("ExchangeSetup_Fail_In_Child.log", PrerequisitesFailed, "15.1.2106.2", None, INSTALL, &["GlobalUpdateRequired", "LocalDomainPrep", "AdInitErrorRule", "ForestLevelNotWin2003Native", "CannotAccessAD"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_Failed_Mount_Database.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-MountDatabaseFailure.ps1"),
    ("ExchangeSetup_Firewall_Endpoint.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-EndpointMapper.ps1"),
    ("ExchangeSetup_InvalidWKObjectException.log", Failed, "15.1.2176.2", Some("15.1.2106.2"), B2B, &[], false, "Test-OtherWellKnownObjects.ps1"),
    ("ExchangeSetup_MSI_1.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-KnownMsiIssuesCheck.ps1"),
    ("ExchangeSetup_MSI_2.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-KnownMsiIssuesCheck.ps1"),
    // "MSI was not present; Installing to saved location": no installed version.
    ("ExchangeSetup_MSI_3.log", Failed, "15.0.1497.2", None, B2B, &[], false, "Test-KnownMsiIssuesCheck.ps1"),
    ("ExchangeSetup_MissingDirectory.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-MissingDirectory.ps1"),
    ("ExchangeSetup_Missing_PF_Object.log", Failed, "15.0.1497.2", None, INSTALL, &[], false, "Test-ExceptionADOperationFailedAlreadyExist.ps1"),
    ("ExchangeSetup_NoSuitableDC.log", Failed, "15.2.1544.4", None, INSTALL, &[], false, "Test-SharedConfigDc.ps1"),
    ("ExchangeSetup_SchemaAdmin_PrepareSchema.log", PrerequisitesFailed, "15.2.792.3", Some("15.2.721.2"), INSTALL, &["SchemaUpdateRequired"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_Search_Foundation_Failure.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-FailedSearchFoundation.ps1"),
    ("ExchangeSetup_Search_Foundation_Failure_Install.log", Failed, "15.2.922.7", Some("15.2.922.7"), INSTALL, &[], false, "Test-FailedSearchFoundation.ps1"),
    ("ExchangeSetup_ServiceControl_Reverse.log", Failed, "15.1.2507.6", Some("15.1.2507.6"), INSTALL, &[], false, "Test-ServiceControlReverse.ps1"),
    ("ExchangeSetup_Vdir_1.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-VirtualDirectoryFailure.ps1"),
    ("ExchangeSetup_Vdir_3.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-VirtualDirectoryFailure.ps1"),
    ("ExchangeSetupmsExchangeSecurityGroupsContainerDeleted.log", Failed, "15.1.2044.4", Some("15.1.1531.3"), INSTALL, &[], false, "Test-MSExchangeSecurityGroupsContainerDeleted.ps1"),
    // Not among the 26 logs of the project's capture set: copied from the same CSS-Exchange commit for
    // the checks those do not reach.
    ("ExchangeSetup_DC_Site_2.log", PrerequisitesFailed, "15.0.1497.2", Some("15.0.1210.3"), B2B, &["RebootPending", "NotInDC2Site", "DomainControllerIsOutOfSite"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_InstallFromBin.log", Failed, "15.1.2176.9", Some("15.1.2176.2"), B2B, &[], false, "Test-InstallFromBin.ps1"),
    ("ExchangeSetup_MSI_4.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-KnownMsiIssuesCheck.ps1"),
    ("ExchangeSetup_MSI_5.log", Failed, "15.1.2308.8", Some("15.1.2242.4"), B2B, &[], false, "Test-KnownMsiIssuesCheck.ps1"),
    ("ExchangeSetup_Missing_HomeMdb.log", Failed, "15.0.1497.2", Some("15.0.1497.2"), B2B, &[], true, "Test-MissingHomeMdb.ps1"),
    ("ExchangeSetup_Multi_EAS_Vdirs.log", Failed, "15.2.986.5", Some("15.2.922.7"), B2B, &[], false, "Test-MultiActiveSyncVirtualDirectories.ps1"),
    ("ExchangeSetup_NoPerm.log", PrerequisitesFailed, "15.2.792.3", Some("15.2.721.2"), B2B, &["SchemaUpdateRequired", "GlobalUpdateRequired", "GlobalServerInstall", "DelegatedBridgeheadFirstInstall", "DelegatedCafeFirstInstall", "DelegatedFrontendTransportFirstInstall", "DelegatedMailboxFirstInstall", "DelegatedClientAccessFirstInstall"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_Reboot_Pending.log", PrerequisitesFailed, "15.1.2106.2", None, INSTALL, &["PendingRebootWindowsComponents"], false, "Test-PrerequisiteCheck.ps1"),
    ("ExchangeSetup_Service_Disabled.log", Failed, "15.1.2106.2", Some("15.1.2106.2"), B2B, &[], true, "Test-DisabledService.ps1"),
    ("ExchangeSetup_Vdir_2.log", Failed, "15.1.2176.2", Some("15.1.2176.2"), B2B, &[], true, "Test-VirtualDirectoryFailure.ps1"),
];

#[test]
fn every_fixture_is_in_the_table() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real/setup-logs");
    let mut logs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    let mut listed: Vec<String> = FACTS.iter().map(|f| f.0.to_string()).collect();
    listed.sort();
    assert_eq!(logs, listed);
}

#[test]
fn every_captured_log_reads_as_the_log_says() {
    for &(file, outcome, setup, installed, mode, rules, incomplete, check) in FACTS {
        let r = judged(file);
        let at = |what: &str| format!("{file}: {what}");
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert_eq!(r.outcome, outcome, "{}", at("outcome"));
        assert_eq!(
            r.setup_version.as_deref(),
            Some(setup),
            "{}",
            at("setup_version")
        );
        assert_eq!(
            r.installed_version.as_deref(),
            installed,
            "{}",
            at("installed_version")
        );
        assert_eq!(r.mode.as_deref(), mode, "{}", at("mode"));
        assert_eq!(r.failed_rules, rules, "{}", at("failed_rules"));
        assert_eq!(
            r.previous_attempt_incomplete,
            incomplete,
            "{}",
            at("previous_attempt_incomplete")
        );
        assert_eq!(answer(&r), check, "{}", at("the check that answers"));
        assert_eq!(
            r.context.user.as_deref().map(|u| u.ends_with("\\Han")),
            Some(true),
            "{}",
            at("user")
        );
        assert!(
            r.run_started.is_some() && r.product.is_some(),
            "{}",
            at("start line")
        );
        // A failed run names its errors or its rules; the errors are distinct.
        assert!(
            !(r.errors.is_empty() && r.failed_rules.is_empty()),
            "{}",
            at("no cause")
        );
        let mut unique = r.errors.clone();
        unique.dedup();
        assert_eq!(unique.len(), r.errors.len(), "{}", at("duplicate errors"));
    }
}

/// The re-run after a failed upgrade (real-exchange.md finding 1): the
/// backup copy is the old build, the installed build is already the new one.
#[test]
fn a_rerun_after_a_failed_upgrade_is_flagged_with_both_builds() {
    let r = judged("ExchangeSetup_FIPS_AccessDenied.log");
    assert_eq!(r.previous_version.as_deref(), Some("15.1.1713.5"));
    assert_eq!(r.installed_version.as_deref(), r.setup_version.as_deref());
    assert_eq!(r.command_line_mode.as_deref(), Some("Upgrade"));
    assert!(r.previous_attempt_incomplete);
    let note = r
        .advice
        .iter()
        .find(|a| a.source == "cu-roll")
        .expect("cu-roll's note");
    assert!(
        note.findings[0].contains("15.1.2106.2") && note.findings[0].contains("15.1.1713.5"),
        "{note:?}"
    );
    // An upgrade from an older build is not a re-run.
    assert!(!judged("ExchangeSetup_ADUpdated_NoOrgMan.log").previous_attempt_incomplete);
}

/// `SetupLogReviewerLogic.ps1`'s "Same build number detected" (setup run
/// from the installed Bin folder): the minor and build numbers match, the
/// run is not an install.
#[test]
fn the_same_build_warning_follows_setup_log_reviewer() {
    let same = |file: &str| {
        judged(file)
            .advice
            .iter()
            .any(|a| a.source == "SetupLogReviewerLogic.ps1")
    };
    assert!(same("ExchangeSetup_InstallFromBin.log"));
    // Backup copy 15.0.1130.7 is what SetupLogReviewer compares: no warning.
    assert!(!same("ExchangeSetup_Firewall_Endpoint.log"));
    // An install (command line mode Install) never warns.
    assert!(!same("ExchangeSetup_ADServiceNotStarted.log"));
}

/// A multi-line task error is shortened to its first line and its
/// `was run:` line; repeated errors appear once.
#[test]
fn errors_are_short_and_distinct() {
    let r = judged("ExchangeSetup_MSI_3.log");
    assert_eq!(
        r.errors,
        [
            r"Installing product C:\ExchangeCU23\exchangeserver.msi failed. Fatal error during installation. Error code is 1603.",
            "Fatal error during installation",
        ]
    );
    let r = judged("ExchangeSetup_NoSuitableDC.log");
    assert_eq!(
        r.errors,
        [
            "Unable to set shared config DC.",
            "The following error was generated when \"$error.Clear(); … \" was run: \"System.Exception: Unable to set shared config DC.",
        ]
    );
    assert_eq!(
        r.error_reference.as_deref(),
        Some("AllADRolesCommonServiceControl___ee47ab1c06fb47919398e2e95ed99c6c")
    );
}

/// ExchangeSetup_SchemaAdmin_PrepareSchema.log holds two runs: an invalid
/// `/mode:prepareschema` that ended at once, then the real one. The first
/// run's `[ERROR]` must not leak into the last.
#[test]
fn only_the_last_run_counts_in_a_log_with_two_runs() {
    let r = judged("ExchangeSetup_SchemaAdmin_PrepareSchema.log");
    assert_eq!(r.run_started.as_deref(), Some("12/19/2020 04:47:34.0547"));
    assert!(
        !r.errors.iter().any(|e| e.contains("prepareschema")),
        "{:?}",
        r.errors
    );
}

const TWO_RUNS: &str = "\
[02/10/2026 09:01:12.0451] [0] **********************************************\r
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:01:12.0451] [0] **********************************************\r
[02/10/2026 09:01:12.0482] [0] Setup version: 15.2.1748.10.\r
[02/10/2026 09:04:40.0872] [1] Evaluated [Rule:ProcessNeedsToBeClosedOnUpgrade] [Value:\"True\"] [ParentValue:\"<NULL>\"] [Thread:6] [Duration:00:00:00.0781250]\r
[02/10/2026 09:04:40.0934] [1] [ERROR] There are processes running that must be closed before setup can continue: powershell (4711).\r
[02/10/2026 09:04:41.0012] [0] The Exchange Server setup operation didn't complete. More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.\r
[02/10/2026 10:12:03.0219] [0] **********************************************\r
[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server Subscription Edition Setup\r
[02/10/2026 10:12:03.0219] [0] **********************************************\r
[02/10/2026 10:12:03.0235] [0] Setup version: 15.2.2562.17.\r
[02/10/2026 10:12:05.0300] [0] The locally installed version is 15.2.1748.10.\r
[02/10/2026 11:40:51.0777] [0] The Exchange Server setup operation completed successfully.\r
[02/10/2026 11:40:51.0780] [0] End of Setup\r
[02/10/2026 11:40:51.0780] [0] **********************************************\r
";

/// The success line of the last run wins; an older run's error does not
/// leak; a run that has only started is `running`; no run at all is
/// `no-run`.
#[test]
fn outcomes_of_the_last_run() {
    let r = review(TWO_RUNS);
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert_eq!(
        r.product.as_deref(),
        Some("Microsoft Exchange Server Subscription Edition")
    );
    assert_eq!(r.setup_version.as_deref(), Some("15.2.2562.17"));
    assert!(r.errors.is_empty() && r.advice.is_empty(), "{r:?}");

    let started = format!("{TWO_RUNS}[02/11/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\r\n");
    let r = review(&started);
    assert_eq!(r.outcome, Outcome::Running);
    assert_eq!(r.setup_version, None);
    assert_eq!(r.advice[0].source, "cu-roll");

    let first_only = &TWO_RUNS[..TWO_RUNS.find("[02/10/2026 10:12:03.0219]").unwrap()];
    let r = review(first_only);
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.errors, ["There are processes running that must be closed before setup can continue: powershell (4711)."]);
    // The rule evaluated True, but no `Failed [Rule:…]` line: not a failed rule.
    assert!(r.failed_rules.is_empty());
    assert_printed(
        &r,
        "Additional PowerShell Sessions are open. Close them before running setup again.",
        1,
    );

    assert_eq!(review("").outcome, Outcome::NoRun);
    assert_eq!(
        review("Starting Microsoft Exchange Server 2019 Setup is what it says\n").outcome,
        Outcome::NoRun
    );
}

/// The JSON field names the issue and docs/setup-log.md promise.
#[test]
fn json_has_the_documented_fields() {
    let value = serde_json::to_value(judged("ExchangeSetup_FIPS_AccessDenied.log")).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "run_started",
            "product",
            "setup_version",
            "installed_version",
            "previous_version",
            "mode",
            "command_line_mode",
            "outcome",
            "failed_rules",
            "rule_messages",
            "errors",
            "error_reference",
            "previous_attempt_incomplete",
            "context",
            "advice"
        ]
    );
    assert_eq!(value["outcome"], "failed");
    assert_eq!(value["mode"], "BuildToBuildUpgrade");
    let context: Vec<&str> = value["context"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        context,
        [
            "user",
            "server",
            "domain",
            "ad_site",
            "schema_master",
            "schema_master_domain",
            "schema_master_site",
            "domain_controller",
            "domain_controller_site"
        ]
    );
    let advice: Vec<&str> = value["advice"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(advice, ["source", "findings", "actions", "evidence"]);
}

/// `like` itself, since every Pester assertion above rests on it.
#[test]
fn like_matches_as_powershell_does() {
    assert!(like("User Logged On: SOLO\\Han", "User Logged On: *"));
    assert!(like("abc", "ABC"));
    assert!(like("x at Foo(y)", "*at Foo(y)"));
    assert!(!like("x at Foo(y) z", "*at Foo(y)"));
    assert!(like("a-b-c", "a*c"));
    assert!(!like("ab", "a*b*c"));
}
