//! The pre-flight decisions, as plain functions over what was observed:
//! prerequisites, the installed build's identity, whether setup must run
//! (also what the setup, security-update and exit-maintenance steps ask),
//! and the verdict. No I/O
//! here, so every rule is tested without a server. The maintenance and
//! copy-health assessments that the rollout's gate uses too live in
//! [`crate::assess::checks`].

use super::model::{Prerequisite, ServerReport, Verdict};
use crate::catalog::{self, Catalog, ExchangeBuild, WindowsServer};
use crate::exchange::ServerFacts;
use crate::plan::ResolvedTarget;

/// Product codes under the Uninstall key (exchange-facts.md §3).
const UCMA_PRODUCT_CODE: &str = "{41D635FE-4F9D-47F7-8230-9B29D6D42D31}";
const URL_REWRITE_PRODUCT_CODE: &str = "{9BCA2118-F753-4A1E-BCF3-5A820729965C}";

/// Every prerequisite the target needs, found vs required.
///
/// On an Edge Transport server (`edge`), only .NET, Visual C++ 2012 and
/// Windows: Microsoft Learn, "Exchange Server prerequisites", lists Visual
/// C++ 2013, UCMA 4.0 and the IIS URL Rewrite module for Mailbox servers
/// only (its "Edge Transport servers" section asks for .NET Framework and
/// the Visual C++ 2012 redistributable).
pub fn prerequisites(
    facts: &ServerFacts,
    target: &ResolvedTarget,
    edge: bool,
) -> Vec<Prerequisite> {
    let req = &target.cu.prerequisites;
    let os = facts
        .os_caption
        .as_deref()
        .and_then(WindowsServer::from_caption);
    let mut out = Vec::new();

    let found_net = facts.dot_net_release.map_or_else(
        || "not installed".to_string(),
        |r| format!("{} (Release {r})", catalog::dotnet_name(r)),
    );
    out.push(Prerequisite {
        name: ".NET Framework".into(),
        required: format!(
            "{} (Release {}) or later",
            req.dotnet_min_name, req.dotnet_min_release
        ),
        found: found_net,
        ok: facts
            .dot_net_release
            .is_some_and(|r| r >= req.dotnet_min_release),
    });

    for (label, pattern, min) in [
        (
            "Visual C++ 2012",
            "Microsoft Visual C++ 2012",
            req.vcredist_2012_min,
        ),
        (
            "Visual C++ 2013",
            "Microsoft Visual C++ 2013",
            req.vcredist_2013_min.filter(|_| !edge),
        ),
    ] {
        let Some(min) = min else { continue };
        let best = facts
            .products
            .iter()
            .filter(|p| p.display_name.starts_with(pattern))
            .filter_map(|p| p.version.as_ref().and_then(serde_json::Value::as_u64))
            .max();
        out.push(Prerequisite {
            name: label.into(),
            required: format!("{} or later", vc_version(min)),
            found: best.map_or_else(|| "not installed".into(), |v| vc_version(v as u32)),
            ok: best.is_some_and(|v| v >= u64::from(min)),
        });
    }

    let has = |code: &str| {
        facts.products.iter().any(|p| {
            p.key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(code))
        })
    };
    if req.ucma && !edge {
        let ok = has(UCMA_PRODUCT_CODE);
        out.push(Prerequisite {
            name: "UCMA 4.0".into(),
            required: "installed".into(),
            found: if ok { "installed" } else { "not installed" }.into(),
            ok,
        });
    }
    if req.url_rewrite && !edge {
        let ok = has(URL_REWRITE_PRODUCT_CODE);
        out.push(Prerequisite {
            name: "IIS URL Rewrite 2.1".into(),
            required: "installed".into(),
            found: if ok { "installed" } else { "not installed" }.into(),
            ok,
        });
    }
    out.push(Prerequisite {
        name: "Windows Server".into(),
        required: target
            .cu
            .supported_os
            .iter()
            .map(|o| o.display())
            .collect::<Vec<_>>()
            .join(", "),
        found: facts.os_caption.clone().unwrap_or_else(|| "unknown".into()),
        ok: os.is_some_and(|o| target.cu.supported_os.contains(&o)),
    });
    out
}

/// A VC++ `Version` DWORD as `major.minor.build` (184610406 → 11.0.61030).
fn vc_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 24, (v >> 16) & 0xff, v & 0xffff)
}

/// The .NET release the target recommends on this OS, when above what is installed.
pub fn dotnet_warning(facts: &ServerFacts, target: &ResolvedTarget) -> Option<String> {
    let os = facts
        .os_caption
        .as_deref()
        .and_then(WindowsServer::from_caption)?;
    let found = facts.dot_net_release?;
    let (recommended, name) = target.cu.prerequisites.dotnet_recommended_for(os);
    (found >= target.cu.prerequisites.dotnet_min_release && found < recommended).then(|| {
        format!(
            ".NET Framework {} is supported but {name} (Release {recommended}) is recommended for {} on {}",
            catalog::dotnet_name(found),
            target.cu.display_name(),
            os.display()
        )
    })
}

/// The text every place that finds an unfinished upgrade says it with.
pub const PREVIOUS_UPGRADE_INCOMPLETE: &str = "previous upgrade incomplete";

/// Why setup must (still) run on a server at `build` for a `target` build,
/// or `None` when it need not. An earlier upgrade that stopped after its
/// file copy leaves ExSetup.exe at the new build with the role keys
/// unfinished (`ServerFacts::setup_incomplete`): that server is not up to
/// date whatever its build says (real-exchange review #1; ExchangeDsc runs
/// setup again in that case, `Get-ExchangeInstallStatus`).
pub fn setup_pending(
    facts: &ServerFacts,
    build: ExchangeBuild,
    target: ExchangeBuild,
) -> Option<String> {
    if let Some(why) = facts.setup_incomplete() {
        return Some(format!(
            "{PREVIOUS_UPGRADE_INCOMPLETE} ({why}); setup /Mode:Upgrade must run again to finish it"
        ));
    }
    (build < target).then(|| format!("the build is {build}, below {target}"))
}

/// The verdict from what blocks and whether an upgrade is needed.
pub fn verdict(blockers: &[String], needs_upgrade: bool) -> Verdict {
    if !blockers.is_empty() {
        Verdict::Blocked
    } else if needs_upgrade {
        Verdict::Ready
    } else {
        Verdict::UpToDate
    }
}

/// The name of `build` from the catalogue, and a blocker when it cannot be verified.
pub fn identify(catalog: &Catalog, build: ExchangeBuild) -> (String, Option<String>) {
    let id = catalog.identify(build);
    let name = id.name().to_string();
    let blocker = match id {
        catalog::BuildIdentity::UnknownNewer { .. } => Some(format!(
            "installed build {build} is newer than everything in cu-roll's catalogue{} ({name}); cu-roll cannot verify what is installed — update the catalogue (cu-roll catalog update) or check the server by hand",
            catalog_date(catalog)
        )),
        catalog::BuildIdentity::UnknownOlder { .. }
        | catalog::BuildIdentity::Unknown { .. } => Some(format!(
            "installed build {build} is not in cu-roll's catalogue ({name}); cu-roll cannot verify what is installed — update the catalogue or check the server by hand"
        )),
        _ => None,
    };
    (name, blocker)
}

/// ", which is current to 2026-05-29" when the catalogue says.
pub fn catalog_date(catalog: &Catalog) -> String {
    catalog
        .current_to()
        .map(|d| format!(", which is current to {d}"))
        .unwrap_or_default()
}

/// The .NET advice for a server whose installed .NET is below the target's
/// and shares no version with its installed CU: a blocker naming the
/// intermediate CUs and Microsoft's documented path (see
/// `catalog::dotnet_advice`). `None` when the plain prerequisite blocker
/// says all there is to say.
pub fn dotnet_path_blocker(
    catalog: &Catalog,
    facts: &ServerFacts,
    build: ExchangeBuild,
    target: &ResolvedTarget,
) -> Option<String> {
    let installed = facts.dot_net_release?;
    if installed >= target.cu.prerequisites.dotnet_min_release {
        return None;
    }
    let from = catalog.cu_for_build(build)?;
    let os = facts
        .os_caption
        .as_deref()
        .and_then(WindowsServer::from_caption);
    match catalog::dotnet_advice(catalog, from, &target.cu, os)? {
        advice @ catalog::DotnetAdvice::Bridge { .. } => Some(format!(
            "{} runs {} with .NET Framework {}: {}",
            facts.computer_name,
            from.display_name(),
            catalog::dotnet_name(installed),
            advice.describe(from, &target.cu)
        )),
        catalog::DotnetAdvice::InstallFirst { .. } => None,
    }
}

/// A warning when the installed .NET meets the target but the installed CU
/// does not support it: the server already sits in the unsupported interval
/// of Microsoft's documented path and should be upgraded without delay.
pub fn dotnet_interval_warning(
    catalog: &Catalog,
    facts: &ServerFacts,
    build: ExchangeBuild,
    target: &ResolvedTarget,
) -> Option<String> {
    let installed = facts.dot_net_release?;
    let from = catalog.cu_for_build(build)?;
    let target_ok = target.cu.prerequisites.supports_dotnet(installed)?;
    let from_ok = from.prerequisites.supports_dotnet(installed)?;
    (target_ok && !from_ok).then(|| {
        format!(
            "{} runs {} on .NET Framework {}, a combination Microsoft does not support (the interval of its documented path): upgrade it to {} without delay",
            facts.computer_name,
            from.display_name(),
            catalog::dotnet_name(installed),
            target.cu.display_name()
        )
    })
}

/// Bytes as GB with one decimal.
fn gb(bytes: u64) -> f64 {
    (bytes as f64 / 1_073_741_824.0 * 10.0).round() / 10.0
}

/// The free space of the system drive and, when Exchange is installed on
/// another drive, of that drive (review real-exchange.md #19: Microsoft
/// Learn "Exchange Server system requirements" asks for 30 GB on the
/// drive Exchange is installed on, which is often `D:`).
pub fn free_space(facts: &ServerFacts, r: &mut ServerReport) {
    r.system_drive_free_gb = facts.system_drive_free_bytes.map(gb);
    let other = match (&facts.install_drive, &facts.system_drive) {
        (Some(install), Some(system)) => !install.eq_ignore_ascii_case(system),
        (Some(install), None) => !install.eq_ignore_ascii_case("C:"),
        (None, _) => false,
    };
    if other {
        r.install_drive = facts.install_drive.clone();
        // A drive the disk read did not find has no free space to count on.
        r.install_drive_free_gb = Some(facts.install_drive_free_bytes.map_or(0.0, gb));
    }
}

/// What is short of `min_gb` free: the system drive, and the install drive
/// when it is another one.
pub fn too_little_space(r: &ServerReport, min_gb: u64) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(free) = r.system_drive_free_gb {
        if free < min_gb as f64 {
            out.push(format!(
                "only {free} GB free on the system drive; the policy asks for at least {min_gb} GB before setup"
            ));
        }
    }
    if let (Some(drive), Some(free)) = (&r.install_drive, r.install_drive_free_gb) {
        if free < min_gb as f64 {
            out.push(format!(
                "only {free} GB free on {drive}, where Exchange is installed; the policy asks for at least {min_gb} GB there before setup (Exchange Server system requirements: 30 GB on the install drive)"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::InstalledProduct;

    fn target() -> ResolvedTarget {
        let plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        crate::plan::resolve_target(&plan, Catalog::embedded()).unwrap()
    }

    fn facts(dotnet: Option<u32>, os: &str, products: Vec<InstalledProduct>) -> ServerFacts {
        ServerFacts {
            computer_name: "EX02".into(),
            ex_setup_version: Some("15.02.1544.039".into()),
            dot_net_release: dotnet,
            os_caption: Some(os.into()),
            os_version: None,
            last_boot_up_time: None,
            system_drive_free_bytes: Some(100 << 30),
            system_drive: None,
            install_drive: None,
            install_drive_free_bytes: None,
            products,
            pending_reboot: vec![],
            setup_roles: vec![],
        }
    }

    fn product(key: &str, name: &str, version: Option<u64>) -> InstalledProduct {
        InstalledProduct {
            key: Some(key.into()),
            display_name: name.into(),
            version: version.map(serde_json::Value::from),
        }
    }

    #[test]
    fn old_dotnet_and_missing_ucma_are_not_ok() {
        let f = facts(
            Some(461_814),
            "Microsoft Windows Server 2022 Datacenter",
            vec![],
        );
        let p = prerequisites(&f, &target(), false);
        let net = p.iter().find(|p| p.name == ".NET Framework").unwrap();
        assert!(!net.ok);
        assert_eq!(net.found, "4.7.2 (Release 461814)");
        assert!(!p.iter().find(|p| p.name == "UCMA 4.0").unwrap().ok);
        assert!(!p.iter().find(|p| p.name == "Visual C++ 2012").unwrap().ok);
    }

    #[test]
    fn installed_runtimes_are_found_by_name_and_product_code() {
        let f = facts(
            Some(533_320),
            "Microsoft Windows Server 2022 Datacenter",
            vec![
                product(
                    "{A}",
                    "Microsoft Visual C++ 2012 x64 Additional Runtime - 11.0.61030",
                    Some(184_610_406),
                ),
                product(
                    "{B}",
                    "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664",
                    Some(201_367_256),
                ),
                product(
                    UCMA_PRODUCT_CODE,
                    "Microsoft Server Speech Platform Runtime (x64)",
                    None,
                ),
                product(URL_REWRITE_PRODUCT_CODE, "IIS URL Rewrite Module 2", None),
            ],
        );
        let p = prerequisites(&f, &target(), false);
        assert!(p.iter().all(|p| p.ok), "{p:#?}");
        assert_eq!(dotnet_warning(&f, &target()), None);
    }

    /// 4.8 on WS2022 is supported by CU15 but 4.8.1 is recommended: a warning, not a blocker.
    #[test]
    fn supported_but_not_recommended_dotnet_warns() {
        let f = facts(
            Some(528_449),
            "Microsoft Windows Server 2022 Datacenter",
            vec![],
        );
        assert!(
            prerequisites(&f, &target(), false)
                .iter()
                .find(|p| p.name == ".NET Framework")
                .unwrap()
                .ok
        );
        assert!(dotnet_warning(&f, &target()).unwrap().contains("4.8.1"));
    }

    /// A failed upgrade leaves ExSetup.exe at the target build: the role
    /// keys, not the build, say setup must run.
    #[test]
    fn an_unfinished_upgrade_needs_setup_whatever_the_build() {
        let cu15: ExchangeBuild = "15.2.1748.10".parse().unwrap();
        let mut f = facts(
            Some(533_320),
            "Microsoft Windows Server 2022 Datacenter",
            vec![],
        );
        assert_eq!(setup_pending(&f, cu15, cu15), None);
        f.setup_roles = serde_json::from_str(
            r#"[{"Role":"MailboxRole","UnpackedVersion":"15.2.1748.10","ConfiguredVersion":null,"Action":"BuildToBuildUpgrade","Watermark":"BridgeheadRoleSetterComponent___115c"}]"#,
        )
        .unwrap();
        let why = setup_pending(&f, cu15, cu15).unwrap();
        assert!(
            why.starts_with("previous upgrade incomplete (MailboxRole"),
            "{why}"
        );
        assert!(
            why.contains("Watermark is 'BridgeheadRoleSetterComponent___115c'"),
            "{why}"
        );
    }

    #[test]
    fn verdict_follows_blockers_then_need() {
        assert_eq!(verdict(&["x".into()], false), Verdict::Blocked);
        assert_eq!(verdict(&[], true), Verdict::Ready);
        assert_eq!(verdict(&[], false), Verdict::UpToDate);
    }

    #[test]
    fn a_build_newer_than_the_catalogue_blocks() {
        let (name, blocker) = identify(Catalog::embedded(), "15.2.2562.99".parse().unwrap());
        assert!(name.contains("cannot verify"), "{name}");
        assert!(blocker.is_some());
        let (_, none) = identify(Catalog::embedded(), "15.2.1544.39".parse().unwrap());
        assert!(none.is_none());
    }
}
