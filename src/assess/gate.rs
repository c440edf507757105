//! The availability gate (design principle 2): before a server is taken
//! out of service, every other member of its DAG must be in service, the
//! DAG's quorum must survive it, and every database with a copy on it must
//! keep enough healthy copies on members that stay up. Pure functions over
//! observations; a refusal names each database or server and why.
//!
//! The copy rule is StartDagServerMaintenance.ps1's (Microsoft, 2022-signed
//! public copy): `if (($dagServers - $stoppedDagServers) -eq 2 -or
//! $overrideMinimumTwoCopies) { … -AtleastNCriticalCopies 1 } else { … }`,
//! whose default leaves Active Manager's `RunDatabaseServerBeginMaintenanceChecks`
//! asking for two healthy copies after the server goes down. cu-roll never
//! counts lagged copies (stricter than the script, which leaves the count
//! to Active Manager). The quorum rule: the remaining members pass
//! `Test-ReplicationHealth`'s QuorumGroup and FileShareQuorum checks, and a
//! DAG with an even number of running members has its witness in use
//! (Microsoft Learn, "Database availability groups": even → Node and File
//! Share Majority, odd → Node Majority).

use super::checks;
use crate::exchange::observe::QuorumObs;
use crate::exchange::ExchangeState;
use crate::plan::Policy;

/// The plan key that is `-overrideMinimumTwoCopies`, named in refusals.
pub const OVERRIDE_KEY: &str = "[policy] override_minimum_two_copies";

/// One DAG member as observed just before the gate.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub name: String,
    /// The member's state, or why it could not be read.
    pub state: Result<ExchangeState, String>,
    /// Quorum as the member sees it (`None`: not read, a server outside a DAG).
    pub quorum: Option<Result<QuorumObs, String>>,
}

/// Healthy copies every database must keep while one server is out:
/// StartDagServerMaintenance.ps1's two, one when only two members run or
/// with the override; `[policy] min_healthy_copies` may raise it, never
/// lower it.
pub fn required_copies(running_members: usize, policy: &Policy) -> u32 {
    let rule = if running_members == 2 || policy.override_minimum_two_copies {
        1
    } else {
        2
    };
    rule.max(policy.min_healthy_copies.unwrap_or(0))
}

/// Why `required` copies are asked for, as the refusal explains it.
fn rule_words(required: u32, running_members: usize, policy: &Policy) -> String {
    let why = if policy
        .min_healthy_copies
        .is_some_and(|m| m == required && m > 2)
    {
        "[policy] min_healthy_copies".to_string()
    } else if policy.override_minimum_two_copies {
        format!("{OVERRIDE_KEY} = true, as -overrideMinimumTwoCopies")
    } else if running_members == 2 {
        format!("StartDagServerMaintenance.ps1's rule for a DAG of two running members; {OVERRIDE_KEY} is not needed")
    } else {
        format!(
            "StartDagServerMaintenance.ps1's rule for a DAG of {running_members} running members; \
             {OVERRIDE_KEY} = true accepts one, as -overrideMinimumTwoCopies does"
        )
    };
    format!("{required} required: {why}; lagged copies never count")
}

/// Databases of `own` that would keep fewer than the required healthy,
/// non-lagged copies on `others` (name and state) that stay in service.
pub fn redundancy_refusals(
    server: &str,
    own: &ExchangeState,
    others: &[(&str, &ExchangeState)],
    running_members: usize,
    policy: &Policy,
) -> Vec<String> {
    let required = required_copies(running_members, policy);
    let mut refusals = Vec::new();
    for copy in &own.copies {
        let mut healthy = 0usize;
        let mut not_counted = Vec::new();
        for (name, st) in others {
            let stays_available = !checks::maintenance(st).in_maintenance;
            for c in checks::copy_health(st, policy)
                .into_iter()
                .filter(|c| c.database.eq_ignore_ascii_case(&copy.database_name))
            {
                if c.counts_as_redundancy() && stays_available {
                    healthy += 1;
                } else if !c.ok {
                    not_counted.push(
                        checks::copy_problem(&c, policy)
                            .trim_start_matches("database copy ")
                            .to_string(),
                    );
                } else if c.lagged {
                    not_counted.push(format!("{} lagged", c.name));
                } else {
                    not_counted.push(format!("{} out of service ({name})", c.name));
                }
            }
        }
        if (healthy as u64) < u64::from(required) {
            refusals.push(format!(
                "database {} would keep {healthy} healthy cop{} while {server} is out of service ({}){}",
                copy.database_name,
                if healthy == 1 { "y" } else { "ies" },
                rule_words(required, running_members, policy),
                if not_counted.is_empty() {
                    String::new()
                } else {
                    format!(": {}", not_counted.join(", "))
                }
            ));
        }
    }
    refusals
}

/// Whether quorum survives `server` leaving: the others' QuorumGroup and
/// FileShareQuorum checks, and the witness of a DAG with an even number of
/// running members.
pub fn quorum_refusals(server: &str, others: &[&MemberView]) -> Vec<String> {
    let mut refusals = Vec::new();
    let mut dag: Option<&QuorumObs> = None;
    for m in others {
        match &m.quorum {
            None => {}
            Some(Err(e)) => {
                refusals.push(format!("quorum as {} sees it cannot be read: {e}", m.name))
            }
            Some(Ok(q)) => {
                dag.get_or_insert(q);
                for c in q
                    .checks
                    .iter()
                    .filter(|c| !c.result.eq_ignore_ascii_case("Passed"))
                {
                    refusals.push(format!(
                        "{} fails Test-ReplicationHealth {} ({}{}): quorum might not survive {server} leaving",
                        m.name,
                        c.check,
                        c.result,
                        c.error
                            .as_deref()
                            .filter(|e| !e.is_empty())
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    if let Some(q) = dag {
        let running = q.running_members();
        let in_use = q.witness_share_in_use.as_deref().unwrap_or("");
        if running % 2 == 0
            && !["Primary", "Alternate"]
                .iter()
                .any(|w| w.eq_ignore_ascii_case(in_use))
        {
            refusals.push(format!(
                "the DAG has {running} running members, so its file share witness{} must vote \
                 (Node and File Share Majority), but Get-DatabaseAvailabilityGroup -Status shows \
                 WitnessShareInUse {}: quorum might not survive {server} leaving",
                q.witness_server
                    .as_deref()
                    .filter(|w| !w.is_empty())
                    .map(|w| format!(" {w}"))
                    .unwrap_or_default(),
                if in_use.is_empty() { "empty" } else { in_use }
            ));
        }
    }
    refusals
}

/// Checks the gate for taking `server` out of service. `Ok(())` opens it;
/// `Err` lists every reason it stays shut.
pub fn check(server: &str, members: &[MemberView], policy: &Policy) -> Result<(), Vec<String>> {
    let mut refusals = Vec::new();
    let others: Vec<&MemberView> = members
        .iter()
        .filter(|m| !m.name.eq_ignore_ascii_case(server))
        .collect();

    for m in &others {
        match &m.state {
            Err(e) => refusals.push(format!("{} cannot be checked: {e}", m.name)),
            Ok(st) => {
                let maint = checks::maintenance(st);
                if maint.in_maintenance {
                    refusals.push(format!(
                        "{} is out of service ({}): never two members of a DAG out at once",
                        m.name,
                        checks::maintenance_reasons(&maint).join("; ")
                    ));
                }
            }
        }
    }
    refusals.extend(quorum_refusals(server, &others));

    let Some(own) = members
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(server))
        .and_then(|m| m.state.as_ref().ok())
    else {
        refusals.push(format!("{server} itself cannot be checked"));
        return Err(refusals);
    };
    // The DAG's own count when a member could read it, else the plan's.
    let running = members
        .iter()
        .find_map(|m| m.quorum.as_ref().and_then(|q| q.as_ref().ok()))
        .map_or(members.len(), QuorumObs::running_members);
    let states: Vec<(&str, &ExchangeState)> = others
        .iter()
        .filter_map(|m| m.state.as_ref().ok().map(|s| (m.name.as_str(), s)))
        .collect();
    refusals.extend(redundancy_refusals(server, own, &states, running, policy));

    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{ComponentObs, CopyObs};

    fn policy() -> Policy {
        crate::plan::parse(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/lab.toml"))
                .unwrap(),
            std::path::Path::new("plans/lab.toml"),
        )
        .unwrap()
        .policy
    }

    fn copy(db: &str, server: &str, status: &str, active: bool) -> CopyObs {
        CopyObs::test_copy(db, server, status, active)
    }

    fn member(name: &str, copies: Vec<CopyObs>, policy_name: &str) -> MemberView {
        MemberView {
            name: name.into(),
            quorum: None,
            state: Ok(ExchangeState {
                components: vec![ComponentObs {
                    component: "ServerWideOffline".into(),
                    state: "Active".into(),
                    local_states: vec![],
                    remote_states: vec![],
                }],
                activation_policy: policy_name.into(),
                activation_disabled_and_move_now: false,
                database_availability_group: Some("DAG01".into()),
                cluster_node_state: Some("Up".into()),
                copies,
                queues: vec![],
                queues_error: None,
                cluster_node_error: None,
            }),
        }
    }

    #[test]
    fn healthy_dag_opens_the_gate() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Healthy", false)],
                "Unrestricted",
            ),
        ];
        assert_eq!(check("EX02", &members, &policy()), Ok(()));
    }

    /// The only other copy is Failed: taking EX02 down would leave DB01 without a healthy copy.
    #[test]
    fn refuses_naming_the_database_without_a_healthy_copy_elsewhere() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Failed", false)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Mounted", true)],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].contains("database DB01 would keep 0 healthy copies while EX02"),
            "{why:?}"
        );
        assert!(why[0].contains("DB01\\EX01 is Failed"), "{why:?}");
    }

    /// A member in someone else's maintenance (ServerWideOffline Inactive).
    fn offline(mut m: MemberView) -> MemberView {
        if let Ok(st) = &mut m.state {
            st.components[0].state = "Inactive".into();
        }
        m
    }

    fn lagged(mut c: CopyObs) -> CopyObs {
        c.activation_suspended = true;
        c.replay_queue_length = Some(3360);
        c.replay_lag_time = Some("7.00:00:00".into());
        c
    }

    #[test]
    fn refuses_when_another_member_is_already_out() {
        let members = vec![
            offline(member(
                "EX01",
                vec![copy("DB01", "EX01", "Healthy", false)],
                "Unrestricted",
            )),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX03",
                vec![copy("DB01", "EX03", "Healthy", false)],
                "Unrestricted",
            ),
            member(
                "EX04",
                vec![copy("DB01", "EX04", "Healthy", false)],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(
            why.iter()
                .any(|w| w.starts_with("EX01 is out of service (ServerWideOffline Inactive)")),
            "{why:?}"
        );
        // EX03 and EX04 still hold healthy copies, so DB01 itself is fine.
        assert!(!why.iter().any(|w| w.contains("database DB01")), "{why:?}");
    }

    /// Review #10: a DR member Blocked for good is in service; the old gate
    /// called it "out of service" and refused every other member.
    #[test]
    fn a_blocked_dr_member_does_not_shut_the_gate() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Healthy", false)],
                "Unrestricted",
            ),
            member(
                "EX03",
                vec![copy("DB01", "EX03", "Healthy", false)],
                "Unrestricted",
            ),
            member(
                "EX04",
                vec![copy("DB01", "EX04", "Healthy", false)],
                "Blocked",
            ),
        ];
        assert_eq!(check("EX02", &members, &policy()), Ok(()));
        assert_eq!(check("EX04", &members, &policy()), Ok(()));
    }

    /// Review #11: StartDagServerMaintenance.ps1 keeps two healthy copies
    /// in a DAG of three or more running members (the old default was one),
    /// and the refusal names the override.
    #[test]
    fn two_copies_must_stay_in_a_dag_of_three() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Healthy", false)],
                "Unrestricted",
            ),
            member(
                "EX03",
                vec![copy("DB01", "EX03", "Failed", false)],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].contains("database DB01 would keep 1 healthy copy while EX02"),
            "{why:?}"
        );
        assert!(why[0].contains("2 required"), "{why:?}");
        assert!(why[0].contains(OVERRIDE_KEY), "{why:?}");
        let mut p = policy();
        p.override_minimum_two_copies = true;
        assert_eq!(check("EX02", &members, &p), Ok(()));
        // Even with the override, no copy left is refused, naming it.
        let mut gone = members.clone();
        gone[0] = member(
            "EX01",
            vec![copy("DB01", "EX01", "Failed", false)],
            "Unrestricted",
        );
        gone[1] = member(
            "EX02",
            vec![copy("DB01", "EX02", "Mounted", true)],
            "Unrestricted",
        );
        let why = check("EX02", &gone, &p).unwrap_err();
        assert!(
            why[0].contains("1 required") && why[0].contains(OVERRIDE_KEY),
            "{why:?}"
        );
    }

    /// A lagged copy is healthy but never counts (stricter than Microsoft's
    /// script); the old gate counted it.
    #[test]
    fn lagged_copies_never_count() {
        let members = vec![
            member(
                "EX01",
                vec![copy("DB01", "EX01", "Mounted", true)],
                "Unrestricted",
            ),
            member(
                "EX02",
                vec![copy("DB01", "EX02", "Healthy", false)],
                "Unrestricted",
            ),
            member(
                "EX03",
                vec![lagged(copy("DB01", "EX03", "Healthy", false))],
                "Unrestricted",
            ),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(why[0].contains("would keep 1 healthy copy"), "{why:?}");
        assert!(why[0].contains("DB01\\EX03 lagged"), "{why:?}");
        // EX03 itself may go: EX01 and EX02 keep DB01, and its lagged copy
        // is no reason to refuse.
        assert_eq!(check("EX03", &members, &policy()), Ok(()));
    }

    fn quorum(
        checks: &[(&str, &str)],
        servers: usize,
        witness: &str,
    ) -> Option<Result<QuorumObs, String>> {
        Some(Ok(QuorumObs {
            checks: checks
                .iter()
                .map(|(c, r)| crate::exchange::ReplicationCheckObs {
                    check: (*c).into(),
                    result: (*r).into(),
                    error: None,
                })
                .collect(),
            servers: (1..=servers).map(|i| format!("EX0{i}")).collect(),
            stopped_mailbox_servers: 0,
            witness_server: Some("fs01.contoso.local".into()),
            witness_share_in_use: Some(witness.into()),
        }))
    }

    /// Quorum must survive the member leaving: the others' QuorumGroup and
    /// FileShareQuorum pass, and an even DAG's witness is in use.
    #[test]
    fn a_failing_witness_shuts_the_gate() {
        let healthy = [("QuorumGroup", "Passed"), ("FileShareQuorum", "Passed")];
        let mut members: Vec<MemberView> = (1..=4)
            .map(|i| {
                let name = format!("EX0{i}");
                let mut m = member(
                    &name,
                    vec![copy(
                        "DB01",
                        &name,
                        if i == 1 { "Mounted" } else { "Healthy" },
                        i == 1,
                    )],
                    "Unrestricted",
                );
                m.quorum = quorum(&healthy, 4, "Primary");
                m
            })
            .collect();
        assert_eq!(check("EX02", &members, &policy()), Ok(()));
        for m in &mut members {
            m.quorum = quorum(
                &[("QuorumGroup", "*FAILED*"), ("FileShareQuorum", "*FAILED*")],
                4,
                "InvalidConfiguration",
            );
        }
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(
            why.iter()
                .any(|w| w
                    .starts_with("EX01 fails Test-ReplicationHealth FileShareQuorum (*FAILED*)")),
            "{why:?}"
        );
        assert!(
            why.iter()
                .any(|w| w.contains("WitnessShareInUse InvalidConfiguration")),
            "{why:?}"
        );
        // An odd DAG does not vote with its witness.
        members.pop();
        for m in &mut members {
            m.quorum = quorum(&healthy, 3, "None");
        }
        assert_eq!(check("EX02", &members, &policy()), Ok(()));
    }

    #[test]
    fn an_unreachable_member_shuts_the_gate() {
        let members = vec![
            MemberView {
                name: "EX01".into(),
                state: Err("EX01 is unreachable".into()),
                quorum: None,
            },
            member("EX02", vec![], "Unrestricted"),
        ];
        let why = check("EX02", &members, &policy()).unwrap_err();
        assert!(why[0].contains("EX01 cannot be checked"), "{why:?}");
    }
}
