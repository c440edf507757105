//! Tests of the run report: a realistic two-run rollout (EX01 rolls with
//! changes, EX02's setup fails, a resume finishes), a stopped run and an
//! interrupted step, built from journals and rendered in every form.

use super::*;
use crate::journal::{Change, Entry};
use crate::report::html::assert_self_contained;
use crate::report::journal_fixture::{failed_at_ex02_setup, lab_servers, Builder, SETUP_ERROR};
use crate::report::status::ServerState;

/// A realistic journal: run 1 rolls EX01 (with changes) and fails at
/// EX02's setup; run 2 resumes, retries setup and finishes everything.
fn realistic() -> Vec<Entry> {
    let mut j = Builder::new();
    j.run_started("0193a5c0-run1");
    ex01_rolls_with_changes(&mut j);
    ex02_fails_at_setup(&mut j);
    resume_finishes(&mut j);
    j.entries
}

/// Run 1, EX01: every step, with the changes enter-maintenance, the
/// reboot and setup record.
fn ex01_rolls_with_changes(j: &mut Builder) {
    j.started("EX01", "backup-config");
    j.clock += 4;
    j.done(
        "EX01",
        "backup-config",
        false,
        "configuration saved to backup\\EX01",
    );
    j.started("EX01", "enter-maintenance");
    j.changed(
        "EX01",
        "enter-maintenance",
        Change::ComponentState {
            component: "HubTransport".into(),
            state: "Draining".into(),
            requester: "Maintenance".into(),
        },
    );
    j.changed(
        "EX01",
        "enter-maintenance",
        Change::ServiceRestarted {
            service: "MSExchangeTransport".into(),
        },
    );
    j.changed(
        "EX01",
        "enter-maintenance",
        Change::MessagesRedirected {
            target: "ex02.contoso.local".into(),
        },
    );
    j.changed("EX01", "enter-maintenance", Change::ClusterNodeSuspended);
    j.clock += 20;
    j.done(
        "EX01",
        "enter-maintenance",
        false,
        "2 databases moved; queues empty",
    );
    j.started("EX01", "reboot-before-setup");
    j.changed(
        "EX01",
        "reboot-before-setup",
        Change::RebootRequested {
            step: "reboot-before-setup".into(),
            previous_boot: "2026-11-20T03:00:00.0000000Z".into(),
        },
    );
    j.clock += 30;
    j.done("EX01", "reboot-before-setup", false, "back up after 31s");
    j.started("EX01", "setup");
    j.changed(
        "EX01",
        "setup",
        Change::InstallerStarted {
            step: "setup".into(),
            task: "cu-roll-setup".into(),
            command:
                "D:\\Setup.exe /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF"
                    .into(),
        },
    );
    j.clock += 300;
    j.changed(
        "EX01",
        "setup",
        Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 0,
        },
    );
    j.done("EX01", "setup", false, "15.2.1748.43");
    j.started("EX01", "security-update");
    j.done("EX01", "security-update", true, "no security update asked");
    for (step, secs) in [
        ("reboot-after-setup", 40),
        ("exit-maintenance", 15),
        ("redistribute", 8),
        ("health", 12),
    ] {
        j.started("EX01", step);
        j.clock += secs;
        j.done("EX01", step, false, "ok");
    }
    j.server_done("EX01");
}

/// Run 1, EX02: enter-maintenance finds it already draining, setup fails
/// and the run ends.
fn ex02_fails_at_setup(j: &mut Builder) {
    j.started("EX02", "backup-config");
    j.done("EX02", "backup-config", false, "configuration saved");
    j.started("EX02", "enter-maintenance");
    j.observed(
        "EX02",
        "enter-maintenance",
        "HubTransport was already Draining (requester Maintenance): left for its owner",
    );
    j.done("EX02", "enter-maintenance", true, "already in maintenance");
    j.started("EX02", "reboot-before-setup");
    j.clock += 30;
    j.done("EX02", "reboot-before-setup", false, "back up");
    j.started("EX02", "setup");
    j.clock += 40;
    j.failed("EX02", "setup", SETUP_ERROR);
    j.run_finished("failed: EX02 setup");
}

/// Run 2, an hour later: EX02's setup is retried and the rollout finishes.
fn resume_finishes(j: &mut Builder) {
    j.at(3600).run_started("0193a5c0-run2");
    j.started("EX02", "setup");
    j.clock += 280;
    j.done("EX02", "setup", false, "15.2.1748.43");
    for step in [
        "reboot-after-setup",
        "exit-maintenance",
        "redistribute",
        "health",
    ] {
        j.started("EX02", step);
        j.clock += 10;
        j.done("EX02", step, false, "ok");
    }
    j.server_done("EX02");
    j.server_done("EX03");
    j.run_finished("done");
}

fn verdict_kept() -> Option<AvailabilityVerdict> {
    Some(AvailabilityVerdict {
        kept: true,
        incidents: Vec::new(),
    })
}

#[test]
fn realistic_rollout_totals_and_outcomes() {
    let r = build(&realistic(), &lab_servers(), verdict_kept());
    assert_eq!(r.outcome, "done");
    assert_eq!(r.runs.len(), 2);
    assert_eq!(r.runs[0].outcome.as_deref(), Some("failed: EX02 setup"));
    let ex01 = &r.servers[0];
    assert_eq!(ex01.result, ServerState::Done);
    assert!(
        ex01.steps.iter().all(|s| s.outcome == StepOutcome::Skipped),
        "EX01 finished in run 1, so run 2 skipped it"
    );
    assert_eq!(ex01.steps_done, 9);
    assert_eq!(ex01.changes.len(), 7);
    let ex02 = &r.servers[1];
    let setup = ex02.steps.iter().find(|s| s.step == "setup").unwrap();
    assert_eq!(setup.outcome, StepOutcome::Done);
    assert_eq!(setup.run, 2);
    assert_eq!(setup.attempts, 2);
    assert_eq!(setup.earlier_errors, vec![SETUP_ERROR.to_string()]);
    assert_eq!(setup.duration_seconds, Some(281.0));
    assert_eq!(r.servers[2].result, ServerState::Skipped);
    assert_eq!(r.totals.steps_failed, 0);
    assert_eq!(r.totals.servers_done, 2);
    assert_eq!(r.totals.servers_skipped, 1);
}

#[test]
fn stopped_run_reports_the_failure_and_what_is_left() {
    let j = failed_at_ex02_setup();
    let r = build(&j.entries, &lab_servers(), None);
    assert_eq!(r.outcome, "failed");
    let ex02 = &r.servers[1];
    assert_eq!(ex02.result, ServerState::Failed);
    assert_eq!(ex02.error.as_deref(), Some(SETUP_ERROR));
    let setup = ex02.steps.last().unwrap();
    assert_eq!(
        (setup.step.as_str(), setup.outcome),
        ("setup", StepOutcome::Failed)
    );
    assert_eq!(setup.duration_seconds, Some(41.0));
    assert_eq!(r.totals.servers_pending, 1);
    assert!(render_markdown(&r).contains("- **Availability:** not checked"));
}

#[test]
fn interrupted_step_has_no_end() {
    let mut j = Builder::new();
    j.run_started("r1").started("EX01", "setup");
    let r = build(&j.entries, &lab_servers(), None);
    let s = &r.servers[0].steps[0];
    assert_eq!(s.outcome, StepOutcome::Interrupted);
    assert_eq!(s.finished, None);
    assert_eq!(r.outcome, "stopped");
    assert_eq!(r.runs[0].outcome, None);
}

#[test]
fn changes_read_in_words() {
    assert_eq!(
        describe_change(&Change::ComponentState {
            component: "ServerWideOffline".into(),
            state: "Inactive".into(),
            requester: "Maintenance".into(),
        }),
        "component-state (component ServerWideOffline, state Inactive, requester Maintenance)"
    );
    assert_eq!(
        describe_change(&Change::ClusterNodeSuspended),
        "cluster-node-suspended"
    );
    assert_eq!(
        describe_change(&Change::InstallerFinished {
            step: "setup".into(),
            exit_code: 0
        }),
        "installer-finished (step setup, exit_code 0)"
    );
}

#[test]
fn json_snapshot() {
    let r = build(&realistic(), &lab_servers(), verdict_kept());
    insta::assert_snapshot!(render_json(&r));
}

#[test]
fn markdown_snapshot() {
    let r = build(&realistic(), &lab_servers(), verdict_kept());
    insta::assert_snapshot!(render_markdown(&r));
}

#[test]
fn summary_table_snapshot() {
    let r = build(&realistic(), &lab_servers(), verdict_kept());
    insta::assert_snapshot!(summary_table(&r));
}

#[test]
fn summary_table_of_a_stopped_run() {
    let j = failed_at_ex02_setup();
    insta::assert_snapshot!(summary_table(&build(&j.entries, &lab_servers(), None)));
}

#[test]
fn broken_availability_is_listed() {
    let r = build(
        &realistic(),
        &lab_servers(),
        Some(AvailabilityVerdict {
            kept: false,
            incidents: vec!["DB03 had no mounted copy from 10:05:01 to 10:05:04".into()],
        }),
    );
    let md = render_markdown(&r);
    assert!(md.contains("**BROKEN** — 1 incident(s)"), "{md}");
    assert!(md.contains("- DB03 had no mounted copy"), "{md}");
}

#[test]
fn markdown_escapes_server_text() {
    let mut j = Builder::new();
    j.run_started("r1")
        .started("EX01", "setup")
        .failed("EX01", "setup", "a | b <script>\nnext");
    let md = render_markdown(&build(&j.entries, &lab_servers(), None));
    assert!(md.contains("a \\| b \\<script\\> next"), "{md}");
}

#[test]
fn write_puts_the_three_files_in_the_state_directory_and_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let r = build(&realistic(), &lab_servers(), None);
    let plan = std::path::Path::new("plans/lab.toml");
    let written = write(&state, plan, &r).unwrap();
    assert_eq!(written.json, state.join(JSON_FILE));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    assert_eq!(v["outcome"], "done");
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(md.starts_with("# cu-roll run report"));
    // A second write replaces both and leaves no temporary file behind.
    write(&state, plan, &build(&[], &lab_servers(), None)).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    assert_eq!(v["outcome"], "stopped");
    let names: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
}

#[test]
fn a_failed_write_names_the_report_and_the_real_plan() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the state directory should be: nothing can be written.
    let state = dir.path().join("state");
    std::fs::write(&state, "not a directory").unwrap();
    let plan = std::path::Path::new("plans/lab.toml");
    let err = write(&state, plan, &build(&[], &lab_servers(), None)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&state.join(JSON_FILE).display().to_string()),
        "{text}"
    );
    assert!(
        text.contains("`cu-roll status plans/lab.toml` still shows the outcome"),
        "{text}"
    );
}

#[test]
fn every_json_field_is_documented() {
    fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    // A change's own fields are the journal's, documented there.
                    if k != "change" {
                        keys(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let r = build(
        &realistic(),
        &lab_servers(),
        Some(AvailabilityVerdict {
            kept: false,
            incidents: vec!["x".into()],
        }),
    );
    let mut all = Vec::new();
    keys(&serde_json::to_value(&r).unwrap(), &mut all);
    all.sort();
    all.dedup();
    let docs = include_str!("../../../docs/run-report.md");
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !docs.contains(&format!("| `{k}` |")))
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// The command that puts a reverted setting back names the plan's real
/// path (review #17), copyable as it is: a code span, not escaped text.
#[test]
fn the_restore_command_names_the_plan() {
    let mut r = build(&realistic(), &lab_servers(), None);
    r.config_drift.push(ConfigDrift {
        server: "EX02".into(),
        backup: "EX02-20260110T083000Z.zip".into(),
        reverted: vec![RevertedSetting {
            file: "ClientAccess/Owa/web.config".into(),
            key: "BackEndProxyTimeout".into(),
            backup_value: Some("00:05:00".into()),
            current_value: None,
        }],
        error: None,
    });
    let command =
        "cu-roll restore-config plans/q3_prod.toml --server EX02 --key BackEndProxyTimeout";
    assert!(render_markdown(&r).contains("`cu-roll restore-config PLAN --server EX02"));
    r.plan = Some("plans/q3_prod.toml".into());
    let md = render_markdown(&r);
    assert!(md.contains(&format!("`{command}` puts it back")), "{md}");
    // The file and key are code spans too: copied literally, not escaped
    // (a Markdown escape inside a code span would show its backslash).
    assert!(
        md.contains("`ClientAccess/Owa/web.config` appSettings `BackEndProxyTimeout`"),
        "{md}"
    );
    r.config_drift[0].reverted[0].file = r"Bin\MSExchange_Frontend.exe.config".into();
    let md = render_markdown(&r);
    assert!(md.contains(r"`Bin\MSExchange_Frontend.exe.config`"), "{md}");
    assert_eq!(super::markdown::code_span("a`b"), "``a`b``");
}

#[test]
fn html_snapshot() {
    let mut r = build(&realistic(), &lab_servers(), verdict_kept());
    r.plan = Some("plans/lab.toml".into());
    let html = render_html(&r);
    assert_self_contained(&html);
    insta::assert_snapshot!(html);
}

#[test]
fn html_of_a_stopped_run_opens_the_failed_server_and_escapes_its_error() {
    let mut j = Builder::new();
    j.run_started("r1").started("EX01", "setup").failed(
        "EX01",
        "setup",
        "see https://evil.example/x <script>alert(1)</script>",
    );
    let html = render_html(&build(&j.entries, &lab_servers(), None));
    assert_self_contained(&html);
    assert!(
        html.contains(r#"<p class="overall blocked">Outcome: <strong>failed</strong>"#),
        "{html}"
    );
    assert!(html.contains(r#"<details id="server-1" open>"#), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("https&#58;//evil.example/x"), "{html}");
    assert!(
        html.contains(r#"<span class="fail">failed</span>"#),
        "{html}"
    );
}
