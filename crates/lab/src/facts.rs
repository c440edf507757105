//! What the lab knows about Exchange builds, each row with its source: the
//! CU base builds (so `AdminDisplayVersion` can show a CU's revision under
//! an SU) and the Active Directory levels a CU's `/PrepareSchema`,
//! `/PrepareAD` and `/PrepareDomain` reach, and which licence switch a
//! CU's setup takes. This table is the lab's own:
//! the product's catalogue says the same things for its own reasons, and a
//! product test (`tests/it/lab_facts.rs`) compares the two so a wrong entry
//! in either is caught instead of being agreed with.

use crate::build::ExchangeBuild;

/// Microsoft Learn, "Exchange Server build numbers and release dates".
const BUILD_NUMBERS: &str =
    "https://learn.microsoft.com/exchange/new-features/build-numbers-and-release-dates";
/// Microsoft Learn, "Prepare Active Directory and domains for Exchange
/// Server", section "Exchange Active Directory versions".
const AD_VERSIONS: &str =
    "https://learn.microsoft.com/exchange/plan-and-deploy/prepare-ad-and-domains#exchange-active-directory-versions";

/// One Cumulative Update as the lab simulates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CuFacts {
    pub name: &'static str,
    /// The CU's own build (its setup media's version).
    pub build: ExchangeBuild,
    /// `rangeUpper` of ms-Exch-Schema-Version-Pt after `/PrepareSchema`.
    pub schema_range_upper: u32,
    /// `objectVersion` of the organisation container after `/PrepareAD`.
    pub org_object_version: u32,
    /// `objectVersion` of Microsoft Exchange System Objects after `/PrepareDomain`.
    pub domain_object_version: u32,
    /// Where the build and the levels come from.
    pub sources: [&'static str; 2],
}

const fn cu(
    name: &'static str,
    build: ExchangeBuild,
    schema_range_upper: u32,
    org_object_version: u32,
    domain_object_version: u32,
) -> CuFacts {
    CuFacts {
        name,
        build,
        schema_range_upper,
        org_object_version,
        domain_object_version,
        sources: [BUILD_NUMBERS, AD_VERSIONS],
    }
}

/// Every CU the lab can install or prepare AD for.
pub const CUS: &[CuFacts] = &[
    // 2016 CU22 and 2019 CU9: the common far-behind starting points
    // (issue 14), so a lab server on them can be prepared and upgraded.
    cu(
        "Exchange Server 2016 CU22",
        ExchangeBuild::new(15, 1, 2375, 7),
        15334,
        16222,
        13242,
    ),
    cu(
        "Exchange Server 2019 CU9",
        ExchangeBuild::new(15, 2, 858, 5),
        17002,
        16757,
        13240,
    ),
    cu(
        "Exchange Server 2016 CU23",
        ExchangeBuild::new(15, 1, 2507, 6),
        15334,
        16223,
        13243,
    ),
    cu(
        "Exchange Server 2019 CU10",
        ExchangeBuild::new(15, 2, 922, 7),
        17003,
        16758,
        13241,
    ),
    cu(
        "Exchange Server 2019 CU11",
        ExchangeBuild::new(15, 2, 986, 5),
        17003,
        16759,
        13242,
    ),
    cu(
        "Exchange Server 2019 CU12",
        ExchangeBuild::new(15, 2, 1118, 7),
        17003,
        16760,
        13243,
    ),
    cu(
        "Exchange Server 2019 CU13",
        ExchangeBuild::new(15, 2, 1258, 12),
        17003,
        16761,
        13243,
    ),
    cu(
        "Exchange Server 2019 CU14",
        ExchangeBuild::new(15, 2, 1544, 4),
        17003,
        16762,
        13243,
    ),
    cu(
        "Exchange Server 2019 CU15",
        ExchangeBuild::new(15, 2, 1748, 10),
        17003,
        16763,
        13243,
    ),
    cu(
        "Exchange Server SE RTM",
        ExchangeBuild::new(15, 2, 2562, 17),
        17003,
        16763,
        13243,
    ),
];

/// The Exchange team's "Released: May 2022 Exchange Server Security
/// Updates" (CVE-2022-21978): on 2016 CU22/CU23 and 2019 CU11/CU12, "Install
/// the May 2022 SU first and then run … once using Setup.exe in your
/// Exchange Server installation path (…\Exchange Server\V15\Bin)"
/// `/PrepareAllDomains`; CSS-Exchange's HealthChecker page "May 2022
/// Security Update": "After you have installed this security fix, you must
/// run /PrepareDomain or /PrepareAllDomains from the Exchange bin directory".
const MAY22_SU: &str = "https://techcommunity.microsoft.com/t5/exchange-team-blog/released-may-2022-exchange-server-security-updates/ba-p/3301831";

/// A Security Update that raises the domain's objectVersion above its CU's:
/// only a `/PrepareDomain`/`/PrepareAllDomains` run by the **installed**
/// `Bin\Setup.exe` of a server with that SU (or a later one of its CU)
/// reaches it; the CU's media reaches the CU's level only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuDomainFacts {
    /// The SU's build (its CU's build line).
    pub build: ExchangeBuild,
    pub domain_object_version: u32,
    pub source: &'static str,
}

/// The SUs that raise the domain level above their CU's (May 2022 on the
/// CUs whose own level is below 13243; Microsoft Learn, "Prepare Active
/// Directory and domains", lists "CU11 May22SU" and "CU22 May22SU" at 13243).
pub const SU_DOMAIN_LEVELS: &[SuDomainFacts] = &[
    SuDomainFacts {
        build: ExchangeBuild::new(15, 1, 2375, 28),
        domain_object_version: 13243,
        source: MAY22_SU,
    },
    SuDomainFacts {
        build: ExchangeBuild::new(15, 2, 986, 26),
        domain_object_version: 13243,
        source: MAY22_SU,
    },
];

/// The levels a `/Prepare*` run by setup of build `build` reaches: its CU's
/// levels, with the domain level an SU of that CU at or below `build`
/// raises. `None` when the lab does not know the CU.
pub fn prepare_levels(build: &ExchangeBuild) -> Option<CuFacts> {
    let mut levels = *cu_of(build)?;
    for su in SU_DOMAIN_LEVELS {
        let same_cu = (su.build.major, su.build.minor, su.build.build)
            == (build.major, build.minor, build.build);
        if same_cu && build.revision >= su.build.revision {
            levels.domain_object_version =
                levels.domain_object_version.max(su.domain_object_version);
        }
    }
    Some(levels)
}

/// Microsoft Learn, "Upgrade Exchange to the latest Cumulative Update": "The
/// previous /IAcceptExchangeServerLicenseTerms switch will not work starting
/// with the September 2021 Cumulative Updates (CUs). You now must use either
/// /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or
/// /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"; and "Diagnostic
/// Data collected for Exchange Server".
const LICENCE_SWITCH: &str =
    "https://learn.microsoft.com/exchange/plan-and-deploy/install-cumulative-updates";

/// The September 2021 CUs, the first media whose setup takes the
/// `_DiagnosticDataON|OFF` licence switches and no longer the plain one
/// (source: [`LICENCE_SWITCH`]): Exchange 2016 CU22 and 2019 CU11. Older
/// media know only `/IAcceptExchangeServerLicenseTerms` (CSS-Exchange
/// `ExchangeSetup_DomainPrepRequired.log`: media 15.2.922.7, 2019 CU10).
pub const DIAGNOSTIC_DATA_SWITCH_FROM: [(ExchangeBuild, &str); 2] = [
    (ExchangeBuild::new(15, 1, 2375, 7), LICENCE_SWITCH),
    (ExchangeBuild::new(15, 2, 986, 5), LICENCE_SWITCH),
];

/// Whether setup media of `media`'s build takes the `_DiagnosticData*`
/// licence switches (and refuses the plain one).
pub fn takes_diagnostic_data_switch(media: &ExchangeBuild) -> bool {
    DIAGNOSTIC_DATA_SWITCH_FROM.iter().any(|(from, _)| {
        media.major == from.major && media.minor == from.minor && media.build >= from.build
    })
}

/// The CU whose build line (`major.minor.build`) `build` belongs to.
pub fn cu_of(build: &ExchangeBuild) -> Option<&'static CuFacts> {
    CUS.iter().find(|c| {
        c.build.major == build.major && c.build.minor == build.minor && c.build.build == build.build
    })
}

/// The CU revision of `build` (what `AdminDisplayVersion` shows), or its
/// own revision when the CU is unknown.
pub fn cu_revision(build: &ExchangeBuild) -> u32 {
    cu_of(build).map_or(build.revision, |c| c.build.revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cu_is_found_from_its_updates() {
        for c in CUS {
            let su = ExchangeBuild::new(c.build.major, c.build.minor, c.build.build, 99);
            assert_eq!(cu_of(&su), Some(c));
            assert_eq!(cu_revision(&su), c.build.revision);
        }
        assert_eq!(cu_revision(&ExchangeBuild::new(15, 2, 1, 5)), 5);
    }

    #[test]
    fn only_setup_with_the_may_2022_su_reaches_its_domain_level() {
        let media = ExchangeBuild::new(15, 2, 986, 5);
        assert_eq!(prepare_levels(&media).unwrap().domain_object_version, 13242);
        let before = ExchangeBuild::new(15, 2, 986, 22);
        assert_eq!(
            prepare_levels(&before).unwrap().domain_object_version,
            13242
        );
        for su in [
            ExchangeBuild::new(15, 2, 986, 26),
            ExchangeBuild::new(15, 2, 986, 36),
        ] {
            assert_eq!(prepare_levels(&su).unwrap().domain_object_version, 13243);
        }
        let cu22 = ExchangeBuild::new(15, 1, 2375, 28);
        assert_eq!(prepare_levels(&cu22).unwrap().domain_object_version, 13243);
    }

    #[test]
    fn the_diagnostic_data_switch_starts_with_the_september_2021_cus() {
        let takes = |name: &str| {
            let c = CUS.iter().find(|c| c.name == name).unwrap();
            takes_diagnostic_data_switch(&c.build)
        };
        assert!(!takes("Exchange Server 2019 CU10"));
        assert!(takes("Exchange Server 2019 CU11"));
        assert!(takes("Exchange Server 2016 CU23"));
        assert!(takes("Exchange Server SE RTM"));
        assert!(!takes_diagnostic_data_switch(&ExchangeBuild::new(
            15, 1, 2308, 8
        )));
    }
}
