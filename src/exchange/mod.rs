//! Typed Exchange operations built on `exec` + `ps`: everything cu-roll
//! sends to a server is made here. `observe` reads (server facts, the
//! maintenance state in `state`, boot state, health tests, AD levels) and
//! parses what the scripts print into plain Rust values; `act` builds the
//! changes as [`act::Action`]s, each saying which journal `Change` it
//! makes. Every operation carries its [`Placement`] (where it must run),
//! and `operation` adds the prelude that placement needs in one place;
//! `pin` keeps the domain controller each server's AD writes and their
//! verifying reads go to.
//! Nothing here decides anything (that is `preflight` and `runbook`), and
//! nothing here knows whether the server is real or the lab.

#[macro_use]
mod operation;
pub mod act;
pub mod observe;
pub mod pin;
mod query;
mod reach;
mod state;

pub use observe::{
    ad_levels, exchange_state, exsetup_in_tasklist, server_facts, setup_running, AdLevelsObs,
    BootState, HealthTestsObs, InstalledProduct, MapiObs, ReplicationCheckObs, ServerFacts,
    ServiceHealthObs, ServiceObs,
};
pub use operation::{
    edge_shell_text_for_command, exchange_cmdlets_in, session_text_for_command, Operation,
    Placement, Template, DC_MARKER, EXCHANGE_CMDLETS,
};
pub use query::{query, query_list};
pub use reach::{run, Credential, Reach};
pub use state::{
    same, ComponentObs, CopyObs, ExchangeState, QueueObs, RequesterObs, FUNCTIONAL, MAINTENANCE,
};

use crate::exec::ExecError;
use crate::ps::JsonError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Exchange setup is running on {server}: not queried with PowerShell (setup refuses to run beside other PowerShell processes); ask again when it has finished")]
    SetupRunning { server: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("{purpose} failed on {server} (exit code {exit_code}): {detail}")]
    ScriptFailed {
        server: String,
        purpose: &'static str,
        exit_code: i32,
        detail: String,
    },
    #[error("{purpose} on {server}: {source}")]
    BadOutput {
        server: String,
        purpose: &'static str,
        source: JsonError,
    },
}

/// The first meaningful line of a PowerShell error stream, for messages.
pub(crate) fn first_error_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no error text)");
    line.chars().take(400).collect()
}
