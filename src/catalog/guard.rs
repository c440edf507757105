//! The safety floor of a catalogue update: a new catalogue may add CUs and
//! updates and change descriptive text, but lowering what a CU requires (a
//! .NET or Visual C++ minimum, UCMA or URL Rewrite, an AD level) switches
//! off a check cu-roll makes before any change: a lowered AD level turns
//! "run /PrepareAD first" into "not needed". This module finds such
//! lowerings; `update` refuses them unless the admin allows them. An SU a
//! primary source confirmed (`verified`) that the update marks unverified
//! or drops counts as a lowering too: the run's target is the latest
//! *verified* SU, so that would quietly move every plan's target back.

use super::load::Catalog;
use super::model::{AdLevels, CuInfo, Prerequisites};

/// Every requirement `candidate` lowers against `baseline`, one line each
/// (`2019-CU15: .NET minimum release 528040 → 1`). Empty when none.
pub fn lowered_requirements(candidate: &Catalog, baseline: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for known in baseline.cus() {
        if let Some(theirs) = candidate.cu_by_id(&known.id) {
            prerequisites(
                &known.id,
                &known.prerequisites,
                &theirs.prerequisites,
                &mut out,
            );
            ad_levels(&known.id, &known.ad, &theirs.ad, &mut out);
            su_domain_levels(known, theirs, &mut out);
            su_verification(known, theirs, &mut out);
        }
    }
    out
}

fn lower(out: &mut Vec<String>, cu: &str, what: &str, was: impl ToString, now: impl ToString) {
    out.push(format!(
        "{cu}: {what} {} → {}",
        was.to_string(),
        now.to_string()
    ));
}

fn prerequisites(cu: &str, was: &Prerequisites, now: &Prerequisites, out: &mut Vec<String>) {
    if now.dotnet_min_release < was.dotnet_min_release {
        lower(
            out,
            cu,
            ".NET minimum release",
            was.dotnet_min_release,
            now.dotnet_min_release,
        );
    }
    let optional = |v: Option<u32>| v.map_or("not required".to_string(), |v| v.to_string());
    for (what, w, n) in [
        (
            "Visual C++ 2012 minimum",
            was.vcredist_2012_min,
            now.vcredist_2012_min,
        ),
        (
            "Visual C++ 2013 minimum",
            was.vcredist_2013_min,
            now.vcredist_2013_min,
        ),
    ] {
        if let Some(w) = w {
            if n.is_none_or(|n| n < w) {
                lower(out, cu, what, w, optional(n));
            }
        }
    }
    for (what, w, n) in [
        ("UCMA", was.ucma, now.ucma),
        ("URL Rewrite", was.url_rewrite, now.url_rewrite),
    ] {
        if w && !n {
            lower(out, cu, what, "required", "not required");
        }
    }
}

fn ad_levels(cu: &str, was: &AdLevels, now: &AdLevels, out: &mut Vec<String>) {
    for (what, w, n) in [
        (
            "schema rangeUpper",
            was.schema_range_upper,
            now.schema_range_upper,
        ),
        (
            "organisation objectVersion",
            was.org_object_version,
            now.org_object_version,
        ),
        (
            "domain objectVersion",
            was.domain_object_version,
            now.domain_object_version,
        ),
    ] {
        if n < w {
            lower(out, cu, what, w, n);
        }
    }
}

fn su_domain_levels(known: &CuInfo, theirs: &CuInfo, out: &mut Vec<String>) {
    for su in &known.security_updates {
        let (Some(w), Some(t)) = (su.domain_object_version, theirs.su_by_name(&su.name)) else {
            continue;
        };
        if t.domain_object_version.is_none_or(|n| n < w) {
            let now = t
                .domain_object_version
                .map_or("not required".to_string(), |n| n.to_string());
            lower(
                out,
                &format!("{} {}", known.id, su.name),
                "domain objectVersion",
                w,
                now,
            );
        }
    }
}

/// A verified SU of `known` that `theirs` no longer lists, or lists as
/// unverified.
fn su_verification(known: &CuInfo, theirs: &CuInfo, out: &mut Vec<String>) {
    for su in known.security_updates.iter().filter(|su| su.verified) {
        let now = match theirs.su_by_name(&su.name) {
            None => "not listed",
            Some(t) if !t.verified => "unverified",
            Some(_) => continue,
        };
        lower(
            out,
            &format!("{} {}", known.id, su.name),
            "verification",
            "verified",
            now,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMBEDDED: &str = include_str!("../../data/catalog.toml");

    #[test]
    fn the_embedded_catalogue_lowers_nothing() {
        let embedded = Catalog::embedded();
        assert!(lowered_requirements(embedded, embedded).is_empty());
    }

    #[test]
    fn lowered_prerequisites_and_ad_levels_are_each_named() {
        let cu15 = Catalog::embedded().cu_by_id("2019-CU15").unwrap();
        let (dotnet, org) = (
            cu15.prerequisites.dotnet_min_release,
            cu15.ad.org_object_version,
        );
        // Lower them in 2019 CU15's entry (and let the lowered .NET minimum
        // stay one of its supported versions: 4.7.2).
        let (head, tail) = EMBEDDED.split_once("id = \"2019-CU15\"").unwrap();
        let tail = tail
            .replacen(
                &format!("dotnet_min_release = {dotnet}"),
                "dotnet_min_release = 461808",
                1,
            )
            .replacen("dotnet_supported = [", "dotnet_supported = [461808, ", 1)
            .replacen(
                &format!("org_object_version = {org}"),
                "org_object_version = 1",
                1,
            );
        let text = format!("{head}id = \"2019-CU15\"{tail}");
        assert_ne!(text, EMBEDDED, "anchors found");
        let candidate = Catalog::from_toml(&text).unwrap();
        let lowered = lowered_requirements(&candidate, Catalog::embedded());
        assert!(
            lowered
                .iter()
                .any(|l| l.contains(".NET minimum release") && l.ends_with("→ 461808")),
            "{lowered:?}"
        );
        assert!(
            lowered
                .iter()
                .any(|l| l.contains("organisation objectVersion") && l.ends_with("→ 1")),
            "{lowered:?}"
        );
        // Raising is not lowering.
        assert!(lowered_requirements(Catalog::embedded(), &candidate).is_empty());
    }

    /// The reliability review (§7): an update that marked the latest SU
    /// `verified = false` was stored, moving every plan's target back to
    /// the SU before it.
    #[test]
    fn a_verified_su_marked_unverified_is_named() {
        let cu15 = Catalog::embedded().cu_by_id("2019-CU15").unwrap();
        let latest = cu15.latest_su().expect("CU15 has a verified SU");
        let (head, tail) = EMBEDDED.split_once("id = \"2019-CU15\"").unwrap();
        let anchor = format!("name = \"{}\"", latest.name);
        let (before, after) = tail.split_once(&anchor).expect("the SU's row");
        // The SU's row ends at its closing brace; mark it unverified there.
        let (row_rest, rest) = after.split_once('}').unwrap();
        let row_rest = if row_rest.contains("verified") {
            row_rest.replace("verified = true", "verified = false")
        } else {
            format!("{row_rest}, verified = false ")
        };
        let text = format!("{head}id = \"2019-CU15\"{before}{anchor}{row_rest}}}{rest}");
        assert_ne!(text, EMBEDDED, "anchors found");
        let candidate = Catalog::from_toml(&text).unwrap();
        let lowered = lowered_requirements(&candidate, Catalog::embedded());
        assert!(
            lowered.iter().any(|l| l
                == &format!(
                    "2019-CU15 {}: verification verified → unverified",
                    latest.name
                )),
            "{lowered:?}"
        );
    }
}
