//! The lab: a simulated Database Availability Group that answers the
//! PowerShell a real Exchange server would. It depends only on what a real
//! server exposes (cmdlets, their parameters and outputs, the registry and
//! files the checks read), never on the orchestrator's internals.

mod cmdlets;
pub mod components;
mod host;
pub mod model;
pub mod pwsh;
mod registry;
mod spec;
mod store;
#[cfg(test)]
mod tests;
pub mod winrm;
mod world;
mod worldinit;

pub use host::{ServerHost, UnknownServer};
pub use spec::{
    LabAd, LabCopyStatus, LabDatabase, LabFault, LabServer, LabSpec, LabTimings, PendingReboot,
};
pub use store::{wall_clock_ms, Lab, LabError, WORLD_FILE};
pub use world::{MoveError, Timings, World};
