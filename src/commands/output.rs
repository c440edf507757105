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
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
