//! Mailbox servers outside any DAG (`[[lab.server]] standalone = true`):
//! what differs from a DAG member. Such a server has no failover-cluster
//! node and is not among the DAG's `Servers`; `Get-MailboxServer` shows an
//! empty `DatabaseAvailabilityGroup`; each of its databases has exactly one
//! copy, on it, so the database is offline whenever the server is (the
//! availability record keeps that, as for any database without a mounted
//! copy). It is never counted as a second DAG member out of service.
//! Everything else (components, transport, setup) is a server's as usual.
//! Checks of the `[lab]` text and the values cmdlets show; no behaviour
//! of its own.

use planfile::{PlanError, Source};

use crate::pwsh::value::Value;
use crate::spec::raw::RawLabDatabase;
use crate::spec::LabServer;

/// `DatabaseAvailabilityGroup` of `Get-MailboxServer`: null outside a DAG
/// (Microsoft Learn, Get-MailboxServer: the property names the DAG the
/// server is a member of).
pub(crate) fn dag_of(s: &crate::model::Server, dag: &str) -> Value {
    if s.standalone {
        Value::Null
    } else {
        crate::cmdlets::ad_object_id(dag, format!("CN={dag}"))
    }
}

/// A database with a copy on a standalone server has that one copy only
/// (without a DAG there is no replication to another server).
pub(crate) fn check_copies(
    src: &Source,
    servers: &[(LabServer, planfile::Text)],
    d: &RawLabDatabase,
    copies: &[String],
) -> Result<(), PlanError> {
    let standalone = copies.iter().find(|c| {
        servers
            .iter()
            .any(|(s, _)| s.standalone && s.name.eq_ignore_ascii_case(c))
    });
    match standalone {
        Some(server) if copies.len() > 1 => Err(src.error(
            d.copies.span(),
            format!(
                "{} has a copy on {server}, which is in no DAG (standalone = true): a standalone server's database has one copy, on it",
                d.name.get_ref()
            ),
        )),
        _ => Ok(()),
    }
}

impl crate::world::World {
    /// The Information Store of standalone server `i` came back: it mounts
    /// its databases, which have no other copy (Microsoft Learn,
    /// Set-MailboxDatabase `-MountAtStartup`: "$true (the default)").
    /// Nothing for a DAG member (Active Manager decides there).
    pub(crate) fn mount_standalone(&mut self, i: usize) {
        if !self.servers[i].standalone {
            return;
        }
        let name = self.servers[i].name.clone();
        for d in 0..self.databases.len() {
            let Some(copy) = self.databases[d].copy_on_mut(&name) else {
                continue;
            };
            copy.resync_due_ms = None;
            self.mount_on(d, &name);
        }
        self.check_availability();
    }
}
