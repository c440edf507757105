//! The lab: a simulated Database Availability Group that answers the
//! PowerShell a real Exchange server would. It depends only on what a real
//! server exposes (cmdlets, their parameters and outputs, the registry and
//! files the checks read), never on the orchestrator's internals.

pub mod pwsh;
mod spec;

pub use spec::{
    LabAd, LabCopyStatus, LabDatabase, LabFault, LabServer, LabSpec, LabTimings, PendingReboot,
};
