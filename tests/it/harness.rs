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

    /// Runs cu-roll with another state directory (e.g. the one `lab serve` uses).
    pub fn run_with_state(&self, state_dir: &Path, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_cu-roll"))
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
            .current_dir(self.dir.path())
            .output()
            .expect("run cu-roll");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
