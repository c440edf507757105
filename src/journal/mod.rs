//! The durable journal of a rollout: append-only JSON lines, each record
//! written, flushed and fsynced before the step it describes goes on, one
//! journal and one lock per plan in the state directory.
//!
//! Records carry sequence numbers 1, 2, 3… that loading checks. A crash can
//! leave at most the last line torn (a partial write, even one that splits
//! a character, or binary garbage a crash left behind); loading tolerates
//! that with a warning naming the record lost, and the next append cuts the
//! torn bytes off first. Any other unreadable or out-of-sequence line is
//! corruption and is reported with its line number — a record is never
//! dropped or rewritten silently (`parse`). Appends are serialised process
//! wide, so a second Ctrl-C can end the process between two of them
//! ([`exit_between_appends`]).
//!
//! This module stores and reads records; deciding what they mean for a
//! resumed run is the runbook's job.

mod lock;
mod parse;
mod record;

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

pub use lock::{Lock, LockError, LockInfo, LockState};
use parse::parse;
pub use record::{Baseline, Change, Entry, HeldComponent, PlanFingerprint, Record};

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
        let mut bytes = Vec::new();
        BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| io("read", e))?;
        parse(path, &bytes)
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
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io("read", e))?;
        let loaded = parse(&path, &bytes)?;
        if loaded.torn_tail.is_some() {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) as u64;
            file.set_len(keep)
                .map_err(|e| io("truncate the torn last line of", e))?;
            file.sync_all().map_err(|e| io("sync", e))?;
            file.seek(SeekFrom::End(0)).map_err(|e| io("seek", e))?;
        } else if !bytes.is_empty() && !bytes.ends_with(b"\n") {
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
        let _one_at_a_time = APPENDS.lock().unwrap_or_else(PoisonError::into_inner);
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

/// Held while a record is written and synced, in any journal of the
/// process.
static APPENDS: Mutex<()> = Mutex::new(());

/// Ends the process at once with `code`, but not in the middle of an
/// append: a record being written is finished and synced first, so the
/// journal stays whole (the second Ctrl-C).
pub fn exit_between_appends(code: i32) -> ! {
    let _held = APPENDS.lock().unwrap_or_else(PoisonError::into_inner);
    std::process::exit(code)
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests;
