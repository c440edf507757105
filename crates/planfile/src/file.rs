//! Reading the files a plan is made of or names (the plan itself, a CA
//! file) without trusting them: only a regular file is opened (a FIFO
//! would block, a device like `/dev/zero` would read forever), at most a
//! stated number of bytes is read, and text that is not UTF-8 is refused
//! with the line and column of its first bad byte. It reads; it does not
//! judge the content.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{PlanError, Source};

/// The largest plan file read. A real plan is a few KiB; a megabyte holds
/// thousands of servers.
pub const MAX_PLAN_BYTES: u64 = 1024 * 1024;

/// The bytes of a regular file of at most `max` bytes. Anything else (a
/// directory, FIFO, socket or device, or a larger file) is an
/// `InvalidInput` error saying so, before any blocking read.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device?)"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {kind}"),
        ));
    }
    let too_large = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is larger than {}", size_text(max)),
        )
    };
    if meta.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // The file may grow between the check and the read: read one byte more
    // than allowed to notice.
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

fn size_text(bytes: u64) -> String {
    if bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A plan file's text: a regular file of at most [`MAX_PLAN_BYTES`], in
/// UTF-8. Invalid UTF-8 is reported at its line and column.
pub fn read_plan(path: &Path) -> Result<String, PlanError> {
    let bytes = read_regular(path, MAX_PLAN_BYTES).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    utf8_text(bytes, path)
}

/// `bytes` as UTF-8, or an error pointing at the first invalid byte.
pub fn utf8_text(bytes: Vec<u8>, path: &Path) -> Result<String, PlanError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let bad = bytes[at];
        // The valid prefix is kept byte for byte, so `at` is still the offset.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let path: PathBuf = path.to_path_buf();
        Source {
            text: &text,
            path: &path,
        }
        .error(
            at..at + 1,
            format!("byte 0x{bad:02X} is not valid UTF-8; save the plan as UTF-8 text"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("planfile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.toml");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn invalid_utf8_points_at_its_line_and_column() {
        let path = temp(
            "utf8",
            b"[rollout]\ntarget = \"2019-CU15\"\nsetup_path = 'D:\\M\xE9dias'\n",
        );
        let err = read_plan(&path).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("plan.toml:3:19: byte 0xE9 is not valid UTF-8"),
            "{text}"
        );
        assert!(text.contains("setup_path = 'D:\\M\u{FFFD}dias'"), "{text}");
    }

    #[test]
    fn devices_fifos_directories_and_large_files_are_refused() {
        let dir_err = read_plan(&std::env::temp_dir()).unwrap_err().to_string();
        assert!(dir_err.contains("it is a directory"), "{dir_err}");
        if Path::new("/dev/zero").exists() {
            let zero = read_plan(Path::new("/dev/zero")).unwrap_err().to_string();
            assert!(zero.contains("not a regular file"), "{zero}");
        }
        let big = temp("big", &vec![b'#'; MAX_PLAN_BYTES as usize + 1]);
        let err = read_plan(&big).unwrap_err().to_string();
        assert!(err.contains("larger than 1 MiB"), "{err}");
        let ok = temp("ok", &vec![b'#'; 1000]);
        assert_eq!(read_plan(&ok).unwrap().len(), 1000);
    }
}
