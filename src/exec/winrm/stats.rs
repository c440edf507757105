//! What the WinRM transport cost: connections opened, HTTP requests sent,
//! shells created, commands run, requests to PowerShell hosts. One `Stats` is shared by every client of
//! an executor; tests read it, and the executor logs it when it is dropped
//! (`winrm transport totals` in cu-roll.log), so a run over WinRM shows
//! what session reuse saves. Counting only: no policy here.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
    shells: AtomicU64,
    commands: AtomicU64,
    host_requests: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// TCP connections opened (each TLS handshake and NTLM handshake
    /// happens once per connection).
    pub connections: u64,
    /// HTTP requests sent, NTLM handshake requests included.
    pub requests: u64,
    /// WinRM shells created.
    pub shells: u64,
    /// Commands started in them (a PowerShell host is one).
    pub commands: u64,
    /// PowerShell calls answered by a running host (no command of their own).
    pub host_requests: u64,
}

impl Stats {
    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_sent(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn shell_created(&self) {
        self.shells.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn command_started(&self) {
        self.commands.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn host_request(&self) {
        self.host_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn totals(&self) -> Totals {
        Totals {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            shells: self.shells.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            host_requests: self.host_requests.load(Ordering::Relaxed),
        }
    }
}
