use super::*;
use record::{Change, PlanFingerprint};

fn started() -> Record {
    Record::RunStarted {
        run_id: "r1".into(),
        tool_version: "0.1.0".into(),
        plan: PlanFingerprint {
            servers: vec!["EX01@DAG01".into()],
            target_build: "15.2.1748.43".into(),
            target_name: "Exchange Server 2019 CU15 Feb26SU".into(),
        },
        host: "h".into(),
        pid: 1,
        order: vec!["EX01".into()],
    }
}

#[test]
fn records_round_trip_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, loaded) = Journal::open(dir.path()).unwrap();
    assert!(loaded.entries.is_empty());
    j.append(started()).unwrap();
    j.append(Record::Changed {
        server: "EX01".into(),
        step: "enter-maintenance".into(),
        change: Change::ComponentState {
            component: "HubTransport".into(),
            state: "Draining".into(),
            requester: "Maintenance".into(),
        },
    })
    .unwrap();
    drop(j);
    let loaded = Journal::load(&Journal::path_in(dir.path())).unwrap();
    assert_eq!(loaded.entries.len(), 2);
    assert_eq!(loaded.entries[1].seq, 2);
    assert!(loaded.torn_tail.is_none());
}

/// A crash mid-write leaves half a line: tolerated, and cut off before the next append.
#[test]
fn torn_last_line_is_tolerated_and_cut_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(started()).unwrap();
    drop(j);
    let path = Journal::path_in(dir.path());
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":2,"at":"x","event":"step-sta"#)
        .unwrap();
    drop(f);
    let loaded = Journal::load(&path).unwrap();
    assert_eq!(loaded.entries.len(), 1);
    assert!(loaded.torn_tail.is_some());
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let e = j
        .append(Record::ServerDone {
            server: "EX01".into(),
        })
        .unwrap();
    assert_eq!(e.seq, 2);
    let loaded = Journal::load(&path).unwrap();
    assert_eq!(loaded.entries.len(), 2);
    assert!(loaded.torn_tail.is_none());
}

/// A damaged line that is not the last one is corruption, never skipped.
#[test]
fn a_damaged_middle_line_is_reported_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = Journal::path_in(dir.path());
    let good = serde_json::to_string(&Entry {
        seq: 1,
        at: "t".into(),
        record: Record::ServerDone {
            server: "EX01".into(),
        },
    })
    .unwrap();
    std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
    match Journal::load(&path) {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected corruption at line 2, got {other:?}"),
    }
}

#[test]
fn second_lock_names_the_holder_and_force_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let held = Lock::acquire(dir.path(), "run").unwrap();
    match Lock::acquire(dir.path(), "run") {
        Err(LockError::Held { holder, stale, .. }) => {
            assert_eq!(holder.pid, std::process::id());
            assert!(!stale, "our own pid is alive");
        }
        other => panic!("expected Held, got {other:?}"),
    }
    std::mem::forget(held);
    assert!(Lock::force_clear(dir.path()).unwrap().is_some());
    let again = Lock::acquire(dir.path(), "run").unwrap();
    drop(again);
    assert!(
        !Lock::path_in(dir.path()).exists(),
        "dropping the lock removes it"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any server/step text round-trips through a journal line.
        #[test]
        fn entries_round_trip(server in "\\PC{0,20}", step in "[a-z-]{1,20}", err in "\\PC{0,60}") {
            let e = Entry { seq: 7, at: "2026-01-01T00:00:00.000Z".into(), record: Record::StepFailed { server, step, error: err } };
            let line = serde_json::to_string(&e).unwrap();
            prop_assert!(!line.contains('\n'));
            let back: Entry = serde_json::from_str(&line).unwrap();
            prop_assert_eq!(back, e);
        }
    }
}
