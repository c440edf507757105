//! The MAPI logon test of the databases a server hosts as active copies:
//! what is proven after `redistribute` moved databases onto it (review
//! real-exchange.md #12). Typed; judging is the steps' job, and nothing
//! here changes a server.
//!
//! Without `-IncludePassive` Test-MAPIConnectivity "tests MAPI connectivity
//! from active database copies only" (Microsoft Learn,
//! Test-MAPIConnectivity, `-IncludePassive`): exactly the databases the
//! server now serves.

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{Operation, QueryError};
use super::MapiObs;
use crate::plan::Server;
use crate::ps::Arg;

/// What `ACTIVE_MAPI` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActiveMapiObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub mapi_connectivity: Vec<MapiObs>,
}

/// Test-MAPIConnectivity of `{{server}}`'s active copies.
pub const ACTIVE_MAPI: crate::exchange::Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$mapi = @(Test-MAPIConnectivity -Server $server | ForEach-Object {
    [pscustomobject]@{ Database = [string]$_.Database; Result = $_.Result.ToString(); Error = $_.Error }
})
[pscustomobject]@{ MapiConnectivity = $mapi } | ConvertTo-Json -Depth 4 -Compress
"#
);

pub fn test_active_mapi(server: &str) -> Operation {
    ACTIVE_MAPI.render(
        "Test-MAPIConnectivity of the active copies",
        &[("server", Arg::Str(server))],
    )
}

/// Tests `of`'s active copies, through an Exchange session reached for `via`.
pub fn active_mapi(reach: &Reach<'_>, via: &Server, of: &str) -> Result<ActiveMapiObs, QueryError> {
    query(reach, via, &test_active_mapi(of))
}
