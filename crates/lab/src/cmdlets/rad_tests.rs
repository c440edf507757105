//! The lab's RedistributeActiveDatabases.ps1 as review real-exchange.md
//! L7 asks: only the parameters Microsoft's script declares, time per
//! database move (`[lab.timings] redistribute_per_move`), and moves Active
//! Manager suppresses (fault `moves-suppressed`) reported per database as
//! `MoveFailed` with a non-terminating error, the script going on.

use crate::host::ServerHost;
use crate::pwsh::convert::to_ps_string;
use crate::pwsh::host::{Argument, CommandHost};
use crate::pwsh::value::Value;
use crate::spec::LabFault;
use crate::testkit::{three_member_spec, T0};
use crate::world::World;

const RAD: &str =
    r"C:\Program Files\Microsoft\Exchange Server\V15\Scripts\RedistributeActiveDatabases.ps1";

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

/// A world where DB02 (preferred on EX02) is active on EX03.
fn unbalanced(faults: Vec<LabFault>) -> World {
    let mut spec = three_member_spec();
    spec.faults = faults;
    let mut w = World::from_spec(&spec, "DAG01", T0);
    let d = w.database_index("DB02").unwrap();
    w.mount_on(d, "EX03");
    w
}

/// A host on EX01 as the scheduled task runs it: the snap-in loaded.
fn ems(w: &mut World) -> ServerHost<'_> {
    let mut h = ServerHost::new(w, "EX01", T0).unwrap();
    h.logon = crate::remoting::Logon::ExchangeEndpoint;
    h.invoke(
        "Add-PSSnapin",
        &[Argument::Positional(
            "Microsoft.Exchange.Management.PowerShell.SnapIn".into(),
        )],
        vec![],
    )
    .unwrap();
    h
}

fn balance() -> Vec<Argument> {
    vec![
        named("DagName", "DAG01"),
        flag("BalanceDbsByActivationPreference"),
        named("Confirm", false),
    ]
}

fn move_status(out: &[Value], db: &str) -> String {
    out.iter()
        .find(|v| v.property("DbName").is_some_and(|n| to_ps_string(&n) == db))
        .and_then(|v| v.property("MoveStatus"))
        .map(|s| to_ps_string(&s))
        .unwrap_or_else(|| panic!("no result for {db}: {out:?}"))
}

#[test]
fn parameters_microsofts_script_does_not_declare_are_refused() {
    let mut w = unbalanced(vec![]);
    let mut h = ems(&mut w);
    let mut args = balance();
    args.push(flag("SkipMoveSuppressionChecks"));
    let e = h.invoke(RAD, &args, vec![]).unwrap_err();
    assert!(
        e.message.contains("SkipMoveSuppressionChecks"),
        "{}",
        e.message
    );
    // -LogEvents is a switch: no value follows it.
    let mut args = balance();
    args.push(flag("LogEvents"));
    h.invoke(RAD, &args, vec![]).unwrap();
}

#[test]
fn each_move_takes_its_time() {
    let mut w = unbalanced(vec![]);
    let per_move = w.timings.redistribute_per_move_ms;
    assert!(per_move > 0);
    let mut h = ems(&mut w);
    let out = h.invoke(RAD, &balance(), vec![]).unwrap();
    assert_eq!(move_status(&out, "DB02"), "MoveSucceeded");
    assert_eq!(h.spent_ms, per_move, "one database moved");
}

#[test]
fn a_suppressed_move_is_reported_and_the_script_goes_on() {
    let mut w = unbalanced(vec![LabFault {
        server: "EX02".into(),
        kind: "moves-suppressed".into(),
        times: Some(1),
        database: Some("DB02".into()),
        during: None,
        hold: None,
    }]);
    let mut h = ems(&mut w);
    let out = h.invoke(RAD, &balance(), vec![]).unwrap();
    assert_eq!(move_status(&out, "DB02"), "MoveFailed");
    let errors = h.take_non_terminating();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("suppressed"), "{errors:?}");
    drop(h);
    let d = w.database_index("DB02").unwrap();
    assert_eq!(w.databases[d].active_server(), Some("EX03"));
}
