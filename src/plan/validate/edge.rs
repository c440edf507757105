//! `[[server]] role`: `"mailbox"` (the default) or `"edge"`. An Edge
//! Transport server is outside the domain and has no Exchange remote
//! PowerShell, so nothing of the Mailbox runbook fits it (docs/rollout.md,
//! "Edge Transport servers", says what Microsoft documents and what it
//! does not). This version does not roll Edge servers: a plan that lists
//! one is refused when loaded, at the `role` key, with the reason — so an
//! Edge server is never mistaken for a standalone Mailbox server. Checks
//! only.

use toml::Spanned;

use crate::plan::raw::RawServer;
use planfile::{PlanError, Source};

pub(super) fn role(src: &Source, raw: &[Spanned<RawServer>]) -> Result<(), PlanError> {
    for entry in raw {
        let s = entry.get_ref();
        let Some(role) = &s.role else {
            continue;
        };
        match role.get_ref().to_ascii_lowercase().as_str() {
            "mailbox" => {}
            "edge" => {
                return Err(src.error(
                    role.span(),
                    format!(
                        "server '{}' is an Edge Transport server, which this version of cu-roll does not roll: an Edge server is in no domain and has no Exchange remote PowerShell, and its runbook (setup /Mode:Upgrade in a local Exchange shell as a local administrator, the EdgeTransport.exe.config backup, the queue drain, Test-EdgeSynchronization from a Mailbox server afterwards) is not built yet (docs/rollout.md, \"Edge Transport servers\"); remove it from the plan and upgrade it by hand after the Mailbox servers",
                        s.name.get_ref()
                    ),
                ))
            }
            other => {
                return Err(src.error(
                    role.span(),
                    format!("role '{other}' is not a server role cu-roll knows; expected \"mailbox\" (the default) or \"edge\""),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn load(extra: &str) -> Result<crate::plan::Plan, String> {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
            .unwrap()
            .replacen(
                "name = \"EX03\"\nfqdn = \"ex03.contoso.local\"\ndag = \"DAG01\"\n",
                &format!(
                    "name = \"EX03\"\nfqdn = \"ex03.contoso.local\"\ndag = \"DAG01\"\n{extra}"
                ),
                1,
            );
        crate::plan::parse(&text, std::path::Path::new("plan.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_edge_server_is_refused_with_the_reason_and_mailbox_is_the_default() {
        assert!(load("role = \"mailbox\"\n").is_ok());
        let err = load("role = \"edge\"\n").unwrap_err();
        assert!(
            err.contains("server 'EX03' is an Edge Transport server"),
            "{err}"
        );
        assert!(err.contains("does not roll"), "{err}");
        let err = load("role = \"hub\"\n").unwrap_err();
        assert!(err.contains("role 'hub' is not a server role"), "{err}");
    }
}
