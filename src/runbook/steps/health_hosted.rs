//! Health after `redistribute` (review real-exchange.md #12: "then check
//! the databases it now hosts"): every database a checked member hosts as
//! its active copy is `Mounted` and passes Test-MAPIConnectivity without
//! `-IncludePassive` (active copies only: Microsoft Learn), and its other
//! copies there are `Mounted` or `Healthy`. With `redistribute =
//! "after-each"` the member checked is the server just rolled; with
//! `"at-end"` the balance moved databases onto every member, so every
//! member is checked. Run by `redistribute` after each balance (also when
//! it found the DAG already balanced: a resumed run proves what an
//! interrupted one moved). It waits up to `timeouts.health`; it changes
//! nothing.

use crate::exchange::observe::{self, test_active_mapi, ActiveMapiObs, MapiObs};
use crate::exchange::{same, ExchangeState};
use crate::plan::{Plan, Redistribute, Server};
use crate::runbook::{PlannedCommand, StepContext, StepError};

/// What is wrong with the databases `state`'s member hosts, given its
/// active-copy MAPI results; empty = proven.
pub fn hosted_problems(state: &ExchangeState, server: &str, mapi: &[MapiObs]) -> Vec<String> {
    let mut out = Vec::new();
    for c in &state.copies {
        if c.active_copy || same(&c.status, "Mounted") {
            if !same(&c.status, "Mounted") {
                out.push(format!(
                    "{} is active on {server} but {}",
                    c.database_name, c.status
                ));
                continue;
            }
            match mapi.iter().find(|m| same(&m.database, &c.database_name)) {
                Some(m) if same(&m.result, "Success") => {}
                Some(m) => out.push(format!(
                    "Test-MAPIConnectivity: {} on {server} {}{}",
                    c.database_name,
                    m.result,
                    m.error
                        .as_deref()
                        .filter(|e| !e.is_empty())
                        .map_or(String::new(), |e| format!(" ({e})"))
                )),
                None => out.push(format!(
                    "Test-MAPIConnectivity on {server} did not test {}, which is mounted there (nothing proven)",
                    c.database_name
                )),
            }
        } else if !same(&c.status, "Healthy") {
            out.push(format!("copy {} is {}", c.name, c.status));
        }
    }
    out
}

/// The members whose hosted databases are checked after a balance.
fn checked<'a>(plan: &Plan, server: &'a Server, peers: &[&'a Server]) -> Vec<&'a Server> {
    let mut out = vec![server];
    if plan.policy.redistribute == Redistribute::AtEnd {
        out.extend(peers.iter().copied());
    }
    out
}

fn observe(ctx: &StepContext<'_>) -> Result<Vec<String>, StepError> {
    let mut out = Vec::new();
    for s in checked(ctx.plan, ctx.server, &ctx.peers) {
        let state: ExchangeState = observe::exchange_state(&ctx.exchange, s)?;
        let mapi: ActiveMapiObs = observe::active_mapi(&ctx.exchange, s, &s.name)?;
        out.extend(hosted_problems(&state, &s.name, &mapi.mapi_connectivity));
    }
    Ok(out)
}

/// Waits until every checked member's hosted databases are proven.
pub fn verify(ctx: &mut StepContext<'_>) -> Result<(), StepError> {
    let mut last = Vec::new();
    let waited = ctx.wait_until(
        "proving the databases hosted after the balance",
        ctx.plan.policy.timeouts.health,
        |ctx| {
            last = observe(ctx).unwrap_or_else(|e| vec![format!("the checks could not run: {e}")]);
            Ok(last.is_empty().then_some(()))
        },
    );
    waited.map_err(|e| {
        e.with_context(&format!(
            "After the balance: {}. The databases are mounted but not proven to serve logons; move each named database to another healthy copy (Move-ActiveMailboxDatabase <DB> -ActivateOnServer <server> -Confirm:$false) or fix the server, then run cu-roll again",
            last.join("; ")
        ))
    })
}

/// What `verify` sends, for the dry run.
pub fn scripts(plan: &Plan, server: &Server, peers: &[&Server]) -> Vec<PlannedCommand> {
    let when = "after the balance, at every poll until proven";
    let mut out = Vec::new();
    for s in checked(plan, server, peers) {
        out.extend(PlannedCommand::exchange_state(when, &s.name));
        out.push(PlannedCommand::ps(when, &test_active_mapi(&s.name)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::CopyObs;

    fn copy(db: &str, status: &str) -> CopyObs {
        CopyObs::test_copy(db, "EX02", status, status == "Mounted")
    }

    fn state(copies: Vec<CopyObs>) -> ExchangeState {
        ExchangeState {
            components: vec![],
            activation_policy: "Unrestricted".into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies,
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    fn mapi(db: &str, result: &str) -> MapiObs {
        MapiObs {
            database: db.into(),
            result: result.into(),
            error: (result != "Success").then(|| "logon failed".into()),
        }
    }

    #[test]
    fn every_mounted_database_must_pass_its_own_mapi_test() {
        let s = state(vec![
            copy("DB01", "Mounted"),
            copy("DB02", "Mounted"),
            copy("DB03", "Healthy"),
        ]);
        assert!(hosted_problems(
            &s,
            "EX02",
            &[mapi("DB01", "Success"), mapi("DB02", "Success")]
        )
        .is_empty());
        assert_eq!(
            hosted_problems(
                &s,
                "EX02",
                &[mapi("DB01", "Success"), mapi("DB02", "*FAILURE*")]
            ),
            ["Test-MAPIConnectivity: DB02 on EX02 *FAILURE* (logon failed)"]
        );
        // A database the test left out is not proven.
        assert_eq!(
            hosted_problems(&s, "EX02", &[mapi("DB01", "Success")]),
            ["Test-MAPIConnectivity on EX02 did not test DB02, which is mounted there (nothing proven)"]
        );
    }

    #[test]
    fn a_server_hosting_no_active_copy_has_nothing_to_prove() {
        let s = state(vec![copy("DB01", "Healthy")]);
        assert!(hosted_problems(&s, "EX02", &[]).is_empty());
        let s = state(vec![copy("DB01", "Failed")]);
        assert_eq!(
            hosted_problems(&s, "EX02", &[]),
            ["copy DB01\\EX02 is Failed"]
        );
    }
}
