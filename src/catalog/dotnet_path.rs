//! The .NET Framework side of an upgrade path, from the catalogue's
//! supported .NET versions per CU (Microsoft Learn, "Exchange Server
//! supportability matrix", section "Microsoft .NET Framework"). When the
//! .NET a server has is too old for the target and no .NET version is
//! supported by both the installed CU and the target, there is no supported
//! one-step way: either go through intermediate CUs, each step on a .NET
//! both ends support, or take Microsoft's documented shortcut ("If you're
//! upgrading Exchange Server from an unsupported CU to the current CU and
//! no intermediate CUs are available, you should first upgrade to the latest
//! version of .NET that's supported by your version of Exchange Server and
//! then immediately upgrade to the current CU"), which leaves the server on
//! an unsupported combination in between. Pure functions over catalogue
//! data; nothing here reads a server.

use super::load::Catalog;
use super::model::{dotnet_version_name, CuInfo, WindowsServer};

/// .NET Framework 4.8.1 (`Release` minimum): Microsoft ships it for Windows
/// Server 2022 and later only.
const DOTNET_481: u32 = 533320;

/// How a server whose .NET is too old for the target gets there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotnetAdvice<'a> {
    /// A .NET version both the installed CU and the target support: install
    /// it first (given as its `Release` minimum), then upgrade. Supported
    /// all the way.
    InstallFirst { release: u32 },
    /// No .NET version is supported by both. `steps`: the supported way,
    /// through intermediate CUs (install .NET `release`, upgrade to `cu`,
    /// in order), then `last` before the target; empty when no chain of
    /// catalogue CUs bridges the gap. `shortcut`: the .NET of Microsoft's
    /// documented path, installed right before the upgrade to the target.
    Bridge {
        steps: Vec<(u32, &'a CuInfo)>,
        last: u32,
        shortcut: u32,
    },
}

/// The .NET versions `cu` supports that exist for `os` (4.8.1 only on
/// Windows Server 2022 and later; with the OS unknown, 4.8.1 is left out).
fn usable(cu: &CuInfo, os: Option<WindowsServer>) -> Vec<u32> {
    let has_481 = matches!(os, Some(WindowsServer::Ws2022 | WindowsServer::Ws2025));
    cu.prerequisites
        .dotnet_supported
        .iter()
        .copied()
        .filter(|r| *r != DOTNET_481 || has_481)
        .collect()
}

/// The newest .NET version both CUs support on `os`.
fn newest_common(a: &CuInfo, b: &CuInfo, os: Option<WindowsServer>) -> Option<u32> {
    let b_versions = usable(b, os);
    usable(a, os)
        .into_iter()
        .filter(|r| b_versions.contains(r))
        .max()
}

/// What to do about .NET for a server on `from` (a CU of the same product
/// as `to`) whose installed .NET the target does not support. `None` when
/// the catalogue lacks the .NET data for either CU or the products differ
/// (that is an upgrade-path question, not a .NET one).
pub fn dotnet_advice<'a>(
    catalog: &'a Catalog,
    from: &CuInfo,
    to: &CuInfo,
    os: Option<WindowsServer>,
) -> Option<DotnetAdvice<'a>> {
    if from.product != to.product
        || from.prerequisites.dotnet_supported.is_empty()
        || to.prerequisites.dotnet_supported.is_empty()
    {
        return None;
    }
    if let Some(release) = newest_common(from, to, os) {
        return Some(DotnetAdvice::InstallFirst { release });
    }
    let shortcut = usable(to, os).into_iter().max()?;
    let mut steps = Vec::new();
    let mut current: &CuInfo = from;
    let last = loop {
        if let Some(release) = newest_common(current, to, os) {
            break release;
        }
        // The newest CU between `current` and the target that shares a .NET
        // version with `current`: the longest supported stride.
        let next = catalog
            .cus()
            .iter()
            .filter(|c| c.product == to.product && c.build > current.build && c.build < to.build)
            .filter_map(|c| newest_common(current, c, os).map(|r| (c, r)))
            .max_by_key(|(c, _)| c.build);
        match next {
            Some((cu, release)) => {
                steps.push((release, cu));
                current = cu;
            }
            None => {
                steps.clear();
                break shortcut;
            }
        }
    };
    Some(DotnetAdvice::Bridge {
        steps,
        last,
        shortcut,
    })
}

impl DotnetAdvice<'_> {
    /// The advice in an admin's words, for a server on `from` going to `to`.
    pub fn describe(&self, from: &CuInfo, to: &CuInfo) -> String {
        let (from_name, to_name) = (from.display_name(), to.display_name());
        match self {
            DotnetAdvice::InstallFirst { release } => format!(
                "install .NET Framework {} first (supported by both {from_name} and {to_name}), then upgrade",
                dotnet_version_name(*release)
            ),
            DotnetAdvice::Bridge {
                steps,
                last,
                shortcut,
            } => {
                let supported_by = |cu: &CuInfo| {
                    cu.prerequisites
                        .dotnet_supported
                        .iter()
                        .map(|r| dotnet_version_name(*r))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut text = format!(
                    "no .NET Framework version is supported by both {from_name} (.NET {}) and {to_name} (.NET {})",
                    supported_by(from),
                    supported_by(to)
                );
                if !steps.is_empty() {
                    let path: Vec<String> = steps
                        .iter()
                        .map(|(r, cu)| {
                            format!(
                                "install .NET {} and upgrade to {}",
                                dotnet_version_name(*r),
                                cu.display_name()
                            )
                        })
                        .collect();
                    text.push_str(&format!(
                        "; supported path through intermediate CUs: {}, then install .NET {} and upgrade to {to_name}",
                        path.join(", then "),
                        dotnet_version_name(*last)
                    ));
                }
                text.push_str(&format!(
                    "; {}Microsoft's documented path (supportability matrix) is to install .NET {} and then immediately upgrade to {to_name}: the interval between, {from_name} on .NET {}, is unsupported",
                    if steps.is_empty() { "" } else { "where those CUs are no longer available, " },
                    dotnet_version_name(*shortcut),
                    dotnet_version_name(*shortcut)
                ));
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cu(id: &str) -> &'static CuInfo {
        Catalog::embedded().cu_by_id(id).unwrap()
    }

    fn advice(from: &str, to: &str, os: Option<WindowsServer>) -> DotnetAdvice<'static> {
        dotnet_advice(Catalog::embedded(), cu(from), cu(to), os).unwrap()
    }

    #[test]
    fn overlapping_ranges_install_the_newest_common_version() {
        // 2016 CU13 supports 4.7.2 and 4.8; CU23 4.8.
        assert_eq!(
            advice("2016-CU13", "2016-CU23", None),
            DotnetAdvice::InstallFirst { release: 528040 }
        );
        // 2019 CU14 → CU15: 4.8.1 on Windows Server 2022, 4.8 on 2019.
        assert_eq!(
            advice("2019-CU14", "2019-CU15", Some(WindowsServer::Ws2022)),
            DotnetAdvice::InstallFirst { release: 533320 }
        );
        assert_eq!(
            advice("2019-CU14", "2019-CU15", Some(WindowsServer::Ws2019)),
            DotnetAdvice::InstallFirst { release: 528040 }
        );
        let text = advice("2019-CU9", "2019-CU15", None).describe(cu("2019-CU9"), cu("2019-CU15"));
        assert_eq!(
            text,
            "install .NET Framework 4.8 first (supported by both Exchange Server 2019 CU9 and Exchange Server 2019 CU15), then upgrade"
        );
    }

    #[test]
    fn disjoint_ranges_go_through_intermediate_cus() {
        // 2019 CU1 (4.7.2 only) → CU15 (4.8, 4.8.1): CU3 supports 4.7.2 and 4.8.
        let a = advice("2019-CU1", "2019-CU15", Some(WindowsServer::Ws2019));
        let DotnetAdvice::Bridge {
            steps,
            last,
            shortcut,
        } = &a
        else {
            panic!("{a:?}")
        };
        let ids: Vec<(u32, &str)> = steps.iter().map(|(r, c)| (*r, c.id.as_str())).collect();
        assert_eq!(ids, [(461808, "2019-CU3")]);
        assert_eq!((*last, *shortcut), (528040, 528040));
        let text = a.describe(cu("2019-CU1"), cu("2019-CU15"));
        assert!(text.starts_with("no .NET Framework version is supported by both Exchange Server 2019 CU1 (.NET 4.7.2) and Exchange Server 2019 CU15 (.NET 4.8, 4.8.1)"), "{text}");
        assert!(text.contains("install .NET 4.7.2 and upgrade to Exchange Server 2019 CU3, then install .NET 4.8 and upgrade to Exchange Server 2019 CU15"), "{text}");
        assert!(
            text.contains(
                "the interval between, Exchange Server 2019 CU1 on .NET 4.8, is unsupported"
            ),
            "{text}"
        );
    }

    #[test]
    fn far_behind_2016_takes_several_steps() {
        // 2016 CU10 (4.7.1) → CU12 (4.7.1, 4.7.2) → CU14 (4.7.2, 4.8) → CU23 (4.8).
        let DotnetAdvice::Bridge { steps, last, .. } = advice("2016-CU10", "2016-CU23", None)
        else {
            panic!()
        };
        let ids: Vec<(u32, &str)> = steps.iter().map(|(r, c)| (*r, c.id.as_str())).collect();
        assert_eq!(ids, [(461308, "2016-CU12"), (461808, "2016-CU14")]);
        assert_eq!(last, 528040);
    }

    #[test]
    fn no_advice_across_products_or_without_data() {
        let catalog = Catalog::embedded();
        assert!(dotnet_advice(catalog, cu("2016-CU10"), cu("2019-CU15"), None).is_none());
        let mut bare = cu("2016-CU10").clone();
        bare.prerequisites.dotnet_supported.clear();
        assert!(dotnet_advice(catalog, &bare, cu("2016-CU23"), None).is_none());
    }
}
