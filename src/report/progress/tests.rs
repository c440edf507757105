//! Tests of the live displays: one story of three servers (EX01 rolls,
//! EX02's health check fails) shown by the plain lines and by the bars
//! (drawn to a hidden target), plus the logging wrapper.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::runbook::StepId;

/// A writer the test keeps a handle on.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn fixed_clock() -> WallClock {
    // 2026-11-27T10:00:03Z
    Box::new(|| SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_773_603))
}

fn s(x: &str) -> String {
    x.to_string()
}

/// A rollout of three servers: EX01 rolls, EX02's setup fails.
fn story() -> Vec<RunEvent> {
    vec![
        RunEvent::Started {
            servers: vec![
                (s("EX01"), Some(s("DAG01"))),
                (s("EX02"), Some(s("DAG01"))),
                (s("EX03"), Some(s("DAG01"))),
            ],
            resumed: false,
        },
        RunEvent::Note {
            server: None,
            message: s("gate open: every other member healthy"),
        },
        RunEvent::ServerStarted { server: s("EX01") },
        RunEvent::StepStarted {
            server: s("EX01"),
            step: StepId::EnterMaintenance,
        },
        RunEvent::StepProgress {
            server: s("EX01"),
            step: StepId::EnterMaintenance,
            message: s("waiting for 2 copies to move"),
        },
        RunEvent::StepFinished {
            server: s("EX01"),
            step: StepId::EnterMaintenance,
            already_done: false,
            detail: s("in maintenance"),
            elapsed: Duration::from_millis(12_400),
        },
        RunEvent::StepSkipped {
            server: s("EX01"),
            step: StepId::BackupConfig,
            reason: s("done in an earlier run"),
        },
        RunEvent::ServerFinished {
            server: s("EX01"),
            elapsed: Duration::from_secs(62),
        },
        RunEvent::ServerStarted { server: s("EX02") },
        RunEvent::StepStarted {
            server: s("EX02"),
            step: StepId::Setup,
        },
        RunEvent::StepFinished {
            server: s("EX02"),
            step: StepId::Setup,
            already_done: true,
            detail: String::new(),
            elapsed: Duration::from_millis(3_100),
        },
        RunEvent::StepFailed {
            server: s("EX02"),
            step: StepId::Health,
            error: s("Test-ServiceHealth: MSExchangeIS not running\nsecond line"),
            elapsed: Duration::from_secs(2),
        },
        RunEvent::Finished {
            ok: false,
            message: s("EX02 health failed"),
            elapsed: Duration::from_secs(3_725),
        },
    ]
}

#[test]
fn plain_display_writes_one_stamped_line_per_event() {
    let buf = Shared::default();
    let mut p = PlainProgress::with_clock(Box::new(buf.clone()), fixed_clock());
    for e in story() {
        p.event(&e);
    }
    insta::assert_snapshot!(buf.text(), @r"
    2026-11-27T10:00:03Z rollout started: 3 servers in order EX01, EX02, EX03
    2026-11-27T10:00:03Z note: gate open: every other member healthy
    2026-11-27T10:00:03Z EX01 started
    2026-11-27T10:00:03Z EX01 enter-maintenance started
    2026-11-27T10:00:03Z EX01 enter-maintenance: waiting for 2 copies to move
    2026-11-27T10:00:03Z EX01 enter-maintenance done in 12.4s: in maintenance
    2026-11-27T10:00:03Z EX01 backup-config skipped: done in an earlier run
    2026-11-27T10:00:03Z EX01 finished in 1m02s
    2026-11-27T10:00:03Z EX02 started
    2026-11-27T10:00:03Z EX02 setup started
    2026-11-27T10:00:03Z EX02 setup done in 3.1s (already done)
    2026-11-27T10:00:03Z EX02 health FAILED after 2.0s: Test-ServiceHealth: MSExchangeIS not running\nsecond line (the whole text is printed at the end)
    2026-11-27T10:00:03Z rollout STOPPED after 1h02m: EX02 health failed
    ");
}

/// A clock the test moves.
fn movable_clock() -> (Arc<Mutex<SystemTime>>, WallClock) {
    let t = Arc::new(Mutex::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_773_603),
    ));
    let read = t.clone();
    (t, Box::new(move || *read.lock().unwrap()))
}

#[test]
fn plain_display_prints_a_poll_only_when_it_changes_and_a_heartbeat_when_it_does_not() {
    let buf = Shared::default();
    let (t, clock) = movable_clock();
    let mut p = PlainProgress::with_clock(Box::new(buf.clone()), clock);
    let poll = |message: &str| RunEvent::StepProgress {
        server: s("EX02"),
        step: StepId::Setup,
        message: s(message),
    };
    p.event(&RunEvent::StepStarted {
        server: s("EX02"),
        step: StepId::Setup,
    });
    // A 3-hour setup polled every 5 s: 2,160 polls, one message.
    for _ in 0..2_160 {
        p.event(&poll("setup running on EX02"));
        *t.lock().unwrap() += Duration::from_secs(5);
    }
    p.event(&poll("setup ended with exit code 0"));
    let text = buf.text();
    let lines: Vec<&str> = text.lines().collect();
    // started, the first poll, one heartbeat per 5 minutes (35 in 3 h),
    // the change.
    assert_eq!(lines.len(), 1 + 1 + 35 + 1, "{text}");
    assert_eq!(
        lines[1],
        "2026-11-27T10:00:03Z EX02 setup: setup running on EX02"
    );
    assert_eq!(
        lines[2],
        "2026-11-27T10:05:03Z EX02 setup: still running after 5m00s: setup running on EX02"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"2026-11-27T13:00:03Z EX02 setup: setup ended with exit code 0"
    );
}

#[test]
fn plain_lines_escape_terminal_control_characters() {
    let line = event_line(&RunEvent::Note {
        server: Some(s("EX01")),
        message: s("evil \u{1b}[2J text\r\n"),
    });
    assert_eq!(line, "EX01 note: evil \\u{1b}[2J text");
}

#[test]
fn displays_are_send() {
    fn send<T: Send>() {}
    send::<PlainProgress>();
    send::<BarsProgress>();
    send::<Logged<BarsProgress>>();
    send::<Box<dyn Progress>>();
}

#[test]
fn bars_track_each_server_and_the_overall_count() {
    let mut bars = BarsProgress::new(ProgressDrawTarget::hidden());
    let events = story();
    // Up to EX02's setup: EX01 finished, EX02 working.
    for e in &events[..11] {
        bars.event(e);
    }
    assert_eq!(bars.servers.len(), 3);
    assert_eq!(bars.overall.length(), Some(3));
    assert_eq!(bars.overall.position(), 1);
    let ex01 = &bars.servers[0];
    assert!(ex01.bar.is_finished());
    assert_eq!(
        ex01.bar.message(),
        "✓ EX01  DAG01 done in 1m02s (1 step; 1 done in an earlier run)"
    );
    let ex02 = &bars.servers[1];
    assert!(!ex02.bar.is_finished());
    assert_eq!(ex02.bar.prefix(), "EX02  DAG01");
    assert_eq!(ex02.bar.message(), "setup already done in 3.1s");
    assert_eq!(bars.servers[2].bar.message(), "waiting");

    for e in &events[11..] {
        bars.event(e);
    }
    let ex02 = &bars.servers[1];
    assert!(ex02.bar.is_finished());
    assert_eq!(ex02.bar.message(), "✗ EX02  DAG01 health FAILED after 2.0s");
    assert_eq!(ex02.step.as_deref(), Some("health"));
    assert_eq!(
        bars.overall.position(),
        1,
        "a failed server is not counted done"
    );
    assert!(bars.overall.is_finished());
    assert_eq!(bars.overall.message(), "stopped");
    assert!(bars.servers[2].bar.is_finished(), "EX03 left as it was");
}

#[test]
fn bars_add_a_server_the_start_did_not_list_and_mark_skips() {
    let mut bars = BarsProgress::new(ProgressDrawTarget::hidden());
    bars.event(&RunEvent::ServerSkipped {
        server: s("EX09"),
        reason: s("already at 15.2.1748.43"),
    });
    assert_eq!(bars.servers.len(), 1);
    assert_eq!(
        bars.servers[0].bar.message(),
        "– EX09  - skipped: already at 15.2.1748.43"
    );
    assert_eq!(bars.overall.position(), 1);
    assert_eq!(bars.overall.length(), Some(1));
}

#[test]
fn logged_wrapper_passes_events_through() {
    let buf = Shared::default();
    let mut p = Logged(PlainProgress::with_clock(
        Box::new(buf.clone()),
        fixed_clock(),
    ));
    p.event(&RunEvent::ServerStarted { server: s("EX01") });
    assert_eq!(buf.text(), "2026-11-27T10:00:03Z EX01 started\n");
}
