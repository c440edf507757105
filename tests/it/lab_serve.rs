//! `cu-roll lab serve` for a test: a run of free loopback ports, the
//! process started on them (its lab world in `<env>/served-state`), and
//! stopped by its own pid when the guard drops. Used by the WinRM tests
//! (`winrm.rs`) and the crash harness over WinRM (`crash_harness.rs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::harness::Env;

/// Port picking and binding are one step per test process: trials started
/// side by side would otherwise probe the same free run of ports.
static PICKING: Mutex<()> = Mutex::new(());

/// A run of three consecutive free loopback ports.
pub fn free_base_port() -> u16 {
    for _ in 0..50 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base > 65_000 {
            continue;
        }
        if (base..base + 3).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free run of loopback ports");
}

/// A running `lab serve`, killed (by its pid) and reaped on drop.
pub struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The state directory `lab serve` keeps its world in.
pub fn served_state(env: &Env) -> PathBuf {
    env.path().join("served-state")
}

/// Starts `cu-roll lab serve PLAN` and waits for its three `NAME URL` lines.
pub fn serve(env: &Env, plan: &Path) -> (Serve, Vec<String>) {
    let mut child = Command::new(crate::harness::bin())
        .args(["lab", "serve"])
        .arg(plan)
        .arg("--state-dir")
        .arg(served_state(env))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn lab serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let guard = Serve(child);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        lines.push(line);
        if lines.len() == 3 {
            break;
        }
    }
    (guard, lines)
}

/// Picks free ports for `plan` (a `LabPlan` of a WinRM plan), writes it
/// into `env` as `name` and starts `lab serve` on it; ports are picked and
/// bound under one lock, so trials side by side never share them.
pub fn serve_plan(env: &Env, plan: crate::harness::LabPlan, name: &str) -> (Serve, PathBuf) {
    let _picking = PICKING.lock().unwrap_or_else(|e| e.into_inner());
    let path = plan.ports(free_base_port()).write(env, name);
    let (guard, lines) = serve(env, &path);
    assert_eq!(lines.len(), 3, "lab serve did not start: {lines:?}");
    (guard, path)
}
