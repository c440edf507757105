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

#[test]
fn every_cu_of_the_catalogue_is_simulated_by_the_lab() {
    for cu in Catalog::embedded().cus() {
        let known = lab::facts::CUS
            .iter()
            .any(|f| catalog_build(&f.build) == cu.build);
        assert!(known, "the lab's facts table has no row for {}", cu.id);
    }
}
