//! Reading a server's config files over the executor: one script lists
//! them with their size, `Get-FileHash` SHA256 and last write time, and
//! returns the bytes (base64) of every file of at most `chunk_bytes` in the
//! same answer, up to [`INLINE_BUDGET`] in all: one call per server for
//! the usual set (issue 13; it was one call per file, 26 per server). A
//! larger file's bytes come back in chunks of at most `chunk_bytes`, read
//! with `ReadAllBytes` and sliced. Every file is checked against its
//! listed hash. WinRS delivers a long stdout over several Receive
//! responses, so one large answer stays within `MaxEnvelopeSizekb`.

use base64::Engine;
use serde::Deserialize;

use super::BackupError;
use crate::exec::Executor;
use crate::plan::Server;
use crate::ps::{parse_json, Arg, Script};

/// The default largest slice of a file read per call (512 KiB).
pub const DEFAULT_CHUNK_BYTES: usize = 512 * 1024;

/// Folders under the install path whose `web.config` files (recursively)
/// are backed up: the back-end and front-end web applications.
pub const WEB_CONFIG_ROOTS: [&str; 2] = ["ClientAccess", r"FrontEnd\HttpProxy"];

/// Single files under the install path that are backed up; one that is
/// absent is a warning (an Edge-less or older install may lack one).
pub const EXPECTED_FILES: [&str; 6] = [
    r"ClientAccess\SharedWebConfig.config",
    r"FrontEnd\HttpProxy\SharedWebConfig.config",
    r"Bin\EdgeTransport.exe.config",
    r"Bin\MSExchangeFrontEndTransport.exe.config",
    r"Bin\MSExchangeDelivery.exe.config",
    r"Bin\MSExchangeSubmission.exe.config",
];

/// The backup's name for IIS's applicationHost.config, which lives outside
/// the install path.
pub const APPLICATION_HOST_ENTRY: &str = "IIS/applicationHost.config";

/// The most file bytes one listing returns (before base64); files past it
/// are read in chunks.
pub const INLINE_BUDGET: usize = 8 * 1024 * 1024;

/// Lists every file to back up as JSON, with the bytes of each file of at
/// most `{{inline}}` bytes while the total stays under `{{budget}}`. The install path is
/// `$env:ExchangeInstallPath` (set machine-wide by setup), or the
/// registry's `MsiInstallPath` when the variable is absent (a session
/// started before setup set it). A missing folder or file goes to
/// `Missing` instead of failing the script.
const LIST_CONFIG_FILES: &str = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$install = $env:ExchangeInstallPath
if (-not $install) {
    $install = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup' -Name 'MsiInstallPath').MsiInstallPath
}
$items = @()
$missing = @()
foreach ($folder in @('ClientAccess', 'FrontEnd\HttpProxy')) {
    $root = Join-Path -Path $install -ChildPath $folder
    if (Test-Path -LiteralPath $root -PathType Container) {
        $items += @(Get-ChildItem -LiteralPath $root -Recurse -Filter 'web.config' -File)
    } else {
        $missing += $root
    }
}
foreach ($relative in @('ClientAccess\SharedWebConfig.config', 'FrontEnd\HttpProxy\SharedWebConfig.config', 'Bin\EdgeTransport.exe.config', 'Bin\MSExchangeFrontEndTransport.exe.config', 'Bin\MSExchangeDelivery.exe.config', 'Bin\MSExchangeSubmission.exe.config')) {
    $path = Join-Path -Path $install -ChildPath $relative
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $items += Get-Item -LiteralPath $path
    } else {
        $missing += $path
    }
}
$bin = Join-Path -Path $install -ChildPath 'Bin'
if (Test-Path -LiteralPath $bin -PathType Container) {
    $items += @(Get-ChildItem -LiteralPath $bin -Filter '*.exe.config' -File)
}
$iis = Join-Path -Path $env:windir -ChildPath 'System32\inetsrv\config\applicationHost.config'
if (Test-Path -LiteralPath $iis -PathType Leaf) {
    $items += Get-Item -LiteralPath $iis
}
$used = 0
$files = @(foreach ($item in $items) {
    $data = $null
    if ($item.Length -le {{inline}} -and ($used + $item.Length) -le {{budget}}) {
        $bytes = [System.IO.File]::ReadAllBytes($item.FullName)
        $data = [Convert]::ToBase64String($bytes, 0, $bytes.Length)
        $used = $used + $bytes.Length
    }
    [pscustomobject]@{
        Path = $item.FullName
        Length = $item.Length
        Sha256 = (Get-FileHash -LiteralPath $item.FullName -Algorithm 'SHA256').Hash
        LastWriteTimeUtc = $item.LastWriteTimeUtc.ToString('o')
        Data = $data
    }
})
ConvertTo-Json -InputObject ([pscustomobject]@{ InstallPath = $install; Files = $files; Missing = $missing }) -Depth 3 -Compress
"#;

/// One slice of a file as base64, with the file's current length so a
/// file that grew or shrank between calls is noticed.
const READ_CHUNK: &str = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$bytes = [System.IO.File]::ReadAllBytes({{path}})
$offset = {{offset}}
$count = [Math]::Max(0, [Math]::Min({{count}}, $bytes.Length - $offset))
ConvertTo-Json -InputObject ([pscustomobject]@{ Length = $bytes.Length; Data = [Convert]::ToBase64String($bytes, $offset, $count) }) -Compress
"#;

/// The listing script, returning the bytes of files of at most
/// `options.chunk_bytes`. The folder and file names are the constants
/// `WEB_CONFIG_ROOTS` and `EXPECTED_FILES`, written into the template as
/// literals (a test keeps the two in step), plus every `Bin\*.exe.config`
/// (the real-exchange review, §20: `Bin\MSExchangeMailboxReplication.exe.config`,
/// MRS throttling, "is the most common edit", and the other `Bin\*.exe.config`),
/// and IIS's `%windir%\System32\inetsrv\config\applicationHost.config`
/// (sites, bindings, redirects, headers: §20; its place is Microsoft
/// Learn's "Introduction to ApplicationHost.config"), kept as the entry
/// [`APPLICATION_HOST_ENTRY`] — backed up and compared, never restored.
/// A server without it has no IIS (an Edge Transport server): no warning.
pub fn list_script(options: &FetchOptions) -> Script {
    let inline = i64::try_from(options.chunk_bytes.max(1)).unwrap_or(i64::MAX);
    let budget = i64::try_from(INLINE_BUDGET).unwrap_or(i64::MAX);
    Script::render(
        "listing and reading the config files",
        LIST_CONFIG_FILES,
        &[("inline", Arg::Int(inline)), ("budget", Arg::Int(budget))],
    )
}

/// The script reading `count` bytes of `path` from `offset`.
pub fn chunk_script(path: &str, offset: u64, count: usize) -> Script {
    Script::render(
        "reading a config file",
        READ_CHUNK,
        &[
            ("path", Arg::Str(path)),
            (
                "offset",
                Arg::Int(i64::try_from(offset).unwrap_or(i64::MAX)),
            ),
            ("count", Arg::Int(i64::try_from(count).unwrap_or(i64::MAX))),
        ],
    )
}

/// How files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The largest slice read per call (at least 1).
    pub chunk_bytes: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            chunk_bytes: DEFAULT_CHUNK_BYTES,
        }
    }
}

/// A file as the listing described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The full path on the server.
    pub path: String,
    /// Relative to the install path with `/`, e.g. `ClientAccess/Owa/web.config`.
    pub relative: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// `LastWriteTimeUtc` as the server printed it (ISO 8601).
    pub modified: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    pub meta: RemoteFile,
    pub bytes: Vec<u8>,
}

/// Everything read from one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub server: String,
    pub fqdn: String,
    pub install_path: String,
    pub files: Vec<FetchedFile>,
    /// Expected folders or files that were not there.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listing {
    install_path: String,
    #[serde(default)]
    files: Vec<ListedFile>,
    #[serde(default)]
    missing: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedFile {
    path: String,
    length: u64,
    sha256: String,
    last_write_time_utc: String,
    /// The bytes as base64, when the listing returned them.
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Chunk {
    length: u64,
    data: String,
}

/// Runs `script` and parses its JSON, or says which step failed where.
fn run_json<T: serde::de::DeserializeOwned>(
    exec: &dyn Executor,
    server: &Server,
    script: &Script,
) -> Result<T, BackupError> {
    let out = exec.run_ps(server, script.text())?;
    if !out.success() {
        return Err(BackupError::Script {
            what: script.purpose,
            server: server.name.clone(),
            exit_code: out.exit_code,
            detail: crate::exchange::first_error_line(&out.stderr),
        });
    }
    parse_json(&out.stdout).map_err(|e| BackupError::BadOutput {
        what: script.purpose,
        server: server.name.clone(),
        detail: e.to_string(),
    })
}

/// `full` relative to `install` (case-insensitive, as Windows paths are),
/// with forward slashes; IIS's applicationHost.config is
/// [`APPLICATION_HOST_ENTRY`]; another path outside the install goes under
/// `outside/`.
fn relative_to(install: &str, full: &str) -> String {
    if full
        .to_ascii_lowercase()
        .ends_with(r"\system32\inetsrv\config\applicationhost.config")
    {
        return APPLICATION_HOST_ENTRY.to_string();
    }
    let base = install.trim_end_matches('\\');
    let inside = full.len() > base.len()
        && full.is_char_boundary(base.len())
        && full[..base.len()].eq_ignore_ascii_case(base);
    if inside {
        return full[base.len()..]
            .trim_start_matches('\\')
            .replace('\\', "/");
    }
    // Outside the install (a junction resolved elsewhere): kept apart so
    // it cannot collide with an install-relative name.
    format!(
        "outside/{}",
        full.replace(':', "")
            .trim_start_matches('\\')
            .replace('\\', "/")
    )
}

/// Lists and reads every config file on `server`.
pub fn fetch_configs(
    exec: &dyn Executor,
    server: &Server,
    options: &FetchOptions,
) -> Result<Fetched, BackupError> {
    let listing: Listing = run_json(exec, server, &list_script(options))?;
    let mut warnings: Vec<String> = listing
        .missing
        .iter()
        .map(|m| {
            format!(
                "{m} does not exist on {}; nothing to back up there",
                server.name
            )
        })
        .collect();
    let mut files = Vec::with_capacity(listing.files.len());
    let mut seen: Vec<String> = Vec::new();
    for f in listing.files {
        // A folder listed twice (a junction) must not yield the file twice.
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&f.path)) {
            continue;
        }
        seen.push(f.path.clone());
        let meta = RemoteFile {
            relative: relative_to(&listing.install_path, &f.path),
            path: f.path.clone(),
            size: f.length,
            sha256: f.sha256.to_ascii_lowercase(),
            modified: f.last_write_time_utc,
        };
        let bytes = match &f.data {
            Some(data) => checked(server, &meta, decode(server, &meta, data)?)?,
            None => read_file(exec, server, &meta, options.chunk_bytes.max(1))?,
        };
        files.push(FetchedFile { meta, bytes });
    }
    if files.is_empty() {
        warnings.push(format!(
            "no config file was found under {} on {}",
            listing.install_path, server.name
        ));
    }
    Ok(Fetched {
        server: server.name.clone(),
        fqdn: server.fqdn.clone(),
        install_path: listing.install_path,
        files,
        warnings,
    })
}

/// Reads one file in slices of at most `chunk` bytes and checks the
/// result against the listed size and sha256.
fn read_file(
    exec: &dyn Executor,
    server: &Server,
    meta: &RemoteFile,
    chunk: usize,
) -> Result<Vec<u8>, BackupError> {
    let changed = |detail: String| BackupError::ChangedWhileReading {
        server: server.name.clone(),
        path: meta.path.clone(),
        detail,
    };
    let mut bytes: Vec<u8> = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
    while (bytes.len() as u64) < meta.size {
        let part: Chunk = run_json(
            exec,
            server,
            &chunk_script(&meta.path, bytes.len() as u64, chunk),
        )?;
        if part.length != meta.size {
            return Err(changed(format!(
                "it was {} bytes when listed and is {} bytes now",
                meta.size, part.length
            )));
        }
        let data = decode(server, meta, &part.data)?;
        if data.is_empty() || data.len() > chunk {
            return Err(BackupError::BadOutput {
                what: "reading a config file",
                server: server.name.clone(),
                detail: format!(
                    "asked for at most {chunk} bytes of {} at offset {}, got {}",
                    meta.path,
                    bytes.len(),
                    data.len()
                ),
            });
        }
        bytes.extend_from_slice(&data);
    }
    checked(server, meta, bytes)
}

/// A file's bytes from the base64 a script printed.
fn decode(server: &Server, meta: &RemoteFile, data: &str) -> Result<Vec<u8>, BackupError> {
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| BackupError::BadOutput {
            what: "reading a config file",
            server: server.name.clone(),
            detail: format!("the base64 of {} does not decode: {e}", meta.path),
        })
}

/// `bytes` when they are the listed size and hash to the listed sha256.
fn checked(server: &Server, meta: &RemoteFile, bytes: Vec<u8>) -> Result<Vec<u8>, BackupError> {
    let changed = |detail: String| BackupError::ChangedWhileReading {
        server: server.name.clone(),
        path: meta.path.clone(),
        detail,
    };
    if bytes.len() as u64 != meta.size {
        return Err(changed(format!(
            "it was {} bytes when listed and {} bytes were read",
            meta.size,
            bytes.len()
        )));
    }
    let got = super::sha256_hex(&bytes);
    if got != meta.sha256 {
        return Err(changed(format!(
            "Get-FileHash said sha256 {} but the bytes read hash to {got}",
            meta.sha256
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_use_forward_slashes_under_the_install() {
        let ip = r"C:\Program Files\Microsoft\Exchange Server\V15\";
        assert_eq!(
            relative_to(
                ip,
                r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\Owa\web.config"
            ),
            "ClientAccess/Owa/web.config"
        );
        assert_eq!(
            relative_to(
                ip,
                r"c:\program files\microsoft\exchange server\v15\Bin\EdgeTransport.exe.config"
            ),
            "Bin/EdgeTransport.exe.config"
        );
        assert_eq!(
            relative_to(ip, r"D:\Exchange\web.config"),
            "outside/D/Exchange/web.config"
        );
    }

    #[test]
    fn chunk_script_quotes_the_path() {
        let s = chunk_script(r"C:\It's\web.config", 1024, 512);
        assert!(s.text().contains(r"ReadAllBytes('C:\It''s\web.config')"));
        assert!(s.text().contains("$offset = 1024"));
        assert!(s.text().contains("[Math]::Min(512,"));
    }

    #[test]
    fn listing_script_names_every_expected_file() {
        let s = list_script(&FetchOptions::default());
        for f in EXPECTED_FILES {
            assert!(s.text().contains(&crate::ps::quote(f)), "{f}");
        }
        let roots: Vec<String> = WEB_CONFIG_ROOTS
            .iter()
            .map(|r| crate::ps::quote(r))
            .collect();
        assert!(s.text().contains(&format!("@({})", roots.join(", "))));
    }
}
