//! The catalogue's value types: products, Windows Server versions, CUs with
//! their SU/HU chains, prerequisites and Active Directory levels. Plain data
//! plus small lookups; loading and validation live in `load`, build
//! identification in `identify`. Nothing here touches a server.

use std::fmt;

use serde::Deserialize;

use super::build::ExchangeBuild;

/// The Exchange product a build belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Product {
    /// Exchange Server 2013 (15.0): named, never a target nor upgradable in
    /// place to a later product.
    Exchange2013,
    Exchange2016,
    Exchange2019,
    #[serde(rename = "ExchangeSE")]
    ExchangeSe,
}

/// First build number of Exchange Server SE: SE keeps major.minor 15.2, so
/// only the build number tells it apart from 2019 (CSS-Exchange
/// `Get-ExchangeBuildVersionInformation.ps1`: `Minor -eq 2 -and Build -ge 2562`).
pub(crate) const SE_FIRST_BUILD: u32 = 2562;

impl Product {
    /// The product a build belongs to, by major.minor (and build for SE);
    /// `None` for anything that is not 2013, 2016, 2019 or SE.
    pub fn of_build(build: ExchangeBuild) -> Option<Product> {
        match (build.major, build.minor) {
            (15, 0) => Some(Product::Exchange2013),
            (15, 1) => Some(Product::Exchange2016),
            (15, 2) if build.build >= SE_FIRST_BUILD => Some(Product::ExchangeSe),
            (15, 2) => Some(Product::Exchange2019),
            _ => None,
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Product::Exchange2013 => "Exchange Server 2013",
            Product::Exchange2016 => "Exchange Server 2016",
            Product::Exchange2019 => "Exchange Server 2019",
            Product::ExchangeSe => "Exchange Server SE",
        })
    }
}

/// Windows Server versions a CU can be supported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum WindowsServer {
    #[serde(rename = "WS2012")]
    Ws2012,
    #[serde(rename = "WS2012R2")]
    Ws2012R2,
    #[serde(rename = "WS2016")]
    Ws2016,
    #[serde(rename = "WS2019")]
    Ws2019,
    #[serde(rename = "WS2022")]
    Ws2022,
    #[serde(rename = "WS2025")]
    Ws2025,
}

impl WindowsServer {
    /// Reads the `Caption` of `Win32_OperatingSystem`, e.g.
    /// `Microsoft Windows Server 2022 Datacenter` or
    /// `Microsoft Windows Server 2012 R2 Standard`. Older captions carry `®`
    /// signs, which are ignored. Anything that is not one of the six known
    /// versions (a client OS, 2008 R2, a semi-annual channel build) is `None`.
    pub fn from_caption(caption: &str) -> Option<WindowsServer> {
        let cleaned: String = caption
            .chars()
            .filter(|c| !matches!(c, '®' | '™'))
            .collect::<String>()
            .to_ascii_lowercase();
        let rest = &cleaned[cleaned.find("windows server")? + "windows server".len()..];
        let mut words = rest.split_whitespace();
        let year = words.next()?;
        let r2 = words.next() == Some("r2");
        match (year, r2) {
            ("2012", false) => Some(WindowsServer::Ws2012),
            ("2012", true) => Some(WindowsServer::Ws2012R2),
            ("2016", false) => Some(WindowsServer::Ws2016),
            ("2019", false) => Some(WindowsServer::Ws2019),
            ("2022", false) => Some(WindowsServer::Ws2022),
            ("2025", false) => Some(WindowsServer::Ws2025),
            _ => None,
        }
    }

    /// The name an admin reads, e.g. `Windows Server 2012 R2`.
    pub fn display(&self) -> &'static str {
        match self {
            WindowsServer::Ws2012 => "Windows Server 2012",
            WindowsServer::Ws2012R2 => "Windows Server 2012 R2",
            WindowsServer::Ws2016 => "Windows Server 2016",
            WindowsServer::Ws2019 => "Windows Server 2019",
            WindowsServer::Ws2022 => "Windows Server 2022",
            WindowsServer::Ws2025 => "Windows Server 2025",
        }
    }
}

impl fmt::Display for WindowsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display())
    }
}

/// Security Update or Hotfix Update (HU: Microsoft's name for a non-security
/// fix package shipped the same way as an SU, e.g. Apr24HU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum UpdateKind {
    #[serde(rename = "SU")]
    SecurityUpdate,
    #[serde(rename = "HU")]
    HotfixUpdate,
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateKind::SecurityUpdate => "Security Update",
            UpdateKind::HotfixUpdate => "Hotfix Update",
        })
    }
}

/// One SU/HU of a CU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuInfo {
    /// Microsoft's short name, e.g. `Feb26SU`, `Nov24SUv2`, `May26HU`.
    pub name: String,
    pub kind: UpdateKind,
    /// The full build `ExSetup.exe` reports once it is installed.
    pub build: ExchangeBuild,
    /// `YYYY-MM-DD`.
    pub released: String,
    /// `false` when no primary source confirms this update (see docs/catalog.md).
    pub verified: bool,
    /// The domain `msExchSystemObjectsContainer` objectVersion this update
    /// requires when it raised it (May 2022 SU on 2019 CU11: 13242 → 13243),
    /// so an SU alone can need `/PrepareDomain`.
    pub domain_object_version: Option<u32>,
}

/// Active Directory levels after `/PrepareSchema`, `/PrepareAD` and
/// `/PrepareDomain` for a CU: schema `ms-Exch-Schema-Version-Pt` rangeUpper,
/// `msExchOrganizationContainer` objectVersion, and each domain's
/// `msExchSystemObjectsContainer` (MESO) objectVersion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdLevels {
    pub schema_range_upper: u32,
    pub org_object_version: u32,
    pub domain_object_version: u32,
}

/// What a server needs before setup for a CU will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisites {
    /// Least .NET Framework 4.x `Release` DWORD (compare `>=`).
    pub dotnet_min_release: u32,
    /// `dotnet_name(dotnet_min_release)`, e.g. `4.8`.
    pub dotnet_min_name: String,
    /// Every .NET version the CU supports, as the `Release` minimum of each
    /// version (supportability matrix), oldest first; empty when the
    /// catalogue file does not say (then no upgrade-path advice is given).
    pub dotnet_supported: Vec<u32>,
    /// Recommended `Release` per supported OS, with its name.
    pub dotnet_recommended: Vec<(WindowsServer, u32, String)>,
    /// Least Visual C++ 2012 runtime `Version` DWORD, when required.
    pub vcredist_2012_min: Option<u32>,
    /// Least Visual C++ 2013 runtime `Version` DWORD, when required.
    pub vcredist_2013_min: Option<u32>,
    /// Unified Communications Managed API 4.0 (Mailbox role).
    pub ucma: bool,
    /// IIS URL Rewrite 2.1.
    pub url_rewrite: bool,
}

impl Prerequisites {
    /// Whether the installed `release` is a .NET version this CU supports
    /// (by version: any `Release` of 4.8 counts as 4.8). `None` when the
    /// catalogue lists no supported versions for the CU.
    pub fn supports_dotnet(&self, release: u32) -> Option<bool> {
        if self.dotnet_supported.is_empty() {
            return None;
        }
        Some(dotnet_version(release).is_some_and(|v| self.dotnet_supported.contains(&v)))
    }

    /// The recommended .NET `Release` and name for `os`; the minimum when
    /// the catalogue has no recommendation for that OS (an OS the CU does
    /// not support, which the OS check reports on its own).
    pub fn dotnet_recommended_for(&self, os: WindowsServer) -> (u32, String) {
        self.dotnet_recommended
            .iter()
            .find(|(o, _, _)| *o == os)
            .map(|(_, release, name)| (*release, name.clone()))
            .unwrap_or_else(|| (self.dotnet_min_release, self.dotnet_min_name.clone()))
    }
}

/// One Cumulative Update (or SE RTM) and everything the catalogue knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuInfo {
    /// Catalogue id as written in a plan: `2016-CU23`, `2019-CU15`, `SE-RTM`.
    pub id: String,
    pub product: Product,
    /// `CU15` or `RTM`.
    pub cu: String,
    /// The build setup installs, before any SU.
    pub build: ExchangeBuild,
    /// `YYYY-MM-DD`.
    pub released: String,
    /// Support status in words, e.g. "Out of support since 2025-10-14 …".
    pub support: String,
    /// SU/HU chain, oldest first (builds strictly ascending).
    pub security_updates: Vec<SuInfo>,
    pub prerequisites: Prerequisites,
    /// AD levels after prep for the CU itself (see [`CuInfo::ad_with`] for SUs).
    pub ad: AdLevels,
    pub supported_os: Vec<WindowsServer>,
    /// Setup turns Extended Protection on by default (2019 CU14 and later;
    /// `/DoNotEnableEP` opts out).
    pub enables_extended_protection: bool,
    pub sources: Vec<String>,
}

impl CuInfo {
    /// `Exchange Server 2019 CU15`, `Exchange Server SE RTM`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.product, self.cu)
    }

    /// The newest SU/HU a primary source confirms; unverified entries are
    /// never "latest".
    pub fn latest_su(&self) -> Option<&SuInfo> {
        self.security_updates.iter().rev().find(|su| su.verified)
    }

    /// The SU/HU with this name, case-insensitive (`feb26su`).
    pub fn su_by_name(&self, name: &str) -> Option<&SuInfo> {
        let name = name.trim();
        self.security_updates
            .iter()
            .find(|su| su.name.eq_ignore_ascii_case(name))
    }

    /// Whether the CU supports this Windows Server version.
    pub fn supports_os(&self, os: WindowsServer) -> bool {
        self.supported_os.contains(&os)
    }

    /// AD levels the CU plus `su` require: an SU can raise the domain
    /// objectVersion (May 2022 SU), and SUs are cumulative, so every update
    /// up to `su` counts.
    pub fn ad_with(&self, su: Option<&SuInfo>) -> AdLevels {
        let mut levels = self.ad;
        if let Some(su) = su {
            for earlier in self.security_updates.iter().filter(|s| s.build <= su.build) {
                if let Some(meso) = earlier.domain_object_version {
                    levels.domain_object_version = levels.domain_object_version.max(meso);
                }
            }
        }
        levels
    }

    /// The newest build the catalogue lists for this CU, counting unverified
    /// updates (they are still listed builds).
    pub(crate) fn newest_listed_build(&self) -> ExchangeBuild {
        self.security_updates
            .last()
            .map_or(self.build, |su| su.build)
    }
}

/// The `Release` minimum of every .NET Framework 4.x version, oldest first
/// (Microsoft, "How to determine which .NET Framework versions are
/// installed": "Minimum value of the Release DWORD").
const DOTNET_VERSIONS: [(u32, &str); 11] = [
    (378389, "4.5"),
    (378675, "4.5.1"),
    (379893, "4.5.2"),
    (393295, "4.6"),
    (394254, "4.6.1"),
    (394802, "4.6.2"),
    (460798, "4.7"),
    (461308, "4.7.1"),
    (461808, "4.7.2"),
    (528040, "4.8"),
    (533320, "4.8.1"),
];

/// The version a `Release` value belongs to, as that version's minimum
/// `Release` (528449 → 528040): the newest version whose minimum is not
/// above it. `None` below 4.5.
pub fn dotnet_version(release: u32) -> Option<u32> {
    DOTNET_VERSIONS
        .iter()
        .rev()
        .find(|(min, _)| *min <= release)
        .map(|(min, _)| *min)
}

/// The name of a version given by its minimum `Release` (`528040` → `4.8`);
/// for the exact values of an installed .NET, see [`dotnet_name`].
pub fn dotnet_version_name(min_release: u32) -> String {
    DOTNET_VERSIONS
        .iter()
        .find(|(min, _)| *min == min_release)
        .map_or_else(|| dotnet_name(min_release), |(_, n)| n.to_string())
}

/// The .NET Framework version a `Release` DWORD stands for (Microsoft,
/// "How to determine which .NET Framework versions are installed"). Exact
/// values only: an unlisted value is reported as unknown rather than guessed.
pub fn dotnet_name(release: u32) -> String {
    match release {
        533320 | 533325 | 533509 => "4.8.1".to_string(),
        528040 | 528049 | 528372 | 528449 => "4.8".to_string(),
        461808 | 461814 => "4.7.2".to_string(),
        461308 | 461310 => "4.7.1".to_string(),
        460798 | 460805 => "4.7".to_string(),
        394802 | 394806 => "4.6.2".to_string(),
        394254 | 394271 => "4.6.1".to_string(),
        379893 => "4.5.2".to_string(),
        378675 | 378758 => "4.5.1".to_string(),
        378389 => "4.5".to_string(),
        other => format!("unknown (Release {other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_by_major_minor_and_se_threshold() {
        let b = |s: &str| s.parse::<ExchangeBuild>().unwrap();
        assert_eq!(
            Product::of_build(b("15.1.2507.6")),
            Some(Product::Exchange2016)
        );
        assert_eq!(
            Product::of_build(b("15.2.1748.10")),
            Some(Product::Exchange2019)
        );
        assert_eq!(
            Product::of_build(b("15.2.2561.99")),
            Some(Product::Exchange2019)
        );
        assert_eq!(
            Product::of_build(b("15.2.2562.17")),
            Some(Product::ExchangeSe)
        );
        assert_eq!(
            Product::of_build(b("15.0.1497.2")),
            Some(Product::Exchange2013)
        );
        assert_eq!(Product::of_build(b("14.3.123.4")), None);
        assert_eq!(Product::ExchangeSe.to_string(), "Exchange Server SE");
        assert_eq!(Product::Exchange2016.to_string(), "Exchange Server 2016");
    }

    #[test]
    fn dotnet_names() {
        assert_eq!(dotnet_name(533320), "4.8.1");
        assert_eq!(dotnet_name(533325), "4.8.1");
        assert_eq!(dotnet_name(528040), "4.8");
        assert_eq!(dotnet_name(528049), "4.8");
        assert_eq!(dotnet_name(528372), "4.8");
        assert_eq!(dotnet_name(528449), "4.8");
        assert_eq!(dotnet_name(461808), "4.7.2");
        assert_eq!(dotnet_name(461814), "4.7.2");
        assert_eq!(dotnet_name(461308), "4.7.1");
        assert_eq!(dotnet_name(460805), "4.7");
        assert_eq!(dotnet_name(394802), "4.6.2");
        assert_eq!(dotnet_name(379893), "4.5.2");
        assert_eq!(dotnet_name(394271), "4.6.1");
        assert_eq!(dotnet_name(378000), "unknown (Release 378000)");
        assert_eq!(dotnet_version(528449), Some(528040));
        assert_eq!(dotnet_version(533509), Some(533320));
        assert_eq!(dotnet_version(461814), Some(461808));
        assert_eq!(dotnet_version(1), None);
        assert_eq!(dotnet_version_name(461308), "4.7.1");
    }

    #[test]
    fn windows_server_from_caption() {
        let cases = [
            (
                "Microsoft Windows Server 2022 Datacenter",
                Some(WindowsServer::Ws2022),
            ),
            (
                "Microsoft Windows Server 2019 Standard",
                Some(WindowsServer::Ws2019),
            ),
            (
                "Microsoft Windows Server 2025 Datacenter Evaluation",
                Some(WindowsServer::Ws2025),
            ),
            (
                "Microsoft Windows Server 2016 Datacenter",
                Some(WindowsServer::Ws2016),
            ),
            (
                "Microsoft Windows Server 2012 R2 Standard",
                Some(WindowsServer::Ws2012R2),
            ),
            (
                "Microsoft Windows Server 2012 Datacenter",
                Some(WindowsServer::Ws2012),
            ),
            (
                "Microsoft® Windows Server® 2012 Standard",
                Some(WindowsServer::Ws2012),
            ),
            (
                "microsoft windows server 2022 standard",
                Some(WindowsServer::Ws2022),
            ),
            ("Microsoft Windows Server 2008 R2 Enterprise", None),
            ("Microsoft Windows 11 Enterprise", None),
            ("Microsoft Windows Server Datacenter", None),
            ("", None),
        ];
        for (caption, expected) in cases {
            assert_eq!(WindowsServer::from_caption(caption), expected, "{caption}");
        }
        assert_eq!(WindowsServer::Ws2012R2.display(), "Windows Server 2012 R2");
    }
}
