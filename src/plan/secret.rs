//! Secrets: the WinRM (and installer) password, read from where the plan
//! says (`password_env` or `password_file`), never from the plan itself, and
//! held as a `Secret` whose `Debug` never shows it, so no log, error,
//! journal or report can carry it by accident. Read once at the command
//! edge and handed down; nothing below re-reads a source.

use crate::plan::SecretSource;

/// A password file is one line; anything longer than this is not one (and
/// `/dev/zero` must not read forever).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A password read from `password_env`/`password_file`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that must send it (an authentication).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a secret could not be read; never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the password is read from the environment variable {0}, which is not set; export it before running cu-roll")]
    EnvMissing(String),
    #[error("cannot read the password file {path}: {detail}; it must be a readable text file whose first line is the password")]
    File { path: String, detail: String },
    #[error("the password file {0} is empty; its first line must be the password")]
    FileEmpty(String),
}

/// Reads the secret from its source: the variable's value, or the first
/// line of the file (a trailing newline is not part of the password).
pub fn read_secret(source: &SecretSource) -> Result<Option<Secret>, SecretError> {
    match source {
        SecretSource::None => Ok(None),
        SecretSource::Env(name) => std::env::var(name)
            .map(|v| Some(Secret::new(v)))
            .map_err(|_| SecretError::EnvMissing(name.clone())),
        SecretSource::File(path) => {
            let shown = path.display().to_string();
            let file_err = |detail: String| SecretError::File {
                path: shown.clone(),
                detail,
            };
            let meta = std::fs::metadata(path).map_err(|e| file_err(e.to_string()))?;
            if !meta.is_file() {
                return Err(file_err("it is not a regular file".into()));
            }
            if let Some(mode) = readable_by_others(&meta) {
                warn_once(path, mode);
            }
            let mut bytes = Vec::new();
            use std::io::Read;
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes))
                .map_err(|e| file_err(e.to_string()))?;
            if bytes.len() as u64 > MAX_SECRET_FILE {
                return Err(file_err(format!(
                    "it is larger than {MAX_SECRET_FILE} bytes"
                )));
            }
            let text =
                String::from_utf8(bytes).map_err(|_| file_err("it is not UTF-8 text".into()))?;
            let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if first.is_empty() {
                return Err(SecretError::FileEmpty(shown));
            }
            Ok(Some(Secret::new(first.to_string())))
        }
    }
}

/// The file's permission bits when users other than its owner may read or
/// write it (Unix); `None` when only the owner may, and on Windows, whose
/// ACLs are not judged here (a follow-up: UNVERIFIED which ACL an admin's
/// password file has by default).
fn readable_by_others(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// A warning (once per file and process) that others can read the
/// password file; the password is still used, as `ssh` does not do for
/// keys, because refusing would stop a night over a file mode.
fn warn_once(path: &std::path::Path, mode: u32) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static WARNED: OnceLock<Mutex<HashSet<std::path::PathBuf>>> = OnceLock::new();
    let first = WARNED
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .map(|mut seen| seen.insert(path.to_path_buf()))
        .unwrap_or(false);
    if first {
        tracing::warn!(
            target: "cu_roll::secret",
            "the password file {} can be read by other users (mode {mode:03o}); restrict it: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_password_file_others_can_read_is_named_by_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "secret\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!(readable_by_others(&meta), Some(0o644));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!(readable_by_others(&meta), None);
        // Still read: a warning, not a refusal.
        let s = read_secret(&SecretSource::File(f)).unwrap().unwrap();
        assert_eq!(s.expose(), "secret");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("Summer2026!".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "Summer2026!");
    }

    #[test]
    fn file_reads_the_first_line_and_refuses_what_is_not_a_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\r\nignored\n").unwrap();
        let got = read_secret(&SecretSource::File(p.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(got.expose(), "s3cret");
        std::fs::write(&p, vec![b'a'; 70_000]).unwrap();
        let e = read_secret(&SecretSource::File(p.clone())).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_secret(&SecretSource::File(p.clone())).is_err());
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(
            read_secret(&SecretSource::File(p)),
            Err(SecretError::FileEmpty(_))
        ));
        let e = read_secret(&SecretSource::File(dir.path().to_path_buf())).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
