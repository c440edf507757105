//! "The server is back" for the services an Exchange installer disables
//! (`observe::INSTALLER_SERVICES`: MpsSvc, FMS, HostControllerService, the
//! MSExchange services, RemoteRegistry, WinMgmt, W3SVC, IISAdmin) and
//! ServiceControl.ps1's leftover `C:\ExchangeSetupLogs\Service*.xml`
//! files — not only the `MSExchange*` Automatic services the reboot waits
//! for. Used by `exit-maintenance` (which may repair) and `health` (which
//! only checks). Decides from observations; sends only the repair.
//!
//! Policy (docs/rollout.md, "Services an installer left Disabled"):
//! * leftover `Service*.xml` files: an installer run did not finish. The
//!   step fails and changes nothing; the file is the installer's record of
//!   the start types before it, so cu-roll never deletes it (CSS-Exchange
//!   SetupAssist: "Delete the file and start Exchange Services", a human's
//!   call after comparing).
//! * a Disabled service of the set, when an installer of cu-roll's ran on
//!   this server (an `InstallerStarted` for setup or the SU in the
//!   journal): repaired as a journaled, reversible change — the before-
//!   state is journaled first (`Change::ServiceStartType`), then
//!   `Set-Service -StartupType Automatic` and `Start-Service`.
//! * a Disabled service when no installer of cu-roll's ran: not cu-roll's
//!   doing, so refused with the commands to run, never changed.

use crate::exchange::act;
use crate::exchange::observe::{ServiceSetObs, EXPECTED_START_TYPE};
use crate::journal::Change;
use crate::runbook::{StepContext, StepError, StepId};

/// What to do about the service set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceVerdict {
    /// (service, start type now) to set back to `EXPECTED_START_TYPE`.
    pub repair: Vec<(String, String)>,
    /// Why the server cannot count as back, with what to do.
    pub refuse: Vec<String>,
    /// Worth saying, not blocking (an Automatic service not running).
    pub notes: Vec<String>,
}

/// Whether cu-roll started an installer on this server (setup or the SU).
pub fn installer_ran(prior: &[Change]) -> bool {
    prior.iter().any(|c| {
        matches!(c, Change::InstallerStarted { step, .. }
            if step == StepId::Setup.id() || step == StepId::SecurityUpdate.id())
    })
}

pub fn service_verdict(
    obs: &ServiceSetObs,
    installer_ran: bool,
    may_repair: bool,
) -> ServiceVerdict {
    let mut v = ServiceVerdict::default();
    for f in &obs.leftover_files {
        v.refuse.push(format!(
            "{f} is left from an installer run that did not finish (ServiceControl.ps1 keeps the services' start types there); compare the services with it, set them back (Set-Service -StartupType) and start them, then delete the file"
        ));
    }
    for s in obs.disabled() {
        if installer_ran && may_repair && obs.leftover_files.is_empty() {
            v.repair.push((s.name.clone(), s.start_type.clone()));
        } else {
            v.refuse.push(format!(
                "service {} is Disabled (expected {EXPECTED_START_TYPE}){}: Set-Service -Name {} -StartupType {EXPECTED_START_TYPE}; Start-Service -Name {}",
                s.name,
                if installer_ran { "" } else { ", and no installer of cu-roll's ran on this server, so cu-roll leaves it" },
                s.name,
                s.name
            ));
        }
    }
    for s in obs.stopped() {
        v.notes.push(format!(
            "service {} is {} ({}), expected {EXPECTED_START_TYPE} and running",
            s.name, s.status, s.start_type
        ));
    }
    v
}

/// Reads the set and applies the policy: repairs (journaled first) what it
/// may, and fails with every refusal. `may_repair` false: only checks.
pub fn check_and_repair(
    ctx: &mut StepContext<'_>,
    may_repair: bool,
    made: &mut Vec<Change>,
) -> Result<Vec<String>, StepError> {
    let obs: ServiceSetObs = ctx.query(&crate::exchange::observe::read_service_set())?;
    let verdict = service_verdict(&obs, installer_ran(&ctx.prior_changes), may_repair);
    if !verdict.refuse.is_empty() {
        return Err(StepError::failed(format!(
            "{} is not back: {}",
            ctx.server.name,
            verdict.refuse.join("; ")
        )));
    }
    let mut repaired = Vec::new();
    for (service, from) in &verdict.repair {
        let action = act::set_service_start_type(service, from, EXPECTED_START_TYPE);
        // The before-state first: a crash after Set-Service still leaves
        // the record that reverses it.
        for change in &action.changes {
            ctx.events.changed(change.clone())?;
            made.push(change.clone());
        }
        ctx.events.progress(action.op.script.purpose);
        ctx.run_ps_ok(&action.op)?;
        ctx.events.observed(format!(
            "service {service} was left {from} by an installer: set {EXPECTED_START_TYPE} and started (Set-Service -Name {service} -StartupType {from} reverses it)"
        ))?;
        repaired.push(service.clone());
    }
    for n in &verdict.notes {
        ctx.events.observed(n.clone())?;
    }
    Ok(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::observe::ServiceObs;

    fn svc(name: &str, status: &str, start: &str) -> ServiceObs {
        ServiceObs {
            name: name.into(),
            status: status.into(),
            start_type: start.into(),
        }
    }

    fn obs(services: Vec<ServiceObs>, files: &[&str]) -> ServiceSetObs {
        ServiceSetObs {
            services,
            leftover_files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn a_disabled_service_after_our_installer_is_repaired() {
        let o = obs(
            vec![
                svc("MSExchangeIS", "Running", "Automatic"),
                svc("RemoteRegistry", "Stopped", "Disabled"),
                svc("WinMgmt", "Stopped", "Disabled"),
            ],
            &[],
        );
        let v = service_verdict(&o, true, true);
        assert_eq!(
            v.repair,
            [
                ("RemoteRegistry".to_string(), "Disabled".to_string()),
                ("WinMgmt".to_string(), "Disabled".to_string())
            ]
        );
        assert!(v.refuse.is_empty());
    }

    #[test]
    fn a_disabled_service_cu_roll_did_not_cause_is_refused_with_advice() {
        let o = obs(vec![svc("MpsSvc", "Stopped", "Disabled")], &[]);
        let v = service_verdict(&o, false, true);
        assert!(v.repair.is_empty());
        assert!(v.refuse[0].contains("MpsSvc is Disabled (expected Automatic)"));
        assert!(v.refuse[0].contains("Set-Service -Name MpsSvc -StartupType Automatic"));
        // The health step only checks.
        let v = service_verdict(&o, true, false);
        assert!(v.repair.is_empty() && v.refuse.len() == 1);
    }

    #[test]
    fn leftover_files_block_and_nothing_is_changed() {
        let o = obs(
            vec![svc("FMS", "Stopped", "Disabled")],
            &[r"C:\ExchangeSetupLogs\ServiceStartupMode.xml"],
        );
        let v = service_verdict(&o, true, true);
        assert!(v.repair.is_empty());
        assert_eq!(v.refuse.len(), 2);
        assert!(v.refuse[0].contains("ServiceStartupMode.xml"));
    }

    #[test]
    fn only_installer_runs_count_as_ours() {
        assert!(!installer_ran(&[Change::ClusterNodeSuspended]));
        assert!(installer_ran(&[Change::InstallerStarted {
            step: "security-update".into(),
            task: "cu-roll-su".into(),
            command: "x".into()
        }]));
    }
}
