//! The durable journal of a rollout: append-only JSON lines, each record
//! written, flushed and fsynced before the step it describes goes on, one
//! journal and one lock per plan in the state directory.
//!
//! A crash can leave at most the last line torn (a partial write); loading
//! tolerates that with a warning and the next append cuts the torn bytes
//! off first. Any other unreadable line is corruption and is reported with
//! its line number — a record is never dropped or rewritten silently.
//!
//! This module stores and reads records; deciding what they mean for a
//! resumed run is the runbook's job.

mod lock;
mod record;

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use lock::{Lock, LockError, LockInfo};
pub use record::{Change, Entry, PlanFingerprint, Record};

/// The journal file's name inside the state directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action} the journal {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the journal {path} is damaged at line {line}: {detail}; it is kept as it is — move it aside to start over, or repair that line")]
    Corrupt {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    /// Set when the last line was torn (a crash mid-write) and was ignored.
    pub torn_tail: Option<String>,
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
}

impl Journal {
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(JOURNAL_FILE)
    }

    /// Reads every record of the journal at `path` (an absent file is empty).
    pub fn load(path: &Path) -> Result<Loaded, JournalError> {
        let io = |action, source| JournalError::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
            Err(e) => return Err(io("open", e)),
        };
        let mut text = String::new();
        BufReader::new(file)
            .read_to_string(&mut text)
            .map_err(|e| io("read", e))?;
        parse(path, &text)
    }

    /// Opens (creating) the journal for appending, cutting a torn last line
    /// off first so the next record starts on a line of its own.
    pub fn open(state_dir: &Path) -> Result<(Journal, Loaded), JournalError> {
        let path = Self::path_in(state_dir);
        let io = |action, source| JournalError::Io {
            action,
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(|e| io("create the directory of", e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io("open", e))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| io("read", e))?;
        let loaded = parse(&path, &text)?;
        if loaded.torn_tail.is_some() {
            let keep = text.rfind('\n').map_or(0, |i| i + 1) as u64;
            file.set_len(keep)
                .map_err(|e| io("truncate the torn last line of", e))?;
            file.sync_all().map_err(|e| io("sync", e))?;
            file.seek(SeekFrom::End(0)).map_err(|e| io("seek", e))?;
        } else if !text.is_empty() && !text.ends_with('\n') {
            // A complete record whose newline was lost: end its line first.
            file.write_all(b"\n").map_err(|e| io("append to", e))?;
            file.sync_data().map_err(|e| io("sync", e))?;
        }
        let next_seq = loaded.entries.last().map_or(1, |e| e.seq + 1);
        Ok((
            Journal {
                path,
                file,
                next_seq,
            },
            loaded,
        ))
    }

    /// Appends one record: written as one line, flushed and fsynced before
    /// this returns.
    pub fn append(&mut self, record: Record) -> Result<Entry, JournalError> {
        let entry = Entry {
            seq: self.next_seq,
            at: now_rfc3339(),
            record,
        };
        let mut line = serde_json::to_string(&entry).expect("journal records always serialise");
        line.push('\n');
        let io = |action, source| JournalError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| io("append to", e))?;
        self.file.flush().map_err(|e| io("flush", e))?;
        self.file.sync_data().map_err(|e| io("sync", e))?;
        self.next_seq += 1;
        Ok(entry)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn parse(path: &Path, text: &str) -> Result<Loaded, JournalError> {
    let mut loaded = Loaded::default();
    let complete = text.ends_with('\n') || text.is_empty();
    let all: Vec<&str> = text.split_terminator('\n').collect();
    for (i, line) in all.iter().enumerate() {
        let last = i + 1 == all.len();
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => loaded.entries.push(e),
            Err(e) if last && !complete => {
                loaded.torn_tail = Some(format!(
                    "the last line of {} ({} bytes) was cut off by a crash and is ignored: {e}",
                    path.display(),
                    line.len()
                ));
            }
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: i + 1,
                    detail: e.to_string(),
                })
            }
        }
    }
    Ok(loaded)
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests;
