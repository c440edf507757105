//! The pre-flight's Extended Protection check (review real-exchange.md #9):
//! reads each server's EP state (`exchange::observe::ep`), shows it, and
//! judges the risk of the upgrade from the plan's declarations. Read-only.
//!
//! Sources: Microsoft Learn, "Configure Windows Extended Protection in
//! Exchange Server" (EP is not supported where SSL is offloaded at a load
//! balancer) and "Use unattended mode in Exchange Server" (2019 CU14+/SE
//! setup turns EP on unless `/DoNotEnableEP` or `/DoNotEnableEP_FEEWS`;
//! older setup has no such switch); CSS-Exchange
//! `ExchangeExtendedProtectionManagement.ps1` (refuses to configure EP on
//! a server whose RPC virtual directory has `SSLOffloading` true).
//!
//! The rules, for a server that will be upgraded:
//! - the plan asks to skip EP on media without the switch: blocker;
//! - the media turns EP on, the server does not run it, and the plan has
//!   no `[rollout] extended_protection`: blocker (say what you want);
//! - EP will be on after setup and the plan declares `tls_offloading =
//!   true`: blocker; RPC `SSLOffloading` true: blocker (as CSS-Exchange);
//! - EP already on with `tls_offloading = true`: a warning (it is so today).

use super::model::BlockerCode;
use crate::catalog::{takes_extended_protection_switches, ExchangeBuild};
use crate::exchange::observe::{extended_protection, ExtendedProtectionObs};
use crate::exchange::{QueryError, Reach};
use crate::plan::{ExtendedProtection, Plan, Server};

pub use super::certs::Findings;

pub fn observe(reach: &Reach<'_>, server: &Server) -> Result<ExtendedProtectionObs, QueryError> {
    extended_protection(reach, server)
}

/// Judges one server's EP state before an upgrade with `media`.
pub fn findings(
    plan: &Plan,
    media: ExchangeBuild,
    obs: &Result<ExtendedProtectionObs, QueryError>,
) -> Findings {
    let mut f = Findings::default();
    let takes = takes_extended_protection_switches(media);
    let choice = plan.rollout.extended_protection;
    if !takes
        && matches!(
            choice,
            Some(ExtendedProtection::Skip | ExtendedProtection::SkipEwsFrontend)
        )
    {
        f.blockers.push((
            BlockerCode::ExtendedProtection,
            format!("[rollout] extended_protection asks setup not to enable Extended Protection, but the target's setup ({media}) has no /DoNotEnableEP switch (Exchange 2019 CU14 and later only): remove the key, or choose a 2019 CU14+ or SE target"),
        ));
    }
    let ep = match obs {
        Ok(ep) => ep,
        Err(e) => {
            f.warnings
                .push(format!("could not read Extended Protection: {e}"));
            return f;
        }
    };
    let offloading = ep.rpc_ssl_offloading.map_or("not found".to_string(), |b| {
        if b {
            "True".into()
        } else {
            "False".into()
        }
    });
    f.warnings.push(format!(
        "Extended Protection: {} ({}); RPC SSLOffloading {offloading}",
        if ep.configured() { "on" } else { "off" },
        ep.summary()
    ));
    let setup_turns_on = takes && choice != Some(ExtendedProtection::Skip);
    let on_after = setup_turns_on || (ep.configured() && choice != Some(ExtendedProtection::Skip));
    if setup_turns_on && !ep.configured() && choice.is_none() {
        f.blockers.push((
            BlockerCode::ExtendedProtection,
            format!("setup of {media} turns Extended Protection on and this server does not run it today: say what you want in [rollout] extended_protection = \"enable\", \"skip\" or \"skip-ews-frontend\" (\"skip\" where the load balancer offloads TLS: EP is not supported with SSL offloading)"),
        ));
    }
    if setup_turns_on && plan.rollout.tls_offloading == Some(true) {
        f.blockers.push((
            BlockerCode::ExtendedProtection,
            format!("the plan declares TLS offloading at the load balancer ([rollout] tls_offloading = true) and setup of {media} will turn Extended Protection on: authenticated client access through the load balancer breaks (EP is not supported with SSL offloading); set [rollout] extended_protection = \"skip\""),
        ));
    } else if on_after && ep.configured() && plan.rollout.tls_offloading == Some(true) {
        f.warnings.push("Extended Protection is on here and the plan declares TLS offloading at the load balancer: authenticated requests through it fail unless the load balancer re-encrypts with the same certificate".into());
    }
    if setup_turns_on && ep.rpc_ssl_offloading == Some(true) {
        f.blockers.push((
            BlockerCode::ExtendedProtection,
            "the RPC virtual directory has SSLOffloading true and setup will turn Extended Protection on (CSS-Exchange ExchangeExtendedProtectionManagement.ps1 refuses EP then): run Set-OutlookAnywhere 'SERVER\\RPC (Default Web Site)' -SSLOffloading $false -InternalClientsRequireSsl $true -ExternalClientsRequireSsl $true first, or set [rollout] extended_protection = \"skip\"".into(),
        ));
    }
    f
}
