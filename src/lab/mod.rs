//! The lab: a simulated Database Availability Group that answers the
//! PowerShell a real Exchange server would. It depends only on what a real
//! server exposes (cmdlets, their parameters and outputs, the registry and
//! files the checks read), never on the orchestrator's internals.

pub mod pwsh;
mod spec;

pub use spec::{
    LabAd, LabCopyStatus, LabDatabase, LabFault, LabServer, LabSpec, LabTimings, PendingReboot,
};

// TEMPORARY (replaced when the lab world lands): the API the executor codes against.
#[derive(Debug, thiserror::Error)]
#[error("lab not built")]
pub struct LabError;
pub struct Lab;
impl Lab {
    pub fn open(_: &std::path::Path, _: &LabSpec, _: &str) -> Result<Lab, LabError> {
        Err(LabError)
    }
    pub fn run_ps(&self, _: &str, _: &str) -> Result<pwsh::ScriptOutput, LabError> {
        Err(LabError)
    }
    pub fn run_cmd(&self, _: &str, _: &str) -> Result<pwsh::ScriptOutput, LabError> {
        Err(LabError)
    }
    pub fn reset(_: &std::path::Path, _: &LabSpec, _: &str) -> Result<Lab, LabError> {
        Err(LabError)
    }
    pub fn state_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
