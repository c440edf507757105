//! Build → name: which product, CU and SU/HU a build `ExSetup.exe` reports
//! is, following CSS-Exchange's rules (15.1 = 2016, 15.2 = 2019, 15.2 with
//! build ≥ 2562 = SE; the highest CU whose base build ≤ the build; the SU
//! by exact match). A build the catalogue does not list is never called
//! current: it is named as unknown, and newer-than-the-catalogue builds say
//! "cannot verify". This module only reads the catalogue.

use super::build::ExchangeBuild;
use super::load::Catalog;
use super::model::{CuInfo, Product, SuInfo};

/// What a build is, as far as the catalogue can tell. The CU and SU borrow
/// from the catalogue; the name is built for this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildIdentity<'a> {
    /// A CU build or one of its listed SU/HU builds.
    /// `name`: `Exchange Server 2019 CU14 Feb26SU`, `Exchange Server 2019 CU15`,
    /// or `… Jun26SU (unverified)` for an unverified listing.
    Known {
        cu: &'a CuInfo,
        su: Option<&'a SuInfo>,
        name: String,
    },
    /// Newer than anything listed where nothing newer is known: past the last
    /// listed update of the same CU build, or past the newest CU of the
    /// product. The catalogue cannot say whether it is current.
    UnknownNewer { cu: &'a CuInfo, name: String },
    /// Between listed builds (an Interim Update, or a build we do not list):
    /// `Exchange Server 2019 CU14 (unlisted build 15.2.1544.30)`.
    UnknownWithinCu { cu: &'a CuInfo, name: String },
    /// Exchange 2016/2019/SE, but older than every CU in the catalogue.
    UnknownOlder { product: Product, name: String },
    /// Not Exchange Server 2013, 2016, 2019 or SE at all (e.g. 14.3 = 2010).
    Unknown { name: String },
}

impl<'a> BuildIdentity<'a> {
    /// The admin-readable name of the build.
    pub fn name(&self) -> &str {
        match self {
            BuildIdentity::Known { name, .. }
            | BuildIdentity::UnknownNewer { name, .. }
            | BuildIdentity::UnknownWithinCu { name, .. }
            | BuildIdentity::UnknownOlder { name, .. }
            | BuildIdentity::Unknown { name } => name,
        }
    }

    /// `true` only for a build the catalogue lists (CU or SU/HU).
    pub fn is_known(&self) -> bool {
        matches!(self, BuildIdentity::Known { .. })
    }

    /// The CU the build falls under, when there is one.
    pub fn cu(&self) -> Option<&'a CuInfo> {
        match self {
            BuildIdentity::Known { cu, .. }
            | BuildIdentity::UnknownNewer { cu, .. }
            | BuildIdentity::UnknownWithinCu { cu, .. } => Some(cu),
            BuildIdentity::UnknownOlder { .. } | BuildIdentity::Unknown { .. } => None,
        }
    }

    /// The listed SU/HU the build is, when it is one.
    pub fn su(&self) -> Option<&'a SuInfo> {
        match self {
            BuildIdentity::Known { su, .. } => *su,
            _ => None,
        }
    }
}

/// The suffix every "newer than the catalogue" name carries, so reports and
/// tests can rely on the wording.
pub const CANNOT_VERIFY: &str = "unknown, newer than the catalogue: cannot verify";

impl Catalog {
    /// The CU a build belongs to: product by major.minor (15.1 = 2016,
    /// 15.2 < 2562 = 2019, 15.2 ≥ 2562 = SE), then the highest CU of that
    /// product whose base build ≤ `build`.
    pub fn cu_for_build(&self, build: ExchangeBuild) -> Option<&CuInfo> {
        let product = Product::of_build(build)?;
        self.cus()
            .iter()
            .filter(|cu| cu.product == product && cu.build <= build)
            .max_by_key(|cu| cu.build)
    }

    /// Names a build (see [`BuildIdentity`] for the cases).
    pub fn identify(&self, build: ExchangeBuild) -> BuildIdentity<'_> {
        let Some(product) = Product::of_build(build) else {
            return BuildIdentity::Unknown {
                name: format!("build {build} is not Exchange Server 2013, 2016, 2019 or SE"),
            };
        };
        let Some(cu) = self.cu_for_build(build) else {
            let name = format!("{product} build {build}, older than any CU in the catalogue");
            return BuildIdentity::UnknownOlder { product, name };
        };
        if build == cu.build {
            return BuildIdentity::Known {
                cu,
                su: None,
                name: cu.display_name(),
            };
        }
        if let Some(su) = cu.security_updates.iter().find(|su| su.build == build) {
            let unverified = if su.verified { "" } else { " (unverified)" };
            let name = format!("{} {}{unverified}", cu.display_name(), su.name);
            return BuildIdentity::Known {
                cu,
                su: Some(su),
                name,
            };
        }
        let same_cu_build = build.build == cu.build.build;
        let newest_of_product = self
            .latest_cu(product)
            .is_some_and(|latest| latest.id == cu.id);
        if build > cu.newest_listed_build() && (same_cu_build || newest_of_product) {
            let name = if same_cu_build {
                format!("{} build {build} — {CANNOT_VERIFY}", cu.display_name())
            } else {
                // A later build number than the newest CU: most likely a CU
                // the catalogue does not know yet, so do not claim it is `cu`.
                format!(
                    "{product} build {build} (after {}) — {CANNOT_VERIFY}",
                    cu.cu
                )
            };
            return BuildIdentity::UnknownNewer { cu, name };
        }
        BuildIdentity::UnknownWithinCu {
            cu,
            name: format!("{} (unlisted build {build})", cu.display_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> ExchangeBuild {
        s.parse().unwrap()
    }

    fn name_of(build: &str) -> String {
        Catalog::embedded().identify(b(build)).name().to_string()
    }

    #[test]
    fn every_catalogue_build_resolves_to_its_own_name() {
        let catalog = Catalog::embedded();
        let mut checked = 0;
        for cu in catalog.cus() {
            let id = catalog.identify(cu.build);
            assert!(id.is_known(), "{}", cu.id);
            assert_eq!(id.name(), cu.display_name());
            assert_eq!(id.cu().map(|c| c.id.as_str()), Some(cu.id.as_str()));
            assert!(id.su().is_none());
            checked += 1;
            for su in &cu.security_updates {
                let id = catalog.identify(su.build);
                let expected = format!(
                    "{} {}{}",
                    cu.display_name(),
                    su.name,
                    if su.verified { "" } else { " (unverified)" }
                );
                assert!(id.is_known(), "{}", su.build);
                assert_eq!(id.name(), expected);
                assert_eq!(id.su(), Some(su));
                checked += 1;
            }
        }
        // 63 CUs (2013 CU1–CU23, 2016 CU1–CU23, 2019 RTM–CU15, SE RTM),
        // 216 verified updates, 3 unverified.
        assert_eq!(checked, 282);
    }

    #[test]
    fn named_examples() {
        assert_eq!(name_of("15.2.1544.39"), "Exchange Server 2019 CU14 Feb26SU");
        assert_eq!(name_of("15.2.1748.43"), "Exchange Server 2019 CU15 Feb26SU");
        assert_eq!(name_of("15.2.2562.41"), "Exchange Server SE RTM May26HU");
        assert_eq!(name_of("15.2.1748.10"), "Exchange Server 2019 CU15");
        assert_eq!(name_of("15.1.2507.6"), "Exchange Server 2016 CU23");
        assert_eq!(
            name_of("15.2.1748.46"),
            "Exchange Server 2019 CU15 Jun26SU (unverified)"
        );
    }

    #[test]
    fn long_form_identifies_like_short_form() {
        assert_eq!(
            name_of("15.02.1748.043"),
            "Exchange Server 2019 CU15 Feb26SU"
        );
        assert_eq!(name_of("15.01.2507.006"), "Exchange Server 2016 CU23");
        assert_eq!(name_of("15.02.2562.041"), name_of("15.2.2562.41"));
    }

    #[test]
    fn newer_than_the_catalogue_cannot_verify() {
        let catalog = Catalog::embedded();
        let id = catalog.identify(b("15.2.2562.99"));
        assert!(matches!(id, BuildIdentity::UnknownNewer { cu, .. } if cu.id == "SE-RTM"));
        assert_eq!(id.name(), "Exchange Server SE RTM build 15.2.2562.99 — unknown, newer than the catalogue: cannot verify");
        assert!(!id.is_known());

        let id = catalog.identify(b("15.2.9999.1"));
        assert!(matches!(id, BuildIdentity::UnknownNewer { .. }));
        assert!(
            id.name().contains("cannot verify") && !id.name().contains("RTM build"),
            "{}",
            id.name()
        );

        // Past the last SU of an older CU: nothing newer for that CU is listed.
        let id = catalog.identify(b("15.2.1544.45"));
        assert!(matches!(id, BuildIdentity::UnknownNewer { cu, .. } if cu.id == "2019-CU14"));
        assert!(id.name().contains("cannot verify"));

        // 2016 CU23 is the newest 2016 CU listed.
        assert!(name_of("15.1.2507.99").ends_with(CANNOT_VERIFY));
        // Past the unverified entries too.
        assert!(name_of("15.2.1748.50").ends_with(CANNOT_VERIFY));
    }

    #[test]
    fn between_listed_builds_is_unlisted_within_cu() {
        let catalog = Catalog::embedded();
        let id = catalog.identify(b("15.2.1544.30"));
        assert!(matches!(id, BuildIdentity::UnknownWithinCu { cu, .. } if cu.id == "2019-CU14"));
        assert_eq!(
            id.name(),
            "Exchange Server 2019 CU14 (unlisted build 15.2.1544.30)"
        );
        // Between the verified Feb26SU and the unverified Jun26SU.
        assert!(matches!(
            catalog.identify(b("15.2.1748.44")),
            BuildIdentity::UnknownWithinCu { .. }
        ));
        // A build number between CU14 and CU15 belongs to CU14, not "newer".
        assert_eq!(
            name_of("15.2.1600.1"),
            "Exchange Server 2019 CU14 (unlisted build 15.2.1600.1)"
        );
    }

    #[test]
    fn older_and_foreign_builds() {
        let catalog = Catalog::embedded();
        // 2019 CU9 and 2013 CU23 are named (issue 14), not "unknown".
        assert_eq!(name_of("15.2.858.5"), "Exchange Server 2019 CU9");
        assert_eq!(name_of("15.2.858.15"), "Exchange Server 2019 CU9 Jul21SU");
        assert_eq!(name_of("15.0.1497.48"), "Exchange Server 2013 CU23 Mar23SU");
        assert_eq!(name_of("15.2.221.12"), "Exchange Server 2019 RTM");
        // Below the first catalogue CU of a product (2016 RTM, not in
        // HealthChecker's table): older than any CU.
        let id = catalog.identify(b("15.1.225.42"));
        assert!(matches!(
            id,
            BuildIdentity::UnknownOlder {
                product: Product::Exchange2016,
                ..
            }
        ));
        assert_eq!(
            id.name(),
            "Exchange Server 2016 build 15.1.225.42, older than any CU in the catalogue"
        );
        let id = catalog.identify(b("14.3.123.4"));
        assert!(matches!(id, BuildIdentity::Unknown { .. }));
        assert!(id.cu().is_none());
        assert_eq!(
            id.name(),
            "build 14.3.123.4 is not Exchange Server 2013, 2016, 2019 or SE"
        );
    }

    #[test]
    fn cu_for_build_uses_product_then_highest_base() {
        let catalog = Catalog::embedded();
        assert_eq!(
            catalog.cu_for_build(b("15.1.2507.6")).unwrap().id,
            "2016-CU23"
        );
        assert_eq!(
            catalog.cu_for_build(b("15.2.1748.9")).unwrap().id,
            "2019-CU14"
        );
        assert_eq!(
            catalog.cu_for_build(b("15.2.2561.1")).unwrap().id,
            "2019-CU15"
        );
        assert_eq!(
            catalog.cu_for_build(b("15.2.2562.17")).unwrap().id,
            "SE-RTM"
        );
        assert_eq!(
            catalog.cu_for_build(b("15.1.2375.7")).unwrap().id,
            "2016-CU22"
        );
        assert!(catalog.cu_for_build(b("15.1.225.42")).is_none());
    }

    #[test]
    fn build_identity_helpers() {
        let catalog = Catalog::embedded();
        let known = catalog.identify(b("15.2.1544.39"));
        assert!(known.is_known());
        assert_eq!(known.su().map(|s| s.name.as_str()), Some("Feb26SU"));
        assert_eq!(known.cu().map(|c| c.id.as_str()), Some("2019-CU14"));
        assert!(!catalog.identify(b("14.3.123.4")).is_known());
    }
}
