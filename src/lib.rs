//! cu-roll: rolls Exchange Server Cumulative Updates across the members of a
//! Database Availability Group without taking a mailbox database offline.
//!
//! Data flows one way: plan → preflight → runbook → exchange → exec. The
//! command layer (`commands`) wires each command to the library; its one
//! error type is `error::Error`, whose `exit_code` picks the process exit
//! code. The simulated DAG is a crate of its own (`lab`), reached only from
//! the command layer (`commands::lab`).

pub mod assess;
pub mod audit;
pub mod backup;
pub mod catalog;
pub mod cli;
pub(crate) mod commands;
pub mod error;
pub mod exchange;
pub mod exec;
pub mod exit;
pub mod journal;
pub mod logging;
pub mod notify;
pub mod plan;
pub mod pool;
pub mod preflight;
pub mod ps;
pub mod report;
pub mod runbook;
pub mod runtime;
pub mod setup_log;
pub mod tls;

pub use error::Error;
pub use exit::Outcome;

/// Runs the parsed command line: how it came out, or the error that
/// stopped it (print it once, exit with `Error::exit_code`).
pub fn run(cli: cli::Cli) -> Result<Outcome, Error> {
    commands::run(cli)
}
