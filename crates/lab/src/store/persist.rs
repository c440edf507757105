//! How the lab world and its clock reach the disk: compact JSON written
//! atomically (temp file, one fsync, rename), the clock offset file, and
//! whether a call changed the lab world in a way a later process must see.
//! The clock (`now_ms`), the process-id counter, the servers' PowerShell
//! logs and their count of Exchange sessions accepted change on every
//! call, or on every call to a new host, queries included: they are for
//! inspection and are saved with the next change (or when the lab
//! closes). Everything else changes only when a script did something (or
//! time made something happen, which settling reproduces anyway).
//! Comparing in memory against the last saved copy reads the servers the
//! call borrowed for writing (`Servers`: one, for most calls) and the rest
//! of the world, not every server; the config files' text, most of a
//! server, is shared with that copy and compared by address
//! (`SharedText`). A save costs a serialisation, a write and an fsync.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::LabError;
use crate::eventlog::PowerShellLog;
use crate::model::Server;
use crate::servers::Touched;
use crate::world::World;

/// `world` without what is kept for inspection only (the servers'
/// PowerShell logs and Exchange session counts): the copy `changed`
/// compares against.
pub(super) fn without_logs(world: &World) -> World {
    let mut copy = world.clone();
    for s in &mut copy.servers {
        s.powershell_log = PowerShellLog::default();
        s.exchange_sessions = 0;
    }
    copy
}

/// Whether `live` differs from `saved` (a `without_logs` copy) in anything
/// but the clock, the pid counter, the PowerShell logs and the Exchange
/// session counts. Of the servers, only those borrowed for writing since
/// the last comparison are read (`Servers::take_touched`): the others are
/// as saved. Both are changed for the comparison and put back as they were.
pub(super) fn changed(live: &mut World, saved: &mut World) -> bool {
    let touched = live.servers.take_touched();
    if live.servers.len() != saved.servers.len() {
        return true;
    }
    let indices: Vec<usize> = match touched {
        Touched::None => Vec::new(),
        Touched::Some(set) => set.into_iter().collect(),
        Touched::All => (0..live.servers.len()).collect(),
    };
    let list = live.servers.unmarked();
    if indices
        .into_iter()
        .any(|i| server_changed(&mut list[i], &saved.servers[i]))
    {
        return true;
    }
    // The rest of the world, the servers set aside.
    let live_list = std::mem::take(live.servers.unmarked());
    let saved_list = std::mem::take(saved.servers.unmarked());
    let clock = std::mem::replace(&mut live.now_ms, saved.now_ms);
    let pid = std::mem::replace(&mut live.next_pid, saved.next_pid);
    let changed = *live != *saved;
    live.now_ms = clock;
    live.next_pid = pid;
    *live.servers.unmarked() = live_list;
    *saved.servers.unmarked() = saved_list;
    changed
}

/// One server against its saved copy, but for what is kept for inspection.
fn server_changed(live: &mut Server, saved: &Server) -> bool {
    let log = std::mem::take(&mut live.powershell_log);
    let sessions = std::mem::take(&mut live.exchange_sessions);
    let changed = *live != *saved;
    live.powershell_log = log;
    live.exchange_sessions = sessions;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::three_member_spec;

    #[test]
    fn the_clock_pids_logs_and_session_counts_are_not_a_change_anything_else_is() {
        let spec = three_member_spec();
        let mut live = World::from_spec(&spec, &spec.dag, crate::testkit::T0);
        let mut saved = without_logs(&live);
        live.now_ms += 5_000;
        live.next_pid += 4;
        live.servers[1]
            .powershell_log
            .script_block(live.now_ms, "Get-Date");
        live.servers[2].exchange_sessions += 1;
        assert!(!changed(&mut live, &mut saved));
        assert_eq!(live.servers[2].exchange_sessions, 1);
        assert_eq!(live.servers[1].powershell_log.script_blocks.len(), 1);
        assert_eq!(live.now_ms, crate::testkit::T0 + 5_000);

        live.servers[2].move_now = !live.servers[2].move_now;
        assert!(changed(&mut live, &mut saved));

        // A config file's text is compared by content when not shared.
        let mut edited = without_logs(&live);
        let mut saved = without_logs(&live);
        let text = saved.servers[0].config_files[0].content.to_string();
        saved.servers[0].config_files[0].content = text.clone().into();
        assert!(
            !changed(&mut edited, &mut saved),
            "the same text, not shared"
        );
        edited.servers[0].config_files[0].content = format!("{text} ").into();
        assert!(changed(&mut edited, &mut saved));

        // A change through any other write access is seen too, and so is
        // one outside the servers.
        let mut saved = without_logs(&live);
        assert!(!changed(&mut live, &mut saved));
        for s in live.servers.iter_mut().skip(2) {
            s.drain_carry_ms += 1;
        }
        assert!(changed(&mut live, &mut saved));
        let mut saved = without_logs(&live);
        assert!(!changed(&mut live, &mut saved));
        live.witness_reachable = !live.witness_reachable;
        assert!(changed(&mut live, &mut saved));
        assert_eq!(live.servers[1].powershell_log.script_blocks.len(), 1);
    }
}

/// What `CLOCK_FILE` holds.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ClockFile {
    pub(super) offset_ms: i64,
}

/// Writes `world` to `path` atomically, as compact JSON, without the
/// servers' PowerShell logs (`save_logs` writes them to a file of their
/// own): the logs are most of a world's bytes (up to `MAX_EVENTS` scripts
/// per server), and this runs after every call that changed something.
/// The logs are taken out for the serialisation and put back.
pub(super) fn save(path: &Path, world: &mut World) -> Result<(), LabError> {
    let logs: Vec<PowerShellLog> = world
        .servers
        .unmarked()
        .iter_mut()
        .map(|s| std::mem::take(&mut s.powershell_log))
        .collect();
    let text = serde_json::to_vec(&*world);
    for (s, log) in world.servers.unmarked().iter_mut().zip(logs) {
        s.powershell_log = log;
    }
    let text = text.map_err(|e| LabError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, &text)
}

/// Writes every server's PowerShell log to `path` (an object by server
/// name), atomically.
pub(super) fn save_logs(path: &Path, world: &World) -> Result<(), LabError> {
    let logs: indexmap::IndexMap<&str, &PowerShellLog> = world
        .servers
        .iter()
        .map(|s| (s.name.as_str(), &s.powershell_log))
        .collect();
    let text = serde_json::to_vec(&logs).map_err(|e| LabError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, &text)
}

/// Puts the logs `save_logs` wrote back on `world`'s servers; no file is
/// no logs (a world saved before the logs had a file of their own keeps
/// those it holds).
pub(super) fn load_logs(path: &Path, world: &mut World) -> Result<(), LabError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LabError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut logs: indexmap::IndexMap<String, PowerShellLog> =
        serde_json::from_str(&text).map_err(|source| LabError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    for s in world.servers.unmarked().iter_mut() {
        if let Some(log) = logs.swap_remove(&s.name) {
            s.powershell_log = log;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: temp file beside it, one fsync of
/// its data, rename. A killed process leaves the old file or the new one,
/// never half of either (rename replaces atomically); the directory is not
/// fsynced, so after a power cut the rename may be undone and the world one
/// save older — a lab, unlike the journal, may lose its last step there.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LabError> {
    let err = |source| LabError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_data().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

pub(super) fn clock_offset_ms_at(clock: &Path) -> Result<i64, LabError> {
    let text = match fs::read_to_string(clock) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(LabError::Read {
                path: clock.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str::<ClockFile>(&text)
        .map(|c| c.offset_ms)
        .map_err(|source| LabError::Clock {
            path: clock.to_path_buf(),
            source,
        })
}
