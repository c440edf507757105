//! The per-server runbook steps (`shared/domain/runbook.md`), one file
//! each, every one a reconcile loop: observe, decide (pure functions over
//! the typed observations, unit-tested directly), act only where not done,
//! wait until observed done, verify. They report changes and findings
//! through `StepEvents` and never touch the journal, the terminal or the
//! scheduler's decisions (which server, gates, when to redistribute).
//! Every command they send is an `exchange` operation; each step's dry run
//! (`Step::scripts`) is built from the same operations its `run` sends.
//! `backup-config` needs the state directory (where the zips go), so
//! `runbook::rollout_steps` adds it in front of these.

pub mod backup_config;
mod edge;
mod enter_maintenance;
mod enter_maintenance_um;
mod exit_maintenance;
mod exit_maintenance_transport;
mod health;
mod health_hosted;
mod health_namespace;
mod installer;
mod installer_account;
#[cfg(test)]
mod lab_tests;
pub mod prepare_ad;
pub mod prepare_ad_su;
mod reboot;
mod redistribute;
mod security_update;
mod services;
mod setup;
mod setup_log_read;
mod setup_stage;
mod shadow;
mod standalone;
mod su_reboot;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
mod undo;

pub use enter_maintenance::EnterMaintenance;
pub use exit_maintenance::ExitMaintenance;
pub use health::Health;
pub use prepare_ad::PrepareAd;
pub use prepare_ad_su::PrepareAdSu;
pub use reboot::Reboot;
pub use redistribute::Redistribute;
pub use security_update::SecurityUpdate;
pub use setup::Setup;

/// The gate of an Edge Transport server (`edge::gate_refusals`).
pub fn edge_gate(
    reach: &crate::exchange::Reach<'_>,
    plan: &crate::plan::Plan,
    server: &crate::plan::Server,
) -> Vec<String> {
    edge::gate_refusals(reach, plan, server)
}

use super::Step;

/// The steps after `backup-config`, in runbook order.
pub fn all_steps() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(EnterMaintenance),
        Box::new(Reboot::before_setup()),
        Box::new(Setup),
        Box::new(SecurityUpdate),
        Box::new(Reboot::after_setup()),
        Box::new(ExitMaintenance),
        // Health before the databases move back (review real-exchange.md #12).
        Box::new(Health),
        Box::new(Redistribute),
    ]
}
