//! Lab tests for a rolling CU upgrade, driven by real scripts (the
//! templates of `runbook::scripts`, rendered as the steps render them)
//! through `run_ps_in`/`run_cmd_in` on a world with a test-controlled
//! clock: media, setup and the SU over time, reboots, scheduled tasks,
//! tasklist/type, every fault kind, the ProcessNeedsToBeClosedOnUpgrade
//! rule, persistence and the availability record.

use crate::ps::{Arg, Script};
use crate::runbook::scripts as s;
use lab::model::{CopyStatus, NodeState, ServiceStatus, StartType};
use lab::pwsh::ScriptOutput;
use lab::testkit::{run_cmd_in, run_ps_fed, run_ps_in, three_member_spec as lab_plan, T0};
use lab::*;

const SETUP_BATCH_OK: &str = "@echo off\r\n\"D:\\Setup.exe\" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\setup.exit\"\r\n";
const SU_BATCH: &str = "@echo off\r\nmsiexec /update \"C:\\Updates\\Exchange2019-CU15-Feb26SU.msp\" /quiet /norestart\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\su.exit\"\r\n";

/// A world and the clock the test moves.
struct Sim {
    w: World,
    t: i64,
}

impl Sim {
    fn new(spec: &LabSpec) -> Sim {
        Sim {
            w: World::from_spec(spec, "DAG01", T0),
            t: T0,
        }
    }

    /// Runs `script` about `server` as the product sends it: Windows-level
    /// work on `server` itself; a script that calls Exchange cmdlets in an
    /// Exchange remote session opened from the first other member that
    /// accepts one (the secret on stdin); a script that reads
    /// `$credential` after its credential head, on `server`.
    fn try_ps(&mut self, server: &str, script: &str) -> Result<ScriptOutput, LabError> {
        // A test's own text as a template (leaked: tests are short-lived).
        let body = Script::render("test", Box::leak(script.to_string().into_boxed_str()), &[]);
        if script.contains("[Console]::In.ReadLine()") {
            return run_ps_fed(&mut self.w, server, script, SECRET_LINE, self.t);
        }
        if script.contains("$credential") {
            let op = crate::exchange::Operation {
                placement: crate::exchange::Placement::TargetWithCredential,
                script: body,
                timeout: None,
            };
            let sent = op.credential_script(LAB_USER);
            return run_ps_fed(&mut self.w, server, sent.text(), SECRET_LINE, self.t);
        }
        if crate::exchange::exchange_cmdlets_in(script).is_empty() {
            return run_ps_in(&mut self.w, server, script, self.t);
        }
        let op = crate::exchange::Operation {
            placement: crate::exchange::Placement::ExchangeSession,
            script: body,
            timeout: None,
        };
        let peers: Vec<(String, String)> = self
            .w
            .servers
            .iter()
            .filter(|s| !s.name.eq_ignore_ascii_case(server))
            .map(|s| (s.name.clone(), s.fqdn.clone()))
            .collect();
        let mut last = None;
        for (peer, fqdn) in peers {
            let sent = op.session_script(&fqdn, LAB_USER);
            match run_ps_fed(&mut self.w, &peer, sent.text(), SECRET_LINE, self.t) {
                Ok(out) if out.stderr.contains("Connecting to remote server") => {
                    last = Some(Ok(out))
                }
                Err(e) => last = Some(Err(e)),
                done => return done,
            }
        }
        last.expect("a peer")
    }

    #[track_caller]
    fn ps(&mut self, server: &str, script: &str) -> ScriptOutput {
        let out = self.try_ps(server, script).expect("reachable");
        assert_eq!(out.exit_code, 0, "{script}\n--- stderr\n{}", out.stderr);
        out
    }

    fn cmd(&mut self, server: &str, line: &str) -> Result<ScriptOutput, LabError> {
        run_cmd_in(&mut self.w, server, line, self.t)
    }

    fn wait(&mut self, ms: i64) {
        self.t += ms;
    }

    fn server(&self, name: &str) -> &model::Server {
        self.w.server(name).expect("server")
    }

    fn active(&self, db: &str) -> String {
        let d = self.w.database_index(db).unwrap();
        self.w.databases[d]
            .active_server()
            .unwrap_or("<none>")
            .to_string()
    }
}

const LAB_USER: &str = "lab\\admin";
/// `lab-only-password` as `run_ps_with_secret` sends it (base64, CRLF).
const SECRET_LINE: &str = "bGFiLW9ubHktcGFzc3dvcmQ=\r\n";

fn render(template: &'static str, args: &[(&str, Arg<'_>)]) -> String {
    Script::render("test", template, args).text().to_string()
}

fn on(template: &'static str, server: &str) -> String {
    render(template, &[("server", Arg::Str(server))])
}

/// The installer task's start as sent: its credential head, then the body
/// (run it with `SECRET_LINE` on stdin).
fn start_task(batch: &str, batch_file: &str, exit_file: &str, task: &str) -> String {
    let body = render(
        s::START_SETUP_TASK,
        &[
            ("exit_file", Arg::Str(exit_file)),
            ("batch_file", Arg::Str(batch_file)),
            ("batch", Arg::Str(batch)),
            ("task", Arg::Str(task)),
            ("user", Arg::Str("lab\\admin")),
        ],
    );
    crate::exchange::Operation {
        placement: crate::exchange::Placement::TargetWithCredential,
        script: Script::render("test", Box::leak(body.into_boxed_str()), &[]),
        timeout: None,
    }
    .credential_script(LAB_USER)
    .text()
    .to_string()
}

fn exit_file(sim: &mut Sim, server: &str, name: &str) -> Result<String, String> {
    let out = sim
        .cmd(server, &format!(r#"type "%SystemDrive%\cu-roll\{name}""#))
        .expect("reachable");
    if out.exit_code == 0 {
        Ok(out.stdout)
    } else {
        Err(out.stderr)
    }
}

fn setup_running(sim: &mut Sim, server: &str) -> bool {
    let out = sim.cmd(server, s::CMD_SETUP_PROCESS).expect("reachable");
    out.stdout.starts_with("\"ExSetup.exe\"")
}

/// Runbook §2 on `server`, as the enter-maintenance step sends it.
fn enter_maintenance(sim: &mut Sim, server: &str, target_fqdn: &str) {
    sim.ps(server, &on(s::DRAIN_HUB_TRANSPORT, server));
    sim.ps(
        server,
        &render(
            s::REDIRECT_MESSAGES,
            &[
                ("server", Arg::Str(server)),
                ("target", Arg::Str(target_fqdn)),
            ],
        ),
    );
    sim.ps(server, &on(s::SUSPEND_CLUSTER_NODE, server));
    sim.ps(server, &on(s::MOVE_NOW_ON, server));
    sim.ps(server, &on(s::BLOCK_ACTIVATION, server));
    sim.wait(5_000);
    sim.ps(server, &on(s::SERVER_WIDE_OFFLINE, server));
}

/// Runbook §4 on `server`.
fn exit_maintenance(sim: &mut Sim, server: &str) {
    sim.ps(server, &on(s::SERVER_WIDE_ONLINE, server));
    sim.ps(server, &on(s::RESUME_CLUSTER_NODE, server));
    sim.ps(
        server,
        &render(
            s::SET_ACTIVATION_POLICY,
            &[
                ("server", Arg::Str(server)),
                ("policy", Arg::Str("Unrestricted")),
            ],
        ),
    );
    sim.ps(server, &on(s::MOVE_NOW_OFF, server));
    sim.ps(server, &on(s::HUB_TRANSPORT_ACTIVE, server));
}

fn reboot(sim: &mut Sim, server: &str) -> i64 {
    let before = sim.server(server).last_boot_ms;
    sim.ps(server, s::RESTART_COMPUTER);
    assert!(matches!(
        sim.cmd(server, "hostname"),
        Err(LabError::Unreachable { .. })
    ));
    sim.wait(1_500);
    let boot = sim.ps(server, s::BOOT_STATE).stdout;
    let j: serde_json::Value = serde_json::from_str(&boot).unwrap();
    assert_ne!(sim.server(server).last_boot_ms, before);
    assert_eq!(sim.server(server).last_boot_ms, sim.t - 500);
    assert!(j["Services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["Name"] == "MSExchangeIS" && s["Status"] == "Running"));
    sim.t
}

/// Starts setup through the scheduled task and waits (polling with cmd
/// only) until its exit code file appears.
fn run_setup(sim: &mut Sim, server: &str, batch: &str) -> String {
    sim.ps(
        server,
        &start_task(batch, "setup.cmd", "setup.exit", "cu-roll setup"),
    );
    assert!(setup_running(sim, server));
    assert!(exit_file(sim, server, "setup.exit").is_err());
    for _ in 0..100 {
        sim.wait(200);
        if let Ok(code) = exit_file(sim, server, "setup.exit") {
            assert!(!setup_running(sim, server));
            sim.ps(
                server,
                &render(s::REMOVE_TASK, &[("task", Arg::Str("cu-roll setup"))]),
            );
            return code;
        }
    }
    panic!("setup never wrote its exit code");
}

#[test]
fn media_are_files_with_versions_and_hashes() {
    let mut sim = Sim::new(&lab_plan());
    let out = sim.ps(
        "EX02",
        r"$i = Get-Item -Path 'D:\Setup.exe'
$h = Get-FileHash -Path 'D:\Setup.exe' -Algorithm SHA256
$m = Get-Item -Path 'C:\Updates\Exchange2019-CU15-Feb26SU.msp'
'{0}|{1}|{2}|{3}|{4}' -f $i.VersionInfo.FileVersion, $i.VersionInfo.ProductVersion, (Test-Path -Path 'D:\Setup.exe'), $h.Hash, [string]$m.VersionInfo.FileVersion",
    );
    let expected = lab::sha256_hex_upper(b"D:\\Setup.exe|15.2.1748.10");
    assert_eq!(
        out.stdout.trim(),
        format!("15.02.1748.010|15.02.1748.010|True|{expected}|")
    );
    // A plan can pin the hash (to test a mismatch).
    let mut spec = lab_plan();
    spec.media[0].sha256 = Some("AB".repeat(32));
    let mut sim = Sim::new(&spec);
    let out = sim.ps("EX03", "(Get-FileHash -Path 'D:\\Setup.exe').Hash");
    assert_eq!(out.stdout.trim(), "AB".repeat(32));
}

/// A full manual maintenance + setup + SU + reboots + exit on EX02 of
/// plans/lab.toml, with the rollout's own scripts.
#[test]
fn full_manual_upgrade_of_ex02_keeps_availability_empty() {
    let mut sim = Sim::new(&lab_plan());
    assert_eq!(sim.active("DB02"), "EX02");
    enter_maintenance(&mut sim, "EX02", "ex01.contoso.local");
    assert_eq!(sim.active("DB02"), "EX03");
    assert_eq!(sim.server("EX02").queued_messages(), 0);
    let boot1 = reboot(&mut sim, "EX02");
    assert_eq!(sim.server("EX02").cluster_node.state, NodeState::Paused);
    assert_eq!(run_setup(&mut sim, "EX02", SETUP_BATCH_OK), "0\r\n");
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    let last = &log[log
        .rfind("Starting Microsoft Exchange Server 2019 Setup")
        .unwrap()..];
    assert!(last.contains("Setup version: 15.2.1748.10."));
    assert!(last.contains("The locally installed version is 15.2.1544.4."));
    assert!(last.contains("The Exchange Server setup operation completed successfully."));
    let v = sim.ps(
        "EX02",
        "(Get-Command ExSetup.exe).FileVersionInfo.ProductVersion",
    );
    assert_eq!(v.stdout.trim(), "15.02.1748.010");
    // The CU left a reboot pending: reboot before the SU (su_reboot).
    assert!(sim.server("EX02").pending_reboot.is_some());
    let boot_cu = reboot(&mut sim, "EX02");
    assert!(boot_cu > boot1);
    // The SU, through msiexec in the same kind of task.
    sim.ps(
        "EX02",
        &start_task(SU_BATCH, "su.cmd", "su.exit", "cu-roll security update"),
    );
    assert!(sim
        .cmd(
            "EX02",
            r#"tasklist /FI "IMAGENAME eq msiexec.exe" /FO CSV /NH"#
        )
        .unwrap()
        .stdout
        .contains("msiexec.exe"));
    sim.wait(1_200);
    assert_eq!(exit_file(&mut sim, "EX02", "su.exit").unwrap(), "3010\r\n");
    let boot2 = reboot(&mut sim, "EX02");
    assert!(boot2 > boot1);
    exit_maintenance(&mut sim, "EX02");
    sim.wait(1_000);
    sim.ps(
        "EX02",
        crate::exchange::act::redistribute("DAG01", std::time::Duration::from_secs(60))
            .op
            .script
            .text(),
    );
    let health = sim.ps("EX02", &on(s::HEALTH_TESTS, "EX02")).stdout;
    let j: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert!(j["ServiceHealth"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["RequiredServicesRunning"] == true));
    assert!(
        j["ReplicationHealth"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["Result"] == "Passed"),
        "{health}"
    );
    assert!(j["MapiConnectivity"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["Result"] == "Success"));
    let ex02 = sim.server("EX02");
    assert_eq!(ex02.build.to_string(), "15.2.1748.43");
    assert_eq!(ex02.cu_revision, 10);
    assert_eq!(ex02.cluster_node.state, NodeState::Up);
    assert_eq!(sim.active("DB02"), "EX02");
    let adv = sim.ps(
        "EX01",
        "(Get-ExchangeServer EX02).AdminDisplayVersion.ToString()",
    );
    assert_eq!(adv.stdout.trim(), "Version 15.2 (Build 1748.10)");
    assert!(sim.w.availability.is_empty(), "{:?}", sim.w.availability);
}

#[test]
fn the_echo_errorlevel_trap_writes_an_empty_exit_file() {
    // `echo %ERRORLEVEL%> "f"` with exit code 0 is `echo 0> "f"`: stream 0
    // redirected, nothing echoed into the file (cmd's handle-digit rule).
    let mut sim = Sim::new(&lab_plan());
    let batch = "@echo off\r\n\"D:\\Setup.exe\" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataON\r\necho %ERRORLEVEL%> \"C:\\cu-roll\\setup.exit\"\r\n";
    assert_eq!(run_setup(&mut sim, "EX02", batch), "");
    assert_eq!(sim.server("EX02").build.to_string(), "15.2.1748.10");
    // A code of more than one digit is echoed (`echo 3010> f`).
    sim.ps("EX02", &start_task("@echo off\r\nmsiexec /update \"C:\\Updates\\Exchange2019-CU15-Feb26SU.msp\" /quiet /norestart\r\necho %ERRORLEVEL%> \"C:\\cu-roll\\su.exit\"\r\n", "su.cmd", "su.exit", "su"));
    sim.wait(1_500);
    assert_eq!(exit_file(&mut sim, "EX02", "su.exit").unwrap(), "3010\r\n");
}

#[test]
fn tasks_report_state_and_last_result() {
    let mut sim = Sim::new(&lab_plan());
    sim.ps(
        "EX03",
        &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "cu-roll setup"),
    );
    let info = "$t = Get-ScheduledTask -TaskName 'cu-roll setup'; $i = Get-ScheduledTaskInfo -TaskName 'cu-roll setup'; '{0}|{1}' -f $t.State, $i.LastTaskResult";
    let schtasks = s::CMD_TASK_STATUS.replace("{task}", "cu-roll setup");
    sim.wait(1_000);
    assert_eq!(sim.ps("EX03", info).stdout.trim(), "Running|267009");
    // The verbose CSV row cu-roll polls: Last Result (7th column) while running.
    let row = sim.cmd("EX03", &schtasks).unwrap().stdout;
    assert!(
        row.starts_with("\"EX03\",\"\\cu-roll setup\",\"N/A\",\"Running\""),
        "{row}"
    );
    assert_eq!(row.split("\",\"").nth(6), Some("267009"), "{row}");
    sim.wait(3_000);
    assert_eq!(sim.ps("EX03", info).stdout.trim(), "Ready|0");
    let row = sim.cmd("EX03", &schtasks).unwrap().stdout;
    assert_eq!(row.split("\",\"").nth(6), Some("0"), "{row}");
    let missing = sim
        .cmd("EX03", &s::CMD_TASK_STATUS.replace("{task}", "nope"))
        .unwrap();
    assert_eq!(missing.exit_code, 1);
    assert!(missing.stderr.contains("cannot find the file specified"));
    // Unregister prompts without -Confirm:$false (ConfirmImpact High).
    let out = sim
        .try_ps("EX03", "Unregister-ScheduledTask -TaskName 'cu-roll setup'")
        .unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(out.stderr.contains("NonInteractive mode"), "{}", out.stderr);
    sim.ps(
        "EX03",
        &render(s::REMOVE_TASK, &[("task", Arg::Str("cu-roll setup"))]),
    );
    let out = sim
        .try_ps(
            "EX03",
            "$ErrorActionPreference = 'Stop'; Get-ScheduledTask -TaskName 'cu-roll setup'",
        )
        .unwrap();
    assert!(
        out.stderr.contains("No MSFT_ScheduledTask objects found"),
        "{}",
        out.stderr
    );
}

#[test]
fn tasklist_and_type_answer_as_cmd_does() {
    let mut sim = Sim::new(&lab_plan());
    let none = sim.cmd("EX02", s::CMD_SETUP_PROCESS).unwrap();
    assert_eq!(
        (none.stdout.as_str(), none.exit_code),
        (
            "INFO: No tasks are running which match the specified criteria.\r\n",
            0
        )
    );
    let missing = sim
        .cmd("EX02", r#"type "%SystemDrive%\cu-roll\setup.exit""#)
        .unwrap();
    assert_eq!(missing.exit_code, 1);
    assert_eq!(
        missing.stderr,
        "The system cannot find the file specified.\r\n"
    );
    sim.ps(
        "EX02",
        &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "t"),
    );
    let running = sim.cmd("EX02", s::CMD_SETUP_PROCESS).unwrap().stdout;
    let fields: Vec<&str> = running.trim_end().split(',').collect();
    assert_eq!(fields[0], "\"ExSetup.exe\"");
    assert_eq!(fields[2..4], ["\"Services\"", "\"0\""]);
    assert!(running.ends_with(" K\"\r\n"));
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    assert!(log.ends_with("Performing Microsoft Exchange Server Prerequisite Check\r\n"));
}

#[test]
fn a_bare_setup_exe_is_the_installed_one_and_upgrades_nothing() {
    let mut sim = Sim::new(&lab_plan());
    let batch = "@echo off\r\nsetup.exe /m:upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\setup.exit\"\r\n";
    assert_eq!(run_setup(&mut sim, "EX02", batch), "0\r\n");
    assert_eq!(sim.server("EX02").build.to_string(), "15.2.1544.39");
    // The plain licence switch fails from 2019 CU11 on; unknown programs exit 9009.
    let batch = "@echo off\r\n\"D:\\Setup.exe\" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\setup.exit\"\r\n";
    assert_eq!(run_setup(&mut sim, "EX02", batch), "1\r\n");
    let batch =
        "@echo off\r\n\"D:\\Nope.exe\" /x\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\setup.exit\"\r\n";
    sim.ps("EX02", &start_task(batch, "setup.cmd", "setup.exit", "t2"));
    assert_eq!(
        exit_file(&mut sim, "EX02", "setup.exit").unwrap(),
        "9009\r\n"
    );
}

#[test]
fn setup_refuses_while_a_powershell_runs_during_its_readiness_checks() {
    let mut sim = Sim::new(&lab_plan());
    sim.ps(
        "EX02",
        &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "t"),
    );
    // 15% into a 3 s run: an orchestrator polling with PowerShell.
    sim.wait(450);
    sim.ps("EX02", "'poll'");
    sim.wait(3_000);
    assert_eq!(exit_file(&mut sim, "EX02", "setup.exit").unwrap(), "1\r\n");
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    assert!(
        log.contains("Failed [Rule:ProcessNeedsToBeClosedOnUpgrade]"),
        "{log}"
    );
    assert!(log.contains("because the powershell ("));
    assert!(log
        .trim_end()
        .ends_with("**********************************************"));
    let ex02 = sim.server("EX02");
    assert_eq!(ex02.build.to_string(), "15.2.1544.39");
    assert!(
        ex02.service_running("MSExchangeIS"),
        "services untouched by a prereq failure"
    );
    // A PowerShell before the window (the start script itself) or a cmd poll is fine.
    assert_eq!(run_setup(&mut sim, "EX02", SETUP_BATCH_OK), "0\r\n");
}

#[test]
fn setup_refuses_with_a_pending_reboot() {
    let mut spec = lab_plan();
    spec.servers[1].pending_reboot = Some(PendingReboot::ComponentBasedServicing);
    let mut sim = Sim::new(&spec);
    assert_eq!(run_setup(&mut sim, "EX02", SETUP_BATCH_OK), "1\r\n");
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    assert!(log.contains("[REQUIRED] There is a pending reboot from a previous installation of a Windows Server role or feature."));
    assert!(log.contains("The Exchange Server setup operation didn't complete."));
}

#[test]
fn reboot_refuses_connections_and_fails_over_mounted_copies() {
    let mut sim = Sim::new(&lab_plan());
    // EX03 reboots while it still holds DB03 mounted (no maintenance): Active
    // Manager fails DB03 over; the pause persists; copies come back.
    sim.ps("EX03", &on(s::SUSPEND_CLUSTER_NODE, "EX03"));
    sim.ps("EX03", s::RESTART_COMPUTER);
    let err = sim.try_ps("EX03", "hostname").unwrap_err();
    assert!(matches!(err, LabError::Unreachable { ref server, .. } if server == "EX03"));
    assert_eq!(sim.active("DB03"), "EX01");
    let st = sim.ps(
        "EX01",
        "(Get-MailboxDatabaseCopyStatus -Identity 'DB03\\EX03').Status.ToString()",
    );
    assert_eq!(st.stdout.trim(), "ServiceDown");
    assert_eq!(sim.server("EX03").cluster_node.state, NodeState::Down);
    sim.wait(1_000);
    sim.ps("EX01", "'settle'");
    let ex03 = sim.server("EX03");
    assert_eq!(ex03.cluster_node.state, NodeState::Paused);
    assert_eq!(ex03.last_boot_ms, T0 + 1_000);
    let d = sim.w.database_index("DB03").unwrap();
    assert_eq!(
        sim.w.databases[d].copy_on("EX03").unwrap().status,
        CopyStatus::Initializing
    );
    sim.wait(400);
    sim.ps("EX01", "'settle'");
    assert_eq!(
        sim.w.databases[d].copy_on("EX03").unwrap().status,
        CopyStatus::Healthy
    );
    // EX03 was out of service alone, and DB03 kept a mounted copy.
    assert!(sim.w.availability.is_empty(), "{:?}", sim.w.availability);
}

#[test]
fn reboot_hangs_holds_the_server_down() {
    let mut spec = lab_plan();
    spec.faults.push(fault(
        "EX02",
        "reboot-hangs",
        Some(std::time::Duration::from_secs(3)),
    ));
    let mut sim = Sim::new(&spec);
    sim.ps("EX02", s::RESTART_COMPUTER);
    sim.wait(2_000);
    assert!(sim.cmd("EX02", "hostname").is_err());
    sim.wait(1_100);
    assert!(sim.cmd("EX02", "hostname").is_ok());
    // times = 1: the next reboot takes the usual second.
    sim.ps("EX02", s::RESTART_COMPUTER);
    sim.wait(1_000);
    assert!(sim.cmd("EX02", "hostname").is_ok());
}

fn fault(server: &str, kind: &str, hold: Option<std::time::Duration>) -> LabFault {
    LabFault {
        server: server.into(),
        kind: kind.into(),
        times: Some(1),
        database: None,
        during: None,
        hold,
    }
}

#[test]
fn setup_fails_leaves_services_disabled_and_components_inactive_then_a_rerun_succeeds() {
    let mut spec = lab_plan();
    spec.faults.push(fault("EX02", "setup-fails", None));
    let mut sim = Sim::new(&spec);
    enter_maintenance(&mut sim, "EX02", "ex01.contoso.local");
    assert_eq!(run_setup(&mut sim, "EX02", SETUP_BATCH_OK), "1\r\n");
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    let last = &log[log.rfind("Starting Microsoft").unwrap()..];
    assert!(last.contains(
        "[ERROR] Service 'MSExchangeTransport' failed to reach status 'Running' on this server."
    ));
    assert!(last.contains("The Exchange Server setup operation didn't complete."));
    assert!(!last.contains("completed successfully"));
    // The failure came after the file copy: ExSetup.exe is at the new build
    // (as on a real server) and only the role keys say setup did not finish.
    let ex02 = sim.server("EX02");
    assert_eq!(ex02.build.to_string(), "15.2.1748.10");
    let facts: crate::exchange::ServerFacts = serde_json::from_str(
        sim.ps(
            "EX02",
            crate::exchange::observe::read_server_facts().script.text(),
        )
        .stdout
        .trim(),
    )
    .unwrap();
    assert_eq!(facts.build().unwrap().to_string(), "15.2.1748.10");
    let why = facts
        .setup_incomplete()
        .expect("role keys show the upgrade unfinished");
    assert!(why.contains("MailboxRole Watermark is"), "{why}");
    let ex02 = sim.server("EX02");
    let svc = ex02.service("MSExchangeIS").unwrap();
    assert_eq!(
        (svc.status, svc.start_type),
        (ServiceStatus::Stopped, StartType::Disabled)
    );
    // The component in a session from a peer, the service on EX02 itself.
    let states = sim.ps(
        "EX02",
        "(Get-ServerComponentState -Identity EX02 -Component Monitoring).LocalStates | Where-Object { $_.Requester -eq 'Functional' } | ForEach-Object { $_.State.ToString() }",
    );
    assert!(states.stdout.starts_with("Inactive"), "{}", states.stdout);
    let out = sim.ps(
        "EX02",
        "try { Start-Service -Name MSExchangeIS -ErrorAction Stop } catch { $_.Exception.Message }",
    );
    assert!(out.stdout.contains("Service 'Microsoft Exchange Information Store (MSExchangeIS)' cannot be started due to the following error: Cannot start service MSExchangeIS on computer '.'."), "{}", out.stdout);
    // A reboot leaves Disabled services stopped.
    reboot_quietly(&mut sim, "EX02");
    assert!(!sim.server("EX02").service_running("MSExchangeIS"));
    // The next run succeeds and restores services and components.
    assert_eq!(run_setup(&mut sim, "EX02", SETUP_BATCH_OK), "0\r\n");
    // Its log says what a real re-run says (CSS-Exchange ExchangeSetup_FIPS_AccessDenied.log).
    let log = sim.cmd("EX02", s::CMD_SETUP_LOG).unwrap().stdout;
    let rerun = &log[log.rfind("Starting Microsoft").unwrap()..];
    assert!(
        rerun.contains(
            "] [0] The backup copy of the previously installed version is '15.2.1544.4'."
        ),
        "{rerun}"
    );
    assert!(
        rerun.contains("] [0] The locally installed version is 15.2.1748.10."),
        "{rerun}"
    );
    assert!(crate::setup_log::review(&log).previous_attempt_incomplete);
    assert!(!log.contains("[0] [1]"), "{log}");
    let ex02 = sim.server("EX02");
    assert!(ex02.service_running("MSExchangeIS"));
    assert_eq!(
        ex02.service("MSExchangeIS").unwrap().start_type,
        StartType::Automatic
    );
    assert_eq!(
        ex02.service("MSExchangePOP3").unwrap().start_type,
        StartType::Manual
    );
    assert!(ex02.partial_setup.is_none());
}

fn reboot_quietly(sim: &mut Sim, server: &str) {
    sim.ps(server, s::RESTART_COMPUTER);
    sim.wait(1_100);
}

#[test]
fn setup_hangs_runs_for_the_hold_then_succeeds() {
    let mut spec = lab_plan();
    spec.faults.push(fault(
        "EX02",
        "setup-hangs",
        Some(std::time::Duration::from_secs(10)),
    ));
    let mut sim = Sim::new(&spec);
    sim.ps(
        "EX02",
        &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "t"),
    );
    sim.wait(9_000);
    assert!(setup_running(&mut sim, "EX02"));
    sim.wait(1_100);
    assert!(!setup_running(&mut sim, "EX02"));
    assert_eq!(exit_file(&mut sim, "EX02", "setup.exit").unwrap(), "0\r\n");
}

#[test]
fn queue_stuck_holds_the_drain_then_it_resumes() {
    let mut spec = lab_plan();
    spec.faults.push(fault(
        "EX02",
        "queue-stuck",
        Some(std::time::Duration::from_secs(3)),
    ));
    let mut sim = Sim::new(&spec);
    sim.ps("EX02", &on(s::DRAIN_HUB_TRANSPORT, "EX02"));
    sim.wait(2_500);
    sim.ps("EX02", "'settle'");
    assert_eq!(sim.server("EX02").queued_messages(), 12);
    sim.wait(1_200);
    sim.ps("EX02", "'settle'");
    assert_eq!(sim.server("EX02").queued_messages(), 0);
}

#[test]
fn move_blocked_fails_moves_during_the_hold() {
    let mut spec = lab_plan();
    spec.faults.push(fault(
        "EX02",
        "move-blocked",
        Some(std::time::Duration::from_secs(3)),
    ));
    let mut sim = Sim::new(&spec);
    let moves = render(s::MOVE_ACTIVE_DATABASES, &[("server", Arg::Str("EX02"))]);
    let out = sim.try_ps("EX02", &moves).unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stderr.contains("An Active Manager operation failed."),
        "{}",
        out.stderr
    );
    // MoveNow cannot move DB02 either while the hold lasts…
    sim.ps("EX02", &on(s::MOVE_NOW_ON, "EX02"));
    sim.wait(2_000);
    sim.ps("EX02", "'settle'");
    assert_eq!(sim.active("DB02"), "EX02");
    // …and Active Manager succeeds once it ends.
    sim.wait(1_500);
    sim.ps("EX02", "'settle'");
    assert_eq!(sim.active("DB02"), "EX03");
    sim.ps("EX02", &on(s::MOVE_NOW_OFF, "EX02"));
    let out = sim.ps(
        "EX03",
        &render(s::MOVE_ACTIVE_DATABASES, &[("server", Arg::Str("EX03"))]),
    );
    let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        j.as_array()
            .unwrap()
            .iter()
            .all(|r| r["Status"] == "Succeeded"),
        "{}",
        out.stdout
    );
}

#[test]
fn copy_fails_during_a_named_step_then_recovers() {
    let mut spec = lab_plan();
    let mut f = fault(
        "EX03",
        "copy-fails",
        Some(std::time::Duration::from_secs(4)),
    );
    f.database = Some("DB01".into());
    f.during = Some("EX02:setup".into());
    spec.faults.push(f);
    let mut sim = Sim::new(&spec);
    let d = sim.w.database_index("DB01").unwrap();
    sim.ps(
        "EX02",
        &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "t"),
    );
    assert_eq!(
        sim.w.databases[d].copy_on("EX03").unwrap().status,
        CopyStatus::Failed
    );
    sim.wait(4_100);
    sim.ps("EX01", "'settle'");
    assert_eq!(
        sim.w.databases[d].copy_on("EX03").unwrap().status,
        CopyStatus::Initializing
    );
    sim.wait(400);
    sim.ps("EX01", "'settle'");
    assert_eq!(
        sim.w.databases[d].copy_on("EX03").unwrap().status,
        CopyStatus::Healthy
    );
}

#[test]
fn health_fails_during_the_hold() {
    let mut spec = lab_plan();
    spec.faults.push(fault(
        "EX01",
        "health-fails",
        Some(std::time::Duration::from_secs(2)),
    ));
    let mut sim = Sim::new(&spec);
    let tests = on(s::HEALTH_TESTS, "EX01");
    let j: serde_json::Value = serde_json::from_str(&sim.ps("EX01", &tests).stdout).unwrap();
    assert_eq!(j["ServiceHealth"][0]["RequiredServicesRunning"], false);
    assert!(j["ReplicationHealth"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Check"] == "ReplayService" && r["Result"] == "*FAILED*"));
    sim.wait(2_100);
    let j: serde_json::Value = serde_json::from_str(&sim.ps("EX01", &tests).stdout).unwrap();
    assert_eq!(j["ServiceHealth"][0]["RequiredServicesRunning"], true);
}

#[test]
fn security_update_for_another_cu_is_refused() {
    let mut sim = Sim::new(&lab_plan());
    // EX02 still runs CU14: the CU15 SU does not apply.
    let batch = "@echo off\r\nmsiexec /update \"C:\\Updates\\Exchange2019-CU15-Feb26SU.msp\" /quiet /norestart /l*v \"C:\\cu-roll\\su.log\"\r\n(echo %ERRORLEVEL%)> \"C:\\cu-roll\\su.exit\"\r\n";
    sim.ps("EX02", &start_task(batch, "su.cmd", "su.exit", "su"));
    sim.wait(1_100);
    assert_eq!(exit_file(&mut sim, "EX02", "su.exit").unwrap(), "1642\r\n");
    let log = exit_file(&mut sim, "EX02", "su.log").unwrap();
    assert!(log.contains("The upgrade patch cannot be installed by the Windows Installer service"));
    assert_eq!(sim.server("EX02").build.to_string(), "15.2.1544.39");
}

#[test]
fn services_wildcards_startup_type_and_service_health() {
    let mut sim = Sim::new(&lab_plan());
    let windows = sim.ps(
        "EX01",
        "@(Get-Service -Name 'MSExchange*').Count
Set-Service -Name MSExchangeRepl -StartupType Disabled
Stop-Service -Name MSExchangeRepl",
    );
    // Test-ServiceHealth in a session from a peer, naming EX01.
    let health = sim.ps(
        "EX01",
        "(Test-ServiceHealth -Server EX01)[0].ServicesNotRunning",
    );
    let both = format!("{}{}", windows.stdout, health.stdout);
    let lines: Vec<&str> = both.lines().collect();
    // Test-ServiceHealth's, FrontEndTransport, HM, POP3/IMAP4 and the
    // ones CSS-Exchange SetupAssist Test-ExchangeServices adds.
    assert_eq!(lines[0], "21");
    assert_eq!(lines[1], "MSExchangeRepl");
}

/// A crashed orchestrator re-opens the lab: setup is still running in the
/// saved world, then finishes on its own.
#[test]
fn an_in_flight_setup_survives_reopening_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = lab_plan();
    spec.timings.setup = std::time::Duration::from_millis(600);
    {
        let lab = Lab::open(dir.path(), &spec, "DAG01").unwrap();
        let out = lab
            .run_ps_with_stdin(
                "EX02",
                &start_task(SETUP_BATCH_OK, "setup.cmd", "setup.exit", "t"),
                SECRET_LINE,
            )
            .unwrap();
        assert_eq!(out.exit_code, 0, "{}", out.stderr);
    }
    let lab = Lab::open(dir.path(), &spec, "DAG01").unwrap();
    let running = lab.run_cmd("EX02", s::CMD_SETUP_PROCESS).unwrap().stdout;
    assert!(running.starts_with("\"ExSetup.exe\""), "{running}");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let lab = Lab::open(dir.path(), &spec, "DAG01").unwrap();
    let code = lab
        .run_cmd("EX02", r#"type "%SystemDrive%\cu-roll\setup.exit""#)
        .unwrap();
    assert_eq!(code.stdout, "0\r\n");
    assert_eq!(lab.state_json()["servers"][1]["build"], "15.2.1748.10");
    assert!(lab.state_json()["availability"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn two_members_out_together_is_recorded() {
    let mut sim = Sim::new(&lab_plan());
    sim.ps("EX02", &on(s::SERVER_WIDE_OFFLINE, "EX02"));
    sim.ps("EX03", s::RESTART_COMPUTER);
    let ev = &sim.w.availability;
    assert!(ev
        .iter()
        .any(|e| e.kind == model::AvailabilityKind::MembersOutTogether
            && e.subject == "EX02,EX03"
            && e.until_ms.is_none()));
    sim.wait(1_100);
    sim.ps("EX01", "'settle'");
    let e = sim
        .w
        .availability
        .iter()
        .find(|e| e.kind == model::AvailabilityKind::MembersOutTogether)
        .unwrap();
    assert_eq!(e.until_ms, Some(T0 + 1_000));
}
