//! The Exchange build catalogue: builds → product, CU and SU/HU names,
//! release dates, support status, prerequisites, supported Windows Server
//! versions and AD levels per CU, plus the upgrade-path and AD-prep rules
//! that follow from them. The data lives in `data/catalog.toml`, embedded at
//! build time and validated when first used, unless the admin stored a
//! newer catalogue with `cu-roll catalog update` ([`Catalog::active`] picks
//! that one). Only `update` fetches or writes files, and only on that
//! command; the rest reads data it was given. Nothing here contacts an
//! Exchange server or AD.

mod build;
mod dotnet_path;
mod guard;
mod identify;
mod licence;
mod load;
mod model;
mod raw;
mod rules;
pub mod update;

pub use build::{BuildParseError, ExchangeBuild};
pub use dotnet_path::{dotnet_advice, DotnetAdvice};
pub use identify::{BuildIdentity, CANNOT_VERIFY};
pub use licence::{takes_diagnostic_data_switch, takes_extended_protection_switches};
pub use load::{Catalog, CatalogError, SUPPORTED_FORMAT};
pub use model::{
    dotnet_name, dotnet_version, dotnet_version_name, AdLevels, CuInfo, Prerequisites, Product,
    SuInfo, UpdateKind, WindowsServer,
};
pub use rules::{check_upgrade_path, prep_needed, PrepNeed};
pub use update::UpdateError;

#[cfg(test)]
mod tests {
    //! Checks of the embedded data against exchange-facts.md §2–3.
    use super::*;

    fn cu(id: &str) -> &'static CuInfo {
        Catalog::embedded()
            .cu_by_id(id)
            .unwrap_or_else(|| panic!("{id} missing"))
    }

    #[test]
    fn holds_the_expected_cus_in_order() {
        let ids: Vec<&str> = Catalog::embedded()
            .cus()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let expected: Vec<String> = (1..=23)
            .map(|n| format!("2013-CU{n}"))
            .chain((1..=23).map(|n| format!("2016-CU{n}")))
            .chain(std::iter::once("2019-RTM".to_string()))
            .chain((1..=15).map(|n| format!("2019-CU{n}")))
            .chain(std::iter::once("SE-RTM".to_string()))
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(cu("2013-cu23").display_name(), "Exchange Server 2013 CU23");
        assert_eq!(cu("se-rtm").display_name(), "Exchange Server SE RTM");
        assert_eq!(cu("2019-cu15").display_name(), "Exchange Server 2019 CU15");
        assert_eq!(cu("2019-CU9").build.to_string(), "15.2.858.5");
        assert!(Catalog::embedded().cu_by_id("2016-RTM").is_none());
        assert_eq!(
            Catalog::embedded()
                .latest_cu(Product::Exchange2019)
                .unwrap()
                .id,
            "2019-CU15"
        );
    }

    #[test]
    fn latest_su_is_newest_verified() {
        let cu15 = cu("2019-CU15");
        let latest = cu15.latest_su().unwrap();
        assert_eq!(
            (latest.name.as_str(), latest.build.to_string()),
            ("Feb26SU", "15.2.1748.43".to_string())
        );
        // The unverified third-party entries are listed but never "latest".
        let jun = cu15.su_by_name("JUN26SU").unwrap();
        assert!(!jun.verified);
        assert!(cu15.security_updates.last().unwrap().build > latest.build);

        let se = cu("SE-RTM").latest_su().unwrap();
        assert_eq!(
            (se.name.as_str(), se.kind),
            ("May26HU", UpdateKind::HotfixUpdate)
        );
        assert_eq!(se.build.to_string(), "15.2.2562.41");
        assert_eq!(
            cu("2016-CU23").latest_su().unwrap().build.to_string(),
            "15.1.2507.66"
        );
        assert_eq!(cu("2019-CU10").latest_su().unwrap().name, "Mar22SU");
    }

    #[test]
    fn only_cu15_has_unverified_updates() {
        for info in Catalog::embedded().cus() {
            let unverified: Vec<&str> = info
                .security_updates
                .iter()
                .filter(|s| !s.verified)
                .map(|s| s.name.as_str())
                .collect();
            let expected: &[&str] = if info.id == "2019-CU15" {
                &["Jun26SU", "Jul26SU", "Aug26SU"]
            } else {
                &[]
            };
            assert_eq!(unverified, expected, "{}", info.id);
        }
    }

    #[test]
    fn su_lookup_and_dates() {
        let feb = cu("2019-CU14").su_by_name("feb26su").unwrap();
        assert_eq!(feb.released, "2026-02-10");
        assert_eq!(feb.kind, UpdateKind::SecurityUpdate);
        assert_eq!(
            cu("2019-CU13").su_by_name("Nov24SUv2").unwrap().released,
            "2024-11-27"
        );
        assert!(cu("2019-CU14").su_by_name("May26HU").is_none());
        assert_eq!(cu("SE-RTM").released, "2025-07-01");
    }

    #[test]
    fn prerequisites_per_cu() {
        let number = |c: &CuInfo| c.cu.trim_start_matches("CU").parse::<u32>().unwrap_or(0);
        for info in Catalog::embedded().cus() {
            let p = &info.prerequisites;
            let n = number(info);
            // .NET 4.8 is the minimum from 2016 CU15 and 2019 CU4 (supportability matrix).
            let from_48 = match info.product {
                Product::Exchange2013 => false,
                Product::Exchange2016 => n >= 15,
                Product::Exchange2019 => n >= 4,
                Product::ExchangeSe => true,
            };
            if from_48 {
                assert_eq!(
                    (p.dotnet_min_release, p.dotnet_min_name.as_str()),
                    (528040, "4.8"),
                    "{}",
                    info.id
                );
            } else {
                assert!(p.dotnet_min_release < 528040, "{}", info.id);
            }
            assert_eq!(p.vcredist_2012_min, Some(184610406));
            assert_eq!(p.vcredist_2013_min, Some(201367256));
            assert!(p.ucma);
            let url_rewrite = match info.product {
                Product::Exchange2013 => false,
                Product::Exchange2016 => n >= 22,
                Product::Exchange2019 => n >= 11,
                Product::ExchangeSe => true,
            };
            assert_eq!(p.url_rewrite, url_rewrite, "{}", info.id);
            assert!(!info.sources.is_empty());
            assert!(!p.dotnet_supported.is_empty(), "{}", info.id);
        }
        // The matrix's columns, spot-checked: 4.5.2 = 379893, 4.6.1 = 394254,
        // 4.6.2 = 394802, 4.7.1 = 461308, 4.7.2 = 461808, 4.8.1 = 533320.
        let supported = |id: &str| cu(id).prerequisites.dotnet_supported.clone();
        assert_eq!(supported("2016-CU1"), [379893]);
        assert_eq!(supported("2016-CU4"), [379893, 394254, 394802]);
        assert_eq!(supported("2016-CU10"), [461308]);
        assert_eq!(supported("2016-CU13"), [461808, 528040]);
        assert_eq!(supported("2016-CU23"), [528040]);
        assert_eq!(supported("2019-RTM"), [461808]);
        assert_eq!(supported("2019-CU3"), [461808, 528040]);
        assert_eq!(supported("2019-CU9"), [528040]);
        assert_eq!(supported("2019-CU15"), [528040, 533320]);
        assert_eq!(supported("2013-CU23"), [461808, 528040]);
        let cu15 = &cu("2019-CU15").prerequisites;
        assert_eq!(
            cu15.dotnet_recommended_for(WindowsServer::Ws2022),
            (533320, "4.8.1".to_string())
        );
        assert_eq!(
            cu15.dotnet_recommended_for(WindowsServer::Ws2025),
            (533320, "4.8.1".to_string())
        );
        assert_eq!(
            cu15.dotnet_recommended_for(WindowsServer::Ws2019),
            (528040, "4.8".to_string())
        );
        // An OS the CU does not support falls back to the minimum.
        assert_eq!(
            cu15.dotnet_recommended_for(WindowsServer::Ws2016),
            (528040, "4.8".to_string())
        );
    }

    #[test]
    fn supported_os_and_extended_protection() {
        use WindowsServer::*;
        assert_eq!(cu("2016-CU23").supported_os, [Ws2012, Ws2012R2, Ws2016]);
        assert_eq!(cu("2019-CU11").supported_os, [Ws2019]);
        assert_eq!(cu("2019-CU12").supported_os, [Ws2019, Ws2022]);
        assert_eq!(cu("2019-CU15").supported_os, [Ws2019, Ws2022, Ws2025]);
        assert!(cu("SE-RTM").supports_os(Ws2025));
        assert!(!cu("2019-CU14").supports_os(Ws2025));
        let ep: Vec<&str> = Catalog::embedded()
            .cus()
            .iter()
            .filter(|c| c.enables_extended_protection)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ep, ["2019-CU14", "2019-CU15", "SE-RTM"]);
    }

    #[test]
    fn ad_levels_match_the_matrix() {
        let levels = |id: &str| {
            let a = cu(id).ad;
            (
                a.schema_range_upper,
                a.org_object_version,
                a.domain_object_version,
            )
        };
        assert_eq!(levels("2016-CU23"), (15334, 16223, 13243));
        assert_eq!(levels("2019-CU10"), (17003, 16758, 13241));
        assert_eq!(levels("2019-CU11"), (17003, 16759, 13242));
        assert_eq!(levels("2019-CU12"), (17003, 16760, 13243));
        assert_eq!(levels("2019-CU13"), (17003, 16761, 13243));
        assert_eq!(levels("2019-CU14"), (17003, 16762, 13243));
        assert_eq!(levels("2019-CU15"), (17003, 16763, 13243));
        assert_eq!(levels("SE-RTM"), (17003, 16763, 13243));
    }
}
