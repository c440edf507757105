//! Catalogue updates: where the user's stored catalogue lives, fetching a
//! newer catalogue file (an `http(s)://` URL or a local file), checking its
//! sha256, its format and cu-roll compatibility (via [`Catalog::from_toml`])
//! and that it is not older than the embedded one, storing it atomically,
//! removing it, and choosing the catalogue every command uses
//! ([`active`]: the stored file when there is one, else the embedded one).
//!
//! This is the only place in the catalogue module that touches the network
//! or the file system, and only when the admin runs `cu-roll catalog
//! update`; it never talks to an Exchange server. It must not fall back
//! silently: a stored file that no longer loads is an error naming it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::load::{Catalog, CatalogError};

/// Environment variable naming the directory that holds the stored
/// catalogue; overrides the platform's configuration directory (tests and
/// admins point it elsewhere).
pub const CONFIG_DIR_ENV: &str = "CU_ROLL_CONFIG_DIR";

/// File name of the stored catalogue inside the configuration directory.
pub const OVERRIDE_FILE: &str = "catalog.toml";

/// The largest catalogue file accepted. The embedded one is about 30 KiB; a
/// cap keeps a wrong URL (an ISO, a log) from filling memory.
pub const MAX_CATALOG_BYTES: u64 = 4 * 1024 * 1024;

/// How long a download may take in all: connecting, headers and body.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a catalogue update, reset or the stored catalogue was refused. Every
/// message names the file or URL and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot tell where to store the catalogue: this system reports no configuration directory; set {CONFIG_DIR_ENV} to a directory")]
    NoConfigDir,
    #[error("--from {given}: {reason}")]
    BadSource { given: String, reason: String },
    #[error("--sha256 {given}: not a SHA-256 hash; give the 64 hexadecimal digits published with the catalogue")]
    BadSha256 { given: String },
    #[error("cannot fetch {url}: {detail}; check the URL and the network (nothing stored)")]
    Fetch { url: String, detail: String },
    #[error("cannot fetch {url}: the server answered HTTP {status} (nothing stored)")]
    HttpStatus { url: String, status: u16 },
    #[error("cannot read {path}: {detail} (nothing stored)")]
    ReadFile { path: String, detail: String },
    #[error(
        "{source_name} is larger than {limit} bytes; that is not a catalogue file (nothing stored)"
    )]
    TooLarge { source_name: String, limit: u64 },
    #[error("{source_name} is not UTF-8 text; that is not a catalogue file (nothing stored)")]
    NotText { source_name: String },
    #[error("sha256 mismatch for {source_name}: expected {expected}, got {actual}; the file is not the one published (nothing stored)")]
    HashMismatch {
        source_name: String,
        expected: String,
        actual: String,
    },
    #[error("{source_name} is refused: {error} (nothing stored)")]
    Invalid {
        source_name: String,
        error: CatalogError,
    },
    #[error("{source_name} is older than the catalogue built into this cu-roll ({detail}); nothing stored. A catalogue update must list everything the built-in one does")]
    Older { source_name: String, detail: String },
    #[error("{source_name} lowers what the built-in catalogue requires, which would switch off cu-roll's checks: {}; nothing stored. If that is intended (Microsoft lowered a requirement), run again with --allow-lower", lowered.join("; "))]
    Lowers {
        source_name: String,
        lowered: Vec<String>,
    },
    #[error("cannot store the catalogue in {path}: {detail}; check that the directory is writable or set {CONFIG_DIR_ENV}")]
    Store { path: String, detail: String },
    #[error("cannot remove the stored catalogue {path}: {detail}")]
    Remove { path: String, detail: String },
    #[error("the stored catalogue {path} cannot be used: {detail}; fix it, replace it with `cu-roll catalog update --from …`, or remove it with `cu-roll catalog update --reset`")]
    BrokenOverride { path: String, detail: String },
}

impl UpdateError {
    /// Whether the failure is the input's fault (a refused file, hash or
    /// argument) rather than the network's or the file system's.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            UpdateError::Fetch { .. }
                | UpdateError::HttpStatus { .. }
                | UpdateError::Store { .. }
                | UpdateError::Remove { .. }
        )
    }
}

/// Where a new catalogue comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http://` or `https://` URL.
    Url(String),
    /// A local file.
    File(PathBuf),
}

impl Source {
    /// `http://…`/`https://…` is a URL; any other `scheme://` is refused
    /// (a typo such as `htps://` must not be read as a relative path);
    /// everything else is a file path.
    pub fn parse(given: &str) -> Result<Source, UpdateError> {
        let lower = given.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Source::Url(given.to_string()));
        }
        if let Some((scheme, _)) = given.split_once("://") {
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(UpdateError::BadSource {
                    given: given.to_string(),
                    reason: format!("{scheme}:// is not supported; give an http:// or https:// URL or a file path"),
                });
            }
        }
        if given.trim().is_empty() {
            return Err(UpdateError::BadSource {
                given: given.to_string(),
                reason: "empty; give an http:// or https:// URL or a file path".to_string(),
            });
        }
        Ok(Source::File(PathBuf::from(given)))
    }

    /// How messages name the source.
    pub fn name(&self) -> String {
        match self {
            Source::Url(url) => url.clone(),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// A URL that is not encrypted: nothing but `--sha256` vouches for what
    /// arrives.
    pub fn is_plain_http(&self) -> bool {
        matches!(self, Source::Url(u) if u.to_ascii_lowercase().starts_with("http://"))
    }
}

/// The directory holding the stored catalogue: `$CU_ROLL_CONFIG_DIR` when
/// set (and not empty); on Windows `%ProgramData%\cu-roll`, which a
/// scheduled task running as SYSTEM and the admin at the console both see
/// (each has its own `%APPDATA%`: review #16); elsewhere
/// `<config dir>/cu-roll` (`~/.config/cu-roll`). `None` when none is known.
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os(CONFIG_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => platform_config_dir(),
    }
}

#[cfg(not(test))]
fn platform_config_dir() -> Option<PathBuf> {
    system_config_dir(cfg!(windows), std::env::var_os("ProgramData"))
        .or_else(|| dirs::config_dir().map(|d| d.join("cu-roll")))
}

/// The machine-wide directory: `%ProgramData%\cu-roll` on Windows (the
/// folder every account reads; `C:\ProgramData` by default), none elsewhere.
fn system_config_dir(windows: bool, program_data: Option<std::ffi::OsString>) -> Option<PathBuf> {
    program_data
        .filter(|d| windows && !d.is_empty())
        .map(|d| PathBuf::from(d).join("cu-roll"))
}

/// Unit tests must not depend on whatever catalogue the developer running
/// them has stored; they see one only through `CU_ROLL_CONFIG_DIR`.
#[cfg(test)]
fn platform_config_dir() -> Option<PathBuf> {
    None
}

/// The stored catalogue's path inside `dir`.
pub fn override_path(dir: &Path) -> PathBuf {
    dir.join(OVERRIDE_FILE)
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Normalises a `--sha256` argument: 64 hex digits, any case, surrounding
/// blanks ignored.
pub fn parse_sha256(given: &str) -> Result<String, UpdateError> {
    let hex = given.trim();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(UpdateError::BadSha256 {
            given: given.to_string(),
        })
    }
}

/// Reads the catalogue bytes from a URL or a file, at most
/// [`MAX_CATALOG_BYTES`].
pub fn fetch(source: &Source) -> Result<Vec<u8>, UpdateError> {
    match source {
        Source::File(path) => {
            let err = |e: std::io::Error| UpdateError::ReadFile {
                path: path.display().to_string(),
                detail: e.to_string(),
            };
            // Only a regular file: a FIFO with no writer would block for
            // ever, a device such as /dev/zero would read without end.
            let meta = std::fs::metadata(path).map_err(err)?;
            if !meta.is_file() {
                return Err(UpdateError::ReadFile {
                    path: path.display().to_string(),
                    detail: "it is not a regular file (a directory, FIFO or device?)".into(),
                });
            }
            let file = std::fs::File::open(path).map_err(err)?;
            read_capped(file, &source.name()).map_err(|e| e.unwrap_or_else(err))
        }
        Source::Url(url) => fetch_url_within(url, FETCH_TIMEOUT),
    }
}

/// Downloads `url` within `deadline` in all: connecting, the headers and
/// every byte of the body, so a server dripping one byte a second cannot
/// keep it alive: the whole download is one future on the process's
/// runtime, dropped (its connection closed) at the deadline. (The client
/// has no timeout of its own, which would race this one's message.)
fn fetch_url_within(url: &str, deadline: Duration) -> Result<Vec<u8>, UpdateError> {
    crate::runtime::block_on(async {
        tokio::time::timeout(deadline, fetch_url(url))
            .await
            .unwrap_or_else(|_| {
                Err(UpdateError::Fetch {
                    url: url.to_string(),
                    detail: format!(
                        "the download did not complete within {} s",
                        deadline.as_secs_f64()
                    ),
                })
            })
    })
}

async fn fetch_url(url: &str) -> Result<Vec<u8>, UpdateError> {
    let fetch_err = |detail: String| UpdateError::Fetch {
        url: url.to_string(),
        detail,
    };
    let client = http_client().map_err(fetch_err)?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| fetch_err(crate::error::chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(UpdateError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    // At most the cap, whatever the server announces or sends.
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch_err(crate::error::chain(&e)))?
    {
        if (bytes.len() + chunk.len()) as u64 > MAX_CATALOG_BYTES {
            return Err(UpdateError::TooLarge {
                source_name: url.to_string(),
                limit: MAX_CATALOG_BYTES,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A client on the process's runtime using the project's TLS setup
/// (rustls with `ring`, the system's trusted roots), the same as WinRM over
/// HTTPS uses.
fn http_client() -> Result<reqwest::Client, String> {
    let tls = crate::tls::client_config(None, false).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(std::sync::Arc::unwrap_or_clone(tls))
        .user_agent(concat!("cu-roll/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| crate::error::chain(&e))
}

/// Reads at most the cap. A file over it is [`UpdateError::TooLarge`]; an
/// I/O error is handed back for the caller to name its source.
fn read_capped(reader: impl Read, source_name: &str) -> Result<Vec<u8>, CappedError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_CATALOG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedError::Io)?;
    if bytes.len() as u64 > MAX_CATALOG_BYTES {
        return Err(CappedError::Update(UpdateError::TooLarge {
            source_name: source_name.to_string(),
            limit: MAX_CATALOG_BYTES,
        }));
    }
    Ok(bytes)
}

enum CappedError {
    Io(std::io::Error),
    Update(UpdateError),
}

impl CappedError {
    fn unwrap_or_else(self, io: impl FnOnce(std::io::Error) -> UpdateError) -> UpdateError {
        match self {
            CappedError::Io(e) => io(e),
            CappedError::Update(e) => e,
        }
    }
}

/// Refuses a catalogue that knows less than `baseline` (the embedded one).
///
/// The rule: every CU the baseline lists must be present (by id), and each
/// of its SU/HU must be present (by name) with the same build. That covers
/// "fewer CUs", "fewer SUs" and "an older newest build" at once, and also
/// refuses a file that rewrites a published build number. A candidate may
/// add CUs and updates, and may change anything else (support text, dates,
/// `verified`, prerequisites): that is what an update is for.
pub fn check_not_older(candidate: &Catalog, baseline: &Catalog) -> Result<(), String> {
    for known in baseline.cus() {
        let Some(theirs) = candidate.cu_by_id(&known.id) else {
            return Err(format!("it does not list {}", known.id));
        };
        if theirs.build != known.build {
            return Err(format!(
                "it gives {} build {}, the built-in catalogue {}",
                known.id, theirs.build, known.build
            ));
        }
        for su in &known.security_updates {
            match theirs.su_by_name(&su.name) {
                None => return Err(format!("it does not list {} {}", known.id, su.name)),
                Some(t) if t.build != su.build => {
                    return Err(format!(
                        "it gives {} {} build {}, the built-in catalogue {}",
                        known.id, su.name, t.build, su.build
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// What a successful update stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The file written.
    pub path: PathBuf,
    /// SHA-256 of the stored bytes (exactly the bytes fetched).
    pub sha256: String,
    /// CUs and SU/HU entries in the new catalogue.
    pub cus: usize,
    pub updates: usize,
    /// Entries (`2019-CU15 Sep26SU`, `2019-CU16`) the built-in catalogue lacks.
    pub added: Vec<String>,
}

/// `cu-roll catalog update --from …`: fetch, check the hash (when given),
/// parse and validate, refuse anything older than `baseline`, then store
/// the exact bytes in `dir` atomically (temporary file + rename, so a
/// reader never sees half a catalogue). Nothing is written unless every
/// check passed.
///
/// A candidate that lowers a requirement of the baseline (a prerequisite
/// or an AD level, see [`super::guard`]) is refused unless `allow_lower`.
pub fn update(
    source: &Source,
    sha256: Option<&str>,
    dir: &Path,
    baseline: &Catalog,
    allow_lower: bool,
) -> Result<Stored, UpdateError> {
    let expected = sha256.map(parse_sha256).transpose()?;
    let bytes = fetch(source)?;
    let actual = sha256_hex(&bytes);
    if let Some(expected) = expected {
        if expected != actual {
            return Err(UpdateError::HashMismatch {
                source_name: source.name(),
                expected,
                actual,
            });
        }
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| UpdateError::NotText {
        source_name: source.name(),
    })?;
    let candidate = Catalog::from_toml(text).map_err(|error| UpdateError::Invalid {
        source_name: source.name(),
        error,
    })?;
    check_not_older(&candidate, baseline).map_err(|detail| UpdateError::Older {
        source_name: source.name(),
        detail,
    })?;
    let lowered = super::guard::lowered_requirements(&candidate, baseline);
    if !lowered.is_empty() && !allow_lower {
        return Err(UpdateError::Lowers {
            source_name: source.name(),
            lowered,
        });
    }
    let path = store(dir, &bytes)?;
    Ok(Stored {
        path,
        sha256: actual,
        cus: candidate.cus().len(),
        updates: candidate
            .cus()
            .iter()
            .map(|c| c.security_updates.len())
            .sum(),
        added: added_entries(&candidate, baseline),
    })
}

/// Entries of `candidate` the baseline does not list, in file order.
fn added_entries(candidate: &Catalog, baseline: &Catalog) -> Vec<String> {
    let mut added = Vec::new();
    for cu in candidate.cus() {
        match baseline.cu_by_id(&cu.id) {
            None => added.push(cu.id.clone()),
            Some(known) => added.extend(
                cu.security_updates
                    .iter()
                    .filter(|su| known.su_by_name(&su.name).is_none())
                    .map(|su| format!("{} {}", cu.id, su.name)),
            ),
        }
    }
    added
}

fn store(dir: &Path, bytes: &[u8]) -> Result<PathBuf, UpdateError> {
    let path = override_path(dir);
    let err = |e: std::io::Error| UpdateError::Store {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(path)
}

/// `cu-roll catalog update --reset`: removes the stored catalogue. Returns
/// the path removed, or `None` when there was none.
pub fn reset(dir: &Path) -> Result<Option<PathBuf>, UpdateError> {
    let path = override_path(dir);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(UpdateError::Remove {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

/// The stored catalogue in `dir`, if any, validated like an update
/// (including "not older than `baseline`": after cu-roll itself is
/// upgraded, an old stored file must not hide the newer built-in data).
pub fn load_override(dir: &Path, baseline: &Catalog) -> Result<Option<Catalog>, UpdateError> {
    let path = override_path(dir);
    let broken = |detail: String| UpdateError::BrokenOverride {
        path: path.display().to_string(),
        detail,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(broken(e.to_string())),
    };
    let catalog = Catalog::from_toml(&text).map_err(|e| broken(e.to_string()))?;
    check_not_older(&catalog, baseline).map_err(|d| {
        broken(format!(
            "it is older than the catalogue built into this cu-roll ({d})"
        ))
    })?;
    Ok(Some(catalog))
}

/// The catalogue in force and where it came from.
#[derive(Debug)]
pub struct ActiveCatalog {
    stored: Option<(PathBuf, Catalog)>,
}

impl ActiveCatalog {
    /// The stored catalogue in `dir` (`None`: no directory known) if there
    /// is one, else the embedded catalogue.
    pub fn load(dir: Option<&Path>) -> Result<ActiveCatalog, UpdateError> {
        let stored = match dir {
            Some(dir) => load_override(dir, Catalog::embedded())?.map(|c| (override_path(dir), c)),
            None => None,
        };
        Ok(ActiveCatalog { stored })
    }

    pub fn catalog(&self) -> &Catalog {
        self.stored.as_ref().map_or(Catalog::embedded(), |(_, c)| c)
    }

    /// The stored file in force, or `None` for the embedded catalogue.
    pub fn override_path(&self) -> Option<&Path> {
        self.stored.as_ref().map(|(p, _)| p.as_path())
    }
}

/// The catalogue every command uses, loaded once per process from
/// [`config_dir`]: the stored catalogue when there is one, else the
/// embedded one. A stored file that does not load is an error, never a
/// silent fallback to the embedded data.
pub fn active() -> Result<&'static ActiveCatalog, UpdateError> {
    static ACTIVE: OnceLock<Result<ActiveCatalog, UpdateError>> = OnceLock::new();
    ACTIVE
        .get_or_init(|| ActiveCatalog::load(config_dir().as_deref()))
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests;
