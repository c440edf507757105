//! The per-plan lock: an OS file lock held by the running process, plus an
//! owner record (user, host, pid, time, command) for humans. The OS lock is
//! what excludes a second run: it dies with its process (a crash, a kill,
//! a closed console) on Linux and Windows alike, so a dead run never keeps
//! the plan locked; the record only says who holds it. A second run that
//! finds the lock held says who holds it; `unlock --force` clears a record
//! left by a dead run and refuses while the holder is alive.
//!
//! What is locked: on Unix the state directory itself (`flock` on the
//! directory), so deleting the `lock` file cannot let a second run in; on
//! Windows the file `lock.held` beside it, opened without delete sharing,
//! so it cannot be deleted while held (the record stays in `lock`: an
//! exclusive `LockFileEx` range would keep other processes from reading
//! the file it is on). A run removes the record on its way out only while
//! it still holds the OS lock and only when the record is its own: it
//! never removes another run's. This module must not decide what a run
//! does with the lock (the command layer does).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "lock";
/// Windows only: the file the OS lock is on.
#[cfg(windows)]
const HELD_FILE: &str = "lock.held";

/// How long a run keeps trying a lock that is held for a moment: `status`
/// and `unlock` probe it with a brief shared lock.
const PROBE_GRACE: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub owner: String,
    pub host: String,
    pub pid: u32,
    pub since: String,
    /// What holds it: `run`, `report`…
    pub command: String,
}

impl LockInfo {
    fn describe(&self) -> String {
        format!(
            "{} on {} (pid {}, `cu-roll {}`) since {}",
            self.owner, self.host, self.pid, self.command, self.since
        )
    }

    fn unknown() -> LockInfo {
        LockInfo {
            owner: "unknown".into(),
            host: "unknown".into(),
            pid: 0,
            since: "unknown".into(),
            command: "unknown".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another cu-roll holds the lock {path}: {}", .holder.as_deref().map_or_else(|| "its owner record is not readable yet".to_string(), LockInfo::describe))]
    Held {
        path: PathBuf,
        holder: Option<Box<LockInfo>>,
    },
    /// `unlock --force` while the holder runs: clearing it would let a
    /// second run drive the same servers.
    #[error("the lock {path} is held by a running cu-roll: {}; it was not cleared", .holder.as_deref().map_or_else(|| "owner unknown".to_string(), LockInfo::describe))]
    HolderAlive {
        path: PathBuf,
        holder: Option<Box<LockInfo>>,
    },
    #[error("cannot {action} the lock {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl LockError {
    /// What to do next, naming the plan (the lock lives in the state
    /// directory and does not know which plan file it guards; the command
    /// layer does, and appends this to the message).
    pub fn next_step(&self, plan: &Path) -> Option<String> {
        match self {
            LockError::Held { .. } | LockError::HolderAlive { .. } => Some(format!(
                "stop that run first (Ctrl-C stops it at a safe point), or wait for it; `cu-roll status {}` shows where it stands",
                plan.display()
            )),
            LockError::Io { .. } => None,
        }
    }
}

/// What the lock looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it and no record is left.
    Free,
    /// A live process holds it (its record, when readable).
    Held(Option<LockInfo>),
    /// Nobody holds it, but a run that ended without tidying up (killed,
    /// or a lost console) left its record.
    Stale(LockInfo),
}

/// A held lock; released on drop (and by the OS when the process dies).
#[derive(Debug)]
pub struct Lock {
    /// The file or directory the OS lock is on; closing it releases it.
    _os_lock: File,
    record: PathBuf,
    mine: LockInfo,
    /// The record of a run that died holding the lock, replaced by ours.
    pub replaced: Option<LockInfo>,
}

impl Lock {
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(LOCK_FILE)
    }

    /// Takes the lock for `command`, or says who holds it.
    pub fn acquire(state_dir: &Path, command: &str) -> Result<Lock, LockError> {
        let path = Self::path_in(state_dir);
        let io = |action, source| LockError::Io {
            action,
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(|e| io("create the directory of", e))?;
        let os_lock = open_lock_target(state_dir).map_err(|e| io("open", e))?;
        let started = Instant::now();
        loop {
            match os_lock.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if started.elapsed() < PROBE_GRACE => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Held {
                        holder: read_record(&path).map(Box::new),
                        path,
                    })
                }
                Err(TryLockError::Error(e)) => return Err(io("take", e)),
            }
        }
        let replaced = read_record(&path);
        let mine = LockInfo {
            owner: std::env::var("USERNAME")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "unknown user".into()),
            host: hostname(),
            pid: std::process::id(),
            since: super::now_rfc3339(),
            command: command.to_string(),
        };
        write_record(&path, &mine).map_err(|e| io("write", e))?;
        Ok(Lock {
            _os_lock: os_lock,
            record: path,
            mine,
            replaced,
        })
    }

    /// Whether the lock is held, by whom, or left stale. Probes the OS
    /// lock with a brief shared lock (a run starting at that moment waits
    /// it out, see `PROBE_GRACE`).
    pub fn state(state_dir: &Path) -> Result<LockState, LockError> {
        let path = Self::path_in(state_dir);
        let record = read_record(&path);
        if !state_dir.exists() {
            return Ok(LockState::Free);
        }
        let target = match open_lock_target(state_dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockState::Free),
            Err(e) => {
                return Err(LockError::Io {
                    action: "open",
                    path,
                    source: e,
                })
            }
        };
        match target.try_lock_shared() {
            Ok(()) => {
                drop(target);
                Ok(record.map_or(LockState::Free, LockState::Stale))
            }
            Err(TryLockError::WouldBlock) => Ok(LockState::Held(record)),
            Err(TryLockError::Error(e)) => Err(LockError::Io {
                action: "probe",
                path,
                source: e,
            }),
        }
    }

    /// Who holds the lock now (a live process), if anyone.
    pub fn holder(state_dir: &Path) -> Option<LockInfo> {
        match Self::state(state_dir) {
            Ok(LockState::Held(info)) => Some(info.unwrap_or_else(LockInfo::unknown)),
            _ => None,
        }
    }

    /// `unlock --force`: removes the record a dead run left. Refuses while
    /// a live process holds the lock. Returns the record removed, if any.
    pub fn force_clear(state_dir: &Path) -> Result<Option<LockInfo>, LockError> {
        let path = Self::path_in(state_dir);
        if !state_dir.exists() {
            return Ok(None);
        }
        let target = open_lock_target(state_dir).map_err(|e| LockError::Io {
            action: "open",
            path: path.clone(),
            source: e,
        })?;
        match target.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::HolderAlive {
                    holder: read_record(&path).map(Box::new),
                    path,
                })
            }
            Err(TryLockError::Error(e)) => {
                return Err(LockError::Io {
                    action: "take",
                    path,
                    source: e,
                })
            }
        }
        let holder = read_record(&path);
        clear_record(&path).map_err(|e| LockError::Io {
            action: "remove",
            path: path.clone(),
            source: e,
        })?;
        Ok(holder)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Still holding the OS lock, so no other run can be writing a
        // record now: remove ours, never someone else's (a record a person
        // wrote by hand stays for them to read).
        if read_record(&self.record).as_ref() == Some(&self.mine) {
            let _ = clear_record(&self.record);
        }
        // Closing `_os_lock` (dropped after this) releases the OS lock.
    }
}

/// What the OS lock is taken on (see the module comment).
#[cfg(not(windows))]
fn open_lock_target(state_dir: &Path) -> std::io::Result<File> {
    File::open(state_dir)
}

#[cfg(windows)]
fn open_lock_target(state_dir: &Path) -> std::io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    // FILE_SHARE_READ | FILE_SHARE_WRITE, without FILE_SHARE_DELETE: the
    // file cannot be deleted or renamed while any cu-roll has it open.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .share_mode(0x1 | 0x2)
        .open(state_dir.join(HELD_FILE))
}

/// Writes the owner record (the caller holds the OS lock).
fn write_record(path: &Path, info: &LockInfo) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(info).expect("lock info serialises");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Removes the owner record (the caller holds the OS lock).
fn clear_record(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The owner record, when there is a readable one.
fn read_record(path: &Path) -> Option<LockInfo> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn hostname() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| {
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string())
        })
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".into())
}
