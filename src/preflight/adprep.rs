//! Active Directory preparation: which `Setup.exe /Prepare*` commands the
//! target needs (from the AD levels the pre-flight read and the
//! catalogue's), their exact command lines with the licence switch, and
//! where an admin must run them (the schema master's domain and site,
//! exchange-facts.md §3). Shared by the pre-flight report (`block`) and the
//! rollout's `prepare-ad` operation (`run`). Read-only: this module renders
//! and parses the schema-master observation, it never prepares anything.

use serde::Deserialize;

use crate::catalog::{self, AdLevels, ExchangeBuild, PrepNeed};
use crate::exchange::{self, Operation, QueryError};
use crate::plan::{DiagnosticData, Plan, ResolvedTarget, Server};

/// One `/Prepare*` switch, in the order they must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrepSwitch {
    /// `/PrepareSchema`: extends the schema (Schema Admins).
    Schema,
    /// `/PrepareAD`: the organisation (Enterprise Admins); also extends
    /// the schema when needed and prepares the local domain.
    Ad,
    /// `/PrepareAllDomains`: every domain's Microsoft Exchange System
    /// Objects container (Domain Admins of each domain).
    AllDomains,
}

impl PrepSwitch {
    pub fn switch(self) -> &'static str {
        match self {
            PrepSwitch::Schema => "/PrepareSchema",
            PrepSwitch::Ad => "/PrepareAD",
            PrepSwitch::AllDomains => "/PrepareAllDomains",
        }
    }

    /// Whether `need` still asks for this switch.
    pub fn needed_by(self, need: PrepNeed) -> bool {
        match self {
            PrepSwitch::Schema => need.schema,
            PrepSwitch::Ad => need.ad,
            PrepSwitch::AllDomains => need.domain,
        }
    }
}

/// The switches `need` asks for, in the order they must run.
pub fn switches(need: PrepNeed) -> Vec<PrepSwitch> {
    [PrepSwitch::Schema, PrepSwitch::Ad, PrepSwitch::AllDomains]
        .into_iter()
        .filter(|s| s.needed_by(need))
        .collect()
}

/// The licence switch every unattended setup run needs, for setup media of
/// build `media`: `_DiagnosticDataON|OFF` (the plan's choice) from the
/// September 2021 CUs on, the plain `/IAcceptExchangeServerLicenseTerms`
/// on older media, which do not know the new ones
/// (`catalog::takes_diagnostic_data_switch` gives the sources).
pub fn licence_switch(plan: &Plan, media: ExchangeBuild) -> &'static str {
    if !catalog::takes_diagnostic_data_switch(media) {
        return "/IAcceptExchangeServerLicenseTerms";
    }
    match plan.rollout.diagnostic_data {
        DiagnosticData::On => "/IAcceptExchangeServerLicenseTerms_DiagnosticDataON",
        DiagnosticData::Off => "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF",
    }
}

/// The command as an admin types it: `D:\Setup.exe /PrepareAD /IAccept…OFF`
/// (`media` = the setup media's build, the target CU's).
pub fn admin_command(plan: &Plan, media: ExchangeBuild, switch: PrepSwitch) -> String {
    format!(
        "{} {} {}",
        plan.rollout.setup_path,
        switch.switch(),
        licence_switch(plan, media)
    )
}

/// The same, as the batch line the rollout runs (path quoted for cmd.exe).
pub fn batch_command(plan: &Plan, media: ExchangeBuild, switch: PrepSwitch) -> String {
    format!(
        "\"{}\" {} {}",
        plan.rollout.setup_path,
        switch.switch(),
        licence_switch(plan, media)
    )
}

/// The levels a preparation from the target CU's **media** reaches: the
/// CU's own. An SU that raises the domain level (May 2022 on 2016
/// CU22/CU23 and 2019 CU11/CU12) is reached only from the installed
/// `Bin\Setup.exe` after that SU ([`after_su_needed`]).
pub fn media_levels(target: &ResolvedTarget) -> AdLevels {
    target.cu.ad_with(None)
}

/// Whether the target's SU raises the domain level above what the media
/// reaches and the forest (`found`) is below it: then, after the first
/// server has the SU, `/PrepareAllDomains` must run from that server's
/// installed `Bin\Setup.exe`. The Exchange team's "Released: May 2022
/// Exchange Server Security Updates" (CVE-2022-21978): "Install the May
/// 2022 SU first and then run the following Command Prompt command once
/// using Setup.exe in your Exchange Server installation path (e.g.,
/// …\Program Files\Microsoft\Exchange Server\v15\Bin)";
/// CSS-Exchange HealthChecker, "May 2022 Security Update": "After you have
/// installed this security fix, you must run /PrepareDomain or
/// /PrepareAllDomains from the Exchange bin directory".
pub fn after_su_needed(found: AdLevels, target: &ResolvedTarget) -> bool {
    let with_su = target.cu.ad_with(target.su.as_ref()).domain_object_version;
    with_su > media_levels(target).domain_object_version && with_su > found.domain_object_version
}

/// Whether the target's SU raises the domain level at all (no AD read):
/// only then does a rollout look for [`after_su_needed`].
pub fn su_raises_domain(target: &ResolvedTarget) -> bool {
    target.cu.ad_with(target.su.as_ref()).domain_object_version
        > media_levels(target).domain_object_version
}

/// The installed `Setup.exe` as cmd.exe finds it on an Exchange server:
/// setup sets the machine variable `ExchangeInstallPath` (ending in `\`;
/// Microsoft's own scripts and CSS-Exchange read `$env:ExchangeInstallPath`).
pub const INSTALLED_SETUP: &str = r"%ExchangeInstallPath%Bin\Setup.exe";

/// `"%ExchangeInstallPath%Bin\Setup.exe" /PrepareAllDomains /IAccept…`:
/// the after-SU preparation, as the batch runs it and as an admin types it
/// in a command prompt on the server (the installed build is the target
/// CU's, so its licence switch is the media's).
pub fn after_su_command(plan: &Plan, target: &ResolvedTarget) -> String {
    format!(
        "\"{INSTALLED_SETUP}\" {} {}",
        PrepSwitch::AllDomains.switch(),
        licence_switch(plan, target.cu.build)
    )
}

/// The report's instruction for the after-SU preparation.
pub fn after_su_instruction(plan: &Plan, target: &ResolvedTarget) -> String {
    let su = target
        .su
        .as_ref()
        .map_or("the security update", |s| s.name.as_str());
    format!(
        "after the first server has {su}, on that server, as a member of Enterprise Admins (Microsoft Learn, \"Prepare Active Directory and domains\"): {}",
        after_su_command(plan, target)
    )
}

/// What `prep_needed` says for the levels found against the target's.
pub fn need(found: AdLevels, required: AdLevels) -> PrepNeed {
    catalog::prep_needed(found, required)
}

/// The forest's schema master and the domain and site it is in: where
/// `/PrepareSchema` and `/PrepareAD` must run (Microsoft: "in the same
/// Active Directory site and domain as the Schema Master").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaMasterObs {
    /// The schema master's DNS host name, e.g. `dc01.contoso.local`.
    pub schema_master: String,
    /// Its domain's DNS name, e.g. `contoso.local`.
    pub domain: String,
    /// Its Active Directory site, e.g. `Default-First-Site-Name`.
    pub site: String,
}

impl SchemaMasterObs {
    /// `in domain contoso.local, site Default-First-Site-Name (schema master dc01.contoso.local)`.
    pub fn describe(&self) -> String {
        format!(
            "in domain {}, site {} (the schema master is {})",
            self.domain, self.site, self.schema_master
        )
    }
}

/// `Get-ADForest` names the schema master (FSMO role holder);
/// `Get-ADDomainController -Identity` gives its domain and site. Both with
/// the admin's `-Credential` (the second hop: a WinRM network logon has no
/// credential to present to a domain controller).
pub const SCHEMA_MASTER: exchange::Template = exchange::Template {
    placement: exchange::Placement::TargetWithCredential,
    text: r#"Import-Module -Name 'ActiveDirectory'
$forest = Get-ADForest -Credential $credential
# -Server: without it the lookup searches only this server's domain, and
# fails when the schema master sits in another domain of the forest.
$dc = Get-ADDomainController -Identity $forest.SchemaMaster -Server $forest.SchemaMaster -Credential $credential
[pscustomobject]@{
    SchemaMaster = [string]$forest.SchemaMaster
    Domain = [string]$dc.Domain
    Site = [string]$dc.Site
} | ConvertTo-Json -Compress
"#,
};

/// The schema master read (sent on the server with the credential).
pub fn schema_master_op() -> Operation {
    SCHEMA_MASTER.render("reading the schema master's domain and site", &[])
}

pub fn schema_master(
    reach: &exchange::Reach<'_>,
    server: &Server,
) -> Result<SchemaMasterObs, QueryError> {
    exchange::query(reach, server, &schema_master_op())
}

/// The plan-wide blocker for `prepare_ad = "block"`: the exact commands,
/// in order, and where to run them.
pub fn block_message(
    target_name: &str,
    commands: &[String],
    place: Option<&SchemaMasterObs>,
) -> String {
    let place = place.map_or_else(
        || "from a computer in the schema master's domain and site".to_string(),
        |p| format!("from a computer {}", p.describe()),
    );
    format!(
        "{target_name} needs Active Directory preparation before the first server; run once, {place}, as a member of Schema Admins and Enterprise Admins: {} — or set [policy] prepare_ad = \"run\" to let cu-roll run it from the first server",
        commands.join(" then ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(s: u32, o: u32, d: u32) -> AdLevels {
        AdLevels {
            schema_range_upper: s,
            org_object_version: o,
            domain_object_version: d,
        }
    }

    #[test]
    fn org_only_needs_prepare_ad_alone() {
        let n = need(levels(17003, 16762, 13243), levels(17003, 16763, 13243));
        assert_eq!(switches(n), vec![PrepSwitch::Ad]);
    }

    #[test]
    fn a_schema_change_needs_all_three_in_order() {
        let n = need(levels(17002, 16757, 13240), levels(17003, 16758, 13241));
        assert_eq!(
            switches(n),
            vec![PrepSwitch::Schema, PrepSwitch::Ad, PrepSwitch::AllDomains]
        );
    }

    #[test]
    fn levels_at_or_above_the_target_need_nothing() {
        assert!(switches(need(
            levels(17003, 16763, 13243),
            levels(17003, 16763, 13243)
        ))
        .is_empty());
        assert!(switches(need(
            levels(17004, 16800, 13300),
            levels(17003, 16763, 13243)
        ))
        .is_empty());
    }

    #[test]
    fn the_block_message_names_commands_and_place() {
        let place = SchemaMasterObs {
            schema_master: "dc01.contoso.local".into(),
            domain: "contoso.local".into(),
            site: "Default-First-Site-Name".into(),
        };
        let m = block_message(
            "Exchange Server 2019 CU15",
            &[
                "D:\\Setup.exe /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"
                    .into(),
            ],
            Some(&place),
        );
        assert!(
            m.contains("in domain contoso.local, site Default-First-Site-Name"),
            "{m}"
        );
        assert!(m.contains("dc01.contoso.local"), "{m}");
        assert!(
            m.contains(
                "D:\\Setup.exe /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"
            ),
            "{m}"
        );
        assert!(block_message("X", &["a".into()], None).contains("schema master's domain and site"));
    }
}
