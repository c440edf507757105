//! Step runs against `FakeExec` (decisions, resume cases, timeouts and
//! messages), the dry-run script snapshot with its grammar check, and
//! end-to-end runs against the in-process lab for the steps it supports.

use serde_json::json;

use super::enter_maintenance::{cluster_group_change, pam_problem};
use super::testkit::*;
use super::*;
use crate::exchange::act::ClusterGroupMove;
use crate::journal::Change;
use crate::runbook::{PlannedText, Step, StepErrorKind, StepOutcome};

fn sent_in_order(exec: &FakeExec, needles: &[&str]) -> bool {
    let actions = exec.actions();
    let mut pos = 0;
    for n in needles {
        match actions[pos..].iter().position(|a| a.contains(n)) {
            Some(i) => pos += i + 1,
            None => return false,
        }
    }
    true
}

/// `text` with every `'…'` literal blanked and the domain controller pin
/// dropped: a script sent with observed values has the shape of the dry
/// run's rendering of the same template (the dry run shows the pin; these
/// steps run with no controller chosen, so they send none).
fn shape(text: &str) -> String {
    regex::Regex::new(r"'(?:[^']|'')*'")
        .unwrap()
        .replace_all(text, "''")
        .replace(" -DomainController ''", "")
}

/// Whether everything `run` sent (`sent`, any server) is a command the
/// step's dry run lists for EX02, and the changes (not the reads, which
/// repeat while polling) come in the dry run's order: the two are built
/// from the same operations, so neither may drift from the other.
fn follows_dry_run(bench: &Bench, step: &dyn Step, sent: &[Sent]) -> Result<(), String> {
    let server = bench.plan.server("EX02").unwrap();
    let peers: Vec<_> = bench
        .plan
        .servers
        .iter()
        .filter(|s| s.name != "EX02")
        .collect();
    let planned: Vec<String> = step
        .scripts(&bench.plan, &bench.target, server, &peers)
        .iter()
        .map(|p| match &p.command {
            PlannedText::PowerShell(script) => script.text().to_string(),
            PlannedText::Cmd(line) => line.clone(),
        })
        .collect();
    use crate::exchange::observe::*;
    let reads: Vec<String> = [
        read_server_facts(),
        read_exchange_state("EX02"),
        read_cluster_node_state("EX02"),
        read_dag_state(&["EX02", "EX01", "EX03"], "DAG01", &[]),
        read_boot_state(),
        run_health_tests("EX02"),
        read_cluster_group_owner(),
        read_ad_levels(),
        read_service_set(),
        read_health_pages("ex02.contoso.local"),
        test_active_mapi("EX02"),
    ]
    .iter()
    .map(|op| shape(op.shown().text()))
    .collect();
    let mut last = 0;
    for s in sent {
        // The same text, else the same shape (other values; several
        // templates share a shape), preferring one not before the last.
        let same_shape = |p: &String| shape(p) == shape(&s.text);
        let found = planned.iter().position(|p| *p == s.text).or_else(|| {
            let later = planned.iter().skip(last).position(same_shape);
            later
                .map(|i| i + last)
                .or_else(|| planned.iter().position(same_shape))
        });
        let Some(at) = found else {
            return Err(format!(
                "{} sent what its dry run does not list:\n{}",
                step.id(),
                s.text
            ));
        };
        if s.kind == Kind::Ps && !reads.contains(&shape(&s.text)) {
            if at < last {
                return Err(format!(
                    "{} sent this out of its dry run's order:\n{}",
                    step.id(),
                    s.text
                ));
            }
            last = at;
        }
    }
    Ok(())
}

/// Exchange cmdlets go to another member in an Exchange session with the
/// secret on stdin; Windows-level work goes to EX02 itself; no script
/// carries the secret or loads the snap-in.
#[test]
fn exchange_cmdlets_reach_a_peer_in_a_session_and_windows_work_stays_on_the_target() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    bench.ok(&EnterMaintenance, &exec, vec![]);
    let sent = exec.sent();
    let session: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.text.contains("New-PSSession"))
        .collect();
    assert!(session.iter().any(|s| s.text.contains("Set-MailboxServer")));
    for s in &session {
        let (peer, secret) = s.via.as_ref().expect("the secret on stdin");
        assert_ne!(peer, "EX02", "the server being rolled serves no session");
        // The shadow-redundancy heartbeat and count name each member's own
        // queues (`-Server <member>`); the session is still a peer's.
        if s.text.contains("ShadowRedundancy") {
            continue;
        }
        assert_ne!(peer, &s.server, "a peer, not the server the cmdlets name");
        if s.server == "EX02" {
            assert_eq!(peer, "EX01", "the first other member in plan order");
        }
        assert_eq!(secret, "lab-only-password");
        let uri = format!(
            "-ConnectionUri 'http://{}.contoso.local/PowerShell/'",
            peer.to_ascii_lowercase()
        );
        assert!(s.text.contains(&uri), "{}", s.text);
        assert!(!s.text.contains("Restart-Service") && !s.text.contains("Get-ClusterNode"));
    }
    for s in sent.iter().filter(|s| !s.text.contains("New-PSSession")) {
        assert!(
            s.server == "EX02" || s.text.contains("Get-ClusterNode -Name"),
            "Windows-level work on EX02 (or a peer's own node state): {s:?}"
        );
        assert!(
            crate::exchange::exchange_cmdlets_in(&s.text).is_empty(),
            "{}",
            s.text
        );
    }
    assert!(sent.iter().any(|s| s.via.is_none()
        && s.text
            .contains("Restart-Service -Name 'MSExchangeTransport'")));
    for s in &sent {
        assert!(!s.text.contains("lab-only-password") && !s.text.contains("Add-PSSnapin"));
    }
}

#[test]
fn a_command_the_dry_run_does_not_list_is_caught() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    bench.ok(&EnterMaintenance, &exec, vec![]);
    let sent = exec.sent();
    assert_eq!(follows_dry_run(&bench, &EnterMaintenance, &sent), Ok(()));
    assert!(follows_dry_run(&bench, &ExitMaintenance, &sent).is_err());
    let mut reversed: Vec<Sent> = sent
        .into_iter()
        .filter(|s| s.text.contains("Set-MailboxServer"))
        .collect();
    reversed.reverse();
    assert!(follows_dry_run(&bench, &EnterMaintenance, &reversed)
        .unwrap_err()
        .contains("out of its dry run's order"));
}

fn dag_exec(ex02_build: &str) -> FakeExec {
    let exec = FakeExec::new().with_exchange_actions();
    {
        let mut w = exec.world();
        w.state.insert(
            "EX01".into(),
            healthy_state("EX01", &[("DB01", 1, true), ("DB02", 3, false)], 0),
        );
        w.state.insert(
            "EX02".into(),
            healthy_state("EX02", &[("DB01", 2, false), ("DB02", 1, true)], 12),
        );
        w.state.insert(
            "EX03".into(),
            healthy_state("EX03", &[("DB01", 3, false), ("DB02", 2, false)], 0),
        );
        w.facts.insert("EX02".into(), facts(ex02_build));
    }
    exec
}

// ------------------------------------------------------ enter-maintenance

#[test]
fn enter_maintenance_sends_the_runbook_in_order_and_records_each_change() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    let (out, ev) = bench.ok(&EnterMaintenance, &exec, vec![]);
    assert!(matches!(out, StepOutcome::Done { .. }), "{out:?}");
    assert!(sent_in_order(
        &exec,
        &[
            "-Component 'HubTransport' -State 'Draining'",
            "Redirect-Message -Server 'EX02' -Target 'ex01.contoso.local' -Confirm:$false",
            "Suspend-ClusterNode -Name 'EX02'",
            "-DatabaseCopyActivationDisabledAndMoveNow $true",
            "-DatabaseCopyAutoActivationPolicy 'Blocked'",
            "-Component 'ServerWideOffline' -State 'Inactive'",
        ]
    ));
    assert_eq!(exec.count("UMCallRouter"), 0, "not Exchange 2016");
    assert_eq!(exec.count("Move-ActiveMailboxDatabase"), 0);
    assert!(ev.changes.contains(&Change::ActivationPolicy {
        policy: "Blocked".into(),
        from: Some("Unrestricted".into())
    }));
    assert!(ev.changes.contains(&Change::MessagesRedirected {
        target: "ex01.contoso.local".into()
    }));
    assert_eq!(ev.changes.len(), 7, "{:?}", ev.changes);

    // Run again with what the first run journaled: nothing is sent.
    let before = exec.actions().len();
    let prior = ev.changes.clone();
    let (again, ev2) = bench.ok(&EnterMaintenance, &exec, prior);
    assert!(
        matches!(again, StepOutcome::AlreadyDone { .. }),
        "{again:?}"
    );
    assert_eq!(exec.actions().len(), before);
    assert!(ev2.changes.is_empty());
    assert!(
        ev2.observed.is_empty(),
        "all of it was cu-roll's: {:?}",
        ev2.observed
    );
}

#[test]
fn enter_maintenance_after_a_crash_sends_only_what_is_missing() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        set_requester(st, "HubTransport", "Maintenance", "Draining", 1);
        st["ClusterNodeState"] = json!("Paused");
        st["Queues"] = json!([]);
    }
    // The journal has the drain but not the restart (crash between them).
    let prior = vec![
        Change::ComponentState {
            component: "HubTransport".into(),
            state: "Draining".into(),
            requester: "Maintenance".into(),
        },
        Change::ClusterNodeSuspended,
    ];
    bench.ok(&EnterMaintenance, &exec, prior);
    let actions = exec.actions();
    assert_eq!(actions.len(), 5, "{actions:#?}");
    assert!(sent_in_order(
        &exec,
        &[
            "Restart-Service -Name 'MSExchangeTransport'",
            "Redirect-Message -Server 'EX02'",
            "MoveNow $true",
            "'Blocked'",
            "'ServerWideOffline' -State 'Inactive'"
        ]
    ));
    assert_eq!(
        exec.count("Set-ServerComponentState -Identity 'EX02' -Component 'HubTransport'"),
        0
    );
    assert_eq!(exec.count("Suspend-ClusterNode"), 0);
    // Empty queues before the drain do not skip the redirect (manage-dags
    // sends it unconditionally; review real-exchange.md #5).
    assert_eq!(exec.count("Redirect-Message"), 1);
    assert_eq!(
        follows_dry_run(&bench, &EnterMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn enter_maintenance_moves_the_pam_off_the_server_it_rolls_once() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    exec.world().marks.insert("pam:ex02".into());
    let (out, ev) = bench.ok(&EnterMaintenance, &exec, vec![]);
    assert!(matches!(out, StepOutcome::Done { .. }), "{out:?}");
    let moved = Change::ClusterGroupMoved {
        group: "Cluster Group".into(),
        from: "ex02".into(),
        to: "ex01".into(),
    };
    assert!(ev.changes.contains(&moved), "{:?}", ev.changes);
    assert_eq!(pam_owner(&exec.world()), "ex01");
    // After the pause: the paused node is never the new owner.
    let sent: Vec<String> = exec.sent().into_iter().map(|s| s.text).collect();
    let pause = sent
        .iter()
        .position(|t| t.contains("Suspend-ClusterNode"))
        .unwrap();
    let mv = sent
        .iter()
        .position(|t| t.contains("Move-ClusterGroup"))
        .unwrap();
    assert!(pause < mv);
    // After the databases (StartDagServerMaintenance.ps1 order, review #13).
    let move_now = sent
        .iter()
        .position(|t| t.contains("DatabaseCopyActivationDisabledAndMoveNow $true"))
        .unwrap();
    assert!(move_now < mv, "the PAM moves after the databases");
    assert!(
        sent.iter()
            .skip(mv + 1)
            .any(|t| t.contains("Get-ClusterGroup") && !t.contains("Move-ClusterGroup")),
        "verification reads the owner"
    );

    let first = exec.sent().len();
    assert_eq!(
        follows_dry_run(&bench, &EnterMaintenance, &exec.sent()[..first]),
        Ok(())
    );

    // Resumed: the group is elsewhere now, nothing moves again.
    let (again, ev2) = bench.ok(&EnterMaintenance, &exec, ev.changes.clone());
    assert!(
        matches!(again, StepOutcome::AlreadyDone { .. }),
        "{again:?}"
    );
    assert!(ev2.changes.is_empty(), "{:?}", ev2.changes);
    assert_eq!(
        follows_dry_run(&bench, &EnterMaintenance, &exec.sent()[first..]),
        Ok(())
    );
}

#[test]
fn the_pam_decision_and_its_verification() {
    let m = |from: &str, to: &str| ClusterGroupMove {
        from: from.into(),
        to: to.into(),
    };
    assert_eq!(cluster_group_change("EX02", &m("ex01", "ex01")), Ok(None));
    assert_eq!(
        cluster_group_change("EX02", &m("ex02", "ex03")),
        Ok(Some(Change::ClusterGroupMoved {
            group: "Cluster Group".into(),
            from: "ex02".into(),
            to: "ex03".into()
        }))
    );
    assert!(cluster_group_change("EX02", &m("ex02", "ex02"))
        .unwrap_err()
        .contains("still owned by EX02"));
    assert!(cluster_group_change("EX02", &m("ex02", "")).is_err());
    assert!(pam_problem("EX02", "ex02").is_some());
    assert_eq!(pam_problem("EX02", "ex01"), None);
}

#[test]
fn enter_maintenance_fails_when_no_node_can_take_the_pam() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    {
        let mut w = exec.world();
        w.marks.insert("pam:ex02".into());
        w.state.get_mut("EX02").unwrap()["Queues"] = json!([]);
    }
    // The redirect went out (the peers were Up); then both peers pause.
    let prior = vec![Change::MessagesRedirected {
        target: "ex01.contoso.local".into(),
    }];
    {
        let mut w = exec.world();
        for s in ["EX01", "EX03"] {
            w.state.get_mut(s).unwrap()["ClusterNodeState"] = json!("Paused");
        }
    }
    let (err, _) = bench.err(&EnterMaintenance, &exec, prior);
    assert!(err.message.contains("Cluster Group"), "{}", err.message);
    assert_eq!(pam_owner(&exec.world()), "ex02");
}

#[test]
fn enter_maintenance_reports_maintenance_it_did_not_set() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    exec.world().state.get_mut("EX02").unwrap()["ClusterNodeState"] = json!("Paused");
    let (_, ev) = bench.ok(&EnterMaintenance, &exec, vec![]);
    assert_eq!(exec.count("Suspend-ClusterNode"), 0);
    assert!(
        ev.observed.iter().any(|o| o.contains("already Paused")),
        "{:?}",
        ev.observed
    );
    assert!(!ev.changes.contains(&Change::ClusterNodeSuspended));
}

#[test]
fn exchange_2016_also_drains_um_call_router() {
    let bench = Bench::lab();
    let exec = dag_exec("15.01.2507.066");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        st["Components"].as_array_mut().unwrap().push(
            json!({"Component": "UMCallRouter", "State": "Active", "LocalStates": [], "RemoteStates": []}),
        );
    }
    bench.ok(&EnterMaintenance, &exec, vec![]);
    assert!(sent_in_order(
        &exec,
        &[
            "'HubTransport' -State 'Draining'",
            "'UMCallRouter' -State 'Draining'",
            "Redirect-Message"
        ]
    ));
    assert_eq!(
        follows_dry_run(&bench, &EnterMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn copies_that_stay_mounted_get_one_explicit_move_then_an_explained_timeout() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    // Active Manager finds no better copy: MoveNow moves nothing.
    exec.on_ps(
        None,
        "-DatabaseCopyActivationDisabledAndMoveNow $true",
        |w, s, _| {
            w.state.get_mut(s).unwrap()["ActivationDisabledAndMoveNow"] = json!(true);
            Reply::ok("")
        },
    );
    exec.replies(
        Kind::Ps,
        "Move-ActiveMailboxDatabase",
        vec![Reply::ok(
            r#"{"Identity":"DB02","Status":"Failed","ActiveServerAtEnd":"EX02","ErrorMessage":"An Active Manager operation failed: no healthy copy."}"#,
        )],
    );
    let (err, ev) = bench.err(&EnterMaintenance, &exec, vec![]);
    assert_eq!(err.kind, StepErrorKind::Timeout);
    assert_eq!(exec.count("Move-ActiveMailboxDatabase"), 1, "sent once");
    let m = &err.message;
    assert!(m.contains("Still mounted on EX02: DB02"), "{m}");
    assert!(
        m.contains("DB02 Failed (active on EX02): An Active Manager operation failed"),
        "{m}"
    );
    assert!(m.contains("Resume-ClusterNode -Name EX02"), "{m}");
    assert!(
        m.contains("-DatabaseCopyAutoActivationPolicy Unrestricted"),
        "{m}"
    );
    assert!(ev.observed.iter().any(|o| o.contains("DB02 Failed")));
    assert_eq!(
        exec.count("ServerWideOffline' -State 'Inactive'"),
        0,
        "never offline with a mounted copy"
    );
    assert!(bench.clock.elapsed() >= bench.plan.policy.timeouts.move_databases);
    assert_eq!(
        follows_dry_run(&bench, &EnterMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn a_stuck_queue_times_out_naming_the_count() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    exec.on_ps(None, "Redirect-Message", |_, _, _| Reply::ok("")); // queue stays
    let (err, _) = bench.err(&EnterMaintenance, &exec, vec![]);
    assert_eq!(err.kind, StepErrorKind::Timeout);
    assert!(
        err.message.contains("12 messages are still queued"),
        "{}",
        err.message
    );
}

#[test]
fn no_healthy_peer_for_queued_mail_stops_before_pausing_anything() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    exec.world().state.remove("EX01");
    exec.world().state.get_mut("EX03").unwrap()["ClusterNodeState"] = json!("Paused");
    let (err, _) = bench.err(&EnterMaintenance, &exec, vec![]);
    assert!(err.message.contains("no healthy member"), "{}", err.message);
    assert!(
        err.message.contains("EX03 is down or in maintenance"),
        "{}",
        err.message
    );
    assert_eq!(exec.count("Suspend-ClusterNode"), 0);
    // The Exchange read about each (the cluster node read follows only
    // when it answered).
    let asked: Vec<String> = exec
        .sent()
        .into_iter()
        .filter(|s| s.server != "EX02" && s.text.contains("Get-ServerComponentState"))
        .map(|s| s.server)
        .collect();
    assert_eq!(
        asked,
        ["EX01", "EX03"],
        "each peer observed once, in plan order"
    );
}

// ------------------------------------------------------- exit-maintenance

fn entered(exec: &FakeExec) -> Vec<Change> {
    let bench = Bench::lab();
    let (_, ev) = bench.ok(&EnterMaintenance, exec, vec![]);
    ev.changes
}

#[test]
fn exit_maintenance_undoes_cu_rolls_changes_in_runbook_order() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    let prior = entered(&exec);
    let n = exec.actions().len();
    let (out, ev) = bench.ok(&ExitMaintenance, &exec, prior.clone());
    assert!(matches!(out, StepOutcome::Done { .. }), "{out:?}");
    let actions = &exec.actions()[n..];
    assert_eq!(actions.len(), 6, "{actions:#?}");
    assert!(actions[0].contains("'ServerWideOffline' -State 'Active' -Requester 'Maintenance'"));
    assert!(actions[1].contains("Resume-ClusterNode -Name 'EX02'"));
    assert!(actions[2].contains("-DatabaseCopyAutoActivationPolicy 'Unrestricted'"));
    assert!(actions[3].contains("MoveNow $false"));
    // The component in the session, then the restart on the server itself.
    assert!(actions[4].contains("'HubTransport' -State 'Active'"));
    assert!(!actions[4].contains("Restart-Service"));
    assert!(actions[5].contains("Restart-Service -Name 'MSExchangeTransport'"));

    // Again: everything is already back.
    let mut all = prior;
    all.extend(ev.changes.clone());
    let (again, _) = bench.ok(&ExitMaintenance, &exec, all);
    assert!(
        matches!(again, StepOutcome::AlreadyDone { .. }),
        "{again:?}"
    );
    assert_eq!(exec.actions().len(), n + 6);
}

/// `server`'s baseline as enter-maintenance would journal it from the
/// fake world now, with `policy` as the policy it had.
fn baseline(exec: &FakeExec, server: &str, policy: &str) -> crate::journal::Baseline {
    let state: crate::exchange::ExchangeState =
        serde_json::from_value(exec.world().state[server].clone()).expect("a state");
    let mut b = super::undo::baseline_of(&state);
    b.activation_policy = policy.into();
    b
}

#[test]
fn exit_maintenance_leaves_a_copy_suspended_before_maintenance_and_says_so() {
    // Review real-exchange.md #16: an admin suspended DB01\EX02 (a lagged
    // copy kept at a point in time) before the night; cu-roll must not
    // start it replaying. DB02\EX02 was activation-suspended (a lagged
    // copy's guard) and became Suspended during maintenance: resumed, but
    // with -ReplicationOnly so it stays blocked for activation.
    let mut bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        st["Copies"][0]["Status"] = json!("Suspended");
        st["Copies"][1]["ActivationSuspended"] = json!(true);
    }
    bench.before = Some(baseline(&exec, "EX02", "Unrestricted"));
    exec.world().state.get_mut("EX02").unwrap()["Copies"][1]["Status"] = json!("Suspended");
    let (_, ev) = bench.ok(&ExitMaintenance, &exec, vec![]);
    assert_eq!(
        exec.count("Resume-MailboxDatabaseCopy -Identity 'DB01\\EX02'"),
        0
    );
    assert_eq!(
        exec.count("Resume-MailboxDatabaseCopy -Identity 'DB02\\EX02' -ReplicationOnly"),
        1
    );
    assert!(
        ev.observed
            .iter()
            .any(|o| o.contains("copy DB01\\EX02 is Suspended, as it was before")),
        "{:?}",
        ev.observed
    );
    assert_eq!(
        follows_dry_run(&bench, &ExitMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn exit_maintenance_without_a_baseline_resumes_no_copy() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    exec.world().state.get_mut("EX02").unwrap()["Copies"][0]["Status"] = json!("Suspended");
    let (_, ev) = bench.ok(&ExitMaintenance, &exec, vec![]);
    assert_eq!(exec.count("Resume-MailboxDatabaseCopy"), 0);
    assert!(ev
        .observed
        .iter()
        .any(|o| o.contains("no record of how it was")));
}

#[test]
fn exit_maintenance_restores_the_journaled_policy_and_resumes_suspended_copies() {
    let mut bench = Bench::lab();
    let exec = dag_exec("15.02.1544.039");
    // Before maintenance the copy was healthy: it became suspended while
    // cu-roll had the server, so it is cu-roll's to resume.
    bench.before = Some(baseline(&exec, "EX02", "IntrasiteOnly"));
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        st["ActivationPolicy"] = json!("Blocked");
        st["Copies"][0]["Status"] = json!("Suspended");
    }
    let prior = vec![Change::ActivationPolicy {
        policy: "Blocked".into(),
        from: Some("IntrasiteOnly".into()),
    }];
    let (_, ev) = bench.ok(&ExitMaintenance, &exec, prior);
    assert_eq!(
        exec.count("-DatabaseCopyAutoActivationPolicy 'IntrasiteOnly'"),
        1
    );
    assert_eq!(
        exec.count("Resume-MailboxDatabaseCopy -Identity 'DB01\\EX02'"),
        1
    );
    assert!(ev.changes.contains(&Change::DatabaseCopyResumed {
        copy: "DB01\\EX02".into()
    }));
    assert_eq!(
        follows_dry_run(&bench, &ExitMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn exit_maintenance_clears_functional_before_transport_restarts() {
    // Review real-exchange.md #15: cu-roll drained HubTransport and set
    // ServerWideOffline Inactive; setup left ServerWideOffline Inactive
    // under Functional too. Transport must restart once ServerWideOffline
    // is Active for every requester, not while Functional still holds it.
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.010");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        set_requester(st, "ServerWideOffline", "Maintenance", "Inactive", 3);
        set_requester(st, "HubTransport", "Maintenance", "Draining", 2);
        set_requester(st, "ServerWideOffline", "Functional", "Inactive", 5);
    }
    let prior = vec![
        Change::ComponentState {
            component: "HubTransport".into(),
            state: "Draining".into(),
            requester: "Maintenance".into(),
        },
        Change::ServiceRestarted {
            service: "MSExchangeTransport".into(),
        },
        Change::ComponentState {
            component: "ServerWideOffline".into(),
            state: "Inactive".into(),
            requester: "Maintenance".into(),
        },
    ];
    bench.ok(&ExitMaintenance, &exec, prior);
    assert!(
        sent_in_order(
            &exec,
            &[
                "-Component 'ServerWideOffline' -State 'Active' -Requester 'Maintenance'",
                "-Component 'ServerWideOffline' -State 'Active' -Requester 'Functional'",
                "-Component 'HubTransport' -State 'Active'",
                "Restart-Service -Name 'MSExchangeTransport'",
            ]
        ),
        "{:?}",
        exec.actions()
    );
}

#[test]
fn exit_maintenance_clears_functional_and_says_so() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.010");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        for c in ["ServerWideOffline", "Monitoring", "RecoveryActionsEnabled"] {
            set_requester(st, c, "Functional", "Inactive", 5);
        }
    }
    let (out, ev) = bench.ok(&ExitMaintenance, &exec, vec![]);
    assert_eq!(exec.count("-Requester 'Functional'"), 3);
    assert!(
        out.detail().contains(
            "cleared requester Functional on ServerWideOffline, Monitoring, RecoveryActionsEnabled"
        ),
        "{}",
        out.detail()
    );
    assert_eq!(
        ev.observed
            .iter()
            .filter(|o| o.contains("Functional"))
            .count(),
        3
    );
    assert_eq!(
        follows_dry_run(&bench, &ExitMaintenance, &exec.sent()),
        Ok(())
    );
}

#[test]
fn exit_maintenance_leaves_maintenance_it_did_not_set_and_says_why_it_is_not_done() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.010");
    {
        let mut w = exec.world();
        let st = w.state.get_mut("EX02").unwrap();
        st["ClusterNodeState"] = json!("Paused");
        set_requester(st, "ServerWideOffline", "Maintenance", "Inactive", 3);
    }
    let (err, _) = bench.err(&ExitMaintenance, &exec, vec![]);
    assert!(exec.actions().is_empty(), "{:#?}", exec.actions());
    assert!(
        err.message.contains("cluster node is Paused, not Up"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("held by Maintenance"),
        "{}",
        err.message
    );
    assert!(err.message.contains("not by cu-roll"), "{}", err.message);
}

// ---------------------------------------------------------------- reboots

fn boot(at: &str, transport: &str) -> Reply {
    Reply::ok(format!(
        r#"{{"LastBootUpTime":"{at}","Services":[{{"Name":"MSExchangeIS","Status":"Running","StartType":"Automatic"}},{{"Name":"MSExchangeTransport","Status":"{transport}","StartType":"Automatic"}},{{"Name":"MSExchangePop3","Status":"Stopped","StartType":"Manual"}}]}}"#
    ))
}

const T0: &str = "2026-03-01T08:00:00.0000000Z";
const T1: &str = "2026-03-01T09:12:30.5000000Z";

#[test]
fn reboot_journals_the_boot_time_first_then_waits_for_a_newer_one_and_services() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.replies(
        Kind::Ps,
        "MSExchange*",
        vec![
            boot(T0, "Running"),
            boot(T0, "Running"),
            Reply::Unreachable,
            Reply::Unreachable,
            boot(T1, "StartPending"),
            boot(T1, "Running"),
        ],
    );
    exec.replies(Kind::Ps, "Restart-Computer", vec![Reply::Unreachable]);
    let (out, ev) = bench.ok(&Reboot::before_setup(), &exec, vec![]);
    assert!(matches!(out, StepOutcome::Done { .. }), "{out:?}");
    assert_eq!(
        ev.changes,
        vec![Change::RebootRequested {
            step: "reboot-before-setup".into(),
            previous_boot: T0.into()
        }]
    );
    assert_eq!(exec.count("Restart-Computer -Force"), 1);
    assert!(out.detail().contains(T1));
    assert_eq!(
        follows_dry_run(&bench, &Reboot::before_setup(), &exec.sent()),
        Ok(())
    );
}

#[test]
fn a_reboot_that_already_happened_is_not_repeated() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.replies(Kind::Ps, "MSExchange*", vec![boot(T1, "Running")]);
    let prior = vec![
        Change::RebootRequested {
            step: "reboot-before-setup".into(),
            previous_boot: "2026-02-01T00:00:00.0000000Z".into(),
        },
        Change::RebootRequested {
            step: "reboot-after-setup".into(),
            previous_boot: T0.into(),
        },
    ];
    let (out, ev) = bench.ok(&Reboot::after_setup(), &exec, prior);
    assert!(matches!(out, StepOutcome::AlreadyDone { .. }), "{out:?}");
    assert_eq!(exec.count("Restart-Computer"), 0);
    assert!(ev.changes.is_empty());
}

#[test]
fn the_other_reboot_steps_record_does_not_count() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.replies(
        Kind::Ps,
        "MSExchange*",
        vec![boot(T0, "Running"), boot(T1, "Running")],
    );
    exec.replies(Kind::Ps, "Restart-Computer", vec![Reply::ok("")]);
    let prior = vec![Change::RebootRequested {
        step: "reboot-before-setup".into(),
        previous_boot: "2026-02-01T00:00:00.0000000Z".into(),
    }];
    bench.ok(&Reboot::after_setup(), &exec, prior);
    assert_eq!(exec.count("Restart-Computer"), 1);
}

#[test]
fn a_server_that_does_not_come_back_times_out_with_what_was_seen() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.replies(
        Kind::Ps,
        "MSExchange*",
        vec![boot(T0, "Running"), Reply::Unreachable],
    );
    exec.replies(Kind::Ps, "Restart-Computer", vec![Reply::ok("")]);
    let (err, _) = bench.err(&Reboot::before_setup(), &exec, vec![]);
    assert_eq!(err.kind, StepErrorKind::Timeout);
    assert!(
        err.message.contains("Last seen: not answering"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("will not reboot it a second time"),
        "{}",
        err.message
    );
}

#[test]
fn services_that_stay_stopped_after_a_reboot_are_named() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.replies(
        Kind::Ps,
        "MSExchange*",
        vec![boot(T0, "Running"), boot(T1, "Stopped")],
    );
    exec.replies(Kind::Ps, "Restart-Computer", vec![Reply::ok("")]);
    let (err, _) = bench.err(&Reboot::before_setup(), &exec, vec![]);
    assert!(
        err.message.contains("MSExchangeTransport (Stopped)"),
        "{}",
        err.message
    );
}

// ------------------------------------------------------------------ setup

const LOG_OK: &str = "[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 11:40:51.0777] [0] The Exchange Server setup operation completed successfully.\r\n";
const LOG_FAILED: &str = "[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 10:40:10.0100] [2] [ERROR] Access is denied.\r\n[02/10/2026 10:40:11.0000] [0] The Exchange Server setup operation didn't complete.\r\n";

/// EX02 at `build`; setup's exit code appears after `polls` reads, then
/// the build becomes `after`.
fn setup_exec(build: &'static str) -> FakeExec {
    let exec = FakeExec::new();
    exec.world().facts.insert("EX02".into(), facts(build));
    exec.replies(
        Kind::Cmd,
        "setup.exitcode",
        vec![Reply::fail(1, "The system cannot find the file specified.")],
    );
    exec.replies(
        Kind::Cmd,
        "ExSetup.exe",
        vec![Reply::ok(
            "INFO: No tasks are running which match the specified criteria.\r\n",
        )],
    );
    exec.replies(
        Kind::Cmd,
        "schtasks",
        vec![Reply::fail(
            1,
            "ERROR: The system cannot find the file specified.\r\n",
        )],
    );
    exec.replies(Kind::Cmd, "ExchangeSetup.log", vec![Reply::ok(LOG_OK)]);
    exec.on_ps(None, "Unregister-ScheduledTask", |_, _, _| Reply::ok(""));
    exec
}

/// Before the task starts the exit file reads as `before`; after it, `polls`
/// reads find no file, then `code`; the build turns into `after`.
fn finishes_with(
    exec: &FakeExec,
    before: Reply,
    polls: usize,
    code: &'static str,
    after: &'static str,
) {
    exec.on_ps(None, "RegisterTaskDefinition", move |w, _, _| {
        w.facts.insert("EX02".into(), facts(after));
        w.marks.insert("started".into());
        Reply::ok("")
    });
    let mut q: std::collections::VecDeque<Reply> =
        vec![Reply::fail(1, "The system cannot find the file specified."); polls].into();
    q.push_back(Reply::ok(format!("{code} \r\n")));
    exec.on_cmd(None, "setup.exitcode", move |w, _, _| {
        if !w.marks.contains("started") {
            return before.clone();
        }
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q[0].clone()
        }
    });
}

fn no_file() -> Reply {
    Reply::fail(1, "The system cannot find the file specified.")
}

#[test]
fn setup_is_skipped_at_the_target_without_powershell_first() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1748.043");
    let (out, _) = bench.ok(&Setup, &exec, vec![]);
    assert!(matches!(out, StepOutcome::AlreadyDone { .. }), "{out:?}");
    assert_eq!(exec.sent()[0].kind, Kind::Cmd, "cmd before any PowerShell");
    assert_eq!(exec.count("RegisterTaskDefinition"), 0);
}

#[test]
fn setup_runs_detached_and_is_polled_with_cmd_only() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    finishes_with(&exec, no_file(), 5, "0", "15.02.1748.010");
    let (out, ev) = bench.ok(&Setup, &exec, vec![]);
    assert!(matches!(out, StepOutcome::Done { .. }), "{out:?}");
    let sent = exec.sent();
    let start = sent
        .iter()
        .position(|s| s.text.contains("RegisterTaskDefinition"))
        .unwrap();
    let batch = &sent[start].text;
    assert!(
        batch.contains(
            r#""D:\Setup.exe" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"#
        ),
        "{batch}"
    );
    let log = sent
        .iter()
        .position(|s| s.text.starts_with("type ") && s.text.contains("ExchangeSetup.log"))
        .unwrap();
    assert!(
        sent[start + 1..log].iter().all(|s| s.kind == Kind::Cmd),
        "no PowerShell while setup runs"
    );
    assert!(log - start >= 6, "polled until the exit code appeared");
    assert!(
        matches!(&ev.changes[0], Change::InstallerStarted { step, task, .. } if step == "setup" && task == "cu-roll-setup")
    );
    assert_eq!(
        ev.changes[1],
        Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 0
        }
    );
    assert_eq!(
        exec.count("Unregister-ScheduledTask -TaskName 'cu-roll-setup'"),
        1
    );
    assert_eq!(follows_dry_run(&bench, &Setup, &exec.sent()), Ok(()));
}

#[test]
fn a_failed_setup_quotes_its_error_lines_and_exit_code() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    finishes_with(&exec, no_file(), 1, "1", "15.02.1544.039");
    exec.replies(
        Kind::Cmd,
        "ExchangeSetup.log",
        vec![Reply::ok(format!("{LOG_OK}{LOG_FAILED}"))],
    );
    let (err, ev) = bench.err(&Setup, &exec, vec![]);
    assert_eq!(err.kind, StepErrorKind::Failed);
    let m = &err.message;
    assert!(m.contains("setup exited with code 1"), "{m}");
    assert!(m.contains("its [ERROR] lines: Access is denied."), "{m}");
    assert!(m.contains("below the target CU's 15.2.1748.10"), "{m}");
    assert!(ev.changes.contains(&Change::InstallerFinished {
        step: "setup".into(),
        exit_code: 1
    }));
    assert_eq!(follows_dry_run(&bench, &Setup, &exec.sent()), Ok(()));
}

fn started() -> Change {
    Change::InstallerStarted {
        step: "setup".into(),
        task: "cu-roll-setup".into(),
        command: "\"D:\\Setup.exe\" /Mode:Upgrade".into(),
    }
}

#[test]
fn a_resumed_setup_that_still_runs_is_re_attached_not_restarted() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    exec.replies(
        Kind::Cmd,
        "ExSetup.exe",
        vec![Reply::ok(
            "\"ExSetup.exe\",\"5012\",\"Services\",\"0\",\"412,332 K\"\r\n",
        )],
    );
    exec.replies(
        Kind::Cmd,
        "setup.exitcode",
        vec![
            Reply::fail(1, "not found"),
            Reply::fail(1, "not found"),
            Reply::ok("0\r\n"),
        ],
    );
    exec.on_ps(None, "Unregister", |w, _, _| {
        w.facts.insert("EX02".into(), facts("15.02.1748.010"));
        Reply::ok("")
    });
    // The build is read after the exit code: make it the new one.
    exec.world()
        .facts
        .insert("EX02".into(), facts("15.02.1748.010"));
    let (_, ev) = bench.ok(&Setup, &exec, vec![started()]);
    assert_eq!(exec.count("RegisterTaskDefinition"), 0);
    assert!(ev.observed.iter().any(|o| o.contains("re-attaching")));
    assert_eq!(exec.sent()[0].kind, Kind::Cmd);
}

#[test]
fn a_resumed_setup_that_finished_is_evaluated_from_its_exit_file() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1748.010");
    exec.replies(Kind::Cmd, "setup.exitcode", vec![Reply::ok("0\r\n")]);
    let (out, _) = bench.ok(&Setup, &exec, vec![started()]);
    assert!(matches!(out, StepOutcome::Done { .. }));
    assert_eq!(exec.count("RegisterTaskDefinition"), 0);
    assert_eq!(exec.count("ExchangeSetup.log"), 1);
}

#[test]
fn a_resumed_setup_that_died_is_started_again() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    finishes_with(&exec, no_file(), 0, "0", "15.02.1748.010");
    let (_, ev) = bench.ok(&Setup, &exec, vec![started()]);
    assert_eq!(exec.count("RegisterTaskDefinition"), 1);
    assert!(ev.observed.iter().any(|o| o.contains("starting it again")));
    assert_eq!(follows_dry_run(&bench, &Setup, &exec.sent()), Ok(()));
}

#[test]
fn an_exit_code_already_evaluated_does_not_stop_a_new_attempt() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    let prior = vec![
        started(),
        Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 1,
        },
    ];
    // The failed attempt's exit file is still there until the new start.
    finishes_with(&exec, Reply::ok("1\r\n"), 0, "0", "15.02.1748.010");
    bench.ok(&Setup, &exec, prior);
    assert_eq!(exec.count("RegisterTaskDefinition"), 1);
}

#[test]
fn a_setup_that_outlives_its_timeout_is_left_running_and_explained() {
    let bench = Bench::lab();
    let exec = setup_exec("15.02.1544.039");
    exec.on_ps(None, "RegisterTaskDefinition", |_, _, _| Reply::ok(""));
    let (err, _) = bench.err(&Setup, &exec, vec![]);
    assert_eq!(err.kind, StepErrorKind::Timeout);
    assert!(
        err.message.contains("cu-roll never stops an installer"),
        "{}",
        err.message
    );
    assert_eq!(exec.count("Unregister-ScheduledTask"), 0);
    assert!(bench.clock.elapsed() >= bench.plan.policy.timeouts.setup);
}

// -------------------------------------------------------- security-update

#[test]
fn the_security_update_accepts_3010_and_checks_the_build() {
    let bench = Bench::lab();
    assert!(SecurityUpdate.applies(&bench.plan, &bench.target));
    let exec = FakeExec::new();
    exec.world()
        .facts
        .insert("EX02".into(), facts("15.02.1748.010"));
    exec.replies(
        Kind::Cmd,
        "schtasks",
        vec![Reply::ok("\"\\cu-roll-su\",\"N/A\",\"Ready\"\r\n")],
    );
    exec.replies(
        Kind::Cmd,
        "su.exitcode",
        vec![
            Reply::fail(1, "not found"),
            Reply::fail(1, "not found"),
            Reply::ok("3010\r\n"),
        ],
    );
    exec.on_ps(None, "RegisterTaskDefinition", |w, _, _| {
        w.facts.insert("EX02".into(), facts("15.02.1748.043"));
        Reply::ok("")
    });
    exec.on_ps(None, "Unregister-ScheduledTask", |_, _, _| Reply::ok(""));
    let (out, _) = bench.ok(&SecurityUpdate, &exec, vec![]);
    assert!(out.detail().contains("Feb26SU"), "{}", out.detail());
    assert_eq!(
        exec.count(
            r#"msiexec /update "C:\Updates\Exchange2019-CU15-Feb26SU.msp" /quiet /norestart"#
        ),
        1
    );
    assert_eq!(exec.count("tasklist"), 0, "the SU is not setup");
    assert_eq!(
        follows_dry_run(&bench, &SecurityUpdate, &exec.sent()),
        Ok(())
    );
}

#[test]
fn a_security_update_for_another_cu_is_explained() {
    let bench = Bench::lab();
    let exec = FakeExec::new();
    exec.world()
        .facts
        .insert("EX02".into(), facts("15.02.1748.010"));
    exec.replies(
        Kind::Cmd,
        "schtasks",
        vec![Reply::ok("\"\\cu-roll-su\",\"N/A\",\"Ready\"\r\n")],
    );
    exec.replies(
        Kind::Cmd,
        "su.exitcode",
        vec![Reply::fail(1, "not found"), Reply::ok("1642\r\n")],
    );
    exec.on_ps(None, "ScheduledTask", |_, _, _| Reply::ok(""));
    let (err, _) = bench.err(&SecurityUpdate, &exec, vec![]);
    assert!(
        err.message.contains("1642 (the update does not apply"),
        "{}",
        err.message
    );
}

// ------------------------------------------------------------ redistribute

#[test]
fn redistribute_balances_only_when_needed() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.043");
    {
        // DB02 (preference 1 on EX02) is active on EX03.
        let mut w = exec.world();
        w.state.insert(
            "EX02".into(),
            healthy_state("EX02", &[("DB01", 2, false), ("DB02", 1, false)], 0),
        );
        w.state.insert(
            "EX03".into(),
            healthy_state("EX03", &[("DB01", 3, false), ("DB02", 2, true)], 0),
        );
    }
    let command = crate::exchange::act::redistribute_command("DAG01");
    assert!(command
        .text()
        .contains("-DagName 'DAG01' -BalanceDbsByActivationPreference -Confirm:$false"));
    let encoded = wsman::encoding::encode_command(command.text());
    exec.on_ps(
        None,
        "RedistributeActiveDatabases.ps1",
        move |w, _, text| {
            assert!(
                text.contains(&encoded),
                "the task runs Microsoft's script for DAG01"
            );
            assert!(text.contains("RegisterTaskDefinition") && !text.contains("Add-PSSnapin"));
            w.state.get_mut("EX03").unwrap()["Copies"][1]["Status"] = json!("Healthy");
            w.state.get_mut("EX03").unwrap()["Copies"][1]["ActiveCopy"] = json!(false);
            w.state.get_mut("EX02").unwrap()["Copies"][1]["Status"] = json!("Mounted");
            w.state.get_mut("EX02").unwrap()["Copies"][1]["ActiveCopy"] = json!(true);
            Reply::ok("")
        },
    );
    let (out, ev) = bench.ok(&Redistribute, &exec, vec![]);
    assert!(matches!(out, StepOutcome::Done { .. }));
    assert_eq!(
        ev.changes,
        vec![Change::ActiveDatabasesRedistributed {
            dag: "DAG01".into()
        }]
    );
    let (again, _) = bench.ok(&Redistribute, &exec, vec![]);
    assert!(matches!(again, StepOutcome::AlreadyDone { .. }));
    assert_eq!(exec.count("RedistributeActiveDatabases.ps1"), 1);
    assert_eq!(follows_dry_run(&bench, &Redistribute, &exec.sent()), Ok(()));
}

// ------------------------------------------------------------------ health

fn health_reply(replication: &str) -> Reply {
    Reply::ok(format!(
        r#"{{"ServiceHealth":[{{"Role":"Mailbox Server Role","RequiredServicesRunning":true,"ServicesNotRunning":[]}}],"MapiConnectivity":[{{"Database":"DB02","Result":"Success","Error":""}}],"ReplicationHealth":[{{"Check":"ClusterService","Result":"Passed","Error":""}},{{"Check":"DBLogReplayKeepingUp","Result":"{replication}","Error":"Replay is behind"}}]}}"#
    ))
}

#[test]
fn health_waits_for_every_check_then_passes() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.043");
    exec.replies(
        Kind::Ps,
        "Test-ServiceHealth",
        vec![health_reply("*FAILED*"), health_reply("Passed")],
    );
    bench.ok(&Health, &exec, vec![]);
    assert!(exec.actions().is_empty(), "health changes nothing");
    assert_eq!(follows_dry_run(&bench, &Health, &exec.sent()), Ok(()));
}

#[test]
fn health_fails_naming_each_failing_check() {
    let bench = Bench::lab();
    let exec = dag_exec("15.02.1748.010");
    exec.replies(
        Kind::Ps,
        "Test-ServiceHealth",
        vec![health_reply("*FAILED*")],
    );
    exec.world().state.get_mut("EX02").unwrap()["Copies"][0]["ReplayQueueLength"] = json!(400);
    let (err, _) = bench.err(&Health, &exec, vec![]);
    let m = &err.message;
    assert_eq!(err.kind, StepErrorKind::Timeout);
    assert!(
        m.contains("Test-ReplicationHealth: DBLogReplayKeepingUp *FAILED* (Replay is behind)"),
        "{m}"
    );
    assert!(
        m.contains("copy DB01\\EX02 ReplayQueueLength 400 > 50"),
        "{m}"
    );
    assert!(
        m.contains("build is 15.2.1748.10, not the target 15.2.1748.43"),
        "{m}"
    );
}

// ------------------------------------------------------- dry-run scripts

#[test]
fn every_script_of_every_step_parses_and_is_snapshotted() {
    let plan = lab_plan();
    let target = target(&plan);
    let server = plan.server("EX02").unwrap();
    let peers: Vec<_> = plan.servers.iter().filter(|s| s.name != "EX02").collect();
    let mut text = String::new();
    for step in all_steps() {
        for planned in step.scripts(&plan, &target, server, &peers) {
            text.push_str(&format!("==== {} — {}\n", step.id(), planned.when));
            match &planned.command {
                PlannedText::PowerShell(script) => {
                    if let Err(errors) = lab::pwsh::syntax_check(script.text()) {
                        panic!(
                            "{} ({}) does not parse: {errors:?}\n{}",
                            step.id(),
                            planned.when,
                            script.text()
                        );
                    }
                    text.push_str(&format!(
                        "[PowerShell: {}]\n{}",
                        script.purpose,
                        script.text()
                    ));
                }
                PlannedText::Cmd(line) => text.push_str(&format!("[cmd]\n{line}\n")),
            }
        }
    }
    insta::assert_snapshot!("steps_scripts_ex02", text);
}

#[test]
fn all_steps_are_in_runbook_order() {
    let ids: Vec<&str> = all_steps().iter().map(|s| s.id().id()).collect();
    assert_eq!(
        ids,
        [
            "enter-maintenance",
            "reboot-before-setup",
            "setup",
            "security-update",
            "reboot-after-setup",
            "exit-maintenance",
            "health",
            "redistribute"
        ]
    );
}
