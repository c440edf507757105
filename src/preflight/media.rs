//! The setup-media check before the first server: on each server that
//! needs the upgrade, `[rollout] setup_path` exists, is the target CU's
//! `Setup.exe` (its file version), and matches `setup_sha256` when given;
//! the SU's `.msp` (`su_path`) exists and matches `su_sha256` when given.
//! A wrong or missing file blocks the rollout before anything changes —
//! setup from the wrong media is the trap that "succeeds" without
//! upgrading (exchange-facts.md §4). Read-only: one observation script,
//! and pure decisions over what it printed.

use serde::Deserialize;

use crate::catalog::{Catalog, ExchangeBuild};
use crate::exchange::{self, Operation, QueryError};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::ps::{Arg, Script};

/// Reads both media files on the server it runs on. `Test-Path -PathType
/// Leaf` first (a missing file is an answer, not an error); the version is
/// the file's `VersionInfo` (`15.02.1748.010` on Setup.exe; an `.msp` has
/// no version resource, so null); the hash only when the plan gives one.
pub const MEDIA_CHECK: &str = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$checks = @(
    @{ Role = 'setup'; Path = {{setup_path}}; Hash = {{setup_hash}} },
    @{ Role = 'su'; Path = {{su_path}}; Hash = {{su_hash}} }
)
$files = @()
foreach ($c in $checks) {
    if (-not $c.Path) { continue }
    $exists = Test-Path -LiteralPath $c.Path -PathType Leaf
    $fileVersion = $null
    $productVersion = $null
    $sha256 = $null
    if ($exists) {
        $item = Get-Item -LiteralPath $c.Path
        $fileVersion = $item.VersionInfo.FileVersion
        $productVersion = $item.VersionInfo.ProductVersion
        if ($c.Hash) { $sha256 = (Get-FileHash -LiteralPath $c.Path -Algorithm SHA256).Hash }
    }
    $files += [pscustomobject]@{
        Role = $c.Role
        Path = $c.Path
        Exists = $exists
        FileVersion = $fileVersion
        ProductVersion = $productVersion
        Sha256 = $sha256
    }
}
[pscustomobject]@{ Files = $files } | ConvertTo-Json -Depth 3 -Compress
"#;

/// One media file as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaFileObs {
    /// `setup` or `su`.
    pub role: String,
    pub path: String,
    pub exists: bool,
    #[serde(default)]
    pub file_version: Option<String>,
    #[serde(default)]
    pub product_version: Option<String>,
    /// Upper-case hex, as `Get-FileHash` prints it; only when asked for.
    #[serde(default)]
    pub sha256: Option<String>,
}

impl MediaFileObs {
    /// The version the file reports: FileVersion, else ProductVersion.
    pub fn build(&self) -> Option<ExchangeBuild> {
        [&self.file_version, &self.product_version]
            .into_iter()
            .flatten()
            .find_map(|v| v.trim().parse().ok())
    }

    fn shown_version(&self) -> String {
        self.file_version
            .clone()
            .or_else(|| self.product_version.clone())
            .unwrap_or_else(|| "none".into())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaObs {
    #[serde(default)]
    pub files: Vec<MediaFileObs>,
}

impl MediaObs {
    fn role(&self, role: &str) -> Option<&MediaFileObs> {
        self.files
            .iter()
            .find(|f| f.role.eq_ignore_ascii_case(role))
    }
}

/// The media script for these paths; `*_hash` asks for `Get-FileHash`.
pub fn media_script_for(
    setup_path: &str,
    setup_hash: bool,
    su_path: Option<&str>,
    su_hash: bool,
) -> Script {
    Script::render(
        "checking the setup media",
        MEDIA_CHECK,
        &[
            ("setup_path", Arg::Str(setup_path)),
            ("setup_hash", Arg::Bool(setup_hash)),
            ("su_path", Arg::Str(su_path.unwrap_or(""))),
            ("su_hash", Arg::Bool(su_hash)),
        ],
    )
}

/// The media script for the plan.
pub fn media_script(plan: &Plan) -> Script {
    let r = &plan.rollout;
    media_script_for(
        &r.setup_path,
        r.setup_sha256.is_some(),
        r.su_path.as_deref(),
        r.su_sha256.is_some(),
    )
}

/// Runs the media check on one server.
pub fn observe_media(
    reach: &exchange::Reach<'_>,
    plan: &Plan,
    server: &Server,
) -> Result<MediaObs, QueryError> {
    exchange::query(reach, server, &Operation::on_target(media_script(plan)))
}

/// Which media this server needs: `setup` when it is below the target CU
/// (or AD preparation will run from it), `su` when the plan installs an SU
/// it does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaNeeds {
    pub setup: bool,
    pub su: bool,
}

impl MediaNeeds {
    /// What a server at `build` needs for `target`; `ad_prep_runs` when
    /// cu-roll will run `/Prepare*` (from the first server rolled, which
    /// the pre-flight cannot know yet: so every server needs setup media).
    pub fn of(
        plan: &Plan,
        target: &ResolvedTarget,
        build: ExchangeBuild,
        ad_prep_runs: bool,
    ) -> MediaNeeds {
        MediaNeeds {
            setup: build < target.cu.build || (ad_prep_runs && build < target.build()),
            su: plan.rollout.su_path.is_some()
                && target.su.as_ref().is_some_and(|su| build < su.build),
        }
    }
}

/// Every reason the media on `server` stops the rollout, in words.
pub fn media_blockers(
    plan: &Plan,
    target: &ResolvedTarget,
    catalog: &Catalog,
    server: &str,
    obs: &MediaObs,
    needs: MediaNeeds,
) -> Vec<String> {
    let mut out = Vec::new();
    if needs.setup {
        let path = &plan.rollout.setup_path;
        let expected = target.cu.build;
        match obs.role("setup") {
            Some(f) if f.exists => {
                match f.build() {
                    Some(found) if found == expected => {}
                    Some(found) => out.push(format!(
                        "setup media {path} on {server} is version {found} ({}), not the target's {expected} ({}): stage the {} media there",
                        catalog.identify(found).name(),
                        target.cu.display_name(),
                        target.cu.display_name()
                    )),
                    None => out.push(format!(
                        "setup media {path} on {server} has no readable file version (found {}), expected {expected} ({}): is it the Exchange Setup.exe?",
                        f.shown_version(),
                        target.cu.display_name()
                    )),
                }
                if let Some(want) = &plan.rollout.setup_sha256 {
                    out.extend(hash_problem("setup media", "setup_sha256", server, f, want));
                }
            }
            _ => out.push(format!(
                "setup media {path} does not exist on {server}: stage the {} media (expected version {expected}) on its local disk at that path",
                target.cu.display_name()
            )),
        }
    }
    if needs.su {
        if let (Some(path), Some(su)) = (&plan.rollout.su_path, &target.su) {
            match obs.role("su") {
                Some(f) if f.exists => {
                    if let Some(want) = &plan.rollout.su_sha256 {
                        out.extend(hash_problem("security update", "su_sha256", server, f, want));
                    }
                }
                _ => out.push(format!(
                    "security update {path} does not exist on {server}: copy the {} .msp ({}) to its local disk at that path",
                    su.name, su.build
                )),
            }
        }
    }
    out
}

/// A hash mismatch (case-insensitive: `Get-FileHash` prints upper case,
/// the plan keeps lower case).
fn hash_problem(
    what: &str,
    key: &str,
    server: &str,
    f: &MediaFileObs,
    want: &str,
) -> Option<String> {
    match &f.sha256 {
        Some(found) if found.trim().eq_ignore_ascii_case(want) => None,
        Some(found) => Some(format!(
            "{what} {} on {server} has SHA-256 {}, not the plan's {key} {want}: the file differs from the one you verified (an incomplete copy, or other media); stage it again",
            f.path,
            found.trim().to_ascii_lowercase()
        )),
        None => Some(format!(
            "{what} {} on {server}: Get-FileHash returned no hash, so the plan's {key} cannot be checked",
            f.path
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(extra: &str) -> Plan {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
            .unwrap()
            .replacen(
                "diagnostic_data = \"off\"",
                &format!("{extra}\ndiagnostic_data = \"off\""),
                1,
            );
        crate::plan::parse(&text, std::path::Path::new("plans/lab.toml")).unwrap()
    }

    fn target(p: &Plan) -> ResolvedTarget {
        crate::plan::resolve_target(p, Catalog::embedded()).unwrap()
    }

    fn file(role: &str, path: &str, version: Option<&str>, sha: Option<&str>) -> MediaFileObs {
        MediaFileObs {
            role: role.into(),
            path: path.into(),
            exists: true,
            file_version: version.map(Into::into),
            product_version: version.map(Into::into),
            sha256: sha.map(Into::into),
        }
    }

    const BOTH: MediaNeeds = MediaNeeds {
        setup: true,
        su: true,
    };

    #[test]
    fn the_right_media_blocks_nothing() {
        let p = plan("");
        let obs = MediaObs {
            files: vec![
                file("setup", "D:\\Setup.exe", Some("15.02.1748.010"), None),
                file(
                    "su",
                    "C:\\Updates\\Exchange2019-CU15-Feb26SU.msp",
                    None,
                    None,
                ),
            ],
        };
        assert!(
            media_blockers(&p, &target(&p), Catalog::embedded(), "EX02", &obs, BOTH).is_empty()
        );
    }

    #[test]
    fn wrong_version_names_server_path_found_and_expected() {
        let p = plan("");
        let obs = MediaObs {
            files: vec![
                file("setup", "D:\\Setup.exe", Some("15.02.1544.004"), None),
                file(
                    "su",
                    "C:\\Updates\\Exchange2019-CU15-Feb26SU.msp",
                    None,
                    None,
                ),
            ],
        };
        let b = media_blockers(&p, &target(&p), Catalog::embedded(), "EX02", &obs, BOTH);
        assert_eq!(b.len(), 1, "{b:?}");
        for part in [
            "D:\\Setup.exe",
            "EX02",
            "15.2.1544.4",
            "15.2.1748.10",
            "CU14",
            "CU15",
        ] {
            assert!(b[0].contains(part), "{part} missing: {}", b[0]);
        }
    }

    #[test]
    fn hashes_compare_case_insensitively() {
        let want = "ab".repeat(32);
        let p = plan(&format!(
            "setup_sha256 = \"{want}\"\nsu_sha256 = \"{}\"",
            "cd".repeat(32)
        ));
        let t = target(&p);
        let obs = MediaObs {
            files: vec![
                file(
                    "setup",
                    "D:\\Setup.exe",
                    Some("15.02.1748.010"),
                    Some(&want.to_uppercase()),
                ),
                file(
                    "su",
                    "C:\\Updates\\Exchange2019-CU15-Feb26SU.msp",
                    None,
                    Some(&"EE".repeat(32)),
                ),
            ],
        };
        let b = media_blockers(&p, &t, Catalog::embedded(), "EX03", &obs, BOTH);
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(
            b[0].contains("su_sha256") && b[0].contains(&"ee".repeat(32)),
            "{}",
            b[0]
        );
    }

    #[test]
    fn missing_files_block_only_where_needed() {
        let p = plan("");
        let t = target(&p);
        let obs = MediaObs {
            files: vec![MediaFileObs {
                exists: false,
                ..file("setup", "D:\\Setup.exe", None, None)
            }],
        };
        let b = media_blockers(&p, &t, Catalog::embedded(), "EX02", &obs, BOTH);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].contains("does not exist on EX02"), "{}", b[0]);
        assert!(b[1].contains("Feb26SU"), "{}", b[1]);
        let su_only = MediaNeeds {
            setup: false,
            su: false,
        };
        assert!(media_blockers(&p, &t, Catalog::embedded(), "EX02", &obs, su_only).is_empty());
    }

    #[test]
    fn needs_follow_the_installed_build() {
        let p = plan("");
        let t = target(&p);
        let b = |s: &str| s.parse::<ExchangeBuild>().unwrap();
        assert_eq!(
            MediaNeeds::of(&p, &t, b("15.2.1544.39"), false),
            MediaNeeds {
                setup: true,
                su: true
            }
        );
        // CU15 without the SU: only the .msp (unless AD preparation runs from it).
        assert_eq!(
            MediaNeeds::of(&p, &t, b("15.2.1748.10"), false),
            MediaNeeds {
                setup: false,
                su: true
            }
        );
        assert_eq!(
            MediaNeeds::of(&p, &t, b("15.2.1748.10"), true),
            MediaNeeds {
                setup: true,
                su: true
            }
        );
        assert_eq!(
            MediaNeeds::of(&p, &t, t.build(), true),
            MediaNeeds {
                setup: false,
                su: false
            }
        );
    }
}
