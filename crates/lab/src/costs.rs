//! What a call costs the caller beyond the work it does, in wall time:
//! `[lab.timings] call_latency`, `powershell_start`, `exchange_session` and
//! `import_session`
//! (docs/lab.md, "Per-call costs"). The lab charges them by sleeping the
//! calling thread outside the world's lock, so concurrent calls pay them
//! side by side as they would against real servers (advancing the lab's
//! shared clock instead would add concurrent costs up, and the world's
//! clock does not bound the orchestrator's own waits). A plan that leaves
//! them out pays nothing, which keeps tests as fast as before; a bench
//! divides realistic values by a time scale. `Counters` count what was
//! paid for (calls, sessions, requests, bytes) for `cu-roll bench`. No
//! orchestration here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Per-call costs in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCosts {
    /// One network round trip. In-process: once per call (the floor any
    /// transport pays); `lab serve`: once per HTTP request it answers, so a
    /// transport that sends five requests per call pays five.
    pub call_latency_ms: i64,
    /// Starting `powershell.exe` (every PowerShell call; cmd.exe calls do
    /// not pay it).
    pub powershell_start_ms: i64,
    /// Opening one Exchange remote session (`New-PSSession` to
    /// `/PowerShell`), per session a script opens.
    pub exchange_session_ms: i64,
    /// One `Import-PSSession`: the commands' metadata fetched from the
    /// session's server and a temporary module of proxies built.
    pub import_session_ms: i64,
}

impl CallCosts {
    /// Estimates of what a real night pays, for benches (not the default):
    ///
    /// * `call_latency` 20 ms, UNVERIFIED: a LAN round trip is well under
    ///   1 ms; the rest is an estimate of the WinRM service's own handling
    ///   of one WS-Management request. The project's performance review
    ///   measured 0.28–0.30 s per call through a loopback proxy at 50 ms
    ///   per request (review of 2026, its §2), which the bench's pre-flight
    ///   figure uses instead.
    /// * `powershell_start` 600 ms: Windows PowerShell 5.1 starting with
    ///   `-NoProfile` took 0.19–0.6 s on Windows 10 and Server 2019 builds
    ///   (PowerShell/PowerShell issues #4239 and #12843, "600ms for Windows
    ///   PowerShell 5.1 to startup"; 0.19 s with `-command`); under WinRM
    ///   the host process (wsmprovhost) adds to it, UNVERIFIED.
    /// * `exchange_session` 5 s, UNVERIFIED: no measurement was found;
    ///   connecting with `New-PSSession -ConfigurationName
    ///   Microsoft.Exchange` (Kerberos, a new runspace on the server's
    ///   `/PowerShell` application, RBAC evaluation) is commonly reported
    ///   as taking seconds.
    /// * `import_session` 1 s, UNVERIFIED: Import-PSSession asks the
    ///   session for the commands' metadata and formatting data and
    ///   builds a module of proxy functions in the local process
    ///   (Microsoft Learn, Import-PSSession); no measurement was found.
    pub const REALISTIC: CallCosts = CallCosts {
        call_latency_ms: 20,
        powershell_start_ms: 600,
        exchange_session_ms: 5_000,
        import_session_ms: 1_000,
    };

    /// Whether every cost is zero (nothing to sleep).
    pub fn is_free(&self) -> bool {
        *self == CallCosts::default()
    }
}

/// Sleeps `ms` milliseconds (nothing for zero or less).
pub(crate) fn pay(ms: i64) {
    if let Ok(ms) = u64::try_from(ms) {
        if ms > 0 {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
}

/// What a lab has answered since it was opened (`Lab::counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Executor calls: PowerShell scripts and cmd.exe command lines, and
    /// for a long-lived process each batch of input it ran (one request).
    pub calls: u64,
    /// Exchange remote sessions the scripts opened.
    pub sessions: u64,
    /// `Import-PSSession` runs: each makes a temporary module of proxies
    /// in its process, fetching the commands' metadata from the server.
    pub imports: u64,
    /// powershell.exe processes started: one per PowerShell call, or one
    /// per long-lived `-Command -` process however many commands it runs.
    pub powershell_starts: u64,
    /// HTTP requests `lab serve` answered (0 in-process).
    pub requests: u64,
    /// HTTP body bytes received and sent by `lab serve` (the SOAP
    /// envelopes; headers not counted).
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// The live counters behind `Counts`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    starts: AtomicU64,
    sessions: AtomicU64,
    imports: AtomicU64,
    requests: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Counters {
    /// One call: a script, a command line, or a batch of a long-lived
    /// process's input (`Lab::end_batch`).
    pub(crate) fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Exchange sessions a script or a command opened.
    pub(crate) fn sessions(&self, sessions: usize) {
        self.sessions.fetch_add(
            u64::try_from(sessions).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// `Import-PSSession` runs of a script or a command.
    pub(crate) fn imports(&self, imports: usize) {
        self.imports.fetch_add(
            u64::try_from(imports).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// A powershell.exe started.
    pub(crate) fn start(&self) {
        self.starts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request(&self, bytes_in: usize, bytes_out: usize) {
        let n = |b: usize| u64::try_from(b).unwrap_or(u64::MAX);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(n(bytes_in), Ordering::Relaxed);
        self.bytes_out.fetch_add(n(bytes_out), Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            calls: self.calls.load(Ordering::Relaxed),
            sessions: self.sessions.load(Ordering::Relaxed),
            imports: self.imports.load(Ordering::Relaxed),
            powershell_starts: self.starts.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

impl crate::world::Timings {
    /// What sending `bytes` of output back costs (ms).
    pub fn output_ms(&self, bytes: usize) -> i64 {
        let mb = bytes as f64 / (1024.0 * 1024.0);
        (mb * self.output_per_mb_ms as f64).round() as i64
    }
}
