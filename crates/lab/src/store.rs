//! `Lab`: the persistent, thread-safe front of the simulated DAG. Loads the
//! world from `<state_dir>/lab-world.json` (or builds it from the plan's
//! `[lab]`), settles it to the lab's clock before every script, runs the
//! script on one server and saves the world atomically (temp file, fsync,
//! rename) so a crash never leaves half a file. The lab's clock is the wall
//! clock plus the offset `cu-roll lab advance` keeps in
//! `<state_dir>/lab-clock.json`, read afresh at every call so a running
//! `lab serve` sees an advance too. Running one script on a world held
//! under the lock is in `run`, the files in `persist`, the long-lived
//! powershell.exe processes in `process`. No orchestration here.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::costs::{self, CallCosts};
use super::host::ServerHost;
use super::pwsh::{self, ScriptOutput};
use super::spec::LabSpec;
use super::world::World;

mod persist;
mod process;
mod run;

pub use process::PsProcess;
use run::{enter, run_ps_counted};
pub use run::{run_cmd_in, run_ps_fed, run_ps_in};

use persist::{clock_offset_ms_at, load_logs, save, save_logs, write_atomically, ClockFile};

pub const WORLD_FILE: &str = "lab-world.json";

/// Beside the world: the servers' PowerShell logs (`servers[].powershell_log`
/// of `cu-roll lab state`), by server name. A file of their own because
/// they are most of the world's bytes and change on every call: they are
/// written at most every [`LOGS_EVERY`] and when the lab closes, not with
/// every change of the world. A killed process loses at most that much of
/// them; the world itself is saved after every call that changed it.
pub const LOGS_FILE: &str = "lab-logs.json";

/// How often the PowerShell logs are written while calls go on.
pub const LOGS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Beside the world: how far `cu-roll lab advance` moved the lab's clock
/// ahead of the wall clock (`{"offset_ms": N}`; absent = 0). A file of its
/// own, not a field of the world, because `lab serve` keeps the world in
/// memory and rewrites the world file after every call: an offset written
/// into it by another process would be lost, one read from here is not.
pub const CLOCK_FILE: &str = "lab-clock.json";

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab has no server named '{0}': use one of the plan's [[lab.server]] names")]
    UnknownServer(String),
    /// The script ran past the caller's deadline: its process was killed
    /// there, with whatever its commands had done by then.
    #[error("the script on {server} was still running after {after_ms} ms and was stopped")]
    TimedOut { server: String, after_ms: i64 },
    /// The server is rebooting: connections are refused, as a real server's
    /// WinRM listener is gone while it restarts.
    #[error("{server} refused the connection (it is restarting; back in about {back_in_ms} ms)")]
    Unreachable { server: String, back_in_ms: i64 },
    #[error(
        "cannot read the lab world {path}: {source}; run `cu-roll lab reset PLAN` to start over"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the lab world {path} is not valid JSON for this version ({source}); run `cu-roll lab reset PLAN` to start over")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the lab clock {path} is not valid ({source}); run `cu-roll lab reset PLAN` to start over"
    )]
    Clock {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "cannot save the lab world to {path}: {source}; check that the state directory is writable"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Lab {
    path: PathBuf,
    clock: PathBuf,
    logs: PathBuf,
    world: Mutex<Worlds>,
    /// The world's per-call costs (`[lab.timings]`), paid by the caller.
    costs: CallCosts,
    /// `call_latency` is paid once per call (in-process), or by whoever
    /// answers requests (`lab serve`, once per HTTP request).
    latency_per_call: bool,
    counters: costs::Counters,
    /// The long-lived powershell.exe processes running now (`process.rs`).
    live: process::Live,
}

/// The live world and what was last written to disk, to tell a call that
/// changed something from a read-only one without serialising anything.
struct Worlds {
    live: World,
    /// The world as saved, without what is kept for inspection only
    /// (PowerShell logs, Exchange session counts: `persist::changed`).
    saved: World,
    /// The live world holds session counts the file does not.
    inspection_unsaved: bool,
    /// When the logs file was last written, and whether a call ran since.
    logs_saved_at: std::time::Instant,
    logs_unsaved: bool,
}

impl std::ops::Deref for Worlds {
    type Target = World;
    fn deref(&self) -> &World {
        &self.live
    }
}

impl std::ops::DerefMut for Worlds {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.live
    }
}

impl Worlds {
    fn new(live: World) -> Worlds {
        Worlds {
            saved: persist::without_logs(&live),
            live,
            inspection_unsaved: false,
            logs_saved_at: std::time::Instant::now(),
            logs_unsaved: false,
        }
    }
}

impl Drop for Lab {
    /// Saves the session counts read-only calls added and the PowerShell
    /// logs (nothing else is unsaved); a failure here has no one to
    /// report to.
    fn drop(&mut self) {
        let (path, logs) = (self.path.clone(), self.logs.clone());
        let mut worlds = self.lock();
        if worlds.inspection_unsaved {
            let _ = save(&path, &mut worlds.live);
        }
        let _ = worlds.save_logs(&logs);
    }
}

impl Worlds {
    /// Writes the PowerShell logs when calls added some since they were
    /// last written (`LOGS_FILE`).
    fn save_logs(&mut self, path: &Path) -> Result<(), LabError> {
        if self.logs_unsaved {
            save_logs(path, &self.live)?;
            self.logs_saved_at = std::time::Instant::now();
            self.logs_unsaved = false;
        }
        Ok(())
    }
}

/// Milliseconds since 1970 UTC, the world's clock.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Lab {
    /// Loads the saved world from `state_dir`, or builds one from `spec`
    /// (all servers in DAG `dag`) and saves it.
    pub fn open(state_dir: &Path, spec: &LabSpec, dag: &str) -> Result<Lab, LabError> {
        let path = state_dir.join(WORLD_FILE);
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(|source| LabError::Read {
                path: path.clone(),
                source,
            })?;
            let mut world: World =
                serde_json::from_str(&text).map_err(|source| LabError::Parse {
                    path: path.clone(),
                    source,
                })?;
            load_logs(&state_dir.join(LOGS_FILE), &mut world)?;
            return Ok(Lab::new(state_dir, world));
        }
        Lab::reset(state_dir, spec, dag)
    }

    /// Builds a fresh world from `spec` and saves it over any previous one;
    /// the lab's clock is the wall clock again (no offset).
    pub fn reset(state_dir: &Path, spec: &LabSpec, dag: &str) -> Result<Lab, LabError> {
        let path = state_dir.join(WORLD_FILE);
        fs::create_dir_all(state_dir).map_err(|source| LabError::Write {
            path: path.clone(),
            source,
        })?;
        let clock = state_dir.join(CLOCK_FILE);
        match fs::remove_file(&clock) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LabError::Write {
                    path: clock,
                    source,
                })
            }
        }
        let mut world = World::from_spec(spec, dag, wall_clock_ms());
        save(&path, &mut world)?;
        // No logs yet: an older run's must not join the new world.
        save_logs(&state_dir.join(LOGS_FILE), &world)?;
        Ok(Lab::new(state_dir, world))
    }

    fn new(state_dir: &Path, world: World) -> Lab {
        let t = &world.timings;
        let costs = CallCosts {
            call_latency_ms: t.call_latency_ms,
            powershell_start_ms: t.powershell_start_ms,
            exchange_session_ms: t.exchange_session_ms,
            import_session_ms: t.import_session_ms,
        };
        Lab {
            path: state_dir.join(WORLD_FILE),
            clock: state_dir.join(CLOCK_FILE),
            logs: state_dir.join(LOGS_FILE),
            world: Mutex::new(Worlds::new(world)),
            costs,
            latency_per_call: true,
            counters: costs::Counters::default(),
            live: process::Live::default(),
        }
    }

    /// For `lab serve`: calls no longer pay `call_latency`; the listener
    /// pays it per request (`pay_request_latency`).
    pub fn latency_per_request(mut self) -> Lab {
        self.latency_per_call = false;
        self
    }

    /// The per-call costs this lab charges.
    pub fn costs(&self) -> CallCosts {
        self.costs
    }

    /// One request's round trip (`lab serve`).
    pub fn pay_request_latency(&self) {
        costs::pay(self.costs.call_latency_ms);
    }

    /// Counts one HTTP request `lab serve` answered, with its body sizes.
    pub fn count_request(&self, bytes_in: usize, bytes_out: usize) {
        self.counters.request(bytes_in, bytes_out);
    }

    /// What this lab has answered since it was opened.
    pub fn counts(&self) -> costs::Counts {
        self.counters.counts()
    }

    /// What a call pays before it runs: the round trip (in-process), and
    /// a new powershell.exe for PowerShell.
    fn pay_start(&self, powershell: bool) {
        let latency = if self.latency_per_call {
            self.costs.call_latency_ms
        } else {
            0
        };
        let start = if powershell {
            self.costs.powershell_start_ms
        } else {
            0
        };
        costs::pay(latency + start);
    }

    /// A PowerShell script, its costs paid: start-up before, each Exchange
    /// session it opened after (the lab learns of them by running it).
    fn run_ps_paid(
        &self,
        server: &str,
        script: &str,
        stdin: &str,
        budget_ms: Option<i64>,
    ) -> Result<ScriptOutput, LabError> {
        self.pay_start(true);
        self.counters.start();
        // Parsed before the world is locked: other servers' calls go on meanwhile.
        let prepared = pwsh::prepare(script);
        let (out, opened) = self.with_world(|world, now| {
            let out = run_ps_counted(world, server, prepared, stdin, now, budget_ms);
            self.live.show(world, server);
            out
        })?;
        self.counters.call();
        self.opened(opened.sessions, opened.imports);
        Ok(out)
    }

    /// What a script or a command opened, counted and paid after it ran
    /// (the lab learns of them by running it): `exchange_session` per
    /// session, `import_session` per Import-PSSession.
    fn opened(&self, sessions: usize, imports: usize) {
        self.counters.sessions(sessions);
        self.counters.imports(imports);
        let times = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        costs::pay(
            self.costs
                .exchange_session_ms
                .saturating_mul(times(sessions))
                .saturating_add(self.costs.import_session_ms.saturating_mul(times(imports))),
        );
    }

    /// How far the lab's clock runs ahead of the wall clock (ms).
    fn offset_ms(&self) -> Result<i64, LabError> {
        clock_offset_ms_at(&self.clock)
    }

    /// The lab's "now" for `world`: the wall clock plus the offset, never
    /// before the time the world was last settled to.
    fn now_for(&self, world: &World) -> Result<i64, LabError> {
        Ok(wall_clock_ms()
            .saturating_add(self.offset_ms()?)
            .max(world.now_ms))
    }

    /// Moves the lab's clock `by_ms` past its "now" (for tests: a fault's
    /// hold passes without waiting it out). "Now" is the later of the wall
    /// clock plus the offset and the time the world was last settled to,
    /// which runs ahead of the wall clock when calls spent lab time (a
    /// restart, a script's `Start-Sleep`): a hold that began there ends
    /// `by_ms` later only when counted from it. The world is not touched:
    /// the next call settles it to the new time, with every event due on
    /// the way. Returns the whole offset.
    pub fn advance(&self, by_ms: i64) -> Result<i64, LabError> {
        let world = self.lock();
        let ahead = world.live.now_ms.saturating_sub(wall_clock_ms());
        let offset = self.offset_ms()?.max(ahead).saturating_add(by_ms.max(0));
        let text = serde_json::to_string(&ClockFile { offset_ms: offset })
            .expect("a clock file always serialises");
        write_atomically(&self.clock, text.as_bytes())?;
        Ok(offset)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Worlds> {
        // A panic in another thread cannot leave the world half-changed on
        // disk (we save only after success), so the in-memory copy is usable.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Settles the world to now, gives `f` a host on `server`, then saves.
    /// A server that is down (rebooting) refuses: `LabError::Unreachable`.
    pub fn with_host<R>(
        &self,
        server: &str,
        f: impl FnOnce(&mut ServerHost) -> R,
    ) -> Result<R, LabError> {
        self.with_world(|world, now| {
            let i = enter(world, server, now)?;
            let name = world.servers[i].name.clone();
            let mut host =
                ServerHost::new(world, &name, now).map_err(|e| LabError::UnknownServer(e.0))?;
            Ok(f(&mut host))
        })
    }

    /// Runs `f` on the world at the lab's clock, then saves whatever it
    /// changed (settling included, even when `f` fails); a call that
    /// changed nothing but the clock, the pid counter, the PowerShell log
    /// and the session counts writes nothing (they wait for the next save).
    fn with_world<R>(
        &self,
        f: impl FnOnce(&mut World, i64) -> Result<R, LabError>,
    ) -> Result<R, LabError> {
        let mut guard = self.lock();
        let worlds = &mut *guard;
        let now = self.now_for(&worlds.live)?;
        let result = f(&mut worlds.live, now);
        worlds.live.check_availability();
        if persist::changed(&mut worlds.live, &mut worlds.saved) {
            if let Err(e) = save(&self.path, &mut worlds.live) {
                // Compared again, in full, by the next call.
                worlds.live.servers.mark_all();
                return Err(e);
            }
            worlds.saved = persist::without_logs(&worlds.live);
            worlds.inspection_unsaved = false;
        } else {
            worlds.inspection_unsaved = true;
        }
        worlds.logs_unsaved = true;
        if worlds.logs_saved_at.elapsed() >= LOGS_EVERY {
            worlds.save_logs(&self.logs)?;
        }
        result
    }

    /// Writes the PowerShell logs calls added since they were last
    /// written (`LOGS_FILE`); nothing when there are none.
    pub fn flush_logs(&self) -> Result<(), LabError> {
        self.lock().save_logs(&self.logs)
    }

    /// The world as it is now (a settled copy; the saved world is not
    /// changed), as JSON: servers, databases, faults and the top-level
    /// `availability` record. An unreadable clock file counts as no offset.
    pub fn state_json(&self) -> serde_json::Value {
        let mut world = self.lock().live.clone();
        let now = self
            .now_for(&world)
            .unwrap_or_else(|_| wall_clock_ms().max(world.now_ms));
        world.settle(now);
        serde_json::to_value(&world).unwrap_or(serde_json::Value::Null)
    }

    /// A copy of the world as it is now (not settled).
    pub fn world(&self) -> World {
        self.lock().live.clone()
    }
}

/// How far the lab's clock in `state_dir` runs ahead of the wall clock
/// (ms; 0 before any `cu-roll lab advance`). The product's maintenance
/// window reads it (through the command layer) to judge `not_after` by
/// the lab's time.
pub fn clock_offset_ms(state_dir: &Path) -> Result<i64, LabError> {
    clock_offset_ms_at(&state_dir.join(CLOCK_FILE))
}

#[cfg(test)]
mod tests;
