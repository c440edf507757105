//! The raw TOML shape of `data/catalog.toml` and the per-CU validation that
//! turns it into [`CuInfo`]: builds strictly ascending and inside their CU,
//! names unique, products matching builds, dates well formed. Owns only the
//! file's shape; file-level checks (format, ids) stay in `load`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::build::ExchangeBuild;
use super::load::CatalogError;
use super::model::{
    dotnet_name, AdLevels, CuInfo, Prerequisites, Product, SuInfo, UpdateKind, WindowsServer,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    pub(super) format: Spanned<u32>,
    pub(super) cu_roll: Spanned<String>,
    /// The newest source date the catalogue was checked against.
    pub(super) current_to: Option<Spanned<String>>,
    pub(super) cu: Vec<RawCu>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCu {
    pub(super) id: Spanned<String>,
    pub(super) product: Product,
    pub(super) cu: String,
    pub(super) build: Spanned<ExchangeBuild>,
    pub(super) released: Spanned<String>,
    pub(super) support: String,
    pub(super) supported_os: Vec<WindowsServer>,
    pub(super) enables_extended_protection: bool,
    pub(super) sources: Vec<String>,
    pub(super) ad: RawAd,
    pub(super) updates: Vec<RawUpdate>,
    pub(super) prerequisites: RawPrerequisites,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAd {
    pub(super) schema_range_upper: u32,
    pub(super) org_object_version: u32,
    pub(super) domain_object_version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpdate {
    pub(super) name: Spanned<String>,
    pub(super) kind: UpdateKind,
    pub(super) build: Spanned<ExchangeBuild>,
    pub(super) released: Spanned<String>,
    #[serde(default = "default_true")]
    pub(super) verified: bool,
    pub(super) domain_object_version: Option<u32>,
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrerequisites {
    pub(super) dotnet_min_release: u32,
    #[serde(default)]
    pub(super) dotnet_supported: Vec<u32>,
    pub(super) dotnet_recommended: Vec<RawDotnet>,
    pub(super) vcredist_2012_min: Option<u32>,
    pub(super) vcredist_2013_min: Option<u32>,
    pub(super) ucma: bool,
    pub(super) url_rewrite: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDotnet {
    pub(super) os: WindowsServer,
    pub(super) release: u32,
}

pub(super) fn validate_cu(
    raw: RawCu,
    line_of: &impl Fn(Range<usize>) -> usize,
) -> Result<CuInfo, CatalogError> {
    let cu_line = line_of(raw.id.span());
    let id = raw.id.into_inner();
    let invalid = |line: usize, message: String| CatalogError::Invalid {
        line,
        cu: id.clone(),
        message,
    };

    let build = *raw.build.get_ref();
    if Product::of_build(build) != Some(raw.product) {
        return Err(invalid(
            line_of(raw.build.span()),
            format!("build {build} is not an {} build (15.0 = 2013, 15.1 = 2016, 15.2 below 2562 = 2019, 15.2 from 2562 = SE)", raw.product),
        ));
    }
    check_date(raw.released.get_ref()).map_err(|m| invalid(line_of(raw.released.span()), m))?;

    let security_updates = validate_updates(
        raw.updates,
        (build, raw.released.get_ref(), &raw.cu),
        line_of,
        &invalid,
    )?;
    let prerequisites = validate_prerequisites(raw.prerequisites, cu_line, &invalid)?;
    if raw.supported_os.is_empty() {
        return Err(invalid(cu_line, "supported_os is empty".to_string()));
    }
    Ok(CuInfo {
        id: id.clone(),
        product: raw.product,
        cu: raw.cu,
        build,
        released: raw.released.into_inner(),
        support: raw.support,
        security_updates,
        prerequisites,
        ad: AdLevels {
            schema_range_upper: raw.ad.schema_range_upper,
            org_object_version: raw.ad.org_object_version,
            domain_object_version: raw.ad.domain_object_version,
        },
        supported_os: raw.supported_os,
        enables_extended_protection: raw.enables_extended_protection,
        sources: raw.sources,
    })
}

/// A CU's updates (SUs and HUs), oldest first: each inside the CU `cu`
/// (its build, release date and name), strictly ascending, named once,
/// of the kind its name says, released no earlier than the one before.
fn validate_updates(
    updates: Vec<RawUpdate>,
    cu: (ExchangeBuild, &str, &str),
    line_of: &impl Fn(Range<usize>) -> usize,
    invalid: &impl Fn(usize, String) -> CatalogError,
) -> Result<Vec<SuInfo>, CatalogError> {
    let (build, cu_released, cu_name) = cu;
    let mut previous_build = build;
    let mut previous_date = cu_released.to_string();
    let mut previous_name = cu_name.to_string();
    let mut security_updates: Vec<SuInfo> = Vec::with_capacity(updates.len());
    for update in updates {
        let line = line_of(update.name.span());
        let name = update.name.into_inner();
        let su_build = *update.build.get_ref();
        if (su_build.major, su_build.minor, su_build.build)
            != (build.major, build.minor, build.build)
        {
            return Err(invalid(
                line_of(update.build.span()),
                format!("{name} build {su_build} does not belong to this CU (expected {}.{}.{}.<revision>)", build.major, build.minor, build.build),
            ));
        }
        if su_build <= previous_build {
            return Err(invalid(
                line_of(update.build.span()),
                format!("{name} build {su_build} is not newer than {previous_name} ({previous_build}); list updates oldest first with strictly ascending revisions"),
            ));
        }
        if security_updates
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(&name))
        {
            return Err(invalid(line, format!("update name {name} appears twice")));
        }
        let name_says_hu = name.contains("HU");
        if name_says_hu != (update.kind == UpdateKind::HotfixUpdate) {
            return Err(invalid(
                line,
                format!(
                    "{name} has kind {} but its name says otherwise (HU names are Hotfix Updates)",
                    update.kind
                ),
            ));
        }
        let released = update.released.get_ref().clone();
        check_date(&released).map_err(|m| invalid(line_of(update.released.span()), m))?;
        if released < previous_date {
            return Err(invalid(
                line,
                format!("{name} released {released} is before {previous_name} ({previous_date})"),
            ));
        }
        previous_build = su_build;
        previous_date = released.clone();
        previous_name = name.clone();
        security_updates.push(SuInfo {
            name,
            kind: update.kind,
            build: su_build,
            released,
            verified: update.verified,
            domain_object_version: update.domain_object_version,
        });
    }
    Ok(security_updates)
}

/// A CU's prerequisites: no recommended .NET below the minimum.
fn validate_prerequisites(
    pre: RawPrerequisites,
    cu_line: usize,
    invalid: &impl Fn(usize, String) -> CatalogError,
) -> Result<Prerequisites, CatalogError> {
    let dotnet_recommended = pre
        .dotnet_recommended
        .iter()
        .map(|d| (d.os, d.release, dotnet_name(d.release)))
        .collect::<Vec<_>>();
    if let Some((os, release, _)) = dotnet_recommended
        .iter()
        .find(|(_, r, _)| *r < pre.dotnet_min_release)
    {
        return Err(invalid(
            cu_line,
            format!(
                "recommended .NET Release {release} for {os} is below the minimum {}",
                pre.dotnet_min_release
            ),
        ));
    }
    if let Some(bad) = pre
        .dotnet_supported
        .iter()
        .find(|r| super::model::dotnet_version(**r) != Some(**r))
    {
        return Err(invalid(
            cu_line,
            format!("dotnet_supported lists {bad}, which is not the Release minimum of a .NET Framework 4.x version (e.g. 528040 for 4.8)"),
        ));
    }
    if !pre.dotnet_supported.is_empty() && !pre.dotnet_supported.contains(&pre.dotnet_min_release) {
        return Err(invalid(
            cu_line,
            format!(
                "dotnet_min_release {} is not one of dotnet_supported",
                pre.dotnet_min_release
            ),
        ));
    }
    Ok(Prerequisites {
        dotnet_min_release: pre.dotnet_min_release,
        dotnet_supported: pre.dotnet_supported,
        dotnet_min_name: dotnet_name(pre.dotnet_min_release),
        dotnet_recommended,
        vcredist_2012_min: pre.vcredist_2012_min,
        vcredist_2013_min: pre.vcredist_2013_min,
        ucma: pre.ucma,
        url_rewrite: pre.url_rewrite,
    })
}

/// `YYYY-MM-DD` with a plausible month and day; the catalogue compares dates
/// as strings, which is only sound in this exact shape.
pub(super) fn check_date(value: &str) -> Result<(), String> {
    let b = value.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let month: u32 = value.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
    let day: u32 = value.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(0);
    if shape_ok && (1..=12).contains(&month) && (1..=31).contains(&day) {
        Ok(())
    } else {
        Err(format!("date \"{value}\" is not YYYY-MM-DD"))
    }
}
