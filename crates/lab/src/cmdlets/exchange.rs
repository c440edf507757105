//! Exchange server-level cmdlets: Get-ExchangeServer, Get-/Set-MailboxServer,
//! Get-/Set-ServerComponentState (Get-DatabaseAvailabilityGroup is in
//! `dag.rs`), with the properties, enum numbers and error texts of
//! cmdlets.md §1, §4, §5 and §8. Changes go to the world; no PowerShell here.

use super::{ad_object_id, exchange_not_found, need, server_matches, Answer};
use crate::components::{effective_states, ComponentState, ServiceState, StateStore, REQUESTERS};
use crate::directory::{Setting, SettingValue};
use crate::host::ServerHost;
use crate::model::{ActivationPolicy, Server};
use crate::pwsh::bind::bind;
use crate::pwsh::datetime::format_general;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

const GET_EXCHANGE_SERVER: CmdletSpec = CmdletSpec {
    name: "Get-ExchangeServer",
    params: &[
        positional("Identity", 0),
        switch("Status"),
        value("DomainController"),
        value("Domain"),
    ],
    should_process: None,
};
const GET_MAILBOX_SERVER: CmdletSpec = CmdletSpec {
    name: "Get-MailboxServer",
    params: &[
        positional("Identity", 0),
        switch("Status"),
        value("DomainController"),
    ],
    should_process: None,
};
const SET_MAILBOX_SERVER: CmdletSpec = CmdletSpec {
    name: "Set-MailboxServer",
    params: &[
        positional("Identity", 0),
        value("DatabaseCopyAutoActivationPolicy"),
        value("DatabaseCopyActivationDisabledAndMoveNow"),
        value("AutoDatabaseMountDial"),
        value("MaximumActiveDatabases"),
        value("MaximumPreferredActiveDatabases"),
        value("DomainController"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const GET_COMPONENT_STATE: CmdletSpec = CmdletSpec {
    name: "Get-ServerComponentState",
    params: &[
        positional("Identity", 0),
        value("Component"),
        value("DomainController"),
    ],
    should_process: None,
};
const SET_COMPONENT_STATE: CmdletSpec = CmdletSpec {
    name: "Set-ServerComponentState",
    params: &[
        positional("Identity", 0),
        value("Component"),
        value("State"),
        value("Requester"),
        switch("LocalOnly"),
        switch("RemoteOnly"),
        value("TimeoutInSeconds"),
        value("DomainController"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-exchangeserver" => get_exchange_server(host, args),
        "get-mailboxserver" => get_mailbox_server(host, args),
        "set-mailboxserver" => set_mailbox_server(host, args),
        "get-servercomponentstate" => get_component_state(host, args),
        "set-servercomponentstate" => set_component_state(host, args),
        "get-databaseavailabilitygroup" => super::dag::get_dag(host, args),
        _ => return None,
    })
}

pub(crate) fn dc(host: &ServerHost) -> String {
    let domain = host
        .this()
        .fqdn
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    format!("dc01.{domain}")
}

pub(super) fn server_dn(host: &ServerHost, name: &str) -> String {
    format!(
        "CN={name},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN={},CN=Microsoft Exchange,CN=Services,CN=Configuration,{}",
        host.world.ad.organization, host.world.ad.domain_dn
    )
}

/// Servers an optional identity selects; a miss writes Exchange's not-found error.
pub(crate) fn select_servers(
    host: &mut ServerHost,
    id: Option<String>,
    cmd: &str,
    class: &str,
    terminating: bool,
) -> Result<Vec<usize>, PsError> {
    let Some(id) = id else {
        return Ok((0..host.world.servers.len()).collect());
    };
    let hits: Vec<usize> = (0..host.world.servers.len())
        .filter(|&i| {
            server_matches(
                &id,
                &host.world.servers[i].name,
                &host.world.servers[i].fqdn,
            )
        })
        .collect();
    if hits.is_empty() {
        let e = exchange_not_found(cmd, class, &id, &dc(host));
        if terminating {
            return Err(e.terminating());
        }
        host.write_error(e);
    }
    Ok(hits)
}

fn server_version(s: &Server) -> Value {
    let b = s.build;
    PsObject::new("Microsoft.Exchange.Data.ServerVersion")
        .with("Major", i64::from(b.major))
        .with("Minor", i64::from(b.minor))
        .with("Build", i64::from(b.build))
        .with("Revision", i64::from(s.cu_revision))
        .with("FilePatchLevelDescription", Value::Null)
        .display(format!(
            "Version {}.{} (Build {}.{})",
            b.major, b.minor, b.build, s.cu_revision
        ))
        .into()
}

fn get_exchange_server(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_EXCHANGE_SERVER, args)?;
    host.world
        .cmdlet_dc(b.string("DomainController"), host.dc, "Get-ExchangeServer")?;
    let status = b.switch("Status");
    let ids = select_servers(
        host,
        b.string("Identity"),
        "Get-ExchangeServer",
        "SystemConfigurationTasks.GetExchangeServer",
        false,
    )?;
    let domain = host.world.ad.domain_dn.replace("DC=", "").replace(',', ".");
    Ok(ids
        .into_iter()
        .map(|i| {
            let s = &host.world.servers[i];
            let site = PsObject::new("Microsoft.Exchange.Data.Directory.ADObjectId")
                .with("Name", "Default-First-Site-Name")
                .display(format!(
                    "{domain}/Configuration/Sites/Default-First-Site-Name"
                ));
            let o = PsObject::new("Microsoft.Exchange.Data.Directory.Management.ExchangeServer")
                .with("Name", s.name.clone())
                .with("Fqdn", s.fqdn.clone())
                .with("AdminDisplayVersion", server_version(s))
                .with(
                    "ServerRole",
                    Value::enumv(
                        "Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole",
                        "Mailbox",
                        2,
                    ),
                )
                .with(
                    "Edition",
                    Value::enumv("Microsoft.Exchange.Data.ServerEditionType", "Enterprise", 3),
                )
                .with("Site", site)
                .with("IsMailboxServer", true)
                .with("IsEdgeServer", false)
                .with("Identity", ad_object_id(&s.name, server_dn(host, &s.name)));
            status_values(host, i, status)
                .into_iter()
                .fold(o, |o, (k, v)| o.with(k, v))
                .display(s.name.clone())
                .into()
        })
        .collect())
}

/// What `-Status` adds: the domain controllers and global catalogs the
/// server's AD topology service uses (Microsoft Learn, Get-ExchangeServer:
/// "To return specific server properties (including domain controller
/// information) where the Get-ExchangeServer cmdlet has to contact servers
/// directly …, make sure you use the Status parameter"); without `-Status`
/// they are empty. A server that is down answers nothing, so its lists are
/// empty too (that a real cmdlet then returns empty lists rather than an
/// error is UNVERIFIED). In the lab every controller is a global catalog.
fn status_values(host: &ServerHost, i: usize, status: bool) -> Vec<(&'static str, Value)> {
    let s = &host.world.servers[i];
    let dcs: Vec<Value> = if status && !s.is_down() && s.edge.is_none() {
        host.world
            .current_domain_controllers(i)
            .into_iter()
            .map(Value::from)
            .collect()
    } else {
        Vec::new()
    };
    vec![
        ("CurrentDomainControllers", Value::Array(dcs.clone())),
        ("CurrentGlobalCatalogs", Value::Array(dcs.clone())),
        (
            "CurrentConfigDomainController",
            dcs.first().cloned().unwrap_or(Value::Null),
        ),
    ]
}

fn get_mailbox_server(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_MAILBOX_SERVER, args)?;
    let dc = host
        .world
        .cmdlet_dc(b.string("DomainController"), host.dc, "Get-MailboxServer")?;
    let ids = select_servers(
        host,
        b.string("Identity"),
        "Get-MailboxServer",
        "SystemConfigurationTasks.GetMailboxServer",
        false,
    )?;
    Ok(ids
        .into_iter()
        .map(|i| {
            let s = &host.world.servers[i];
            let dag = host.world.dag_of(i);
            // AD-held: as the cmdlet's domain controller has them (directory.rs).
            let policy = host.world.policy_through(dc, i);
            let move_now = host.world.move_now_through(dc, i);
            PsObject::new("Microsoft.Exchange.Data.Directory.Management.MailboxServer")
                .with("Name", s.name.clone())
                .with("DatabaseCopyAutoActivationPolicy", policy_value(policy))
                .with("DatabaseCopyActivationDisabledAndMoveNow", move_now)
                .with("DatabaseAvailabilityGroup", crate::standalone::dag_of(s, dag))
                .with("AutoDatabaseMountDial", Value::enumv("Microsoft.Exchange.Data.Directory.SystemConfiguration.AutoDatabaseMountDial", "GoodAvailability", 6))
                .with("MaximumActiveDatabases", Value::Null)
                .with("MaximumPreferredActiveDatabases", Value::Null)
                .with("FaultZone", "FaultZone1")
                .with("Identity", ad_object_id(&s.name, server_dn(host, &s.name)))
                .display(s.name.clone())
                .into()
        })
        .collect())
}

pub(crate) fn policy_value(p: ActivationPolicy) -> Value {
    Value::enumv(ActivationPolicy::TYPE_NAME, p.name(), p.number())
}

fn bad_enum(cmd: &str, param: &str, v: &str, type_name: &str, names: &str) -> PsError {
    PsError::new(
        ErrorCategory::InvalidArgument,
        &format!("ParameterArgumentTransformationError,{cmd}"),
        format!(
            "Cannot process argument transformation on parameter '{param}'. Cannot convert value \"{v}\" to type \"{type_name}\". \
             Error: \"Unable to match the identifier name {v} to a valid enumerator name. Specify one of the following enumerator \
             names and try again:\r\n{names}\""
        ),
    )
    .in_command(cmd)
    .terminating()
}

fn set_mailbox_server(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&SET_MAILBOX_SERVER, args)?;
    let dc = host
        .world
        .cmdlet_dc(b.string("DomainController"), host.dc, "Set-MailboxServer")?;
    let id = need(&b, "Identity", "Set-MailboxServer")?;
    let ids = select_servers(
        host,
        Some(id),
        "Set-MailboxServer",
        "SystemConfigurationTasks.SetMailboxServer",
        true,
    )?;
    let policy = match b.string("DatabaseCopyAutoActivationPolicy") {
        Some(p) => Some(ActivationPolicy::parse(&p).ok_or_else(|| {
            bad_enum(
                "Set-MailboxServer",
                "DatabaseCopyAutoActivationPolicy",
                &p,
                ActivationPolicy::TYPE_NAME,
                "Unrestricted, IntrasiteOnly, Blocked",
            )
        })?),
        None => None,
    };
    let move_now = b
        .get("DatabaseCopyActivationDisabledAndMoveNow")
        .map(Value::is_truthy);
    if b.what_if {
        return Ok(Vec::new());
    }
    for i in ids {
        let s = &mut host.world.servers[i];
        let (old_policy, old_move_now) = (s.activation_policy, s.move_now);
        if let Some(p) = policy {
            s.activation_policy = p;
            let (before, after) = (SettingValue::Policy(old_policy), SettingValue::Policy(p));
            host.world
                .record_write(dc, i, Setting::ActivationPolicy, before, after);
        }
        if let Some(m) = move_now {
            host.world.servers[i].move_now = m;
            let (before, after) = (SettingValue::Flag(old_move_now), SettingValue::Flag(m));
            host.world
                .record_write(dc, i, Setting::MoveNow, before, after);
        }
    }
    // Active Manager starts moving databases off at once; settle() finishes them.
    host.world.settle(host.now_ms);
    Ok(Vec::new())
}

fn requester_value(e: &crate::components::RequesterEntry, component: &str) -> Value {
    // The nested type's full name, as the captures show it (CAP).
    PsObject::new(
        "Microsoft.Exchange.Data.Directory.Management.ServerComponentStatePresentationObject+RequesterDetails",
    )
        .with("Requester", e.requester.clone())
        .with("State", state_value(e.state))
        .with("Timestamp", Value::DateTime(e.timestamp_ms))
        .with("Component", component)
        // "Requestor" (sic) is what Exchange's ToString writes.
        .display(format!(
            "Requestor:{}; State:{}; Timestamp:{}",
            e.requester,
            e.state.name(),
            format_general(e.timestamp_ms)
        ))
        .into()
}

pub(crate) fn state_value(s: ServiceState) -> Value {
    Value::enumv(ServiceState::TYPE_NAME, s.name(), s.number())
}

fn get_component_state(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_COMPONENT_STATE, args)?;
    let dc = host.world.cmdlet_dc(
        b.string("DomainController"),
        host.dc,
        "Get-ServerComponentState",
    )?;
    let id = need(&b, "Identity", "Get-ServerComponentState")?;
    let ids = select_servers(
        host,
        Some(id),
        "Get-ServerComponentState",
        "SystemConfigurationTasks.GetServerComponentState",
        false,
    )?;
    let filter = b.string("Component");
    if let Some(c) = &filter {
        let s = &host.world.servers[*ids.first().unwrap_or(&host.server)];
        if !s
            .components
            .iter()
            .any(|x| x.component.eq_ignore_ascii_case(c))
        {
            return Err(invalid_component("Get-ServerComponentState", c));
        }
    }
    let mut out = Vec::new();
    for i in ids {
        let s = &host.world.servers[i];
        // RemoteStates are AD-held: as the cmdlet's domain controller has
        // them; LocalStates are the server's registry (directory.rs).
        let components: Vec<ComponentState> = s
            .components
            .iter()
            .map(|c| ComponentState {
                remote: host
                    .world
                    .remote_states_through(dc, i, &c.component)
                    .unwrap_or_else(|| c.remote.clone()),
                ..c.clone()
            })
            .collect();
        for (c, state, offline) in effective_states(&components) {
            if filter
                .as_ref()
                .is_some_and(|f| !f.eq_ignore_ascii_case(&c.component))
            {
                continue;
            }
            out.push(
                PsObject::new("Microsoft.Exchange.Data.Directory.Management.ServerComponentStatePresentationObject")
                    .with("ServerFqdn", s.fqdn.clone())
                    .with("Component", c.component.clone())
                    .with("State", state_value(state))
                    .with("ServerWideOfflineIsOffline", offline)
                    .with("RemoteStates", Value::Array(c.remote.iter().map(|e| requester_value(e, &c.component)).collect()))
                    .with("LocalStates", Value::Array(c.local.iter().map(|e| requester_value(e, &c.component)).collect()))
                    .with("Identity", ad_object_id(&s.name.to_ascii_uppercase(), server_dn(host, &s.name)))
                    .display(s.name.to_ascii_uppercase())
                    .into(),
            );
        }
    }
    Ok(out)
}

fn invalid_component(cmd: &str, c: &str) -> PsError {
    PsError::new(
        ErrorCategory::InvalidArgument,
        &format!(
            "ArgumentException,Microsoft.Exchange.Management.SystemConfigurationTasks.{}",
            cmd.replace('-', "")
        ),
        format!("The component name '{c}' is not valid."),
    )
    .in_command(cmd)
    .terminating()
}

fn set_component_state(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Set-ServerComponentState";
    let b = bind(&SET_COMPONENT_STATE, args)?;
    let dc = host
        .world
        .cmdlet_dc(b.string("DomainController"), host.dc, cmd)?;
    let missing: Vec<&str> = ["Identity", "Component", "State", "Requester"]
        .into_iter()
        .filter(|p| b.get(p).is_none_or(|v| *v == Value::Null))
        .collect();
    if !missing.is_empty() {
        return Err(super::missing_mandatory(cmd, &missing));
    }
    let id = need(&b, "Identity", cmd)?;
    let component = need(&b, "Component", cmd)?;
    let state_text = need(&b, "State", cmd)?;
    let requester = need(&b, "Requester", cmd)?;
    let state = ServiceState::parse(&state_text).ok_or_else(|| {
        bad_enum(
            cmd,
            "State",
            &state_text,
            ServiceState::TYPE_NAME,
            "Inactive, Active, Draining",
        )
    })?;
    if !REQUESTERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&requester))
    {
        return Err(PsError::new(
            ErrorCategory::InvalidArgument,
            "ArgumentException,Microsoft.Exchange.Management.SystemConfigurationTasks.SetServerComponentState",
            format!("The requester name '{requester}' is not valid. List of possible requesters: {}", REQUESTERS.join(",")),
        )
        .in_command(cmd)
        .terminating());
    }
    let store = match (b.switch("LocalOnly"), b.switch("RemoteOnly")) {
        (true, true) => {
            return Err(PsError::new(
                ErrorCategory::InvalidArgument,
                "ArgumentException,Microsoft.Exchange.Management.SystemConfigurationTasks.SetServerComponentState",
                "The LocalOnly and RemoteOnly parameters can't be used together.",
            )
            .in_command(cmd)
            .terminating())
        }
        (true, false) => StateStore::LocalOnly,
        (false, true) => StateStore::RemoteOnly,
        _ => StateStore::Both,
    };
    let ids = select_servers(
        host,
        Some(id),
        cmd,
        "SystemConfigurationTasks.SetServerComponentState",
        true,
    )?;
    let now = host.now_ms;
    for i in ids {
        let s = &mut host.world.servers[i];
        let Some(c) = s
            .components
            .iter_mut()
            .find(|c| c.component.eq_ignore_ascii_case(&component))
        else {
            return Err(invalid_component(cmd, &component));
        };
        if store == StateStore::LocalOnly
            && ["Monitoring", "RecoveryActionsEnabled"].contains(&c.component.as_str())
        {
            return Err(PsError::new(
                ErrorCategory::InvalidArgument,
                "ArgumentException,Microsoft.Exchange.Management.SystemConfigurationTasks.SetServerComponentState",
                format!("The component '{}' can't be set with the LocalOnly parameter.", c.component),
            )
            .in_command(cmd)
            .terminating());
        }
        if b.what_if {
            continue;
        }
        let before = c.own_state();
        let name = c.component.clone();
        let remote_before = c.remote.clone();
        c.set(&requester, state, now, store);
        let after = c.own_state();
        let remote_after = c.remote.clone();
        let server = s.name.clone();
        host.world.record_write(
            dc,
            i,
            Setting::RemoteStates(name.clone()),
            SettingValue::Entries(remote_before),
            SettingValue::Entries(remote_after),
        );
        if name == "HubTransport" && before == ServiceState::Active && after != ServiceState::Active
        {
            // A new drain: a queue-stuck fault holds the queues for its hold.
            host.world.trigger_fault("queue-stuck", &server, None);
            host.world.step_event(&server, "enter-maintenance");
        }
        if name == "ServerWideOffline"
            && before != ServiceState::Active
            && after == ServiceState::Active
        {
            host.world.step_event(&server, "exit-maintenance");
        }
    }
    Ok(Vec::new())
}
