//! `redistribute` (runbook §5): `RedistributeActiveDatabases.ps1
//! -BalanceDbsByActivationPreference` over the server's DAG. Done when every
//! database of the DAG is active on its most preferred healthy copy — one
//! on a member that answers, is Up, not Blocked, not MoveNow, with the copy
//! Mounted or Healthy and activation not suspended. Already balanced →
//! nothing is sent. When to run it (after each server or at the end) is the
//! scheduler's choice; this step does one balance, then proves the
//! databases now hosted (`health_hosted`).

use std::collections::BTreeMap;

use crate::exchange::act;
use crate::exchange::observe;
use crate::exchange::{same, CopyObs, ExchangeState};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::runbook::{PlannedCommand, Step, StepContext, StepError, StepId, StepOutcome};

pub struct Redistribute;

/// Whether a copy could be activated: its member answers, is Up, does
/// not block activation, and the copy is in a state Active Manager uses.
fn eligible(member: &ExchangeState, copy: &CopyObs) -> bool {
    member
        .cluster_node_state
        .as_deref()
        .is_none_or(|n| same(n, "Up"))
        && !same(&member.activation_policy, "Blocked")
        && !member.activation_disabled_and_move_now
        && !copy.activation_suspended
        && (same(&copy.status, "Mounted") || same(&copy.status, "Healthy"))
}

/// Databases not active on their most preferred eligible copy, in words.
/// `members` are the observed members of one DAG (a member that did not
/// answer is simply absent: none of its copies is eligible).
pub fn unbalanced(members: &[ExchangeState]) -> Vec<String> {
    let mut by_db: BTreeMap<&str, Vec<(&ExchangeState, &CopyObs)>> = BTreeMap::new();
    for m in members {
        for c in &m.copies {
            by_db
                .entry(c.database_name.as_str())
                .or_default()
                .push((m, c));
        }
    }
    let mut out = Vec::new();
    for (db, copies) in by_db {
        let active = copies
            .iter()
            .find(|(_, c)| c.active_copy || same(&c.status, "Mounted"))
            .map(|(_, c)| c.mailbox_server.as_str());
        let best = copies
            .iter()
            .filter(|(m, c)| eligible(m, c))
            .min_by_key(|(_, c)| c.activation_preference.unwrap_or(u32::MAX))
            .map(|(_, c)| (c.mailbox_server.as_str(), c.activation_preference));
        match (active, best) {
            (None, _) => out.push(format!("{db} has no mounted copy")),
            (Some(a), Some((b, pref))) if !same(a, b) => out.push(format!(
                "{db} is active on {a}, its most preferred healthy copy is on {b} (preference {})",
                pref.map_or("?".into(), |p| p.to_string())
            )),
            _ => {}
        }
    }
    out
}

/// Copies still catching up after their server came back (reboot, setup):
/// until they are Healthy, Active Manager would not activate them, so the
/// balance cannot be judged yet.
pub fn settling(members: &[ExchangeState]) -> Vec<String> {
    const TRANSIENT: [&str; 4] = [
        "Initializing",
        "Resynchronizing",
        "DisconnectedAndResynchronizing",
        "ServiceDown",
    ];
    members
        .iter()
        .filter(|m| {
            m.cluster_node_state
                .as_deref()
                .is_none_or(|n| same(n, "Up"))
        })
        .flat_map(|m| &m.copies)
        .filter(|c| TRANSIENT.iter().any(|t| same(&c.status, t)))
        .map(|c| format!("{} {}", c.name, c.status))
        .collect()
}

/// Journals each database's move result from what the redistribution
/// printed, and the errors the script wrote; returns the databases whose
/// move Active Manager suppressed: a warning, not a failure (review
/// real-exchange.md #21: "Treat 'moves suppressed' as a warning").
fn report_moves(ctx: &mut StepContext<'_>, stdout: &str) -> Result<Vec<String>, StepError> {
    let Some(report) = act::RedistributeReport::parse(stdout) else {
        ctx.events.observed(format!(
            "RedistributeActiveDatabases.ps1's results could not be read: {}",
            stdout.trim()
        ))?;
        return Ok(Vec::new());
    };
    if !report.moves.is_empty() {
        ctx.events.observed(format!(
            "RedistributeActiveDatabases.ps1: {}",
            report.lines().join("; ")
        ))?;
    }
    for e in &report.errors {
        ctx.events
            .observed(format!("RedistributeActiveDatabases.ps1 wrote: {e}"))?;
    }
    let suppressed = report.suppressed();
    if !suppressed.is_empty() {
        ctx.events.observed(format!(
            "warning: Active Manager suppressed the move of {}; not waited for",
            suppressed.join(", ")
        ))?;
    }
    Ok(suppressed)
}

/// This server and its peers in one DAG-wide read (observe::dag_state):
/// this server's state must be read; a peer that does not answer has no
/// eligible copy, and the balance is judged over the members that do.
fn observe_members(ctx: &StepContext<'_>) -> Result<Vec<ExchangeState>, StepError> {
    let mut members = vec![ctx.server];
    members.extend(ctx.peers.iter().copied());
    let seen = observe::dag_state(&ctx.exchange, ctx.server, &members, &[])?;
    let mut out = Vec::with_capacity(seen.len());
    for m in seen {
        match m.state {
            Ok(s) => out.push(s),
            // Read alone again, so its error is the one (and of the kind)
            // the step has always met.
            Err(_) if same(&m.name, &ctx.server.name) => out.push(ctx.exchange_state()?),
            Err(_) => {}
        }
    }
    Ok(out)
}

impl Step for Redistribute {
    fn id(&self) -> StepId {
        StepId::Redistribute
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let Some(dag) = ctx.server.dag.clone() else {
            return Ok(StepOutcome::AlreadyDone {
                detail: format!("{} is not in a DAG: nothing to balance", ctx.server.name),
            });
        };
        // A member that just came back has copies still resynchronising:
        // judging now would call a copy on another member "most preferred
        // healthy" and leave the database there.
        let mut still = Vec::new();
        let settled = ctx.wait_until(
            "waiting for the DAG's copies to finish resynchronising",
            ctx.plan.policy.timeouts.move_databases,
            |ctx| {
                still = settling(&observe_members(ctx)?);
                if !still.is_empty() {
                    ctx.events
                        .progress(&format!("waiting for {} to be Healthy", still.join(", ")));
                }
                Ok(still.is_empty().then_some(()))
            },
        );
        if settled.is_err() {
            ctx.events.observed(format!(
                "copies still not Healthy after {}: {}; balancing over the healthy ones",
                humantime::format_duration(ctx.plan.policy.timeouts.move_databases),
                still.join(", ")
            ))?;
        }
        let before = unbalanced(&observe_members(ctx)?);
        if before.is_empty() {
            super::health_hosted::verify(ctx)?;
            return Ok(StepOutcome::AlreadyDone {
                detail: format!(
                    "every database of {dag} is already on its most preferred healthy copy"
                ),
            });
        }
        // What is about to move, said as the action it is (review
        // operator-experience.md message 10: "unbalanced" alone read as a
        // standing warning).
        ctx.events.observed(format!(
            "redistributing {dag} by activation preference: {}",
            before.join("; ")
        ))?;
        let out = ctx.act_with_output(
            &act::redistribute(&dag, ctx.plan.policy.timeouts.move_databases),
            &mut Vec::new(),
        )?;
        let suppressed = report_moves(ctx, &out.stdout)?;
        let mut left = Vec::new();
        let waited = ctx.wait_until(
            "waiting for every database to be active on its most preferred healthy copy",
            ctx.plan.policy.timeouts.move_databases,
            |ctx| {
                left = unbalanced(&observe_members(ctx)?)
                    .into_iter()
                    .filter(|l| !suppressed.iter().any(|db| l.starts_with(&format!("{db} "))))
                    .collect();
                Ok(left.is_empty().then_some(()))
            },
        );
        waited.map_err(|e| {
            e.with_context(&format!(
                "Still: {}. Every database is mounted somewhere, so this is not an outage; balance by hand with Move-ActiveMailboxDatabase <DB> -ActivateOnServer <server> -Confirm:$false, or run cu-roll again",
                left.join("; ")
            ))
        })?;
        super::health_hosted::verify(ctx)?;
        let mut detail = format!("{dag} balanced by activation preference");
        if !suppressed.is_empty() {
            detail.push_str(&format!(
                "; warning: Active Manager suppressed the move of {} (moved or failed over too recently), left where it is: RedistributeActiveDatabases.ps1 run later, or Active Manager's own balancing (PreferenceMoveFrequency, Exchange 2016 CU2 and later: manage-dags), puts it back",
                suppressed.join(", ")
            ));
        }
        Ok(StepOutcome::Done { detail })
    }

    fn scripts(
        &self,
        plan: &Plan,
        _target: &ResolvedTarget,
        server: &Server,
        peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let Some(dag) = &server.dag else {
            return Vec::new();
        };
        let mut names = vec![server.name.as_str()];
        names.extend(peers.iter().map(|p| p.name.as_str()));
        let mut out = vec![PlannedCommand::ps(
            "first, and at every poll: copies and activation state of every member, in one read",
            &observe::read_dag_state(&names, dag, &[]),
        )];
        out.extend([
            PlannedCommand::ps(
                "if a database is not active on its most preferred healthy copy: a scheduled task registered with the admin's credential (password on the script's stdin) runs Microsoft's script, waited for",
                &act::redistribute(dag, plan.policy.timeouts.move_databases).op,
            ),
            PlannedCommand {
                when: "what that task's powershell.exe runs (its -EncodedCommand)".into(),
                command: crate::runbook::PlannedText::PowerShell(act::redistribute_command(dag)),
            },
        ]);
        out.extend(super::health_hosted::scripts(plan, server, peers));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(db: &str, server: &str, pref: u32, status: &str) -> CopyObs {
        CopyObs {
            activation_preference: Some(pref),
            ..CopyObs::test_copy(db, server, status, status == "Mounted")
        }
    }

    fn member(policy: &str, copies: Vec<CopyObs>) -> ExchangeState {
        ExchangeState {
            components: vec![],
            activation_policy: policy.into(),
            activation_disabled_and_move_now: false,
            database_availability_group: Some("DAG01".into()),
            cluster_node_state: Some("Up".into()),
            copies,
            queues: vec![],
            queues_error: None,
            cluster_node_error: None,
        }
    }

    #[test]
    fn balanced_when_each_database_is_on_preference_one() {
        let m = vec![
            member(
                "Unrestricted",
                vec![
                    copy("DB01", "EX01", 1, "Mounted"),
                    copy("DB02", "EX01", 2, "Healthy"),
                ],
            ),
            member(
                "Unrestricted",
                vec![
                    copy("DB01", "EX02", 2, "Healthy"),
                    copy("DB02", "EX02", 1, "Mounted"),
                ],
            ),
        ];
        assert!(unbalanced(&m).is_empty());
    }

    #[test]
    fn a_database_off_its_preferred_copy_is_named() {
        let m = vec![
            member("Unrestricted", vec![copy("DB01", "EX01", 1, "Healthy")]),
            member("Unrestricted", vec![copy("DB01", "EX02", 2, "Mounted")]),
        ];
        assert_eq!(
            unbalanced(&m),
            vec![
                "DB01 is active on EX02, its most preferred healthy copy is on EX01 (preference 1)"
            ]
        );
    }

    #[test]
    fn a_blocked_or_unhealthy_preferred_copy_does_not_count() {
        let m = vec![
            member("Blocked", vec![copy("DB01", "EX01", 1, "Healthy")]),
            member("Unrestricted", vec![copy("DB01", "EX02", 2, "Mounted")]),
            member("Unrestricted", vec![copy("DB01", "EX03", 3, "Healthy")]),
        ];
        assert!(unbalanced(&m).is_empty());
        let m = vec![
            member(
                "Unrestricted",
                vec![copy("DB01", "EX01", 1, "FailedAndSuspended")],
            ),
            member("Unrestricted", vec![copy("DB01", "EX02", 2, "Mounted")]),
        ];
        assert!(unbalanced(&m).is_empty());
    }
}
