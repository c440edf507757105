//! The world's file API, one per server: the files derived from the
//! server's state (`registry::files`), the `[[lab.media]]` present on every
//! server, and the files commands wrote (`Set-Content`, a batch's `echo >`,
//! logs), which override the derived ones. Cmdlet modules (and the backup
//! helper's `cmdlets/files.rs`) read and write files only through these
//! methods; nothing here knows PowerShell.

use super::model::{Media, StoredFile};
use super::registry::{self, normalize_file_path, Binary, LabFile};
use super::spec::LabMediaKind;
use super::world::World;
use crate::build::ExchangeBuild;

/// Why a file could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The parent directory does not exist (.NET DirectoryNotFoundException).
    #[error("Could not find a part of the path '{0}'.")]
    DirectoryNotFound(String),
    /// The file is one the lab derives from the server's state and cannot
    /// delete (a binary in use, or the setup log).
    #[error("Access to the path '{0}' is denied.")]
    AccessDenied(String),
}

/// The SHA-256 the lab gives a binary it does not hold: the digest of the
/// text `"<path>|<build>"` (path as written in the plan, build in its short
/// form), upper-case hex. Deterministic, different per build and path.
pub fn media_sha256(path: &str, build: &ExchangeBuild) -> String {
    sha256_hex_upper(format!("{path}|{build}").as_bytes())
}

fn same(a: &str, b: &str) -> bool {
    normalize_file_path(a).eq_ignore_ascii_case(&normalize_file_path(b))
}

fn parent(path: &str) -> Option<String> {
    let p = normalize_file_path(path);
    p.rsplit_once('\\').map(|(d, _)| d.to_string())
}

fn media_file(m: &Media, now_ms: i64) -> LabFile {
    LabFile {
        full_name: normalize_file_path(&m.path),
        content: String::new(),
        last_write_ms: now_ms,
        binary: Some(Binary {
            // Sizes of the real files are irrelevant to the checks; these are round.
            length: if m.kind == LabMediaKind::Setup {
                31_232
            } else {
                171_446_272
            },
            sha256: m.sha256.clone(),
            version: (m.kind == LabMediaKind::Setup).then_some(m.build),
        }),
    }
}

impl World {
    /// The media file at `path`, if any.
    pub fn media_at(&self, path: &str) -> Option<&Media> {
        self.media.iter().find(|m| same(&m.path, path))
    }

    /// Every file on server `i`: written ones first, then media, then derived.
    pub fn files(&self, i: usize) -> Vec<LabFile> {
        let s = &self.servers[i];
        let mut out: Vec<LabFile> = s
            .files
            .iter()
            .map(|f| LabFile {
                full_name: f.path.clone(),
                content: f.content.clone(),
                last_write_ms: f.last_write_ms,
                binary: None,
            })
            .collect();
        // A file already listed hides a later one at the same path (as
        // `same` compares them), each path normalised once: this runs on
        // most calls, and comparing every pair was quadratic.
        let key = |p: &str| normalize_file_path(p).to_ascii_lowercase();
        let mut seen: std::collections::HashSet<String> =
            out.iter().map(|f| key(&f.full_name)).collect();
        // Media were copied to the server before the lab started.
        let media_time = s.installed_ms + 86_400_000;
        for m in &self.media {
            if seen.insert(key(&m.path)) {
                out.push(media_file(m, media_time));
            }
        }
        for f in registry::files(s) {
            if seen.insert(key(&f.full_name)) {
                out.push(f);
            }
        }
        out
    }

    /// The file at `path` on server `i`.
    pub fn file(&self, i: usize, path: &str) -> Option<LabFile> {
        self.files(i).into_iter().find(|f| same(&f.full_name, path))
    }

    /// Files directly inside directory `dir`.
    pub fn files_in(&self, i: usize, dir: &str) -> Vec<LabFile> {
        let dir = normalize_file_path(dir);
        self.files(i)
            .into_iter()
            .filter(|f| parent(&f.full_name).is_some_and(|p| p.eq_ignore_ascii_case(&dir)))
            .collect()
    }

    /// A directory exists when it is a drive root the server has (C:, and
    /// the drives media live on), a created one, or holds a file.
    pub fn directory_exists(&self, i: usize, path: &str) -> bool {
        let want = normalize_file_path(path).to_ascii_lowercase();
        if want.len() == 2 && want.ends_with(':') {
            return want == "c:"
                || self
                    .media
                    .iter()
                    .any(|m| m.path.to_ascii_lowercase().starts_with(&want));
        }
        let s = &self.servers[i];
        if s.directories.iter().any(|d| same(d, &want)) {
            return true;
        }
        let prefix = format!("{want}\\");
        self.files(i)
            .iter()
            .map(|f| f.full_name.to_ascii_lowercase())
            .chain(s.directories.iter().map(|d| d.to_ascii_lowercase()))
            .any(|f| f.starts_with(&prefix))
    }

    /// Writes (or with `append`, appends to) a text file; its directory must exist.
    pub fn write_file(
        &mut self,
        i: usize,
        path: &str,
        content: &str,
        append: bool,
        now_ms: i64,
    ) -> Result<(), FileError> {
        let full = normalize_file_path(path);
        let dir = parent(&full).unwrap_or_default();
        if !self.directory_exists(i, &dir) {
            return Err(FileError::DirectoryNotFound(full));
        }
        let before = if append {
            self.file(i, &full).map(|f| f.content).unwrap_or_default()
        } else {
            String::new()
        };
        let s = &mut self.servers[i];
        s.files.retain(|f| !same(&f.path, &full));
        s.files.push(StoredFile {
            path: full,
            content: before + content,
            last_write_ms: now_ms,
        });
        Ok(())
    }

    /// Deletes a written file; `Ok(false)` when there is none at `path`.
    pub fn remove_file(&mut self, i: usize, path: &str) -> Result<bool, FileError> {
        let s = &mut self.servers[i];
        let before = s.files.len();
        s.files.retain(|f| !same(&f.path, path));
        if s.files.len() != before {
            return Ok(true);
        }
        if self.file(i, path).is_some() {
            return Err(FileError::AccessDenied(normalize_file_path(path)));
        }
        Ok(false)
    }

    /// Creates a directory and its parents (as `New-Item -Force` does);
    /// its drive must exist.
    pub fn create_directory(&mut self, i: usize, path: &str) -> Result<(), FileError> {
        let full = normalize_file_path(path);
        let drive: String = full.chars().take(2).collect();
        if !self.directory_exists(i, &drive) {
            return Err(FileError::DirectoryNotFound(full));
        }
        if !self.directory_exists(i, &full) {
            self.servers[i].directories.push(full);
        }
        Ok(())
    }

    /// `Get-FileHash -Algorithm SHA256`: binaries carry theirs, text files
    /// hash their content's bytes (UTF-8; ASCII files hash the same).
    pub fn file_sha256(&self, i: usize, path: &str) -> Option<String> {
        let f = self.file(i, path)?;
        Some(match f.binary {
            Some(b) => b.sha256,
            None => sha256_hex_upper(f.content.as_bytes()),
        })
    }
}

/// Upper-case hex SHA-256, as `Get-FileHash -Algorithm SHA256` prints it.
pub fn sha256_hex_upper(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}
