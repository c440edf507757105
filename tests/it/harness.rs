//! A small fluent harness: a temporary directory with plan files copied
//! in, and the binary run with its state directory inside it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Env {
    dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The binary under test: cargo's build, or `CU_ROLL_IT_BIN` (a copy of
/// it, so an hours-long crash run, `scripts/crash-full`, keeps testing one
/// binary while the tree is rebuilt).
pub fn bin() -> PathBuf {
    std::env::var_os("CU_ROLL_IT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cu-roll")))
}

/// The repository root (where `plans/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies `plans/<name>` into the environment and returns its path.
    pub fn plan(&self, name: &str) -> PathBuf {
        let to = self.dir.path().join(name);
        std::fs::copy(repo().join("plans").join(name), &to).expect("copy plan");
        to
    }

    /// Writes a plan with the given text and returns its path.
    pub fn write_plan(&self, name: &str, text: &str) -> PathBuf {
        let to = self.dir.path().join(name);
        std::fs::write(&to, text).expect("write plan");
        to
    }

    /// `CU_ROLL_CONFIG_DIR` for every run (where `catalog update` stores).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs cu-roll with `--state-dir` inside the environment.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_state(&self.state_dir(), args)
    }

    /// Starts cu-roll in the background (stdout and stderr captured), for a
    /// test that signals or kills it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(&self.state_dir(), args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start cu-roll")
    }

    /// Runs cu-roll with extra environment variables (e.g. a test-only
    /// hook such as `CU_ROLL_TEST_CRASH_AFTER_CHANGE`).
    pub fn run_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command(&self.state_dir(), args);
        command.envs(vars.iter().copied());
        let out = command.output().expect("run cu-roll");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs cu-roll with another state directory (e.g. the one `lab serve` uses).
    pub fn run_with_state(&self, state_dir: &Path, args: &[&str]) -> Run {
        let out = self.command(state_dir, args).output().expect("run cu-roll");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn command(&self, state_dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(bin());
        command
            .args(args)
            .arg("--state-dir")
            .arg(state_dir)
            .env("NO_COLOR", "1")
            // The lab's own password (plans/lab-winrm*.toml read it from here);
            // set per child, never with set_var in a multi-threaded test.
            .env("CUROLL_LAB_PASSWORD", "lab-only-password")
            .env("CUROLL_IT_WRONG_PASSWORD", "not-the-password")
            // A catalogue stored by `catalog update` lives here, never in the
            // real user's configuration directory.
            .env("CU_ROLL_CONFIG_DIR", self.config_dir())
            // Test servers are on loopback: never through a proxy.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .current_dir(self.dir.path());
        command
    }
}

/// A lab plan built from one of `plans/` by key, not by text: each test
/// says what differs from the product's plan (`LabPlan::new().fast()
/// .policy("min_healthy_copies", 2).fault(Fault::new("setup-hangs", "EX02"))`)
/// and the rest stays as the shipped file has it, comments included. Keys
/// are set whether or not the file has them; a named server, lab server or
/// medium must exist in the file.
#[derive(Clone)]
pub struct LabPlan {
    doc: toml_edit::DocumentMut,
}

/// One `[[lab.fault]]` (docs/lab.md "Faults").
pub struct Fault {
    table: toml_edit::Table,
}

impl Fault {
    pub fn new(kind: &str, server: &str) -> Fault {
        let mut table = toml_edit::Table::new();
        table["server"] = toml_edit::value(server);
        table["kind"] = toml_edit::value(kind);
        Fault { table }
    }

    /// Activates once (`times = 1`): the resumed run does not meet it again.
    pub fn once(self) -> Fault {
        self.with("times", 1)
    }

    pub fn hold(self, hold: &str) -> Fault {
        self.with("hold", hold)
    }

    pub fn database(self, database: &str) -> Fault {
        self.with("database", database)
    }

    /// `"<server>:<step>"`: when the fault fires.
    pub fn during(self, during: &str) -> Fault {
        self.with("during", during)
    }

    fn with(mut self, key: &str, value: impl Into<toml_edit::Value>) -> Fault {
        self.table[key] = toml_edit::value(value);
        self
    }
}

impl LabPlan {
    /// `plans/lab.toml`: the in-process three-member lab.
    pub fn new() -> LabPlan {
        LabPlan::from_plans("lab.toml")
    }

    /// Another plan of `plans/` (e.g. `lab-winrm.toml`).
    pub fn from_plans(name: &str) -> LabPlan {
        let path = repo().join("plans").join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        LabPlan {
            doc: text
                .parse()
                .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display())),
        }
    }

    /// Simulated work in tens of milliseconds and a 20 ms poll, for tests
    /// that run a rollout without studying its timing. (The security update
    /// once needed more than 200 ms: the lab judged "already installed" by
    /// the run's length; `reliability::a_security_update_faster_than_200ms_still_installs`.)
    pub fn fast(self) -> LabPlan {
        self.timing("setup", "60ms")
            .timing("reboot", "30ms")
            .timing("security_update", "30ms")
            .timing("drain_per_message", "2ms")
            .timing("database_move", "20ms")
            .timing("resync", "20ms")
            // Transport's bootloader after a restart: at the lab default
            // (1 s) a test's 1 s drain timeout raced the redirect's wait.
            .timing("transport_startup", "50ms")
            .policy("poll_interval", "20ms")
    }

    /// Every `[policy.timeouts]` entry set to `d`.
    pub fn timeouts(self, d: &str) -> LabPlan {
        ["drain", "setup", "reboot", "health", "move_databases"]
            .into_iter()
            .fold(self, |plan, key| plan.timeout(key, d))
    }

    /// One `[policy.timeouts]` entry.
    pub fn timeout(self, key: &str, d: &str) -> LabPlan {
        self.set(&["policy", "timeouts"], key, d)
    }

    /// One `[lab]` key (e.g. `witness_reachable`).
    pub fn lab(self, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.set(&["lab"], key, value)
    }

    /// One `[policy]` key.
    pub fn policy(self, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.set(&["policy"], key, value)
    }

    /// One `[rollout]` key.
    pub fn rollout(self, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.set(&["rollout"], key, value)
    }

    /// One `[connection]` key.
    pub fn connection(self, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.set(&["connection"], key, value)
    }

    /// One `[lab.timings]` entry (wall time of simulated work).
    pub fn timing(self, key: &str, d: &str) -> LabPlan {
        self.set(&["lab", "timings"], key, d)
    }

    /// One `[lab.ad]` key.
    pub fn ad(self, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.set(&["lab", "ad"], key, value)
    }

    /// One key of the `[[server]]` named `name`.
    pub fn server(mut self, name: &str, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.entry(&["server"], "name", name)[key] = toml_edit::value(value);
        self
    }

    /// One key of the `[[lab.server]]` named `name`.
    pub fn lab_server(
        mut self,
        name: &str,
        key: &str,
        value: impl Into<toml_edit::Value>,
    ) -> LabPlan {
        self.entry(&["lab", "server"], "name", name)[key] = toml_edit::value(value);
        self
    }

    /// One key of the `[[lab.media]]` at `path`.
    pub fn media(mut self, path: &str, key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        self.entry(&["lab", "media"], "path", path)[key] = toml_edit::value(value);
        self
    }

    /// Appends a `[[lab.fault]]`.
    pub fn fault(mut self, fault: Fault) -> LabPlan {
        let faults = self.doc["lab"]
            .as_table_mut()
            .expect("[lab]")
            .entry("fault")
            .or_insert(toml_edit::Item::ArrayOfTables(
                toml_edit::ArrayOfTables::new(),
            ));
        faults
            .as_array_of_tables_mut()
            .expect("[[lab.fault]] is an array of tables")
            .push(fault.table);
        self
    }

    /// The loopback ports: `[lab] base_port` and each `[[server]] port`
    /// (where the plan has one) moved to `base`, `base + 1`, ….
    pub fn ports(mut self, base: u16) -> LabPlan {
        self = self.set(&["lab"], "base_port", i64::from(base));
        let servers = self.doc["server"]
            .as_array_of_tables_mut()
            .expect("[[server]]");
        for (i, s) in servers.iter_mut().enumerate() {
            if s.contains_key("port") {
                let i = u16::try_from(i).expect("few servers");
                s["port"] = toml_edit::value(i64::from(base + i));
            }
        }
        self
    }

    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the plan into `env` as `name` and returns its path.
    pub fn write(&self, env: &Env, name: &str) -> PathBuf {
        env.write_plan(name, &self.text())
    }

    fn set(mut self, table: &[&str], key: &str, value: impl Into<toml_edit::Value>) -> LabPlan {
        let mut item = self.doc.as_item_mut();
        for name in table {
            item = &mut item[*name];
        }
        let t = item
            .as_table_mut()
            .unwrap_or_else(|| panic!("[{}] is not a table in the plan", table.join(".")));
        match t.get_mut(key).and_then(|i| i.as_value_mut()) {
            // Keep the line's comment where the file has one.
            Some(v) => {
                let decor = v.decor().clone();
                *v = value.into();
                *v.decor_mut() = decor;
            }
            None => t[key] = toml_edit::value(value),
        }
        self
    }

    /// The entry of the array of tables at `array` whose `field` is `value`.
    fn entry(&mut self, array: &[&str], field: &str, value: &str) -> &mut toml_edit::Table {
        let mut item = self.doc.as_item_mut();
        for name in array {
            item = &mut item[*name];
        }
        item.as_array_of_tables_mut()
            .unwrap_or_else(|| panic!("[[{}]] missing from the plan", array.join(".")))
            .iter_mut()
            .find(|t| t.get(field).and_then(|v| v.as_str()) == Some(value))
            .unwrap_or_else(|| {
                panic!(
                    "no [[{}]] with {field} = {value:?} in the plan",
                    array.join(".")
                )
            })
    }
}
