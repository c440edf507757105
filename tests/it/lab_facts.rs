//! The lab's own facts (crates/lab/src/facts.rs) against cu-roll's
//! catalogue (data/catalog.toml). Both cite Microsoft's build-number and
//! AD-version pages, and they are written apart on purpose: when they
//! disagree this test fails, and a person decides which source is right
//! (a wrong entry must never make the product and its simulator agree).

use cu_roll::catalog::{Catalog, ExchangeBuild};

fn catalog_build(b: &lab::build::ExchangeBuild) -> ExchangeBuild {
    ExchangeBuild::new(b.major, b.minor, b.build, b.revision)
}

#[test]
fn every_cu_the_lab_knows_has_the_catalogues_build_and_ad_levels() {
    let catalog = Catalog::embedded();
    for facts in lab::facts::CUS {
        let build = catalog_build(&facts.build);
        let cu = catalog
            .cus()
            .iter()
            .find(|c| c.build == build)
            .unwrap_or_else(|| panic!("{} ({build}) is not a CU of the catalogue", facts.name));
        let levels = cu.ad_with(None);
        assert_eq!(
            (
                levels.schema_range_upper,
                levels.org_object_version,
                levels.domain_object_version
            ),
            (
                facts.schema_range_upper,
                facts.org_object_version,
                facts.domain_object_version
            ),
            "AD levels of {} differ between the catalogue ({}) and the lab",
            facts.name,
            cu.id
        );
    }
}

/// The lab simulates a subset of the catalogue (the catalogue names every
/// build since Exchange 2013; the lab only what its plans install): every
/// target of a lab plan in `plans/` must be one of its CUs.
#[test]
fn every_target_of_a_lab_plan_is_simulated_by_the_lab() {
    let catalog = Catalog::embedded();
    let mut checked = 0;
    for entry in std::fs::read_dir(crate::harness::repo().join("plans")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let plan: toml::Value = toml::from_str(&text).unwrap();
        if plan["connection"]["transport"].as_str() != Some("lab") {
            continue;
        }
        let id = plan["rollout"]["target"].as_str().unwrap();
        let cu = catalog
            .cu_by_id(id)
            .unwrap_or_else(|| panic!("{}: target {id}", path.display()));
        let known = lab::facts::CUS
            .iter()
            .any(|f| catalog_build(&f.build) == cu.build);
        assert!(known, "the lab's facts table has no row for {}", cu.id);
        checked += 1;
    }
    assert!(checked >= 2, "no lab plans found");
}

/// The lab's SU-raised domain levels (what its installed Setup.exe
/// reaches) against the catalogue's `domain_object_version` of that SU.
#[test]
fn every_su_raised_domain_level_the_lab_knows_is_the_catalogues() {
    let catalog = Catalog::embedded();
    for su in lab::facts::SU_DOMAIN_LEVELS {
        let build = catalog_build(&su.build);
        let (cu, update) = catalog
            .cus()
            .iter()
            .find_map(|c| {
                c.security_updates
                    .iter()
                    .find(|u| u.build == build)
                    .map(|u| (c, u))
            })
            .unwrap_or_else(|| panic!("{build} is not an update in the catalogue"));
        assert_eq!(
            cu.ad_with(Some(update)).domain_object_version,
            su.domain_object_version,
            "{} {}",
            cu.id,
            update.name
        );
        assert!(cu.ad_with(None).domain_object_version < su.domain_object_version);
    }
}
