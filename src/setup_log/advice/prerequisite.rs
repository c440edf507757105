//! SetupLogReviewer's `Checks/FindContext/Test-PrerequisiteCheck.ps1`: the
//! readiness rules and settings the last run evaluated, read from its
//! `Evaluated [Rule:X] … [Value:"True"]` lines, and the AD preparation the
//! account cannot do. Wording as in the script.

use std::sync::LazyLock;

use regex::Regex;

use super::{regex, Advice, Ctx};

const SOURCE: &str = "Test-PrerequisiteCheck.ps1";

static AD_VALIDATION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\[ERROR\] Setup encountered a problem while validating the state of Active Directory: (.*) See the Exchange setup log for more information on this error.",
    )
});
static SCHEMA_UPDATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Schema Update Required Status : '(\w+)'."));
static ORG_UPDATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Organization Configuration Update Required Status : '(\w+)'."));
static DOMAIN_UPDATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)Domain Configuration Update Required Status : '(\w+)'."));

/// The rules that stop the check early, each with the script's sentence.
const BLOCKING_RULES: [(&str, &str); 4] = [
    (
        "PendingRebootWindowsComponents",
        "Computer is pending reboot based off the Windows Component is the registry",
    ),
    (
        "RebootPending",
        "Computer is pending reboot based off the Session Manager is the registry",
    ),
    (
        "ProcessNeedsToBeClosedOnUpgrade",
        "Additional PowerShell Sessions are open. Close them before running setup again.",
    ),
    (
        "DomainControllerIsOutOfSite",
        "Selected domain controller that isn't in the same site as the Exchange Server.",
    ),
];

pub(super) fn check(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let mut advice = Advice::new(SOURCE);
    let mut return_now = false;
    if let Some((_, c)) = ctx.run.last_match(&AD_VALIDATION) {
        advice = advice
            .finding("Setup failed to validate AD environment level. This is the internal exception that occurred:")
            .finding(c[1].trim());
        return_now = true;
    }
    for (rule, sentence) in BLOCKING_RULES {
        if ctx.facts.is_true("Rule", rule) {
            advice = advice.finding(sentence);
            return_now = true;
            if rule == "DomainControllerIsOutOfSite" {
                advice = domain_controller(ctx, advice);
            }
        }
    }
    if ctx.facts.is_true("Rule", "RemoteRegException") {
        advice = advice.finding("Failed to run '[Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [System.Net.Dns]::GetHostEntry([System.Net.Dns]::GetHostName()).HostName)' on this computer causing setup to fail");
        return_now = true;
    }
    advice = services_and_domain(ctx, advice);
    if return_now {
        return Some(with_context(ctx, advice));
    }
    let (advice, known) = permissions(ctx, advice);
    let advice = if known {
        with_context(ctx, advice)
    } else {
        advice
    };
    super::found(advice)
}

/// `Domain Controller: '…'` and its site, `NULL VALUE` when the setting is
/// empty (the captured `ExchangeSetup_DC_Site_1.log`).
fn domain_controller(ctx: &Ctx<'_, '_>, advice: Advice) -> Advice {
    let context = &ctx.review.context;
    if context.domain_controller.is_none() && context.domain_controller_site.is_none() {
        return advice;
    }
    let dc = context
        .domain_controller
        .as_deref()
        .unwrap_or("Failed to find DC Value");
    let site = context
        .domain_controller_site
        .as_deref()
        .unwrap_or("NULL VALUE");
    advice
        .finding(format!("Domain Controller: '{dc}'"))
        .finding(format!("Domain Controller Site: '{site}'"))
}

/// Findings that do not stop the check: MSDTC, URL Rewrite, domain
/// preparation, an install watermark.
fn services_and_domain(ctx: &Ctx<'_, '_>, mut advice: Advice) -> Advice {
    let facts = ctx.facts;
    if facts.is_true("Rule", "MSDTCStopped") {
        advice = advice.finding(
            "The MSDTC Service is currently stopped. Start it before running setup again.",
        );
    }
    if facts.is_true("Rule", "IisUrlRewriteNotInstalled") {
        advice = advice.finding(
            "IIS URL Rewrite is not installed on the computer. Install it before running setup again.",
        );
    }
    if facts.is_false("Setting", "LocalDomainIsPrepped")
        && facts.is_true("Rule", "DomainPrepRequired")
    {
        advice = advice
            .finding("Local Domain Is Not Prepped or might have duplicate MESO Containers")
            .actions([
                "Run SetupAssist on the server to determine the problem and correct action plan.",
            ]);
    }
    if facts.ever_true("Rule", "InstallWatermark") {
        advice = advice
            .finding(
                "Exchange Setup failure was detected for install or recovery causing a watermark",
            )
            .actions(["More Information: https://aka.ms/SA-InstallWatermark"]);
    }
    advice
}

/// The AD preparation the user cannot do, and Organization Management.
/// Returns whether a known issue was found (which adds the context).
fn permissions(ctx: &Ctx<'_, '_>, mut advice: Advice) -> (Advice, bool) {
    let facts = ctx.facts;
    let user = ctx.user();
    let required = |re: &Regex| {
        ctx.run
            .last_value(re)
            .is_some_and(|v| v.eq_ignore_ascii_case("True"))
    };
    let not_schema_admin = facts.is_false("Setting", "SchemaAdmin");
    let not_enterprise_admin = facts.is_false("Setting", "EnterpriseAdmin");
    let mut known = false;
    let mut add = |advice: Advice, text: String| {
        known = true;
        advice.finding(text)
    };
    if required(&SCHEMA_UPDATE) && not_schema_admin {
        advice = add(advice, format!("/PrepareSchema is required and user {user} isn't apart of the Schema Admins group."));
    }
    if required(&SCHEMA_UPDATE) && not_enterprise_admin {
        advice = add(advice, format!("/PrepareSchema is required and user {user} isn't apart of the Enterprise Admins group."));
    }
    if required(&ORG_UPDATE) && not_enterprise_admin {
        advice = add(advice, format!("/PrepareAD is required and user {user} isn't apart of the Enterprise Admins group."));
    }
    if required(&DOMAIN_UPDATE) && not_enterprise_admin {
        advice = add(advice, "/PrepareDomain needs to be run in this domain, but we actually require Enterprise Admin group to properly run this command.".to_string());
    }
    if facts.is_false("Setting", "ExOrgAdmin") {
        match facts.evaluated("Setting", "SidExOrgAdmins") {
            Some(sid) if facts.is_true("Rule", "DelegatedMailboxFirstInstall") => {
                let sid = sid.to_string();
                advice = add(
                    advice,
                    format!("User {user} isn't apart of Organization Management group."),
                );
                advice = advice.finding(format!("Looking to be in this group SID: {sid}"));
            }
            // A delegated setup: the script says nothing.
            Some(_) => {}
            None => {
                advice = advice.finding("Didn't find the user to be in ExOrgAdmin, but didn't find the SID for the group either. Suspect /PrepareAD hasn't been run yet.");
            }
        }
    }
    (advice, known)
}

/// The script's "Additional Context" ends with two findings of its own: the
/// schema master is in another domain, or in another AD site.
fn with_context(ctx: &Ctx<'_, '_>, mut advice: Advice) -> Advice {
    let context = &ctx.review.context;
    if context.schema_master.is_none() {
        return advice;
    }
    let differs = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => false,
    };
    if differs(&context.schema_master_domain, &context.domain) {
        advice = advice.finding("Unable to run setup in current domain.");
    }
    if differs(&context.schema_master_site, &context.ad_site) {
        advice = advice.finding("Unable to run setup in the current AD Site");
    }
    advice
}
