//! Edge Transport servers (`[[lab.server]] role = "edge"`): what differs
//! from a Mailbox server (docs/rollout.md, "Edge Transport servers", has
//! the sources). An Edge server is in no domain and no DAG (it is kept out
//! of the DAG as a standalone server is, with no database); its Exchange
//! cmdlets read its own AD LDS instance, so the snap-in loaded in a WinRM
//! shell on it works (no second hop); it has no IIS and no `/PowerShell`
//! endpoint, so `New-PSSession` to it fails; its snap-in has no Mailbox
//! cmdlets (they are "not recognized"); its components and queues cannot be
//! read or set from a Mailbox server (they live on the Edge server, not in
//! the organisation's AD: UNVERIFIED what a real Mailbox server answers, so
//! the lab answers as for an unknown object); and a scheduled task on it
//! runs only as a local account (a domain account does not exist there:
//! Windows's "No mapping between account names and security IDs was
//! done"). On Mailbox servers, `Get-EdgeSubscription` lists every Edge
//! server with its AD site, and `Test-EdgeSynchronization -TargetServer`
//! reports `SyncStatus` `Normal` while the Edge server is up and its
//! transport service runs, `Failed` otherwise (UNVERIFIED: real
//! synchronisation lags by up to an hour; the lab has no such delay).

use planfile::{PlanError, Source};
use serde::{Deserialize, Serialize};

use crate::cmdlets::{exchange_not_found, Answer};
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::convert::to_ps_string;
use crate::pwsh::host::{switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::spec::raw::RawLabServer;

/// What makes a lab server an Edge server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSpec {
    /// Its local administrator, e.g. `EDGE01\Administrator`.
    pub local_admin: String,
    /// The AD site its Edge subscription names.
    pub site: String,
}

/// The site an Edge subscription names when `edge_site` is not given.
const DEFAULT_SITE: &str = "Default-First-Site-Name";

/// `role`, `local_admin` and `edge_site` of a `[[lab.server]]`.
pub(crate) fn spec(src: &Source, s: &RawLabServer) -> Result<Option<EdgeSpec>, PlanError> {
    let edge = match &s.role {
        None => false,
        Some(r) if r.get_ref().eq_ignore_ascii_case("mailbox") => false,
        Some(r) if r.get_ref().eq_ignore_ascii_case("edge") => true,
        Some(r) => {
            return Err(src.error(
                r.span(),
                format!("role '{}' is not a lab server role; expected \"mailbox\" (the default) or \"edge\"", r.get_ref()),
            ))
        }
    };
    if !edge {
        if let Some(k) = s.local_admin.as_ref().or(s.edge_site.as_ref()) {
            return Err(src.error(
                k.span(),
                "local_admin and edge_site are for an Edge server (role = \"edge\")",
            ));
        }
        return Ok(None);
    }
    let Some(admin) = &s.local_admin else {
        return Err(src.error(
            s.name.span(),
            format!(
                "lab Edge server '{}' needs local_admin (its local administrator, e.g. '{}\\Administrator'): it is in no domain",
                s.name.get_ref(),
                s.name.get_ref()
            ),
        ));
    };
    Ok(Some(EdgeSpec {
        local_admin: admin.get_ref().clone(),
        site: s
            .edge_site
            .as_ref()
            .map_or_else(|| DEFAULT_SITE.to_string(), |t| t.get_ref().clone()),
    }))
}

/// Cmdlets a Mailbox server has and the Edge snap-in does not (Microsoft
/// Learn lists each for Mailbox servers; Edge has no databases, DAG or
/// Client Access services).
const MAILBOX_ONLY: [&str; 13] = [
    "Get-MailboxServer",
    "Set-MailboxServer",
    "Get-DatabaseAvailabilityGroup",
    "Get-MailboxDatabaseCopyStatus",
    "Get-MailboxDatabase",
    "Move-ActiveMailboxDatabase",
    "Suspend-MailboxDatabaseCopy",
    "Resume-MailboxDatabaseCopy",
    "Test-ReplicationHealth",
    "Test-MAPIConnectivity",
    "Test-ServiceHealth",
    "Test-EdgeSynchronization",
    "Get-AuthConfig",
];

/// Cmdlets whose object lives on the Edge server itself.
const EDGE_LOCAL: [&str; 4] = [
    "Get-ServerComponentState",
    "Set-ServerComponentState",
    "Get-Queue",
    "Retry-Queue",
];

/// The value of `-Identity`/`-Server` (or the first positional) in `args`.
fn target_arg(args: &[Argument]) -> Option<String> {
    let named = args.iter().find_map(|a| match a {
        Argument::Named {
            name,
            value: Some(v),
        } if ["identity", "server"].contains(&name.to_ascii_lowercase().as_str()) => {
            Some(to_ps_string(v))
        }
        _ => None,
    });
    named.or_else(|| {
        args.iter().find_map(|a| match a {
            Argument::Positional(v) => Some(to_ps_string(v)),
            _ => None,
        })
    })
}

/// What an Exchange cmdlet meets because of Edge: on an Edge server, a
/// Mailbox-only cmdlet is not recognized; on a Mailbox server, a
/// component or queue cmdlet naming an Edge server finds nothing.
/// `None` = carry on.
pub(crate) fn refusal(host: &ServerHost, name: &str, args: &[Argument]) -> Option<PsError> {
    if host.world.servers[host.server].edge.is_some() {
        return MAILBOX_ONLY
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
            .then(|| PsError::command_not_found(name));
    }
    let canon = EDGE_LOCAL.iter().find(|c| c.eq_ignore_ascii_case(name))?;
    let id = target_arg(args)?;
    let names_edge = host.world.servers.iter().any(|s| {
        s.edge.is_some()
            && (id.eq_ignore_ascii_case(&s.name)
                || id.eq_ignore_ascii_case(&s.fqdn)
                || id
                    .split('\\')
                    .next()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&s.name)))
    });
    names_edge.then(|| {
        exchange_not_found(
            canon,
            "SystemConfigurationTasks.ServerComponentState",
            &id,
            crate::remoting::logon::LAB_DC,
        )
        .terminating()
    })
}

/// A New-PSSession to an Edge server: there is no IIS, no `/PowerShell`,
/// so nothing listens on port 80 (the WinRM client's wording for a host it
/// cannot reach; UNVERIFIED for this case).
pub(crate) fn no_remote_powershell(host: &str) -> PsError {
    let mut e = PsError::new(
        ErrorCategory::OpenError,
        "WinRMOperationTimeout,PSSessionOpenFailed",
        format!("Connecting to remote server {host} failed with the following error message : WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. For more information, see the about_Remote_Troubleshooting Help topic."),
    )
    .in_command("New-PSSession");
    e.target = Some("System.Manageme....RemoteRunspace:RemoteRunspace".into());
    e
}

/// Whether `user` can run a scheduled task on Edge server `spec`'s
/// machine: its local administrator (`EDGE01\Administrator`, or `.\…`),
/// never a domain account.
pub(crate) fn local_account(spec: &EdgeSpec, server: &str, user: &str) -> bool {
    let short = |u: &str| u.rsplit('\\').next().unwrap_or(u).to_ascii_lowercase();
    let domain = user.split('\\').next().unwrap_or("");
    let local_domain = !user.contains('\\') || domain == "." || domain.eq_ignore_ascii_case(server);
    local_domain && !user.contains('@') && short(user) == short(&spec.local_admin)
}

/// Windows's error for an account the machine cannot resolve.
pub(crate) fn unknown_account(cmd: &str) -> PsError {
    PsError::new(
        ErrorCategory::NotSpecified,
        "HRESULT 0x80070534,Register-ScheduledTask",
        "No mapping between account names and security IDs was done.",
    )
    .in_command(cmd)
    .terminating()
}

const GET_EDGE_SUBSCRIPTION: CmdletSpec = CmdletSpec {
    name: "Get-EdgeSubscription",
    params: &[value("Identity"), value("DomainController")],
    should_process: None,
};
const TEST_EDGE_SYNCHRONIZATION: CmdletSpec = CmdletSpec {
    name: "Test-EdgeSynchronization",
    params: &[
        value("TargetServer"),
        switch("ExcludeRecipientTest"),
        switch("FullCompareMode"),
        value("MaxReportSize"),
        value("MonitoringContext"),
        value("DomainController"),
    ],
    should_process: None,
};

/// `Get-EdgeSubscription` and `Test-EdgeSynchronization` (snap-in loaded).
pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-edgesubscription" => bind(&GET_EDGE_SUBSCRIPTION, args).map(|b| {
            let id = b.string("Identity");
            edges(host)
                .filter(|(name, _, _)| id.as_ref().is_none_or(|i| i.eq_ignore_ascii_case(name)))
                .map(|(name, site, _)| {
                    PsObject::new(
                        "Microsoft.Exchange.Data.Directory.SystemConfiguration.EdgeSubscription",
                    )
                    .with("Name", name.as_str())
                    .with("Site", site.as_str())
                    .with("Domain", "contoso.local")
                    .display(&name)
                    .into()
                })
                .collect()
        }),
        "test-edgesynchronization" => bind(&TEST_EDGE_SYNCHRONIZATION, args).map(|b| {
            let target = b.string("TargetServer");
            edges(host)
                .filter(|(name, _, _)| target.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(name)))
                .map(|(name, _, up)| -> Value {
                    PsObject::new(
                        "Microsoft.Exchange.Management.SystemConfigurationTasks.SyncStatus",
                    )
                    .with("Name", name.as_str())
                    .with("SyncStatus", if up { "Normal" } else { "Failed" })
                    .display(&name)
                    .into()
                })
                .collect()
        }),
        _ => return None,
    })
}

/// Every Edge server: name, site, and whether it synchronises (up, its
/// transport service running).
fn edges<'h>(host: &'h ServerHost) -> impl Iterator<Item = (String, String, bool)> + 'h {
    host.world.servers.iter().filter_map(|s| {
        let spec = s.edge.as_ref()?;
        let up = !s.is_down() && s.service_running("MSExchangeTransport");
        Some((s.name.clone(), spec.site.clone(), up))
    })
}

/// An Edge server's config files: `Bin\EdgeTransport.exe.config` and the
/// other transport `.exe.config`s, no web.config (an Edge server has no
/// IIS virtual directories: no Client Access services).
pub(crate) fn config_files(
    edge: bool,
    files: Vec<crate::configfiles::ConfigFile>,
) -> Vec<crate::configfiles::ConfigFile> {
    if !edge {
        return files;
    }
    files
        .into_iter()
        .filter(|f| f.full_name.contains("\\Bin\\"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_edge_servers_own_administrator_runs_a_task_there() {
        let spec = EdgeSpec {
            local_admin: "EDGE01\\Administrator".into(),
            site: DEFAULT_SITE.into(),
        };
        assert!(local_account(&spec, "EDGE01", "EDGE01\\Administrator"));
        assert!(local_account(&spec, "EDGE01", ".\\administrator"));
        assert!(local_account(&spec, "EDGE01", "Administrator"));
        assert!(!local_account(&spec, "EDGE01", "CONTOSO\\Administrator"));
        assert!(!local_account(&spec, "EDGE01", "lab\\admin"));
        assert!(!local_account(
            &spec,
            "EDGE01",
            "administrator@contoso.local"
        ));
    }
}
