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

#[cfg(test)]
mod tests {
    use super::*;

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
