//! cu-roll: rolls Exchange Server Cumulative Updates across the members of a
//! Database Availability Group without taking a mailbox database offline.
//!
//! Data flows one way: plan → preflight → runbook → exchange → exec. The
//! simulated DAG is a crate of its own (`lab`), reached only from the
//! command layer (`app::lab`).

pub(crate) mod app;
pub mod assess;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod exchange;
pub mod exec;
pub mod exit;
pub mod journal;
pub mod logging;
pub mod plan;
pub mod pool;
pub mod preflight;
pub mod ps;
pub mod report;
pub mod runbook;
pub mod setup_log;
pub mod tls;

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: cli::Cli) -> i32 {
    app::run(cli)
}
