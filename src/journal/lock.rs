//! The per-plan lock: a file created exclusively in the state directory,
//! holding who took it (user, host, pid, time). A second run finds it and
//! says who holds it; `cu-roll unlock PLAN --force` removes a stale one.
//! Dropping the `Lock` removes the file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "lock";

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
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another cu-roll holds the lock {path}: {}{}", .holder.describe(), if *.stale { " — that process is no longer running, so the lock looks stale" } else { "" })]
    Held {
        path: PathBuf,
        holder: Box<LockInfo>,
        stale: bool,
    },
    #[error("the lock {path} exists but cannot be read ({detail})")]
    Unreadable { path: PathBuf, detail: String },
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
            LockError::Held { .. } => Some(format!(
                "if that run is dead, clear it with `cu-roll unlock {} --force`",
                plan.display()
            )),
            LockError::Unreadable { .. } => Some(format!(
                "if no cu-roll is running for this plan, clear it with `cu-roll unlock {} --force`",
                plan.display()
            )),
            LockError::Io { .. } => None,
        }
    }
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
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
        let info = LockInfo {
            owner: std::env::var("USERNAME")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "unknown user".into()),
            host: hostname(),
            pid: std::process::id(),
            since: super::now_rfc3339(),
            command: command.to_string(),
        };
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let text = serde_json::to_string_pretty(&info).expect("lock info serialises");
                f.write_all(text.as_bytes()).map_err(|e| io("write", e))?;
                f.sync_all().map_err(|e| io("sync", e))?;
                Ok(Lock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Self::held(&path)),
            Err(e) => Err(io("create", e)),
        }
    }

    fn held(path: &Path) -> LockError {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                return LockError::Unreadable {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                }
            }
        };
        match serde_json::from_str::<LockInfo>(&text) {
            Ok(holder) => {
                let stale = holder.host == hostname() && !process_alive(holder.pid);
                LockError::Held {
                    path: path.to_path_buf(),
                    holder: Box::new(holder),
                    stale,
                }
            }
            Err(e) => LockError::Unreadable {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
        }
    }

    /// Who holds the lock, if anyone.
    pub fn holder(state_dir: &Path) -> Option<LockInfo> {
        let text = std::fs::read_to_string(Self::path_in(state_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Removes the lock whoever holds it (`unlock --force`). Returns the
    /// holder that was removed, if the file existed.
    pub fn force_clear(state_dir: &Path) -> Result<Option<LockInfo>, LockError> {
        let path = Self::path_in(state_dir);
        let holder = Self::holder(state_dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(holder.or(Some(LockInfo {
                owner: "unknown".into(),
                host: "unknown".into(),
                pid: 0,
                since: "unknown".into(),
                command: "unknown".into(),
            }))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LockError::Io {
                action: "remove",
                path,
                source: e,
            }),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Best effort: a lock left behind is reported and cleared by `unlock --force`.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn hostname() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| {
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string())
        })
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".into())
}

/// Whether `pid` is a running process on this host. Only Linux can tell
/// cheaply (through /proc); elsewhere a lock is never called stale.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
