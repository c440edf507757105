//! `Lab`: the persistent, thread-safe front of the simulated DAG. Loads the
//! world from `<state_dir>/lab-world.json` (or builds it from the plan's
//! `[lab]`), settles it to the wall clock before every script, runs the
//! script on one server and saves the world atomically (temp file, fsync,
//! rename) so a crash never leaves half a file. No orchestration here.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::host::ServerHost;
use super::pwsh::{self, ScriptOutput};
use super::spec::LabSpec;
use super::world::World;

pub const WORLD_FILE: &str = "lab-world.json";

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab has no server named '{0}': use one of the plan's [[lab.server]] names")]
    UnknownServer(String),
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
        "cannot save the lab world to {path}: {source}; check that the state directory is writable"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Lab {
    path: PathBuf,
    world: Mutex<World>,
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
            let world: World = serde_json::from_str(&text).map_err(|source| LabError::Parse {
                path: path.clone(),
                source,
            })?;
            return Ok(Lab {
                path,
                world: Mutex::new(world),
            });
        }
        Lab::reset(state_dir, spec, dag)
    }

    /// Builds a fresh world from `spec` and saves it over any previous one.
    pub fn reset(state_dir: &Path, spec: &LabSpec, dag: &str) -> Result<Lab, LabError> {
        let path = state_dir.join(WORLD_FILE);
        fs::create_dir_all(state_dir).map_err(|source| LabError::Write {
            path: path.clone(),
            source,
        })?;
        let world = World::from_spec(spec, dag, wall_clock_ms());
        save(&path, &world)?;
        Ok(Lab {
            path,
            world: Mutex::new(world),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // A panic in another thread cannot leave the world half-changed on
        // disk (we save only after success), so the in-memory copy is usable.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Settles the world to now, gives `f` a host on `server`, then saves.
    pub fn with_host<R>(
        &self,
        server: &str,
        f: impl FnOnce(&mut ServerHost) -> R,
    ) -> Result<R, LabError> {
        let mut world = self.lock();
        let now = wall_clock_ms().max(world.now_ms);
        world.settle(now);
        let result = {
            let mut host = ServerHost::new(&mut world, server, now)
                .map_err(|e| LabError::UnknownServer(e.0))?;
            f(&mut host)
        };
        world.check_availability();
        save(&self.path, &world)?;
        Ok(result)
    }

    /// Runs a PowerShell script on `server` as `powershell.exe -NonInteractive` would.
    pub fn run_ps(&self, server: &str, script: &str) -> Result<ScriptOutput, LabError> {
        self.with_host(server, |host| pwsh::run(script, host))
    }

    /// Runs a cmd.exe command line on `server`: `hostname`, `type <file>`,
    /// `tasklist`; anything else is not recognised, as cmd.exe says.
    pub fn run_cmd(&self, server: &str, command: &str) -> Result<ScriptOutput, LabError> {
        self.with_host(server, |host| {
            let line = command.trim();
            let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let ok = |stdout: String| ScriptOutput { stdout, stderr: String::new(), exit_code: 0 };
            match verb.to_ascii_lowercase().as_str() {
                "hostname" => ok(format!("{}\r\n", host.this().name.to_ascii_uppercase())),
                "type" => match super::registry::find_file(host.this(), rest.trim()) {
                    Some(f) => ok(f.content),
                    None => ScriptOutput {
                        stdout: String::new(),
                        stderr: "The system cannot find the file specified.\r\n".to_string(),
                        exit_code: 1,
                    },
                },
                "tasklist" => {
                    let mut out = String::from(
                        "\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n\
                         ========================= ======== ================ =========== ============\r\n\
                         System Idle Process              0 Services                   0          8 K\r\n\
                         System                           4 Services                   0        144 K\r\n",
                    );
                    if host.this().service_running("MSExchangeTransport") {
                        out.push_str("MSExchangeTransport.exe       4120 Services                   0    182,344 K\r\n");
                    }
                    ok(out)
                }
                _ => ScriptOutput {
                    stdout: String::new(),
                    stderr: format!(
                        "'{verb}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
                    ),
                    exit_code: 1,
                },
            }
        })
    }

    /// The whole world (servers, databases, faults, availability record) as JSON.
    pub fn state_json(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or(serde_json::Value::Null)
    }

    /// A copy of the world as it is now (not settled).
    pub fn world(&self) -> World {
        self.lock().clone()
    }
}

/// Writes `world` to `path` atomically: temp file beside it, fsync, rename.
fn save(path: &Path, world: &World) -> Result<(), LabError> {
    let err = |source| LabError::Write {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(world).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable where the platform allows opening a directory.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
