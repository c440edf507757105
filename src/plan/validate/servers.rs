//! The `[[server]]` list: names and FQDNs, addresses, DAG membership,
//! and duplicates (named with the line of the first occurrence).

use std::collections::HashMap;

use toml::Spanned;

use crate::plan::model::*;
use crate::plan::raw::*;
use planfile::values::*;
use planfile::{checked, name_and_fqdn, PlanError, Source};

pub(super) fn servers(src: &Source, raw: &[Spanned<RawServer>]) -> Result<Vec<Server>, PlanError> {
    if raw.is_empty() {
        return Err(src.error(
            0..0,
            "the plan lists no servers; add at least one [[server]] with name, fqdn and dag",
        ));
    }
    let mut seen: HashMap<String, &RawServer> = HashMap::new();
    let mut fqdns: HashMap<String, &RawServer> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let s = entry.get_ref();
        let fqdn = name_and_fqdn(src, &s.name, &s.fqdn)?;
        let dag = s
            .dag
            .as_ref()
            .map(|d| {
                checked(src, d, |t| {
                    check_netbios("DAG name", t).map(|()| t.to_string())
                })
            })
            .transpose()?;
        let redirect_to = match &s.redirect_to {
            Some(r) => {
                let target = checked(src, r, |t| check_fqdn("redirect_to", t))?;
                if target == fqdn {
                    return Err(src.error(
                        r.span(),
                        "redirect_to names the server itself; queued mail must go to another member of the DAG",
                    ));
                }
                Some(target)
            }
            None => None,
        };
        let address = s
            .address
            .as_ref()
            .map(|a| checked(src, a, check_address))
            .transpose()?;
        let port = match &s.port {
            Some(p) if *p.get_ref() == 0 => {
                return Err(src.error(p.span(), "port must be from 1 to 65535"))
            }
            p => p.as_ref().map(|p| *p.get_ref()),
        };
        if let Some(first) = seen.get(&s.name.get_ref().to_ascii_lowercase()) {
            return Err(duplicate_server(src, first, s));
        }
        if let Some(first) = fqdns.get(&fqdn) {
            let (line, _) = src.line_col(first.fqdn.span().start);
            return Err(src.error(
                s.fqdn.span(),
                format!(
                    "fqdn '{fqdn}' is already used by server '{}' (line {line})",
                    first.name.get_ref()
                ),
            ));
        }
        seen.insert(s.name.get_ref().to_ascii_lowercase(), s);
        fqdns.insert(fqdn.clone(), s);
        out.push(Server {
            name: s.name.get_ref().clone(),
            fqdn,
            dag,
            redirect_to,
            address,
            port,
            edge: None,
        });
    }
    Ok(out)
}

/// `[[server]] address`: an IPv4 or IPv6 address, a DNS name or a NetBIOS
/// name for cu-roll's WinRM connection.
fn check_address(text: &str) -> Result<String, String> {
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_string());
    }
    check_fqdn("address", text)
        .or_else(|_| check_netbios("address", text).map(|()| text.to_string()))
        .map_err(|_| {
            format!(
                "address '{text}' is neither an IP address nor a host name; \
                 expected e.g. \"10.0.0.11\" or \"ex01-mgmt.contoso.local\""
            )
        })
}

/// A server listed twice: "in two DAGs" when the DAGs differ (a server can
/// belong to one DAG only), otherwise a plain duplicate.
fn duplicate_server(src: &Source, first: &RawServer, second: &RawServer) -> PlanError {
    let dag_of = |s: &RawServer| s.dag.as_ref().map(|d| d.get_ref().to_ascii_lowercase());
    let (first_line, _) = src.line_col(first.name.span().start);
    let name = second.name.get_ref();
    if dag_of(first) != dag_of(second) {
        let shown = |s: &RawServer| {
            s.dag
                .as_ref()
                .map_or("no DAG".to_string(), |d| format!("DAG '{}'", d.get_ref()))
        };
        let span = second
            .dag
            .as_ref()
            .map_or(second.name.span(), Spanned::span);
        let (second_line, _) = src.line_col(span.start);
        let first_span = first.dag.as_ref().map_or(first.name.span(), Spanned::span);
        let (first_line, _) = src.line_col(first_span.start);
        src.error(
            span,
            format!(
                "server '{name}' is in two DAGs: {} (line {first_line}) and {} (line {second_line}); \
                 a mailbox server belongs to at most one DAG, list it once",
                shown(first),
                shown(second)
            ),
        )
    } else {
        src.error(
            second.name.span(),
            format!("server '{name}' is listed twice (first at line {first_line}); list each server once"),
        )
    }
}
