//! The lab: a simulated Database Availability Group that answers the
//! PowerShell a real Exchange server would. It depends only on what a real
//! server exposes (cmdlets, their parameters and outputs, the registry and
//! files the checks read), never on the orchestrator's internals.

mod acl;
mod batch;
pub mod build;
mod cmdlets;
pub mod components;
pub mod configfiles;
pub mod costs;
mod dags;
mod directory;
pub mod edge;
pub mod eventlog;
pub mod facts;
mod faults;
mod filestore;
mod host;
pub mod load_balancer;
pub mod model;
pub mod pwsh;
mod quorum;
mod registry;
mod remoting;
mod security_update;
pub mod servers;
mod setup;
mod setup_args;
mod setup_certs;
mod setup_logging;
mod setup_rules;
mod spec;
mod standalone;
mod store;
mod taskps;
mod tasks;
pub mod testkit;
#[cfg(test)]
pub(crate) mod tests;
mod time;
mod um;
pub mod winrm;
mod world;
mod worldinit;

pub use costs::{CallCosts, Counts};
pub use filestore::{sha256_hex_upper, FileError};
pub use host::{ServerHost, UnknownServer};
pub use spec::{
    check_plan_servers_simulated, parse_plan_text, parse_plan_text_up_to, DEFAULT_DAG, FAULT_KINDS,
    MAX_LAB_SERVERS, STEP_NAMES,
};
pub use spec::{
    LabAd, LabCertificate, LabCopyStatus, LabDatabase, LabFault, LabMedia, LabMediaKind, LabServer,
    LabSpec, LabTimings, PendingReboot,
};
pub use store::{clock_offset_ms, wall_clock_ms, Lab, LabError, PsProcess, CLOCK_FILE, WORLD_FILE};
pub use world::{MoveError, Timings, World};
