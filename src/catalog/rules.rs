//! Decisions that follow from the catalogue alone: whether a server can go
//! from its build to a target CU in place, and which Active Directory
//! preparation a target needs. Pure functions over catalogue data; they do
//! not read AD or a server themselves.

use super::build::ExchangeBuild;
use super::load::Catalog;
use super::model::{AdLevels, CuInfo, Product};

/// Lowest build Exchange Server SE can be installed over in place: 2019 CU14
/// (learn.microsoft.com, "Upgrade to Exchange Server SE": the in-place
/// upgrade is supported from 2019 CU14 or CU15 and "is like applying a CU").
const SE_IN_PLACE_FROM: ExchangeBuild = ExchangeBuild::new(15, 2, 1544, 4);

/// Can `from` be upgraded in place to `to`? `Err` carries the reason in an
/// admin's words. Being on the target CU already (any SU of it) is `Ok`:
/// whether anything needs doing is the caller's comparison, not a path
/// question. Rules: CUs are cumulative within a product, so any older CU
/// goes to any newer one; 2016 → 2019/SE is a migration to new servers;
/// 2019 → SE needs 2019 CU14 or CU15 first; nothing goes backwards, because
/// a CU cannot be rolled back (uninstalling removes Exchange).
pub fn check_upgrade_path(
    from: ExchangeBuild,
    to: &CuInfo,
    catalog: &Catalog,
) -> Result<(), String> {
    let from_name = catalog.identify(from).name().to_string();
    let target = to.display_name();
    let Some(from_product) = Product::of_build(from) else {
        return Err(format!(
            "{from_name}: cu-roll only upgrades Exchange Server 2016, 2019 and SE; {target} cannot be installed over it"
        ));
    };
    if to.product == Product::Exchange2013 {
        return Err(format!(
            "{target} is Exchange Server 2013, which cu-roll does not roll out"
        ));
    }
    let from_cu = (from.major, from.minor, from.build);
    let to_cu = (to.build.major, to.build.minor, to.build.build);
    match (from_product, to.product) {
        (a, b) if a == b => {
            if from_cu > to_cu {
                Err(format!(
                    "the server runs {from_name} ({from}), which is newer than {target} ({}): a CU cannot be rolled back (uninstalling removes Exchange); pick a target at or above the installed CU",
                    to.build
                ))
            } else {
                Ok(())
            }
        }
        (Product::Exchange2013, _) => Err(format!(
            "the server runs {from_name}: Exchange Server 2013 is a different product and cannot be upgraded in place to {target}; install new {} servers, move the mailboxes and decommission this one (a migration, not a CU roll)",
            to.product
        )),
        (Product::Exchange2016, _) => Err(format!(
            "the server runs {from_name}: Exchange Server 2016 cannot be upgraded in place to {target}; install new {} servers, move the mailboxes and decommission this one (a migration, not a CU roll)",
            to.product
        )),
        (Product::Exchange2019, Product::ExchangeSe) => {
            if from >= SE_IN_PLACE_FROM {
                Ok(())
            } else {
                Err(format!(
                    "the server runs {from_name}: the in-place upgrade to {target} is supported only from Exchange Server 2019 CU14 or CU15; roll the DAG to 2019 CU14 or CU15 first, then to SE"
                ))
            }
        }
        (_, _) => Err(format!(
            "the server runs {from_name}, a later product than {target}: Exchange cannot be downgraded to an earlier version"
        )),
    }
}

/// Which `Setup.exe /Prepare*` steps a target needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrepNeed {
    /// `/PrepareSchema` (Schema Admins).
    pub schema: bool,
    /// `/PrepareAD` (Enterprise Admins; from the schema master's domain and site).
    pub ad: bool,
    /// `/PrepareDomain` or `/PrepareAllDomains` (Domain Admins of each domain).
    pub domain: bool,
}

impl PrepNeed {
    /// Any preparation at all.
    pub fn any(&self) -> bool {
        self.schema || self.ad || self.domain
    }
}

/// Compares the AD levels found in the forest with the target's, the way
/// CSS-Exchange SetupAssist (`Test-ExchangeADSetupLevel.ps1`) does: a higher
/// target schema rangeUpper needs `/PrepareSchema`, and then `/PrepareAD` and
/// domain preparation follow; otherwise a higher target organisation
/// objectVersion needs `/PrepareAD`; a lower domain (MESO) objectVersion
/// needs `/PrepareDomain`. Levels above the target (a forest already
/// prepared for something newer) need nothing.
pub fn prep_needed(found: AdLevels, required: AdLevels) -> PrepNeed {
    let schema = required.schema_range_upper > found.schema_range_upper;
    PrepNeed {
        schema,
        ad: schema || required.org_object_version > found.org_object_version,
        domain: schema || required.domain_object_version > found.domain_object_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> ExchangeBuild {
        s.parse().unwrap()
    }

    fn path(from: &str, to: &str) -> Result<(), String> {
        let catalog = Catalog::embedded();
        check_upgrade_path(b(from), catalog.cu_by_id(to).unwrap(), catalog)
    }

    #[test]
    fn within_a_product_any_older_cu_goes_forward() {
        assert_eq!(path("15.2.922.7", "2019-CU15"), Ok(()));
        assert_eq!(path("15.2.1544.39", "2019-CU15"), Ok(()));
        assert_eq!(path("15.1.2375.7", "2016-CU23"), Ok(()));
        // Already on the target CU with an SU: not a downgrade.
        assert_eq!(path("15.2.1748.43", "2019-CU15"), Ok(()));
    }

    #[test]
    fn se_needs_2019_cu14_or_later() {
        assert_eq!(path("15.2.1544.4", "SE-RTM"), Ok(()));
        assert_eq!(path("15.2.1748.43", "SE-RTM"), Ok(()));
        let err = path("15.2.1258.39", "SE-RTM").unwrap_err();
        assert!(err.contains("Exchange Server 2019 CU13 Nov24SUv2"), "{err}");
        assert!(err.contains("2019 CU14 or CU15 first"), "{err}");
    }

    #[test]
    fn from_2016_to_2019_or_se_is_a_migration() {
        for to in ["2019-CU15", "SE-RTM"] {
            let err = path("15.1.2507.66", to).unwrap_err();
            assert!(
                err.contains("cannot be upgraded in place") && err.contains("migration"),
                "{err}"
            );
        }
    }

    #[test]
    fn never_backwards() {
        let err = path("15.2.1748.43", "2019-CU14").unwrap_err();
        assert!(err.contains("cannot be rolled back"), "{err}");
        let err = path("15.2.1748.10", "2016-CU23").unwrap_err();
        assert!(err.contains("cannot be downgraded"), "{err}");
        let err = path("15.2.2562.41", "2019-CU15").unwrap_err();
        assert!(
            err.contains("Exchange Server SE RTM May26HU") && err.contains("cannot be downgraded"),
            "{err}"
        );
        let err = path("14.3.123.4", "2019-CU15").unwrap_err();
        assert!(
            err.contains("only upgrades Exchange Server 2016, 2019 and SE"),
            "{err}"
        );
    }

    #[test]
    fn exchange_2013_is_a_different_product() {
        for to in ["2016-CU23", "2019-CU15", "SE-RTM"] {
            let err = path("15.0.1497.48", to).unwrap_err();
            assert!(
                err.contains("Exchange Server 2013 CU23 Mar23SU")
                    && err.contains("different product")
                    && err.contains("migration"),
                "{err}"
            );
        }
        let err = path("15.0.1497.2", "2013-CU23").unwrap_err();
        assert!(err.contains("does not roll out"), "{err}");
    }

    #[test]
    fn older_cus_of_the_same_product_go_forward() {
        assert_eq!(path("15.2.858.5", "2019-CU15"), Ok(()));
        assert_eq!(path("15.2.221.12", "2019-CU15"), Ok(()));
        assert_eq!(path("15.1.396.30", "2016-CU23"), Ok(()));
        assert_eq!(path("15.1.2375.37", "2016-CU23"), Ok(()));
    }

    fn ad(id: &str) -> AdLevels {
        Catalog::embedded().cu_by_id(id).unwrap().ad
    }

    #[test]
    fn prep_cu14_to_cu15_needs_prepare_ad_only() {
        let need = prep_needed(ad("2019-CU14"), ad("2019-CU15"));
        assert_eq!(
            need,
            PrepNeed {
                schema: false,
                ad: true,
                domain: false
            }
        );
        assert_eq!(ad("2019-CU14").org_object_version, 16762);
    }

    #[test]
    fn prep_cu15_to_se_needs_nothing() {
        let need = prep_needed(ad("2019-CU15"), ad("SE-RTM"));
        assert_eq!(need, PrepNeed::default());
        assert!(!need.any());
    }

    #[test]
    fn prep_schema_change_brings_ad_and_domain() {
        let cu9 = AdLevels {
            schema_range_upper: 17002,
            org_object_version: 16757,
            domain_object_version: 13240,
        };
        assert_eq!(
            prep_needed(cu9, ad("2019-CU10")),
            PrepNeed {
                schema: true,
                ad: true,
                domain: true
            }
        );
    }

    #[test]
    fn prep_domain_only_after_may22su_on_cu11() {
        let cu11 = Catalog::embedded().cu_by_id("2019-CU11").unwrap();
        let may22 = cu11.su_by_name("May22SU");
        let mar23 = cu11.su_by_name("mar23su");
        assert_eq!(cu11.ad_with(None).domain_object_version, 13242);
        assert_eq!(cu11.ad_with(may22).domain_object_version, 13243);
        assert_eq!(cu11.ad_with(mar23).domain_object_version, 13243);
        assert_eq!(
            prep_needed(cu11.ad_with(None), cu11.ad_with(mar23)),
            PrepNeed {
                schema: false,
                ad: false,
                domain: true
            }
        );
    }

    #[test]
    fn prep_forest_ahead_of_target_needs_nothing() {
        assert!(!prep_needed(ad("SE-RTM"), ad("2019-CU12")).any());
    }
}
