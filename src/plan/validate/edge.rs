//! `[[server]] role`: `"mailbox"` (the default) or `"edge"`, and what an
//! Edge Transport server's `[[server]]` must say. An Edge server is in no
//! domain and has no Exchange remote PowerShell (docs/rollout.md, "Edge
//! Transport servers", with sources), so cu-roll logs on to it as its
//! **local administrator**: `local_user` with `local_password_env` or
//! `local_password_file` (read like `[connection]`'s, never from the
//! plan). It is in no DAG and takes no `redirect_to`. While it is rolled,
//! inbound and outbound Internet mail through it stops: a plan with
//! another Edge server rolls it behind a gate (another Edge server in
//! service, `runbook::steps::edge`); a plan whose only Edge server it is
//! must acknowledge the downtime (`downtime = "announced"`), as for a
//! standalone Mailbox server. Checks only.

use std::path::PathBuf;

use toml::Spanned;

use crate::plan::model::{EdgeAccount, SecretSource, Server};
use crate::plan::raw::RawServer;
use planfile::values::{check_env_name, check_local_path};
use planfile::{checked, PlanError, Source};

fn is_edge(s: &RawServer) -> bool {
    s.role
        .as_ref()
        .is_some_and(|r| r.get_ref().eq_ignore_ascii_case("edge"))
}

/// Checks every `role` and fills `Server::edge` of the Edge servers
/// (`servers` is the validated list, in the same order as `raw`).
pub(super) fn role(
    src: &Source,
    raw: &[Spanned<RawServer>],
    servers: &mut [Server],
) -> Result<(), PlanError> {
    let edges = raw.iter().filter(|e| is_edge(e.get_ref())).count();
    for (entry, server) in raw.iter().zip(servers.iter_mut()) {
        let s = entry.get_ref();
        let role = s.role.as_ref().map(|r| r.get_ref().to_ascii_lowercase());
        match role.as_deref() {
            None | Some("mailbox") => refuse_local_keys(src, s)?,
            Some("edge") => server.edge = Some(edge_server(src, s, edges)?),
            Some(other) => {
                let span = s.role.as_ref().map_or(s.name.span(), Spanned::span);
                return Err(src.error(
                    span,
                    format!("role '{other}' is not a server role cu-roll knows; expected \"mailbox\" (the default) or \"edge\""),
                ));
            }
        }
    }
    Ok(())
}

/// `local_*` keys belong to Edge servers only: a Mailbox server is
/// reached with the `[connection]` account.
fn refuse_local_keys(src: &Source, s: &RawServer) -> Result<(), PlanError> {
    let key = [&s.local_user, &s.local_password_env, &s.local_password_file]
        .into_iter()
        .flatten()
        .next();
    match key {
        Some(k) => Err(src.error(
            k.span(),
            format!(
                "server '{}' is a Mailbox server, reached with the [connection] account; local_user, local_password_env and local_password_file are for an Edge Transport server (role = \"edge\")",
                s.name.get_ref()
            ),
        )),
        None => Ok(()),
    }
}

/// An Edge server's `[[server]]`: its local account, no DAG, no
/// `redirect_to`, and downtime announced when no other Edge server is in
/// the plan.
fn edge_server(src: &Source, s: &RawServer, edges: usize) -> Result<EdgeAccount, PlanError> {
    let name = s.name.get_ref();
    let role_span = s.role.as_ref().map_or(s.name.span(), Spanned::span);
    if let Some(dag) = &s.dag {
        return Err(src.error(
            dag.span(),
            format!("server '{name}' is an Edge Transport server, which is in no DAG (it is not even in the domain); remove dag"),
        ));
    }
    if let Some(r) = &s.redirect_to {
        // Redirect-Message on an Edge server is not documented for this
        // use (UNVERIFIED): its queues drain by delivery.
        return Err(src.error(
            r.span(),
            format!("server '{name}' is an Edge Transport server: its queues drain by delivery to the Internet and to the subscribed Mailbox servers, cu-roll redirects no Edge mail; remove redirect_to"),
        ));
    }
    let Some(user) = &s.local_user else {
        return Err(src.error(
            role_span,
            format!(
                "server '{name}' is an Edge Transport server, which is in no domain: cu-roll logs on to it as a local administrator of that server; add local_user = \"{name}\\\\Administrator\" (or another local administrator) and local_password_env = \"NAME\" or local_password_file = \"PATH\""
            ),
        ));
    };
    let user = checked(src, user, |t| {
        super::connection::check_user(t).map(|()| t.to_string())
    })?;
    let secret = match (&s.local_password_env, &s.local_password_file) {
        (Some(_), Some(f)) => {
            return Err(src.error(
                f.span(),
                "give local_password_env or local_password_file, not both: cu-roll would not know which to use",
            ))
        }
        (Some(e), None) => SecretSource::Env(checked(src, e, |t| {
            check_env_name(t).map(|()| t.to_string())
        })?),
        (None, Some(f)) => {
            checked(src, f, |t| check_local_path("local_password_file", t))?;
            SecretSource::File(PathBuf::from(f.get_ref()))
        }
        (None, None) => {
            return Err(src.error(
                s.local_user.as_ref().map_or(role_span, Spanned::span),
                format!("local_user of server '{name}' has no password source; add local_password_env = \"NAME\" or local_password_file = \"PATH\" (never the password itself)"),
            ))
        }
    };
    if edges < 2 && s.downtime.is_none() {
        return Err(src.error(
            role_span,
            format!(
                "server '{name}' is the plan's only Edge Transport server: while it is rolled, Internet mail through it stops (no other Edge server of the plan takes over); announce that downtime, then add downtime = \"{}\" to this [[server]], or add the other Edge server subscribed to the same Active Directory site to the plan",
                super::downtime::ANNOUNCED
            ),
        ));
    }
    Ok(EdgeAccount { user, secret })
}

#[cfg(test)]
mod tests {
    fn load(extra: &str) -> Result<crate::plan::Plan, String> {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
            .unwrap();
        let at = text.find("[lab]").unwrap();
        let text = format!("{}{extra}\n{}", &text[..at], &text[at..]);
        crate::plan::parse(&text, std::path::Path::new("plan.toml")).map_err(|e| e.to_string())
    }

    const EDGE: &str =
        "[[server]]\nname = \"EDGE01\"\nfqdn = \"edge01.contoso.local\"\nrole = \"edge\"\n";

    #[test]
    fn an_edge_server_loads_with_its_local_account_and_announced_downtime() {
        let plan = load(&format!(
            "{EDGE}local_user = 'EDGE01\\Administrator'\nlocal_password_env = \"EDGE01_PASSWORD\"\ndowntime = \"announced\"\n"
        ))
        .unwrap();
        let edge = plan.server("EDGE01").unwrap();
        assert!(edge.is_edge());
        assert_eq!(edge.dag, None);
        let account = edge.edge.as_ref().unwrap();
        assert_eq!(account.user, "EDGE01\\Administrator");
        assert_eq!(
            account.secret,
            crate::plan::SecretSource::Env("EDGE01_PASSWORD".into())
        );
        assert!(!plan.server("EX01").unwrap().is_edge());
    }

    #[test]
    fn an_edge_server_without_its_local_account_or_downtime_is_refused_with_the_reason() {
        let err = load(&format!("{EDGE}downtime = \"announced\"\n")).unwrap_err();
        assert!(
            err.contains("logs on to it as a local administrator"),
            "{err}"
        );
        let err = load(&format!(
            "{EDGE}local_user = 'EDGE01\\Administrator'\ndowntime = \"announced\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("has no password source"), "{err}");
        let err = load(&format!(
            "{EDGE}local_user = 'EDGE01\\Administrator'\nlocal_password_env = \"P\"\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("the plan's only Edge Transport server"),
            "{err}"
        );
        let err = load(&format!(
            "{EDGE}local_user = 'EDGE01\\Administrator'\nlocal_password_env = \"P\"\ndowntime = \"announced\"\ndag = \"DAG01\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("which is in no DAG"), "{err}");
    }

    #[test]
    fn two_edge_servers_need_no_downtime_and_mailbox_servers_take_no_local_account() {
        let second = EDGE.replace("EDGE01", "EDGE02").replace("edge01", "edge02");
        let plan = load(&format!(
            "{EDGE}local_user = 'EDGE01\\Administrator'\nlocal_password_env = \"P1\"\n{second}local_user = 'EDGE02\\Administrator'\nlocal_password_file = '/etc/cu-roll/edge02'\n"
        ))
        .unwrap();
        assert_eq!(plan.edge_servers().count(), 2);
        let err = load(
            "[[server]]\nname = \"EX04\"\nfqdn = \"ex04.contoso.local\"\ndowntime = \"announced\"\nlocal_user = 'EX04\\Administrator'\n",
        )
        .unwrap_err();
        assert!(err.contains("is a Mailbox server"), "{err}");
        let err =
            load("[[server]]\nname = \"EX05\"\nfqdn = \"ex05.contoso.local\"\nrole = \"hub\"\n")
                .unwrap_err();
        assert!(err.contains("role 'hub' is not a server role"), "{err}");
    }
}
