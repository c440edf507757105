//! Sending one [`Operation`] and reading the one JSON value it prints:
//! `query` for a value, `query_list` for a list that may be empty, and
//! `one_or_many` for PowerShell's habit of unrolling one-element arrays.
//! The typed observations (`observe`) and the actions that print a result
//! are built on these. Nothing here decides anything.

use serde::{Deserialize, Deserializer};

use super::{first_error_line, run, Operation, QueryError, Reach};
use crate::exec::ExecOutput;
use crate::plan::Server;

/// Accepts `null`, a bare value or an array where PowerShell may have
/// unrolled a one-element array (cmdlets.md §14).
pub(super) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
        None,
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(t)) => vec![t],
        Some(OneOrMany::None) | None => Vec::new(),
    })
}

/// Sends `op` and fails when it exits non-zero, quoting the first error line.
fn run_ok(reach: &Reach<'_>, server: &Server, op: &Operation) -> Result<ExecOutput, QueryError> {
    let out = run(reach, server, op)?;
    if !out.success() {
        return Err(QueryError::ScriptFailed {
            server: server.name.clone(),
            purpose: op.script.purpose,
            exit_code: out.exit_code,
            detail: first_error_line(&out.stderr),
        });
    }
    Ok(out)
}

/// Runs `op` on `server` and parses the one JSON value it prints.
pub fn query<T: serde::de::DeserializeOwned>(
    reach: &Reach<'_>,
    server: &Server,
    op: &Operation,
) -> Result<T, QueryError> {
    let out = run_ok(reach, server, op)?;
    crate::ps::parse_json(&out.stdout).map_err(|source| QueryError::BadOutput {
        server: server.name.clone(),
        purpose: op.script.purpose,
        source,
    })
}

/// Like [`query`], for scripts that print nothing when there is nothing
/// (5.1's `ConvertTo-Json` of an empty array prints no output at all).
pub fn query_list<T: serde::de::DeserializeOwned>(
    reach: &Reach<'_>,
    server: &Server,
    op: &Operation,
) -> Result<Vec<T>, QueryError> {
    #[derive(Deserialize)]
    #[serde(transparent, bound = "T: serde::de::DeserializeOwned")]
    struct List<T>(#[serde(deserialize_with = "one_or_many")] Vec<T>);
    let out = run_ok(reach, server, op)?;
    if out.stdout.trim_start_matches('\u{feff}').trim().is_empty() {
        return Ok(Vec::new());
    }
    crate::ps::parse_json::<List<T>>(&out.stdout)
        .map(|l| l.0)
        .map_err(|source| QueryError::BadOutput {
            server: server.name.clone(),
            purpose: op.script.purpose,
            source,
        })
}
