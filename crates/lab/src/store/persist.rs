//! How the lab world and its clock reach the disk: compact JSON written
//! atomically (temp file, one fsync, rename), the clock offset file, and
//! whether a call changed the lab world in a way a later process must see.
//! The clock (`now_ms`), the process-id counter and the servers'
//! PowerShell logs change on every call, queries included; everything else
//! changes only when a script did something (or time made something happen,
//! which settling reproduces anyway). Comparing in memory against the last
//! saved copy costs a walk of the world and no allocation, where a save
//! costs a serialisation, a write and an fsync.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::LabError;
use crate::eventlog::PowerShellLog;
use crate::world::World;

/// `world` without its servers' PowerShell logs: the copy `changed`
/// compares against.
pub(super) fn without_logs(world: &World) -> World {
    let mut copy = world.clone();
    for s in &mut copy.servers {
        s.powershell_log = PowerShellLog::default();
    }
    copy
}

/// Whether `live` differs from `saved` (a `without_logs` copy) in anything
/// but the clock, the pid counter and the PowerShell logs. `live` is
/// changed for the comparison and put back as it was.
pub(super) fn changed(live: &mut World, saved: &World) -> bool {
    let logs: Vec<PowerShellLog> = live
        .servers
        .iter_mut()
        .map(|s| std::mem::take(&mut s.powershell_log))
        .collect();
    let clock = std::mem::replace(&mut live.now_ms, saved.now_ms);
    let pid = std::mem::replace(&mut live.next_pid, saved.next_pid);
    let changed = *live != *saved;
    live.now_ms = clock;
    live.next_pid = pid;
    for (s, log) in live.servers.iter_mut().zip(logs) {
        s.powershell_log = log;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::three_member_spec;

    #[test]
    fn the_clock_pids_and_logs_are_not_a_change_anything_else_is() {
        let spec = three_member_spec();
        let mut live = World::from_spec(&spec, &spec.dag, crate::testkit::T0);
        let saved = without_logs(&live);
        live.now_ms += 5_000;
        live.next_pid += 4;
        live.servers[1]
            .powershell_log
            .script_block(live.now_ms, "Get-Date");
        assert!(!changed(&mut live, &saved));
        assert_eq!(live.servers[1].powershell_log.script_blocks.len(), 1);
        assert_eq!(live.now_ms, crate::testkit::T0 + 5_000);

        live.servers[2].move_now = !live.servers[2].move_now;
        assert!(changed(&mut live, &saved));
        assert_eq!(live.servers[1].powershell_log.script_blocks.len(), 1);
    }
}

/// What `CLOCK_FILE` holds.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ClockFile {
    pub(super) offset_ms: i64,
}

/// Writes `world` to `path` atomically, as compact JSON.
pub(super) fn save(path: &Path, world: &World) -> Result<(), LabError> {
    let text = serde_json::to_vec(world).map_err(|e| LabError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, &text)
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
