//! `[[server]] downtime`: a Mailbox server in no DAG has no other copy of
//! its databases, so rolling it takes them offline for the whole upgrade
//! (design.md: the one place, with Edge, where the plan accepts downtime).
//! Such a server is rolled only when its `[[server]]` says
//! `downtime = "announced"`; without it the plan is refused at load, at the
//! server's line and column, with the reason. The key on a DAG member is
//! refused too (a DAG member is rolled without downtime). Checks only: the
//! standalone runbook is `runbook::steps::standalone`.

use toml::Spanned;

use crate::plan::raw::RawServer;
use planfile::{PlanError, Source};

/// The one value `downtime` takes.
pub const ANNOUNCED: &str = "announced";

pub(super) fn downtime(src: &Source, raw: &[Spanned<RawServer>]) -> Result<(), PlanError> {
    for entry in raw {
        let s = entry.get_ref();
        let name = s.name.get_ref();
        // An Edge server's downtime is `validate::edge`'s to judge.
        let edge = s
            .role
            .as_ref()
            .is_some_and(|r| r.get_ref().eq_ignore_ascii_case("edge"));
        match (&s.dag, &s.downtime) {
            (None, None) if !edge => {
                return Err(src.error(
                    s.name.span(),
                    format!(
                        "server '{name}' is in no DAG: its databases have no other copy, so they are offline from the moment it leaves service until setup, the update and the reboots are done; announce the downtime to its users, then add downtime = \"{ANNOUNCED}\" to this [[server]] (or add its dag if it is a DAG member)"
                    ),
                ))
            }
            (_, Some(d)) if !d.get_ref().eq_ignore_ascii_case(ANNOUNCED) => {
                return Err(src.error(
                    d.span(),
                    format!(
                        "downtime '{}' is not understood; the only value is \"{ANNOUNCED}\" (the downtime of a server in no DAG has been announced)",
                        d.get_ref()
                    ),
                ))
            }
            (Some(dag), Some(d)) => {
                return Err(src.error(
                    d.span(),
                    format!(
                        "server '{name}' is a member of DAG '{}': its databases move to another member, so it is rolled without downtime; remove downtime",
                        dag.get_ref()
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn load(servers: &str) -> Result<crate::plan::Plan, String> {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
            .unwrap();
        let start = text.find("[[server]]").unwrap();
        let end = text.find("[lab]").unwrap();
        let text = format!("{}{servers}\n{}", &text[..start], &text[end..]);
        crate::plan::parse(&text, std::path::Path::new("plan.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_server_in_no_dag_without_announced_downtime_is_refused_at_its_line() {
        let err = load("[[server]]\nname = \"EX04\"\nfqdn = \"ex04.contoso.local\"\n").unwrap_err();
        assert!(err.contains("server 'EX04' is in no DAG"), "{err}");
        assert!(err.contains("downtime = \"announced\""), "{err}");
        // file:line:column of the name.
        assert!(err.contains("plan.toml:36:8:"), "{err}");
    }

    #[test]
    fn announced_downtime_loads_and_other_values_or_dag_members_are_refused() {
        let plan = load(
            "[[server]]\nname = \"EX04\"\nfqdn = \"ex04.contoso.local\"\ndowntime = \"announced\"\n",
        )
        .unwrap();
        assert_eq!(plan.servers[0].dag, None);
        let err = load(
            "[[server]]\nname = \"EX04\"\nfqdn = \"ex04.contoso.local\"\ndowntime = \"yes\"\n",
        )
        .unwrap_err();
        assert!(err.contains("downtime 'yes' is not understood"), "{err}");
        let err = load(
            "[[server]]\nname = \"EX04\"\nfqdn = \"ex04.contoso.local\"\ndag = \"DAG01\"\ndowntime = \"announced\"\n",
        )
        .unwrap_err();
        assert!(err.contains("is a member of DAG 'DAG01'"), "{err}");
    }
}
