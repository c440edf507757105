//! The registry and file system a server exposes, DERIVED from the world on
//! demand so there is one source of truth: the keys and files the checks
//! read (Exchange setup, .NET, uninstall entries, pending-reboot markers,
//! component states; ExSetup.exe, the setup log, config files). Read-only:
//! commands that change state change the world, never these views.

use super::components::ServiceState;
use super::model::{Server, StartType};
use super::spec::PendingReboot;
use super::worldinit::product_name;
use crate::build::ExchangeBuild;

#[derive(Debug, Clone, PartialEq)]
pub enum RegValue {
    String(String),
    DWord(u32),
    MultiString(Vec<String>),
}

/// One key: path relative to HKLM (e.g. `SOFTWARE\Microsoft\…`) and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct RegKey {
    pub path: String,
    pub values: Vec<(String, RegValue)>,
}

/// Turns `HKLM:\X`, `HKEY_LOCAL_MACHINE\X`, `Registry::HKEY_LOCAL_MACHINE\X`
/// (any case) into `X`; `None` for any other hive or a non-registry path.
pub fn hklm_relative(path: &str) -> Option<String> {
    let p = path.trim().replace('/', "\\");
    let lower = p.to_ascii_lowercase();
    let lower = lower
        .strip_prefix("microsoft.powershell.core\\")
        .unwrap_or(&lower);
    let lower = lower.strip_prefix("registry::").unwrap_or(lower);
    let prefix_len = [
        "hklm:\\",
        "hklm:",
        "hkey_local_machine\\",
        "hkey_local_machine",
    ]
    .iter()
    .find(|pre| lower.starts_with(*pre))?
    .len();
    let rest = &p[p.len() - lower.len() + prefix_len..];
    Some(rest.trim_matches('\\').to_string())
}

/// Whether the path names the registry at all (any hive), so callers can
/// tell "missing key" from "not a registry path".
pub fn is_registry_path(path: &str) -> bool {
    let l = path.trim().to_ascii_lowercase();
    [
        "hklm:",
        "hkcu:",
        "registry::",
        "hkey_",
        "microsoft.powershell.core\\registry::",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// .NET Ticks (100 ns since 0001-01-01) of a Unix-ms instant, as Exchange
/// stores component timestamps.
pub fn ticks(ms: i64) -> i64 {
    (ms + 62_135_596_800_000) * 10_000
}

const UNINSTALL: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";

fn s(v: impl Into<String>) -> RegValue {
    RegValue::String(v.into())
}

/// `Version` DWORD → `major.minor.build` as DisplayVersion shows it.
fn vc_display_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 24, (v >> 16) & 0xff, v & 0xffff)
}

/// Every key the server has, built fresh from its state.
pub fn keys(server: &Server) -> Vec<RegKey> {
    let b = &server.build;
    let key = |path: &str, values: Vec<(&str, RegValue)>| RegKey {
        path: path.to_string(),
        values: values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    };
    let cu_version = format!("{}.{}.{}.{}", b.major, b.minor, b.build, server.cu_revision);
    let mut out = vec![
        key(
            r"SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
            vec![
                ("MsiInstallPath", s(&server.install_path)),
                ("MsiProductMajor", RegValue::DWord(u32::from(b.major))),
                ("MsiProductMinor", RegValue::DWord(u32::from(b.minor))),
                ("MsiBuildMajor", RegValue::DWord(b.build)),
                ("MsiBuildMinor", RegValue::DWord(server.cu_revision)),
                ("Services", s(format!("{}Bin", server.install_path))),
            ],
        ),
        key(r"SOFTWARE\Microsoft\ExchangeServer\v15\MailboxRole", {
            // An upgrade under way or failed leaves the new build unpacked
            // but not configured, with the step it stopped at (ExchangeDsc
            // Test-ExchangeSetupPartiallyCompleted reads exactly these: any
            // Action or Watermark means unfinished). That ConfiguredVersion
            // keeps the build before it is UNVERIFIED.
            match &server.partial_setup {
                Some(p) => vec![
                    ("ConfiguredVersion", s(&p.previous)),
                    (
                        "UnpackedVersion",
                        s(format!(
                            "{}.{}.{}.{}",
                            p.unpacked.major,
                            p.unpacked.minor,
                            p.unpacked.build,
                            p.unpacked.revision
                        )),
                    ),
                    ("Action", s("BuildToBuildUpgrade")),
                    (
                        "Watermark",
                        s("BridgeheadRoleSetterComponent___115c1108e99e4560bd2c03c0fec99908"),
                    ),
                ],
                None => vec![
                    ("ConfiguredVersion", s(&cu_version)),
                    ("UnpackedVersion", s(&cu_version)),
                ],
            }
        }),
        key(
            r"SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full",
            vec![
                ("Install", RegValue::DWord(1)),
                ("Release", RegValue::DWord(server.dotnet_release)),
                ("TargetVersion", s("4.0.0")),
                ("Version", s(dotnet_version(server.dotnet_release))),
            ],
        ),
        key(
            r"SOFTWARE\Microsoft\Windows NT\CurrentVersion",
            vec![
                (
                    "ProductName",
                    s(server.os_caption.trim_start_matches("Microsoft ")),
                ),
                (
                    "CurrentBuildNumber",
                    s(server.os_version.rsplit('.').next().unwrap_or_default()),
                ),
            ],
        ),
        key(r"SYSTEM\CurrentControlSet\Control\Session Manager", {
            let mut v = vec![(
                "BootExecute",
                RegValue::MultiString(vec!["autocheck autochk *".to_string()]),
            )];
            if server.pending_reboot == Some(PendingReboot::FileRename) {
                v.push((
                    "PendingFileRenameOperations",
                    RegValue::MultiString(vec![
                        r"\??\C:\Windows\Temp\lab-pending.tmp".to_string(),
                        String::new(),
                    ]),
                ));
            }
            v
        }),
        key(
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing",
            vec![],
        ),
        key(
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update",
            vec![],
        ),
        key(UNINSTALL, vec![]),
    ];
    match server.pending_reboot {
        Some(PendingReboot::ComponentBasedServicing) => out.push(key(
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
            vec![],
        )),
        Some(PendingReboot::WindowsUpdate) => out.push(key(
            r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
            vec![],
        )),
        Some(PendingReboot::UpdateExeVolatile) => {
            out.push(key(
                r"SOFTWARE\Microsoft\Updates\UpdateExeVolatile",
                vec![("Flags", RegValue::DWord(1))],
            ));
        }
        _ => {}
    }
    // Uninstall entries. The VC++ product codes are the lab's own choice
    // (HealthChecker matches DisplayName `Microsoft Visual C++ 2012*`, not the
    // code); UCMA 4.0 and URL Rewrite 2.1 codes are the real ones.
    let uninstall = |code: &str, name: String, version: String, extra: Vec<(&str, RegValue)>| {
        let mut values = vec![
            ("DisplayName", s(name)),
            ("DisplayVersion", s(version)),
            ("Publisher", s("Microsoft Corporation")),
        ];
        values.extend(extra);
        key(&format!(r"{UNINSTALL}\{code}"), values)
    };
    if let Some(v) = server.vcredist_2012 {
        let dv = vc_display_version(v);
        out.push(uninstall(
            "{37B8F9C7-03FB-3253-8781-2517C99D7C00}",
            format!("Microsoft Visual C++ 2012 x64 Additional Runtime - {dv}"),
            dv,
            vec![("Version", RegValue::DWord(v))],
        ));
    }
    if let Some(v) = server.vcredist_2013 {
        let dv = vc_display_version(v);
        out.push(uninstall(
            "{53CF6934-A98D-3D84-9146-FC4EDF3D5641}",
            format!("Microsoft Visual C++ 2013 x64 Additional Runtime - {dv}"),
            dv,
            vec![("Version", RegValue::DWord(v))],
        ));
    }
    if server.ucma {
        out.push(uninstall(
            "{41D635FE-4F9D-47F7-8230-9B29D6D42D31}",
            "Microsoft Unified Communications Managed API 4.0, Runtime".to_string(),
            "5.0.8308.0".to_string(),
            vec![],
        ));
    }
    if server.url_rewrite {
        out.push(uninstall(
            "{9BCA2118-F753-4A1E-BCF3-5A820729965C}",
            "IIS URL Rewrite Module 2".to_string(),
            "7.2.1993".to_string(),
            vec![],
        ));
    }
    out.push(uninstall(
        "{CD95F661-A5C4-44F5-A6AA-ECDD91C240E3}",
        format!("{} Cumulative Update", product_name(b)),
        cu_version,
        vec![],
    ));
    for c in &server.components {
        if !c.local.is_empty() {
            out.push(RegKey {
                path: format!(
                    r"SOFTWARE\Microsoft\ExchangeServer\v15\ServerComponentStates\{}",
                    c.component
                ),
                values: c
                    .local
                    .iter()
                    .map(|e| {
                        (
                            e.requester.clone(),
                            s(format!(
                                "1:{}:{}",
                                state_int(e.state),
                                ticks(e.timestamp_ms)
                            )),
                        )
                    })
                    .collect(),
            });
        }
    }
    for svc in &server.services {
        out.push(key(
            &format!(r"SYSTEM\CurrentControlSet\Services\{}", svc.name),
            vec![
                ("DisplayName", s(&svc.display_name)),
                (
                    "Start",
                    RegValue::DWord(match svc.start_type {
                        StartType::Automatic => 2,
                        StartType::Manual => 3,
                        StartType::Disabled => 4,
                    }),
                ),
            ],
        ));
    }
    out
}

fn state_int(s: ServiceState) -> i64 {
    s.number()
}

fn dotnet_version(release: u32) -> &'static str {
    match release {
        533_320.. => "4.8.09032",
        528_040.. => "4.8.04084",
        461_808.. => "4.7.03062",
        _ => "4.6.01590",
    }
}

/// The key at `rel` (relative to HKLM, any case), if it exists.
pub fn open(server: &Server, rel: &str) -> Option<RegKey> {
    let rel = rel.trim_matches('\\');
    if let Some(k) = keys(server)
        .into_iter()
        .find(|k| k.path.eq_ignore_ascii_case(rel))
    {
        return Some(k);
    }
    // Ancestors of real keys exist too, without values the lab models.
    let prefix = format!("{}\\", rel.to_ascii_lowercase());
    let exists = rel.is_empty()
        || keys(server)
            .iter()
            .any(|k| k.path.to_ascii_lowercase().starts_with(&prefix));
    exists.then(|| RegKey {
        path: canonical_prefix(server, rel),
        values: Vec::new(),
    })
}

fn canonical_prefix(server: &Server, rel: &str) -> String {
    let n = rel.len();
    keys(server)
        .into_iter()
        .find(|k| k.path.len() > n && k.path[..n].eq_ignore_ascii_case(rel))
        .map_or_else(|| rel.to_string(), |k| k.path[..n].to_string())
}

/// Direct subkeys of `rel`, as full relative paths.
pub fn subkeys(server: &Server, rel: &str) -> Vec<String> {
    let rel = rel.trim_matches('\\');
    let prefix = if rel.is_empty() {
        String::new()
    } else {
        format!("{}\\", rel.to_ascii_lowercase())
    };
    let mut out: Vec<String> = Vec::new();
    for k in keys(server) {
        if !k.path.to_ascii_lowercase().starts_with(&prefix) || k.path.len() == prefix.len() {
            continue;
        }
        let rest = &k.path[prefix.len()..];
        let child = rest.split('\\').next().unwrap_or(rest);
        let full = format!("{}{child}", &k.path[..prefix.len()]);
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&full)) {
            out.push(full);
        }
    }
    out
}

/// A file on the server: its content (text) and when it was last written.
#[derive(Debug, Clone, PartialEq)]
pub struct LabFile {
    pub full_name: String,
    pub content: String,
    pub last_write_ms: i64,
    /// Binaries (executables, packages): made-up size and hash, and the
    /// version resource when the file has one.
    pub binary: Option<Binary>,
}

/// What the lab knows of a binary file.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub length: i64,
    /// Upper-case hex SHA-256.
    pub sha256: String,
    /// FileVersionInfo's version; `None` for files without a version
    /// resource (an `.msp` is an OLE package, not a PE file).
    pub version: Option<ExchangeBuild>,
}

pub const SETUP_LOG: &str = r"C:\ExchangeSetupLogs\ExchangeSetup.log";

/// Every file the lab derives from `server`'s state (the world adds media
/// and the files commands wrote: see `filestore.rs`).
pub fn files(server: &Server) -> Vec<LabFile> {
    let ip = &server.install_path;
    let file = |path: String, content: String| LabFile {
        full_name: path,
        content,
        last_write_ms: server.last_install_ms,
        binary: None,
    };
    let exe = |path: String, version: Option<ExchangeBuild>, length: i64| {
        let build = version.unwrap_or(server.build);
        LabFile {
            binary: Some(Binary {
                length,
                sha256: super::filestore::media_sha256(&path, &build),
                version,
            }),
            ..file(path, String::new())
        }
    };
    let script = "# Microsoft Exchange Server script (the lab answers it itself)\r\n".to_string();
    let mut setup_log = file(SETUP_LOG.to_string(), server.setup_log.clone());
    setup_log.last_write_ms = server.setup_log_written_ms;
    let mut out = vec![
        exe(format!(r"{ip}bin\ExSetup.exe"), Some(server.build), 35_128),
        exe(format!(r"{ip}bin\Setup.exe"), Some(server.build), 30_512),
        file(
            format!(r"{ip}Scripts\RedistributeActiveDatabases.ps1"),
            script.clone(),
        ),
        file(
            format!(r"{ip}Scripts\StartDagServerMaintenance.ps1"),
            script.clone(),
        ),
        file(format!(r"{ip}Scripts\StopDagServerMaintenance.ps1"), script),
        setup_log,
    ];
    // The web.config / *.exe.config files are world state (configfiles.rs):
    // a CU rewrites them, and the config backup reads them.
    out.extend(server.config_files.iter().map(|c| LabFile {
        full_name: c.full_name.clone(),
        content: c.content.to_string(),
        last_write_ms: c.last_write_ms,
        binary: None,
    }));
    out
}

/// Normalises a file path for comparison: backslashes, no doubled or trailing separators.
pub fn normalize_file_path(path: &str) -> String {
    let p = path.trim().trim_matches('"').replace('/', "\\");
    let mut out = String::with_capacity(p.len());
    for ch in p.chars() {
        if ch == '\\' && out.ends_with('\\') {
            continue;
        }
        out.push(ch);
    }
    out.trim_end_matches('\\').to_string()
}
