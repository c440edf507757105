//! Config backup: before a server is touched, every configuration file a
//! Cumulative Update overwrites (the ClientAccess and FrontEnd\HttpProxy
//! `web.config` files, `SharedWebConfig.config`, every `Bin\*.exe.config`,
//! and IIS's `applicationHost.config`, compared but never restored) is fetched over the executor, in one call per server, into one verified
//! zip per server in the state directory; after setup the same files are
//! fetched again and compared, XML-aware, with the backup (the drift
//! report), and one lost `appSettings` value can be put back.
//!
//! This module reads files through `Executor::run_ps` only and never
//! changes a file on a server except through `restore`, which shows the
//! change first and refuses to write over a file that changed since.
//! Journaling and the command line are the caller's.

mod archive;
pub mod drift;
mod fetch;
mod restore;

use std::path::{Path, PathBuf};

pub use archive::{verify, write_archive, Manifest, ManifestFile, VerifyReport, MANIFEST_NAME};
pub use drift::baseline::{Baseline, BaselineSource};
pub use drift::{
    diff_file, ChangeKind, DriftReport, FileDrift, FileStatus, Location, OtherChanges,
    SettingChange,
};
pub use fetch::{
    chunk_script, fetch_configs, list_script, FetchOptions, Fetched, FetchedFile, RemoteFile,
    APPLICATION_HOST_ENTRY, DEFAULT_CHUNK_BYTES, EXPECTED_FILES, WEB_CONFIG_ROOTS,
};
pub use restore::{
    apply_restore, plan_restore, restore_app_setting_script, RestoreOutcome, RestorePlan,
};

use crate::exec::{ExecError, Executor};
use crate::plan::Server;

/// Where backups go: `<state_dir>/backups`.
pub const BACKUP_DIR: &str = "backups";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("{what} failed on {server} (exit code {exit_code}): {detail}")]
    Script {
        what: &'static str,
        server: String,
        exit_code: i32,
        detail: String,
    },
    #[error("{what} on {server} printed output cu-roll cannot read: {detail}")]
    BadOutput {
        what: &'static str,
        server: String,
        detail: String,
    },
    #[error("{path} on {server} changed while cu-roll read it ({detail}); run the command again")]
    ChangedWhileReading {
        server: String,
        path: String,
        detail: String,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the backup {path} is damaged: {detail}; do not rely on it — take a new backup (`cu-roll backup PLAN --server NAME`)")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{0}")]
    Restore(String),
}

/// What `backup_server` produced.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupResult {
    /// The verified zip.
    pub zip: PathBuf,
    /// The zip's own sha256 (lower-case hex), for the journal.
    pub sha256: String,
    pub manifest: Manifest,
}

/// `cu-roll backup PLAN [--server NAME]`: fetches `server`'s config files
/// and writes a verified zip under `<state_dir>/backups`.
pub fn backup_server(
    exec: &dyn Executor,
    server: &Server,
    state_dir: &Path,
) -> Result<BackupResult, BackupError> {
    backup_server_with(exec, server, state_dir, &FetchOptions::default())
}

/// `backup_server` with explicit fetch options (chunk size).
pub fn backup_server_with(
    exec: &dyn Executor,
    server: &Server,
    state_dir: &Path,
    options: &FetchOptions,
) -> Result<BackupResult, BackupError> {
    let fetched = fetch_configs(exec, server, options)?;
    let dir = state_dir.join(BACKUP_DIR);
    let (zip, manifest) = write_archive(&dir, server, &fetched)?;
    let report = verify(&zip)?;
    Ok(BackupResult {
        zip,
        sha256: report.sha256,
        manifest,
    })
}

/// `cu-roll drift PLAN`: the files on `server` now compared with the
/// backup `backup_zip` (which is verified first).
pub fn drift_for_server(
    exec: &dyn Executor,
    server: &Server,
    backup_zip: &Path,
) -> Result<DriftReport, BackupError> {
    drift_for_server_with(exec, server, backup_zip, &FetchOptions::default())
}

/// `drift_for_server` with explicit fetch options.
pub fn drift_for_server_with(
    exec: &dyn Executor,
    server: &Server,
    backup_zip: &Path,
    options: &FetchOptions,
) -> Result<DriftReport, BackupError> {
    let backup = archive::read_archive(backup_zip)?;
    let now = fetch_configs(exec, server, options)?;
    Ok(drift::drift_between(&backup, &now, backup_zip))
}

/// The newest backup of `server` in `<state_dir>/backups`, by the UTC
/// timestamp in its name.
pub fn latest_backup(state_dir: &Path, server: &str) -> Result<Option<PathBuf>, BackupError> {
    let dir = state_dir.join(BACKUP_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BackupError::Io {
                action: "list",
                path: dir,
                source,
            })
        }
    };
    let prefix = format!("{}-", server.to_ascii_uppercase());
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.to_ascii_uppercase().starts_with(&prefix) && n.ends_with(".zip"))
        })
        .collect();
    found.sort();
    Ok(found.pop())
}

/// Lower-case hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
