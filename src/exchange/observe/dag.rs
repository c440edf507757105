//! A DAG's members as Exchange lists them: `Get-DatabaseAvailabilityGroup
//! -Identity <dag>`'s `Servers` (Microsoft Learn, Get-DatabaseAvailabilityGroup:
//! "Servers: the Mailbox servers that are members of the DAG"), typed.
//! Comparing them with the plan is `preflight::membership`'s business;
//! nothing here decides or changes anything.

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{Operation, QueryError};
use crate::plan::Server;
use crate::ps::Arg;

/// What `DAG_MEMBERS` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DagMembersObs {
    pub name: String,
    /// The DAG's `Servers` (short names).
    #[serde(default, deserialize_with = "one_or_many")]
    pub servers: Vec<String>,
}

/// DAG `{{dag}}`'s name and members. Without `-Status`: membership is in
/// AD and needs no cluster query.
pub const DAG_MEMBERS: crate::exchange::Template = template!(
    ExchangeSession,
    r#"$dag = Get-DatabaseAvailabilityGroup -Identity {{dag}}
[pscustomobject]@{
    Name = [string]$dag.Name
    Servers = @($dag.Servers | ForEach-Object { [string]$_.Name })
} | ConvertTo-Json -Depth 3 -Compress
"#
);

pub fn read_dag_members(dag: &str) -> Operation {
    DAG_MEMBERS.render("the DAG's members", &[("dag", Arg::Str(dag))])
}

/// Reads DAG `dag`'s members through an Exchange session reached for `via`.
pub fn dag_members(
    reach: &Reach<'_>,
    via: &Server,
    dag: &str,
) -> Result<DagMembersObs, QueryError> {
    query(reach, via, &read_dag_members(dag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_unrolled_by_powershell_is_still_a_list() {
        let one: DagMembersObs =
            serde_json::from_str(r#"{"Name":"DAG01","Servers":"EX01"}"#).unwrap();
        assert_eq!(one.servers, ["EX01"]);
        let none: DagMembersObs =
            serde_json::from_str(r#"{"Name":"DAG01","Servers":null}"#).unwrap();
        assert!(none.servers.is_empty());
    }
}
