//! Lab tests through `CommandHost::invoke` (the interpreter is built
//! elsewhere): the world built from plans/lab.toml's `[lab]`, cmdlet
//! outputs and enum numbers, binding errors, maintenance, time, persistence
//! and the availability record.

use super::model::{AvailabilityKind, CopyStatus};
use super::pwsh::host::{Argument, CommandHost, PsError};
use super::pwsh::value::Value;
use super::*;

pub(crate) use crate::testkit::{three_member_spec as lab_plan, T0};

fn world() -> World {
    World::from_spec(&lab_plan(), "DAG01", T0)
}

fn named(name: &str, v: impl Into<Value>) -> Argument {
    Argument::Named {
        name: name.to_string(),
        value: Some(v.into()),
    }
}
fn flag(name: &str) -> Argument {
    Argument::Named {
        name: name.to_string(),
        value: None,
    }
}
fn pos(v: impl Into<Value>) -> Argument {
    Argument::Positional(v.into())
}

/// A host on `server` as Exchange's own endpoint runs cmdlets: AD is
/// reachable (the second hop a WinRM logon meets is `remoting/tests.rs`'s
/// subject, not these tests').
fn endpoint<'a>(w: &'a mut World, server: &str) -> ServerHost<'a> {
    let mut h = ServerHost::new(w, server, T0).unwrap();
    h.logon = crate::remoting::Logon::ExchangeEndpoint;
    h
}

/// A host on `server` with the Exchange snap-in loaded.
fn ems<'a>(w: &'a mut World, server: &str) -> ServerHost<'a> {
    let mut h = endpoint(w, server);
    h.invoke(
        "Add-PSSnapin",
        &[pos("Microsoft.Exchange.Management.PowerShell.SnapIn")],
        vec![],
    )
    .unwrap();
    h
}

fn run(h: &mut ServerHost, name: &str, args: &[Argument]) -> Vec<Value> {
    h.invoke(name, args, vec![])
        .unwrap_or_else(|e| panic!("{name}: {}", e.message))
}

fn prop(v: &Value, name: &str) -> Value {
    v.property(name)
        .unwrap_or_else(|| panic!("no property {name}"))
}

fn enum_num(v: &Value) -> i64 {
    match v {
        Value::Enum(e) => e.value,
        other => panic!("not an enum: {other:?}"),
    }
}

fn active_of(w: &World, db: &str) -> String {
    w.databases[w.database_index(db).unwrap()]
        .active_server()
        .unwrap_or("<none>")
        .to_string()
}

#[test]
fn world_from_the_lab_plan() {
    let w = world();
    assert_eq!(w.dag, "DAG01");
    assert_eq!(w.servers.len(), 3);
    assert_eq!(w.servers[0].components.len(), 34);
    assert_eq!(w.servers[0].os_version, "10.0.20348");
    assert_eq!(w.servers[1].cu_revision, 4);
    assert_eq!(w.servers[1].queued_messages(), 12);
    assert_eq!(active_of(&w, "DB02"), "EX02");
    assert!(w.availability.is_empty());
}

#[test]
fn exchange_cmdlets_need_the_snapin() {
    let mut w = world();
    let mut h = endpoint(&mut w, "EX01");
    let e = h.invoke("Get-ExchangeServer", &[], vec![]).unwrap_err();
    assert_eq!(e.fully_qualified_error_id, "CommandNotFoundException");
    h.invoke(
        "Add-PSSnapin",
        &[pos("Microsoft.Exchange.Management.PowerShell.E2010")],
        vec![],
    )
    .unwrap();
    let out = run(&mut h, "Get-ExchangeServer", &[pos("ex02")]);
    let v = prop(&out[0], "AdminDisplayVersion");
    assert_eq!(
        super::pwsh::convert::to_ps_string(&v),
        "Version 15.2 (Build 1544.4)"
    );
    assert_eq!(prop(&v, "Build"), Value::Int(1544));
}

#[test]
fn misspelled_parameter_and_cmdlet_fail_as_powershell_does() {
    let mut w = world();
    let mut h = ems(&mut w, "EX01");
    let args = [
        named("Identiti", "EX01"),
        named("Component", "HubTransport"),
        named("State", "Draining"),
        named("Requester", "Maintenance"),
    ];
    let e: PsError = h
        .invoke("Set-ServerComponentState", &args, vec![])
        .unwrap_err();
    assert_eq!(
        e.message,
        "A parameter cannot be found that matches parameter name 'Identiti'."
    );
    let e = h
        .invoke("Set-ServerComonentState", &args, vec![])
        .unwrap_err();
    assert!(e
        .message
        .starts_with("The term 'Set-ServerComonentState' is not recognized"));
    let e = h
        .invoke("Import-Module", &[pos("FailoverCluster")], vec![])
        .map(|_| h.take_non_terminating())
        .unwrap();
    assert!(e[0].message.contains("'FailoverCluster' was not loaded"));
}

#[test]
fn component_state_cmdlet_reports_requesters_and_enum_numbers() {
    let mut w = world();
    let mut h = ems(&mut w, "EX01");
    let bad = h.invoke(
        "Set-ServerComponentState",
        &[
            pos("EX01"),
            named("Component", "HubTransport"),
            named("State", "Draining"),
            named("Requester", "Admin"),
        ],
        vec![],
    );
    assert!(bad.unwrap_err().message.contains(
        "List of possible requesters: HealthApi,Maintenance,Sidelined,Functional,Deployment"
    ));
    run(
        &mut h,
        "Set-ServerComponentState",
        &[
            pos("EX01"),
            named("Component", "ServerWideOffline"),
            named("State", "Inactive"),
            named("Requester", "Maintenance"),
        ],
    );
    let all = run(&mut h, "Get-ServerComponentState", &[pos("EX01")]);
    assert_eq!(all.len(), 34);
    let hub = all
        .iter()
        .find(|c| prop(c, "Component") == Value::str("HubTransport"))
        .unwrap();
    assert_eq!(enum_num(&prop(hub, "State")), 0);
    assert_eq!(prop(hub, "ServerWideOfflineIsOffline"), Value::Bool(true));
    let mon = all
        .iter()
        .find(|c| prop(c, "Component") == Value::str("Monitoring"))
        .unwrap();
    assert_eq!(enum_num(&prop(mon, "State")), 1);
    let swo = &run(
        &mut h,
        "Get-ServerComponentState",
        &[pos("EX01"), named("Component", "ServerWideOffline")],
    )[0];
    let Value::Array(local) = prop(swo, "LocalStates") else {
        panic!()
    };
    assert_eq!(local.len(), 2);
    let text = super::pwsh::convert::to_ps_string(&local[1]);
    assert!(
        text.starts_with("Requestor:Maintenance; State:Inactive; Timestamp:"),
        "{text}"
    );
}

#[test]
fn read_cmdlets_give_real_enum_numbers() {
    let mut w = world();
    let mut h = ems(&mut w, "EX01");
    let node = &run(&mut h, "Get-ClusterNode", &[pos("EX02")])[0];
    assert_eq!(enum_num(&prop(node, "State")), 0);
    let mbx = &run(&mut h, "Get-MailboxServer", &[pos("EX01")])[0];
    assert_eq!(enum_num(&prop(mbx, "DatabaseCopyAutoActivationPolicy")), 0);
    let copies = run(
        &mut h,
        "Get-MailboxDatabaseCopyStatus",
        &[named("Server", "EX01")],
    );
    assert_eq!(copies.len(), 4);
    let db01 = copies
        .iter()
        .find(|c| prop(c, "Name") == Value::str("DB01\\EX01"))
        .unwrap();
    assert_eq!(enum_num(&prop(db01, "Status")), 11);
    let db02 = copies
        .iter()
        .find(|c| prop(c, "Name") == Value::str("DB02\\EX01"))
        .unwrap();
    assert_eq!(enum_num(&prop(db02, "Status")), 6);
    assert_eq!(prop(db02, "ActiveDatabaseCopy"), Value::str("ex02"));
    let svc = &run(&mut h, "Get-Service", &[pos("MSExchangeIMAP4")])[0];
    assert_eq!(
        (
            enum_num(&prop(svc, "Status")),
            enum_num(&prop(svc, "StartType"))
        ),
        (1, 3)
    );
    let health = run(&mut h, "Test-ServiceHealth", &[pos("EX01")]);
    assert!(health
        .iter()
        .all(|r| prop(r, "RequiredServicesRunning") == Value::Bool(true)));
    let repl = run(&mut h, "Test-ReplicationHealth", &[pos("EX01")]);
    assert!(repl
        .iter()
        .all(|r| super::pwsh::convert::to_ps_string(&prop(r, "Result")) == "Passed"));
}

#[test]
fn registry_files_and_cim_are_derived_from_the_world() {
    let mut w = world();
    let mut h = endpoint(&mut w, "EX02");
    let setup = run(
        &mut h,
        "Get-ItemProperty",
        &[named(
            "Path",
            r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
        )],
    );
    assert_eq!(
        prop(&setup[0], "MsiInstallPath"),
        Value::str(r"C:\Program Files\Microsoft\Exchange Server\V15\")
    );
    let rel = run(
        &mut h,
        "Get-ItemPropertyValue",
        &[
            pos(r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"),
            pos("Release"),
        ],
    );
    assert_eq!(rel, vec![Value::Int(533_320)]);
    assert!(run(&mut h, "Get-ItemProperty", &[pos(r"HKLM:\SOFTWARE\Nope")]).is_empty());
    let errs = h.take_non_terminating();
    assert_eq!(
        errs[0].message,
        r"Cannot find path 'HKLM:\SOFTWARE\Nope' because it does not exist."
    );
    run(
        &mut h,
        "Get-ItemProperty",
        &[
            pos(r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager"),
            named("Name", "PendingFileRenameOperations"),
        ],
    );
    assert!(h.take_non_terminating()[0].message.starts_with(
        "Property PendingFileRenameOperations does not exist at path HKEY_LOCAL_MACHINE\\SYSTEM"
    ));
    let uninstall = run(
        &mut h,
        "Get-ItemProperty",
        &[pos(
            r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*",
        )],
    );
    assert!(uninstall.iter().any(|k| prop(k, "DisplayName")
        == Value::str("Microsoft Visual C++ 2012 x64 Additional Runtime - 11.0.61030")));
    assert_eq!(
        run(
            &mut h,
            "Test-Path",
            &[pos(
                r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
            )]
        ),
        vec![Value::Bool(false)]
    );
    let exsetup = &run(
        &mut h,
        "Get-Item",
        &[named(
            "LiteralPath",
            r"C:\Program Files\Microsoft\Exchange Server\V15\bin\ExSetup.exe",
        )],
    )[0];
    assert_eq!(
        prop(&prop(exsetup, "VersionInfo"), "FileVersion"),
        Value::str("15.02.1544.039")
    );
    let log = run(
        &mut h,
        "Get-Content",
        &[pos(r"C:\ExchangeSetupLogs\ExchangeSetup.log")],
    );
    assert!(log.iter().any(|l| *l
        == Value::str(format!(
            "{} [0] The Exchange Server setup operation completed successfully.",
            &super::pwsh::convert::to_ps_string(l)[..26]
        ))));
    let web = run(
        &mut h,
        "Get-Content",
        &[
            pos(r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\Owa\web.config"),
            flag("Raw"),
        ],
    );
    assert!(super::pwsh::convert::to_ps_string(&web[0]).contains("BackEndProxyTimeout"));
    let disk = &run(
        &mut h,
        "Get-CimInstance",
        &[pos("Win32_LogicalDisk"), named("Filter", "DeviceID='C:'")],
    )[0];
    assert_eq!(prop(disk, "FreeSpace"), Value::Int(95 * 1024 * 1024 * 1024));
    assert_eq!(h.env_var("COMPUTERNAME").as_deref(), Some("EX02"));
}

#[test]
fn ad_levels_are_readable() {
    let mut w = world();
    let mut h = endpoint(&mut w, "EX01");
    let dse = &run(&mut h, "Get-ADRootDSE", &[])[0];
    let schema = super::pwsh::convert::to_ps_string(&prop(dse, "schemaNamingContext"));
    let attr = &run(
        &mut h,
        "Get-ADObject",
        &[
            pos(format!("CN=ms-Exch-Schema-Version-Pt,{schema}")),
            named("Properties", "rangeUpper"),
        ],
    )[0];
    assert_eq!(prop(attr, "rangeUpper"), Value::Int(17003));
    let org = run(
        &mut h,
        "Get-ADObject",
        &[
            named(
                "SearchBase",
                "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=local",
            ),
            named("LDAPFilter", "(objectClass=msExchOrganizationContainer)"),
            named("SearchScope", "OneLevel"),
            named("Properties", "objectVersion"),
        ],
    );
    assert_eq!(org.len(), 1);
    assert_eq!(prop(&org[0], "objectVersion"), Value::Int(16763));
    let meso = &run(
        &mut h,
        "Get-ADObject",
        &[
            pos("CN=Microsoft Exchange System Objects,DC=contoso,DC=local"),
            named("Properties", "objectVersion"),
        ],
    )[0];
    assert_eq!(prop(meso, "objectVersion"), Value::Int(13243));
}

#[test]
fn redirect_message_without_confirm_false_fails_like_a_prompt() {
    let mut w = world();
    let mut h = ems(&mut w, "EX02");
    let args = [
        named("Server", "EX02"),
        named("Target", "ex01.contoso.local"),
    ];
    let e = h.invoke("Redirect-Message", &args, vec![]).unwrap_err();
    assert_eq!(
        e.message,
        "PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."
    );
    let mut ok = args.to_vec();
    ok.push(named("Confirm", false));
    run(&mut h, "Redirect-Message", &ok);
}

#[test]
fn move_now_goes_to_the_next_healthy_preference_never_a_blocked_server() {
    let mut w = world();
    {
        let mut h = ems(&mut w, "EX02");
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX02"),
                named("DatabaseCopyAutoActivationPolicy", "Blocked"),
            ],
        );
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX01"),
                named("DatabaseCopyActivationDisabledAndMoveNow", true),
            ],
        );
    }
    assert_eq!(active_of(&w, "DB01"), "EX01", "moves take time");
    w.settle(T0 + 300);
    // DB01 prefers EX02 next, but EX02 is Blocked: EX03 takes it. DB04 → EX03.
    assert_eq!(active_of(&w, "DB01"), "EX03");
    assert_eq!(active_of(&w, "DB04"), "EX03");
    assert!(w.availability.is_empty(), "{:?}", w.availability);
}

#[test]
fn queues_drain_over_time_once_hub_transport_drains() {
    let mut w = world();
    {
        let mut h = ems(&mut w, "EX02");
        let filter = "MessageCount -gt 0 -and DeliveryType -ne 'ShadowRedundancy'";
        let before = run(
            &mut h,
            "Get-Queue",
            &[named("Server", "EX02"), named("Filter", filter)],
        );
        assert!(
            before
                .iter()
                .map(|q| match prop(q, "MessageCount") {
                    Value::Int(n) => n,
                    _ => 0,
                })
                .sum::<i64>()
                == 12
        );
        run(
            &mut h,
            "Set-ServerComponentState",
            &[
                pos("EX02"),
                named("Component", "HubTransport"),
                named("State", "Draining"),
                named("Requester", "Maintenance"),
            ],
        );
    }
    w.settle(T0 + 5 * 50);
    assert_eq!(w.servers[1].queued_messages(), 7);
    w.settle(T0 + 12 * 50);
    assert_eq!(w.servers[1].queued_messages(), 0);
    assert_eq!(w.servers[0].queued_messages(), 4, "EX01 is not draining");
}

#[test]
fn queue_stuck_fault_keeps_messages() {
    let mut spec = lab_plan();
    spec.faults.push(LabFault {
        server: "EX02".into(),
        kind: "queue-stuck".into(),
        times: Some(1),
        database: None,
        during: None,
        hold: None,
    });
    let mut w = World::from_spec(&spec, "DAG01", T0);
    let mut h = ems(&mut w, "EX02");
    run(
        &mut h,
        "Set-ServerComponentState",
        &[
            pos("EX02"),
            named("Component", "HubTransport"),
            named("State", "Draining"),
            named("Requester", "Maintenance"),
        ],
    );
    drop(h);
    // The hold (30 s by default) keeps every message; then the drain resumes.
    w.settle(T0 + 29_000);
    assert_eq!(w.servers[1].queued_messages(), 12);
    w.settle(T0 + 60_000);
    assert_eq!(w.servers[1].queued_messages(), 0);
}

/// The runbook's enter/exit sequence on EX02, then redistribution.
#[test]
fn normal_maintenance_keeps_the_availability_record_empty() {
    let mut w = world();
    let sc = |c: &str, s: &str| {
        vec![
            pos("EX02"),
            named("Component", c),
            named("State", s),
            named("Requester", "Maintenance"),
        ]
    };
    {
        let mut h = ems(&mut w, "EX02");
        run(
            &mut h,
            "Set-ServerComponentState",
            &sc("HubTransport", "Draining"),
        );
        run(&mut h, "Restart-Service", &[pos("MSExchangeTransport")]);
        // Transport's bootloader is ready `transport_startup` after the start.
        h.now_ms += h.world.timings.transport_startup_ms;
        run(
            &mut h,
            "Redirect-Message",
            &[
                named("Server", "EX02"),
                named("Target", "ex01.contoso.local"),
                named("Confirm", false),
            ],
        );
        run(&mut h, "Suspend-ClusterNode", &[pos("EX02")]);
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX02"),
                named("DatabaseCopyActivationDisabledAndMoveNow", true),
            ],
        );
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX02"),
                named("DatabaseCopyAutoActivationPolicy", "Blocked"),
            ],
        );
    }
    w.settle(T0 + 1_000);
    assert_eq!(active_of(&w, "DB02"), "EX03");
    assert_eq!(w.servers[1].queued_messages(), 0);
    {
        let mut h = ems(&mut w, "EX02");
        run(
            &mut h,
            "Set-ServerComponentState",
            &sc("ServerWideOffline", "Inactive"),
        );
        let node = &run(&mut h, "Get-ClusterNode", &[pos("EX02")])[0];
        assert_eq!(enum_num(&prop(node, "State")), 2);
        run(
            &mut h,
            "Set-ServerComponentState",
            &sc("ServerWideOffline", "Active"),
        );
        run(&mut h, "Resume-ClusterNode", &[pos("EX02")]);
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX02"),
                named("DatabaseCopyAutoActivationPolicy", "Unrestricted"),
            ],
        );
        run(
            &mut h,
            "Set-MailboxServer",
            &[
                pos("EX02"),
                named("DatabaseCopyActivationDisabledAndMoveNow", false),
            ],
        );
        run(
            &mut h,
            "Set-ServerComponentState",
            &sc("HubTransport", "Active"),
        );
        let script = r"C:\Program Files\Microsoft\Exchange Server\V15\Scripts\RedistributeActiveDatabases.ps1";
        let args = [
            named("DagName", "DAG01"),
            flag("BalanceDbsByActivationPreference"),
        ];
        let e = h.invoke(script, &args, vec![]).unwrap_err();
        assert!(e.message.contains("NonInteractive"));
        let mut ok = args.to_vec();
        ok.push(named("Confirm", false));
        run(&mut h, script, &ok);
    }
    w.settle(T0 + 2_000);
    assert_eq!(active_of(&w, "DB02"), "EX02");
    assert!(w.availability.is_empty(), "{:?}", w.availability);
}

#[test]
fn losing_the_last_mounted_copy_is_recorded() {
    let mut w = world();
    let d = w.database_index("DB03").unwrap();
    w.databases[d].copies[0].status = CopyStatus::Dismounted;
    w.settle(T0 + 10);
    assert_eq!(w.availability.len(), 1);
    assert_eq!(w.availability[0].kind, AvailabilityKind::NoMountedCopy);
    assert_eq!(w.availability[0].subject, "DB03");
    w.mount_on(d, "EX03");
    w.settle(T0 + 20);
    assert_eq!(w.availability[0].until_ms, Some(T0 + 20));
}

#[test]
fn move_blocked_fault_fails_the_move() {
    let mut spec = lab_plan();
    spec.faults.push(LabFault {
        server: "EX01".into(),
        kind: "move-blocked".into(),
        times: Some(1),
        database: None,
        during: None,
        hold: None,
    });
    let mut w = World::from_spec(&spec, "DAG01", T0);
    let mut h = ems(&mut w, "EX01");
    let out = run(
        &mut h,
        "Move-ActiveMailboxDatabase",
        &[pos("DB01"), pos("EX02"), named("Confirm", false)],
    );
    assert!(out.is_empty());
    assert!(h.take_non_terminating()[0]
        .message
        .starts_with("An Active Manager operation failed."));
    drop(h);
    // Moves succeed once the hold (30 s by default) has ended.
    w.settle(T0 + 31_000);
    let mut h = ems(&mut w, "EX01");
    let out = run(
        &mut h,
        "Move-ActiveMailboxDatabase",
        &[pos("DB01"), pos("EX02"), named("Confirm", false)],
    );
    assert_eq!(enum_num(&prop(&out[0], "Status")), 1);
}

#[test]
fn lab_persists_and_reloads_the_same_world() {
    let dir = tempfile::tempdir().unwrap();
    let spec = lab_plan();
    let lab = Lab::open(dir.path(), &spec, "DAG01").unwrap();
    lab.with_host("EX03", |h| {
        run(
            h,
            "Add-PSSnapin",
            &[pos("Microsoft.Exchange.Management.PowerShell.SnapIn")],
        );
        run(h, "Suspend-ClusterNode", &[pos("EX03")]);
    })
    .unwrap();
    let saved = lab.world();
    let again = Lab::open(dir.path(), &spec, "DAG01").unwrap();
    assert_eq!(again.world(), saved);
    assert_eq!(
        again.state_json()["servers"][2]["cluster_node"]["state"],
        "Paused"
    );
    assert!(
        matches!(lab.run_ps("EX09", "hostname"), Err(LabError::UnknownServer(n)) if n == "EX09")
    );
    let cmd = lab.run_cmd("EX01", "ipconfig /all").unwrap();
    assert_eq!(cmd.stderr, "'ipconfig' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n");
    assert_eq!(lab.run_cmd("EX01", "hostname").unwrap().stdout, "EX01\r\n");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|f| !f.ends_with(".tmp")),
        "temp files left behind: {left:?}"
    );
}

/// Transport's restart and bootloader (review real-exchange.md #4, #5, L4,
/// L8): Get-Queue and Redirect-Message fail until the bootloader is ready;
/// a restart past the script's budget is killed with transport Stopped;
/// Redirect-Message's target must be another member in service.
#[test]
fn transport_restarts_take_time_and_redirect_waits_for_the_bootloader() {
    let mut w = world();
    let redirect = |target: &str| {
        vec![
            named("Server", "EX02"),
            named("Target", target),
            named("Confirm", false),
        ]
    };
    {
        let mut h = ems(&mut w, "EX02");
        run(&mut h, "Restart-Service", &[pos("MSExchangeTransport")]);
        assert_eq!(h.spent_ms, h.world.timings.transport_restart_ms);
        let early = h.invoke("Redirect-Message", &redirect("ex01.contoso.local"), vec![]);
        assert!(early.unwrap_err().message.contains("Transport service"));
        h.now_ms += h.world.timings.transport_startup_ms;
        for bad in ["ex02.contoso.local", "EX01", "mail.contoso.local"] {
            let e = h.invoke("Redirect-Message", &redirect(bad), vec![]);
            assert!(e.is_err(), "{bad} is refused as a target");
        }
        run(&mut h, "Redirect-Message", &redirect("ex01.contoso.local"));
    }
    let mut h = ems(&mut w, "EX02");
    h.budget_ms = Some(1_000);
    let _ = h.invoke("Restart-Service", &[pos("MSExchangeTransport")], vec![]);
    assert!(h.killed);
    assert!(!h.this().service_running("MSExchangeTransport"));
    let after = h.invoke("Get-Service", &[], vec![]);
    assert!(after.is_err(), "nothing runs after the kill");
}
