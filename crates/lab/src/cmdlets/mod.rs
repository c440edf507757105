//! Routing a command name to the lab's cmdlet implementations, plus the
//! helpers they share (mandatory parameters, wildcards, identity lists,
//! Exchange's object-not-found error). Each submodule owns one product's
//! cmdlets; none of them parses PowerShell.

mod ad;
mod certs;
mod cluster;
mod dag;
mod databases;
mod exchange;
mod files;
mod health;
mod items;
mod provider;
#[cfg(test)]
mod rad_tests;
mod scripts;
mod system;
#[cfg(test)]
mod task_com_tests;
mod task_objects;
mod tasks;
mod transport;
mod vdirs;
mod web;

use super::host::ServerHost;
use super::pwsh::convert::to_ps_string;
use super::pwsh::host::{Argument, Bound, ErrorCategory, PsError};
use super::pwsh::value::{PsObject, Value};
pub(crate) use files::{read_bytes as read_file_bytes, write_bytes as write_file_bytes};
pub(crate) use tasks::register_definition;
pub use vdirs::ExtendedProtection;

/// What a command module answers: `None` = not mine.
pub(crate) type Answer = Option<Result<Vec<Value>, PsError>>;

pub(crate) fn dispatch(
    host: &mut ServerHost,
    name: &str,
    args: &[Argument],
    input: Vec<Value>,
) -> Result<Vec<Value>, PsError> {
    let lname = name.to_ascii_lowercase();
    // Sessions to Exchange's /PowerShell and the proxies they imported.
    if let Some(r) = crate::remoting::dispatch(host, &lname, args, &input) {
        return r;
    }
    // The second hop: what a WinRM network logon cannot reach (logon.rs).
    // An Edge server's snap-in reads its own AD LDS: no hop (edge.rs).
    let edge = host.world.servers[host.server].edge.is_some();
    if let Some(e) =
        crate::remoting::logon::second_hop(host.logon, host.exchange_snapin && !edge, name, args)
    {
        return Err(e);
    }
    if let Some(r) = scripts::dispatch(host, &lname, args) {
        return r;
    }
    if let Some(r) = provider::dispatch(host, &lname, args, &input) {
        return r;
    }
    if let Some(r) = system::dispatch(host, &lname, args, &input) {
        return r;
    }
    if let Some(r) = items::dispatch(host, &lname, args) {
        return r;
    }
    if let Some(r) = tasks::dispatch(host, &lname, args, &input) {
        return r;
    }
    if let Some(r) = cluster::dispatch(host, &lname, args) {
        return r;
    }
    if let Some(r) = ad::dispatch(host, &lname, args) {
        return r;
    }
    if let Some(r) = certs::dispatch_iis(host, &lname, args) {
        return r;
    }
    if let Some(r) = web::dispatch(host, &lname, args) {
        return r;
    }
    // Exchange cmdlets exist only once the snap-in is loaded, as in a plain
    // powershell.exe on a real server.
    if host.exchange_snapin {
        if let Some(e) = crate::edge::refusal(host, name, args) {
            return Err(e);
        }
        for module in [
            crate::edge::dispatch,
            exchange::dispatch,
            databases::dispatch,
            health::dispatch,
            transport::dispatch,
            certs::dispatch,
            vdirs::dispatch,
        ] {
            if let Some(r) = module(host, &lname, args) {
                return r;
            }
        }
    }
    Err(PsError::command_not_found(name))
}

/// PowerShell's error for a mandatory parameter not given in a
/// non-interactive session.
pub(crate) fn missing_mandatory(cmd: &str, params: &[&str]) -> PsError {
    PsError::new(
        ErrorCategory::InvalidArgument,
        "MissingMandatoryParameter",
        format!(
            "Cannot process command because of one or more missing mandatory parameters: {}.",
            params.join(" ")
        ),
    )
    .in_command(cmd)
    .terminating()
}

/// The string value of a mandatory parameter.
pub(crate) fn need(b: &Bound, name: &str, cmd: &str) -> Result<String, PsError> {
    match b.get(name) {
        Some(Value::Null) | None => Err(missing_mandatory(cmd, &[name])),
        Some(v) => Ok(identity_string(v)),
    }
}

/// An identity argument as a string: a string, or an object's Name/Identity.
pub(crate) fn identity_string(v: &Value) -> String {
    match v {
        Value::Object(o) => o
            .get("Name")
            .or_else(|| o.get("Identity"))
            .map_or_else(|| to_ps_string(v), to_ps_string),
        Value::Array(a) if a.len() == 1 => identity_string(&a[0]),
        _ => to_ps_string(v),
    }
}

/// Flattens a value that may be a list (`-Name a,b`) into strings.
pub(crate) fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(string_list).collect(),
        Value::Null => Vec::new(),
        other => vec![identity_string(other)],
    }
}

/// PowerShell wildcard match (`*`, `?`), case-insensitive.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A server identity may be its name or FQDN (any case).
pub(crate) fn server_matches(id: &str, name: &str, fqdn: &str) -> bool {
    id.eq_ignore_ascii_case(name) || id.eq_ignore_ascii_case(fqdn) || wildcard(id, name)
}

/// Exchange's error when an identity resolves to nothing.
pub(crate) fn exchange_not_found(cmd: &str, class: &str, id: &str, dc: &str) -> PsError {
    PsError::new(
        ErrorCategory::NotSpecified,
        &format!("ManagementObjectNotFoundException,Microsoft.Exchange.Management.{class}"),
        format!("The operation couldn't be performed because object '{id}' couldn't be found on '{dc}'."),
    )
    .in_command(cmd)
}

/// An ADObjectId-like value: ToString is the short name.
pub(crate) fn ad_object_id(name: &str, dn: String) -> Value {
    PsObject::new("Microsoft.Exchange.Data.Directory.ADObjectId")
        .with("Name", name)
        .with("DistinguishedName", dn)
        .with("Rdn", format!("CN={name}"))
        .display(name)
        .into()
}

/// Whether `-Confirm:$false` was written (the binder keeps it to itself).
pub(crate) fn confirm_false(args: &[Argument]) -> bool {
    args.iter().any(|a| match a {
        Argument::Named {
            name,
            value: Some(v),
        } => "confirm".starts_with(&name.to_ascii_lowercase()) && name.len() >= 2 && !v.is_truthy(),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_powershell() {
        assert!(wildcard("MSExchange*", "msexchangeis"));
        assert!(wildcard("*\\EX01", "DB01\\EX01"));
        assert!(!wildcard("EX0?", "EX010"));
    }
}
