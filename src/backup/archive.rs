//! The backup archive: one zip per server and backup, the fetched files
//! under their install-relative paths (`ClientAccess/Owa/web.config`) and a
//! `manifest.json` describing them. Written to a temporary file, fsynced
//! and renamed into place so a crash never leaves a half-written zip under
//! the final name; then read back and every entry re-hashed against the
//! manifest before anyone may rely on it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use super::fetch::Fetched;
use super::{sha256_hex, BackupError};
use crate::plan::Server;

/// The manifest's entry name inside the zip.
pub const MANIFEST_NAME: &str = "manifest.json";

/// The manifest's format; bumped only if a field changes meaning.
const FORMAT: u32 = 1;

/// What the zip holds, as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    pub format: u32,
    pub server: String,
    pub fqdn: String,
    /// The cu-roll version that wrote the backup.
    pub cu_roll_version: String,
    /// When the backup was taken (RFC 3339 UTC).
    pub created: String,
    /// The Exchange install path on the server.
    pub install_path: String,
    pub files: Vec<ManifestFile>,
    /// Expected files or folders that were absent.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManifestFile {
    /// The full path on the server.
    pub path: String,
    /// The zip entry holding it.
    pub entry: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// Its LastWriteTimeUtc on the server (ISO 8601).
    pub modified: String,
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub path: PathBuf,
    /// The zip file's own sha256 (lower-case hex).
    pub sha256: String,
    pub manifest: Manifest,
    /// Entries re-hashed (every manifest file).
    pub entries_checked: usize,
}

/// A backup read back and checked: the manifest and each file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backup {
    pub manifest: Manifest,
    pub files: Vec<(ManifestFile, Vec<u8>)>,
    pub sha256: String,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// `2026-03-01T12:00:00Z` → `20260301T120000Z`, safe in a file name.
fn compact_utc(rfc3339: &str) -> String {
    rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// The zip entry timestamp for an ISO 8601 UTC time (zip's DOS time has
/// two-second resolution and starts in 1980; anything else gets the default).
fn dos_time(iso: &str) -> zip::DateTime {
    let parsed = humantime::parse_rfc3339_weak(iso.trim_end_matches('Z'))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let Some(secs) = parsed.map(|d| d.as_secs() as i64) else {
        return zip::DateTime::default();
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let parts = (
        u16::try_from(year),
        u8::try_from(month),
        u8::try_from(day),
        u8::try_from(rem / 3600),
        u8::try_from(rem % 3600 / 60),
        u8::try_from(rem % 60),
    );
    match parts {
        (Ok(y), Ok(mo), Ok(d), Ok(h), Ok(mi), Ok(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}

/// Writes the zip for `fetched` into `dir` as `<SERVER>-<UTC>.zip`
/// (temp file, fsync, rename, fsync of the folder) and returns its path
/// and manifest. The caller verifies it (`verify`) before relying on it.
pub fn write_archive(
    dir: &Path,
    server: &Server,
    fetched: &Fetched,
) -> Result<(PathBuf, Manifest), BackupError> {
    std::fs::create_dir_all(dir).map_err(io("create the backup folder", dir))?;
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let manifest = Manifest {
        format: FORMAT,
        server: server.name.clone(),
        fqdn: server.fqdn.clone(),
        cu_roll_version: env!("CARGO_PKG_VERSION").to_string(),
        created: created.clone(),
        install_path: fetched.install_path.clone(),
        files: fetched
            .files
            .iter()
            .map(|f| ManifestFile {
                path: f.meta.path.clone(),
                entry: f.meta.relative.clone(),
                size: f.bytes.len() as u64,
                sha256: sha256_hex(&f.bytes),
                modified: f.meta.modified.clone(),
            })
            .collect(),
        warnings: fetched.warnings.clone(),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".backup-")
        .suffix(".zip.tmp")
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    {
        let mut zip = zip::ZipWriter::new(tmp.as_file_mut());
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let zip_err = |e: zip::result::ZipError| BackupError::Io {
            action: "write the zip",
            path: dir.to_path_buf(),
            source: std::io::Error::other(e),
        };
        for f in &fetched.files {
            zip.start_file(
                f.meta.relative.as_str(),
                options.last_modified_time(dos_time(&f.meta.modified)),
            )
            .map_err(zip_err)?;
            zip.write_all(&f.bytes)
                .map_err(io("write the zip in", dir))?;
        }
        zip.start_file(MANIFEST_NAME, options).map_err(zip_err)?;
        let json = serde_json::to_vec_pretty(&manifest).expect("manifests always serialise");
        zip.write_all(&json).map_err(io("write the zip in", dir))?;
        zip.finish().map_err(zip_err)?;
    }
    tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
    let base = format!(
        "{}-{}",
        server.name.to_ascii_uppercase(),
        compact_utc(&created)
    );
    let mut n = 1;
    let path = loop {
        let name = if n == 1 {
            format!("{base}.zip")
        } else {
            format!("{base}-{n}.zip")
        };
        let candidate = dir.join(name);
        match tmp.persist_noclobber(&candidate) {
            Ok(_) => break candidate,
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                tmp = e.file;
                n += 1;
            }
            Err(e) => return Err(io("rename the backup to", &candidate)(e.error)),
        }
    };
    sync_dir(dir)?;
    Ok((path, manifest))
}

/// Makes the rename durable (a directory fsync; Windows has no such call).
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync the backup folder", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads the zip at `path`, checking every entry against the manifest
/// (size and sha256; the zip's own CRC32 is checked while reading).
pub(crate) fn read_archive(path: &Path) -> Result<Backup, BackupError> {
    let raw = std::fs::read(path).map_err(io("read", path))?;
    let corrupt = |detail: String| BackupError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&raw[..]))
        .map_err(|e| corrupt(format!("it is not a readable zip ({e})")))?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| corrupt(format!("entry {} cannot be opened ({e})", i + 1)))?;
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(format!("entry {name} cannot be read ({e})")))?;
        entries.push((name, bytes));
    }
    let manifest_bytes = entries
        .iter()
        .find(|(n, _)| n == MANIFEST_NAME)
        .map(|(_, b)| b)
        .ok_or_else(|| corrupt(format!("it has no {MANIFEST_NAME}")))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| corrupt(format!("{MANIFEST_NAME} is not a cu-roll manifest ({e})")))?;
    let mut files = Vec::with_capacity(manifest.files.len());
    for f in &manifest.files {
        let (_, bytes) = entries.iter().find(|(n, _)| *n == f.entry).ok_or_else(|| {
            corrupt(format!(
                "the manifest lists {} but the zip lacks it",
                f.entry
            ))
        })?;
        if bytes.len() as u64 != f.size {
            return Err(corrupt(format!(
                "{} is {} bytes, the manifest says {}",
                f.entry,
                bytes.len(),
                f.size
            )));
        }
        let got = sha256_hex(bytes);
        if got != f.sha256 {
            return Err(corrupt(format!(
                "{} hashes to {got}, the manifest says {}",
                f.entry, f.sha256
            )));
        }
        files.push((f.clone(), bytes.clone()));
    }
    if let Some((extra, _)) = entries
        .iter()
        .find(|(n, _)| n != MANIFEST_NAME && !manifest.files.iter().any(|f| f.entry == *n))
    {
        return Err(corrupt(format!(
            "{extra} is in the zip but not in the manifest"
        )));
    }
    Ok(Backup {
        manifest,
        files,
        sha256: sha256_hex(&raw),
    })
}

/// `cu-roll backup verify FILE`: re-reads the zip and re-hashes every
/// entry against its manifest.
pub fn verify(path: &Path) -> Result<VerifyReport, BackupError> {
    let backup = read_archive(path)?;
    Ok(VerifyReport {
        path: path.to_path_buf(),
        sha256: backup.sha256,
        entries_checked: backup.files.len(),
        manifest: backup.manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fetch::{FetchedFile, RemoteFile};
    use super::*;

    fn server() -> Server {
        Server {
            name: "EX02".into(),
            fqdn: "ex02.contoso.local".into(),
            dag: Some("DAG01".into()),
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        }
    }

    fn fetched() -> Fetched {
        let file = |rel: &str, text: &str| FetchedFile {
            meta: RemoteFile {
                path: format!(r"C:\V15\{}", rel.replace('/', "\\")),
                relative: rel.to_string(),
                size: text.len() as u64,
                sha256: sha256_hex(text.as_bytes()),
                modified: "2026-01-10T08:30:00.0000000Z".into(),
            },
            bytes: text.as_bytes().to_vec(),
        };
        Fetched {
            server: "EX02".into(),
            fqdn: "ex02.contoso.local".into(),
            install_path: r"C:\V15\".into(),
            files: vec![
                file(
                    "ClientAccess/Owa/web.config",
                    &"<configuration><appSettings /></configuration>\r\n".repeat(40),
                ),
                file("Bin/EdgeTransport.exe.config", "<configuration />"),
            ],
            warnings: vec!["C:\\V15\\Bin\\MSExchangeDelivery.exe.config does not exist".into()],
        }
    }

    #[test]
    fn a_written_archive_verifies_and_names_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let (path, manifest) = write_archive(dir.path(), &server(), &fetched()).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("EX02-") && name.ends_with("Z.zip"),
            "{name}"
        );
        let report = verify(&path).unwrap();
        assert_eq!(report.entries_checked, 2);
        assert_eq!(report.manifest, manifest);
        assert_eq!(report.sha256, sha256_hex(&std::fs::read(&path).unwrap()));
        assert_eq!(manifest.warnings.len(), 1);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn two_backups_in_the_same_second_do_not_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = write_archive(dir.path(), &server(), &fetched()).unwrap();
        let (b, _) = write_archive(dir.path(), &server(), &fetched()).unwrap();
        assert_ne!(a, b);
        assert!(verify(&a).is_ok() && verify(&b).is_ok());
    }

    #[test]
    fn flipped_bytes_anywhere_in_the_zip_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_archive(dir.path(), &server(), &fetched()).unwrap();
        let good = std::fs::read(&path).unwrap();
        // Every position: the local headers, compressed data, the manifest
        // and the central directory. Flipping a byte of a name or a time in
        // a header is not always detectable; data and structure are.
        let mut caught = 0;
        let step = (good.len() / 60).max(1);
        for pos in (0..good.len()).step_by(step) {
            let mut bad = good.clone();
            bad[pos] ^= 0xff;
            std::fs::write(&path, &bad).unwrap();
            if verify(&path).is_err() {
                caught += 1;
            }
        }
        assert!(
            caught * 10 >= (good.len() / step) * 7,
            "caught only {caught}"
        );
        // The first entry's compressed data specifically.
        let mut bad = good.clone();
        let data_at = 30 + "ClientAccess/Owa/web.config".len() + 4;
        bad[data_at] ^= 0x55;
        std::fs::write(&path, &bad).unwrap();
        let err = verify(&path).unwrap_err();
        assert!(matches!(err, BackupError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("take a new backup"));
    }

    #[test]
    fn an_entry_that_disagrees_with_the_manifest_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = fetched();
        let (path, _) = write_archive(dir.path(), &server(), &f).unwrap();
        // Rewrite the zip with a changed file but the old manifest.
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut manifest = String::new();
        zip.by_name(MANIFEST_NAME)
            .unwrap()
            .read_to_string(&mut manifest)
            .unwrap();
        f.files[1].bytes = b"<configuration><x/></configuration>".to_vec();
        let out = std::fs::File::create(dir.path().join("tampered.zip")).unwrap();
        let mut w = zip::ZipWriter::new(out);
        for file in &f.files {
            w.start_file(file.meta.relative.as_str(), SimpleFileOptions::default())
                .unwrap();
            w.write_all(&file.bytes).unwrap();
        }
        w.start_file(MANIFEST_NAME, SimpleFileOptions::default())
            .unwrap();
        w.write_all(manifest.as_bytes()).unwrap();
        w.finish().unwrap();
        let err = verify(&dir.path().join("tampered.zip")).unwrap_err();
        assert!(
            err.to_string().contains("Bin/EdgeTransport.exe.config"),
            "{err}"
        );
    }

    #[test]
    fn dos_times_come_from_the_iso_time() {
        let t = dos_time("2026-01-10T08:30:00.0000000Z");
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (2026, 1, 10, 8, 30)
        );
        assert_eq!(dos_time("garbage"), zip::DateTime::default());
    }
}
