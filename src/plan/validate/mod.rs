//! Stage two: the raw `PlanFile` → a validated `Plan`. Applies defaults,
//! checks every value with `values`, and cross-checks what single values
//! cannot show: duplicate servers, a server in two DAGs, FQDNs that do not
//! match their NetBIOS name, connection settings that contradict each other,
//! and (through `lab`) the `[lab]` section against `[[server]]`. It does not
//! consult the catalogue or any server.
//!
//! One room per section: `rollout` (target, update, installer account),
//! `connection` (transport, TLS, credentials), `policy`, `servers`.

mod connection;
mod downtime;
mod edge;
mod policy;
mod rollout;
mod servers;

use std::time::Duration;

use crate::plan::model::*;
use crate::plan::raw::*;
use planfile::{duration, PlanError, Source};

/// A duration that must be greater than zero (a zero timeout or poll
/// interval would make every wait fail, or spin).
pub(super) fn positive_duration(
    src: &Source,
    key: &str,
    value: Option<&Text>,
    default: &str,
) -> Result<Duration, PlanError> {
    let d = duration(src, value, default)?;
    match value {
        Some(v) if d.is_zero() => {
            Err(src.error(v.span(), format!("{key} must be longer than zero")))
        }
        _ => Ok(d),
    }
}

pub(crate) fn validate(file: PlanFile, src: &Source) -> Result<Plan, PlanError> {
    let mut rollout = rollout::rollout(src, &file.rollout)?;
    let connection = connection::connection(src, &file.connection)?;
    let policy = policy::policy(src, &file.policy)?;
    let mut servers = servers::servers(src, &file.server)?;
    edge::role(src, &file.server, &mut servers)?;
    downtime::downtime(src, &file.server)?;
    let notify = crate::plan::notify::targets(src, &file.notify)?;
    // The section itself is the lab crate's to read (at the command edge);
    // the plan only checks that the transport has one to talk to.
    if connection.transport == Transport::Lab && file.lab.is_none() {
        return Err(src.error(
            file.connection.transport.span(),
            "transport = \"lab\" needs a [lab] section describing the simulated servers \
             (see plans/lab.toml)",
        ));
    }
    // Last, so a plan's other mistakes are reported at their own lines first.
    rollout.installer_account = crate::plan::installer::installer_account(
        src,
        &file.rollout,
        &connection,
        &file.connection,
    )?;
    Ok(Plan {
        path: src.path.to_path_buf(),
        rollout,
        connection,
        policy,
        servers,
        notify,
        has_lab: file.lab.is_some(),
    })
}
