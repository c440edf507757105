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
        only: Vec::new(),
        exclude: Vec::new(),
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

fn line(seq: u64) -> String {
    serde_json::to_string(&Entry {
        seq,
        at: "t".into(),
        record: Record::ServerDone {
            server: "EX01".into(),
        },
    })
    .unwrap()
}

/// Regression (reliability review §3): a duplicated or reordered line was
/// accepted silently; sequence numbers are checked now.
#[test]
fn a_duplicated_or_reordered_record_is_damage_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = Journal::path_in(dir.path());
    for (text, bad_line) in [
        (format!("{}\n{}\n{}\n", line(1), line(2), line(2)), 3),
        (format!("{}\n{}\n{}\n", line(1), line(3), line(2)), 2),
        (format!("{}\n", line(2)), 1),
    ] {
        std::fs::write(&path, &text).unwrap();
        match Journal::load(&path) {
            Err(JournalError::Corrupt { line, detail, .. }) => {
                assert_eq!(line, bad_line, "{text}");
                assert!(detail.contains("was expected"), "{detail}");
            }
            other => panic!("expected damage at line {bad_line}, got {other:?}"),
        }
    }
}

/// Every cu-roll since the first has written `seq` (1, 2, 3… in file
/// order), so an older journal reads as it is; a line without one is no
/// cu-roll record, and the error names the file and the line.
#[test]
fn an_older_journal_reads_and_a_record_without_a_number_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = Journal::path_in(dir.path());
    // The first journal format (commit 516b74b): the same fields, `seq` included.
    let old = concat!(
        r#"{"seq":1,"at":"2026-11-27T10:00:00Z","event":"step-started","server":"EX02","step":"setup"}"#,
        "\n",
        r#"{"seq":2,"at":"2026-11-27T10:01:00Z","event":"server-done","server":"EX02"}"#,
        "\n"
    );
    std::fs::write(&path, old).unwrap();
    assert_eq!(Journal::load(&path).unwrap().entries.len(), 2);
    let unnumbered = format!(
        "{}{}\n",
        old, r#"{"at":"2026-11-27T10:02:00Z","event":"server-done","server":"EX03"}"#
    );
    std::fs::write(&path, unnumbered).unwrap();
    let err = Journal::load(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "the journal {} is damaged at line 3: ",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("missing field `seq`"), "{text}");
}

/// Regression (reliability review §3): a torn tail that split a multi-byte
/// character made the whole journal unreadable ("stream did not contain
/// valid UTF-8"); now only that record is lost, and the warning names it.
#[test]
fn a_tail_torn_inside_a_character_loses_only_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = Journal::path_in(dir.path());
    let failed = serde_json::to_string(&Entry {
        seq: 2,
        at: "t".into(),
        record: Record::StepFailed {
            server: "EX02".into(),
            step: "setup".into(),
            error: "média introuvable".into(),
        },
    })
    .unwrap();
    let cut = failed.find('é').unwrap() + 1; // inside the two bytes of 'é'
    let mut bytes = format!("{}\n", line(1)).into_bytes();
    bytes.extend_from_slice(&failed.as_bytes()[..cut]);
    std::fs::write(&path, &bytes).unwrap();
    let loaded = Journal::load(&path).unwrap();
    assert_eq!(loaded.entries.len(), 1);
    let warning = loaded.torn_tail.unwrap();
    assert!(
        warning.contains("record 2 (step-failed EX02 setup) is lost"),
        "{warning}"
    );
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    assert_eq!(
        j.append(Record::ServerDone {
            server: "EX02".into()
        })
        .unwrap()
        .seq,
        2
    );
    assert_eq!(Journal::load(&path).unwrap().entries.len(), 2);
}

/// Binary garbage at the tail (a crash can leave a block of zeros) loses
/// nothing but itself, and the warning says it was no record.
#[test]
fn binary_garbage_at_the_tail_is_set_aside_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = Journal::path_in(dir.path());
    for garbage in [&[0u8; 64][..], &[0xff, 0xfe, 0x00, 0x9c, 0x41][..]] {
        let mut bytes = format!("{}\n", line(1)).into_bytes();
        bytes.extend_from_slice(garbage);
        std::fs::write(&path, &bytes).unwrap();
        let loaded = Journal::load(&path).unwrap();
        assert_eq!(loaded.entries.len(), 1);
        let warning = loaded.torn_tail.unwrap();
        assert!(warning.contains("binary data, not a record"), "{warning}");
    }
    // Complete lines of garbage are damage, with their line number.
    std::fs::write(
        &path,
        [format!("{}\n", line(1)).as_bytes(), b"\xff\xfe\n"].concat(),
    )
    .unwrap();
    match Journal::load(&path) {
        Err(JournalError::Corrupt { line, detail, .. }) => {
            assert_eq!(line, 2);
            assert!(detail.contains("not UTF-8"), "{detail}");
        }
        other => panic!("expected damage at line 2, got {other:?}"),
    }
}

#[test]
fn a_second_lock_names_the_live_holder() {
    let dir = tempfile::tempdir().unwrap();
    let held = Lock::acquire(dir.path(), "run").unwrap();
    match Lock::acquire(dir.path(), "run") {
        Err(LockError::Held { holder, .. }) => {
            assert_eq!(holder.unwrap().pid, std::process::id());
        }
        other => panic!("expected Held, got {other:?}"),
    }
    assert_eq!(Lock::holder(dir.path()).unwrap().command, "run");
    drop(held);
    assert!(
        !Lock::path_in(dir.path()).exists(),
        "dropping the lock removes its own record"
    );
    assert_eq!(Lock::state(dir.path()).unwrap(), LockState::Free);
}

/// Regression (reliability review §3): deleting the lock file while a run
/// worked let a second run start on the same servers.
#[test]
fn deleting_the_lock_file_does_not_let_a_second_run_in() {
    let dir = tempfile::tempdir().unwrap();
    let held = Lock::acquire(dir.path(), "run").unwrap();
    std::fs::remove_file(Lock::path_in(dir.path())).unwrap();
    assert!(matches!(
        Lock::acquire(dir.path(), "run"),
        Err(LockError::Held { holder: None, .. })
    ));
    drop(held);
    drop(Lock::acquire(dir.path(), "run").unwrap());
}

/// Regression (reliability review §3): `Lock::drop` removed whatever lock
/// file existed, another run's included.
#[test]
fn a_finishing_run_leaves_a_record_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let held = Lock::acquire(dir.path(), "run").unwrap();
    let other = r#"{"owner":"bob","host":"mgmt02","pid":7,"since":"x","command":"run"}"#;
    std::fs::write(Lock::path_in(dir.path()), other).unwrap();
    drop(held);
    assert_eq!(
        std::fs::read_to_string(Lock::path_in(dir.path())).unwrap(),
        other
    );
}

/// Regression (reliability review §3): `unlock --force` cleared a live
/// run's lock. It refuses now, and clears only a dead run's record.
#[test]
fn force_clear_refuses_a_live_holder_and_clears_a_dead_ones_record() {
    let dir = tempfile::tempdir().unwrap();
    let held = Lock::acquire(dir.path(), "run").unwrap();
    assert!(matches!(
        Lock::force_clear(dir.path()),
        Err(LockError::HolderAlive { .. })
    ));
    assert!(Lock::path_in(dir.path()).exists());
    drop(held);
    let dead = r#"{"owner":"alice","host":"mgmt01","pid":4242,"since":"x","command":"run"}"#;
    std::fs::write(Lock::path_in(dir.path()), dead).unwrap();
    let LockState::Stale(info) = Lock::state(dir.path()).unwrap() else {
        panic!("a record without a live holder is stale");
    };
    assert_eq!(info.pid, 4242);
    // A new run takes a stale lock over and says whose it was.
    let lock = Lock::acquire(dir.path(), "run").unwrap();
    assert_eq!(lock.replaced.as_ref().map(|i| i.pid), Some(4242));
    drop(lock);
    std::fs::write(Lock::path_in(dir.path()), dead).unwrap();
    assert_eq!(Lock::force_clear(dir.path()).unwrap().unwrap().pid, 4242);
    assert!(!Lock::path_in(dir.path()).exists());
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
