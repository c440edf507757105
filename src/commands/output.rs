//! Where a command's answer goes: stdout, or a file named with `--output`
//! (via a temporary file and rename, so a reader never sees half a
//! report). A failed write is an error of its own (`Error::Stdout`, exit 8;
//! `Error::WriteFile`, exit 2), never a panic. Renders nothing.

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Writes `text` to stdout, flushed.
pub fn stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

/// Writes `text` to FILE, or to stdout when no file is given.
pub fn write_output(path: Option<&Path>, text: &str) -> Result<(), Error> {
    let Some(path) = path else {
        return stdout(text);
    };
    let fail = |source: std::io::Error| Error::WriteFile {
        path: path.to_path_buf(),
        source: without_temp_path(source),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    // The directory first, for the OS's own words about it (a missing
    // directory, no permission).
    std::fs::metadata(dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The error without the temporary file's name that tempfile adds to it
/// (`… at path "/dir/.tmpzEOKj6"`): that name is ours, not the user's.
/// tempfile keeps the OS error private, so only its kind survives.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    if e.raw_os_error().is_some() || e.get_ref().is_none() {
        e
    } else {
        std::io::Error::from(e.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_output_file_names_the_users_path_not_a_temp_file() {
        // A directory whose own name has no `.tmp`, so that only a leaked
        // temporary file's name could put one in the message.
        let dir = tempfile::Builder::new().prefix("out").tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("r.html");
        let err = write_output(Some(&path), "x").unwrap_err().to_string();
        assert!(err.contains("r.html"), "{err}");
        assert!(!err.contains(".tmp") && !err.contains("at path"), "{err}");
        assert!(err.contains("os error"), "{err}");
    }
}
