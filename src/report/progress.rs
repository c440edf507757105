//! The rollout's live display on stderr: an `indicatif` board (one line per
//! server, an overall bar, notes printed above the bars) when stderr is a
//! terminal, and plain, greppable line-per-event output when it is not
//! (a CI log, `2>run.log`, a scheduled task).
//!
//! This module only shows [`RunEvent`]s: it never decides anything, never
//! touches the journal (the durable truth) and never writes to stdout, which
//! belongs to results (the final summary table). Every display also sends
//! each event to the `tracing` log (see [`crate::logging`]) so the log file
//! tells the run's story without the terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::text::{format_duration, one_line};
use crate::runbook::{Progress, RunEvent};

/// The display for this process: bars when stderr is a terminal, plain
/// lines otherwise; both also log every event through `tracing`.
pub fn progress_for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Logged(BarsProgress::new(ProgressDrawTarget::stderr())))
    } else {
        Box::new(Logged(PlainProgress::new(Box::new(std::io::stderr()))))
    }
}

/// The text of one event, without a timestamp: the plain display's lines
/// and the notes the bars print above themselves share it.
pub fn event_line(event: &RunEvent) -> String {
    match event {
        RunEvent::Started { servers, resumed } => {
            let names: Vec<&str> = servers.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "rollout {}: {} server{} in order {}",
                if *resumed { "resumed" } else { "started" },
                servers.len(),
                if servers.len() == 1 { "" } else { "s" },
                one_line(&names.join(", "))
            )
        }
        RunEvent::Note { server, message } => match server {
            Some(s) => format!("{} note: {}", one_line(s), one_line(message)),
            None => format!("note: {}", one_line(message)),
        },
        RunEvent::ServerStarted { server } => format!("{} started", one_line(server)),
        RunEvent::ServerSkipped { server, reason } => {
            format!("{} skipped: {}", one_line(server), one_line(reason))
        }
        RunEvent::StepStarted { server, step } => format!("{} {step} started", one_line(server)),
        RunEvent::StepProgress {
            server,
            step,
            message,
        } => format!("{} {step}: {}", one_line(server), one_line(message)),
        RunEvent::StepFinished {
            server,
            step,
            already_done,
            detail,
            elapsed,
        } => {
            let mut line = format!(
                "{} {step} done in {}",
                one_line(server),
                format_duration(*elapsed)
            );
            if *already_done {
                line.push_str(" (already done)");
            }
            if !detail.trim().is_empty() {
                line.push_str(": ");
                line.push_str(&one_line(detail));
            }
            line
        }
        RunEvent::StepSkipped {
            server,
            step,
            reason,
        } => format!("{} {step} skipped: {}", one_line(server), one_line(reason)),
        RunEvent::StepFailed {
            server,
            step,
            error,
            elapsed,
        } => format!(
            "{} {step} FAILED after {}: {}",
            one_line(server),
            format_duration(*elapsed),
            one_line(error)
        ),
        RunEvent::ServerFinished { server, elapsed } => {
            format!(
                "{} finished in {}",
                one_line(server),
                format_duration(*elapsed)
            )
        }
        RunEvent::Finished {
            ok,
            message,
            elapsed,
        } => {
            let mut line = if *ok {
                format!("rollout done in {}", format_duration(*elapsed))
            } else {
                format!("rollout STOPPED after {}", format_duration(*elapsed))
            };
            if !message.trim().is_empty() {
                line.push_str(": ");
                line.push_str(&one_line(message));
            }
            line
        }
    }
}

/// Wall-clock source for the plain display's timestamps (injectable so
/// tests get stable lines).
pub type WallClock = Box<dyn Fn() -> SystemTime + Send>;

/// One line per event, each prefixed with its UTC time to the second:
/// `2026-11-27T10:00:03Z EX02 setup started`. Stable and greppable.
pub struct PlainProgress {
    out: Box<dyn Write + Send>,
    now: WallClock,
}

impl PlainProgress {
    /// Writes to `out` with the system clock.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self::with_clock(out, Box::new(SystemTime::now))
    }

    pub fn with_clock(out: Box<dyn Write + Send>, now: WallClock) -> Self {
        PlainProgress { out, now }
    }
}

impl Progress for PlainProgress {
    fn event(&mut self, event: &RunEvent) {
        let stamp = humantime::format_rfc3339_seconds((self.now)());
        // A closed stderr must not stop a rollout half-way: the journal,
        // not this display, is what a resumed run relies on.
        let _ = writeln!(self.out, "{stamp} {}", event_line(event));
        let _ = self.out.flush();
    }
}

/// Spinner ticks while a server works.
const TICK: Duration = Duration::from_millis(120);

/// The per-server line while waiting its turn.
const WAITING_TEMPLATE: &str = "  {prefix} {wide_msg:.dim}";
/// The per-server line while it works: spinner, name and DAG, step, elapsed.
const WORKING_TEMPLATE: &str = "{spinner:.cyan} {prefix} {elapsed:>4}  {wide_msg}";
/// The per-server line once it ended: the message carries the mark.
const ENDED_TEMPLATE: &str = "{wide_msg}";
/// The overall bar, below the servers.
const OVERALL_TEMPLATE: &str =
    "{bar:30.cyan/blue} {pos}/{len} servers  {elapsed_precise}  {wide_msg}";

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("the display's templates are constant and valid")
}

/// One server's line on the board.
struct ServerLine {
    name: String,
    /// Name and DAG, padded so every line's columns align.
    label: String,
    bar: ProgressBar,
    step: Option<String>,
    steps_done: usize,
}

/// The terminal board: one line per server and an overall bar; notes and
/// failures go above the bars through [`MultiProgress::println`], never
/// through them.
pub struct BarsProgress {
    multi: MultiProgress,
    overall: ProgressBar,
    servers: Vec<ServerLine>,
    name_width: usize,
    dag_width: usize,
}

impl BarsProgress {
    /// A board drawing to `target` (`ProgressDrawTarget::stderr()`, or
    /// `hidden()` in tests).
    pub fn new(target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0).with_style(style(OVERALL_TEMPLATE)));
        BarsProgress {
            multi,
            overall,
            servers: Vec::new(),
            name_width: 0,
            dag_width: 0,
        }
    }

    fn note(&self, text: &str) {
        // A hidden or closed terminal is not a reason to stop the rollout.
        let _ = self.multi.println(text);
    }

    fn label(&self, name: &str, dag: Option<&str>) -> String {
        format!(
            "{:<nw$}  {:<dw$}",
            one_line(name),
            one_line(dag.unwrap_or("-")),
            nw = self.name_width,
            dw = self.dag_width
        )
    }

    fn add_server(&mut self, name: &str, dag: Option<&str>) -> usize {
        let label = self.label(name, dag);
        let bar = self.multi.insert_before(
            &self.overall,
            ProgressBar::new_spinner()
                .with_style(style(WAITING_TEMPLATE))
                .with_prefix(label.clone())
                .with_message("waiting"),
        );
        // A bar is drawn only once it has been ticked or updated: without
        // this, servers waiting their turn would not show on the board.
        bar.tick();
        self.servers.push(ServerLine {
            name: name.to_string(),
            label,
            bar,
            step: None,
            steps_done: 0,
        });
        self.overall.set_length(self.servers.len() as u64);
        self.servers.len() - 1
    }

    /// The line of `server`, added on the fly if `Started` did not list it.
    fn line(&mut self, server: &str) -> &mut ServerLine {
        let i = match self
            .servers
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(server))
        {
            Some(i) => i,
            None => self.add_server(server, None),
        };
        &mut self.servers[i]
    }

    fn working(line: &ServerLine) {
        if line.bar.is_finished() {
            return;
        }
        line.bar.set_style(style(WORKING_TEMPLATE));
        line.bar.enable_steady_tick(TICK);
    }

    fn ended(line: &ServerLine, mark: &str, text: &str) {
        line.bar.disable_steady_tick();
        line.bar.set_style(style(ENDED_TEMPLATE));
        line.bar
            .finish_with_message(format!("{mark} {} {text}", line.label));
    }
}

impl Progress for BarsProgress {
    fn event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started { servers, .. } => {
                self.name_width = servers
                    .iter()
                    .map(|(n, _)| n.chars().count())
                    .max()
                    .unwrap_or(0);
                self.dag_width = servers
                    .iter()
                    .map(|(_, d)| d.as_deref().unwrap_or("-").chars().count())
                    .max()
                    .unwrap_or(0);
                for (name, dag) in servers {
                    if !self
                        .servers
                        .iter()
                        .any(|s| s.name.eq_ignore_ascii_case(name))
                    {
                        self.add_server(name, dag.as_deref());
                    }
                }
                self.note(&event_line(event));
            }
            RunEvent::Note { .. } => self.note(&event_line(event)),
            RunEvent::ServerStarted { server } => {
                let line = self.line(server);
                line.bar.reset_elapsed();
                line.bar.set_message("starting");
                Self::working(line);
            }
            RunEvent::ServerSkipped { server, reason } => {
                let line = self.line(server);
                Self::ended(line, "–", &format!("skipped: {}", one_line(reason)));
                self.overall.inc(1);
            }
            RunEvent::StepStarted { server, step } => {
                let line = self.line(server);
                line.step = Some(step.to_string());
                line.bar.set_message(step.to_string());
                Self::working(line);
            }
            RunEvent::StepProgress {
                server,
                step,
                message,
            } => {
                let line = self.line(server);
                line.bar
                    .set_message(format!("{step}: {}", one_line(message)));
            }
            RunEvent::StepFinished {
                server,
                step,
                already_done,
                elapsed,
                ..
            } => {
                let line = self.line(server);
                line.steps_done += 1;
                line.bar.set_message(format!(
                    "{step} {} in {}",
                    if *already_done {
                        "already done"
                    } else {
                        "done"
                    },
                    format_duration(*elapsed)
                ));
            }
            RunEvent::StepSkipped { server, step, .. } => {
                let line = self.line(server);
                line.steps_done += 1;
                line.bar
                    .set_message(format!("{step} done in an earlier run"));
            }
            RunEvent::StepFailed {
                server,
                step,
                elapsed,
                ..
            } => {
                let line = self.line(server);
                line.step = Some(step.to_string());
                Self::ended(
                    line,
                    "✗",
                    &format!("{step} FAILED after {}", format_duration(*elapsed)),
                );
                // The error itself can be long (setup's [ERROR] lines): it
                // goes above the bars in full, the bar keeps one line.
                self.note(&event_line(event));
            }
            RunEvent::ServerFinished { server, elapsed } => {
                let line = self.line(server);
                let steps = line.steps_done;
                Self::ended(
                    line,
                    "✓",
                    &format!(
                        "done in {} ({steps} step{})",
                        format_duration(*elapsed),
                        if steps == 1 { "" } else { "s" }
                    ),
                );
                self.overall.inc(1);
            }
            RunEvent::Finished { ok, .. } => {
                for line in &self.servers {
                    line.bar.disable_steady_tick();
                    if !line.bar.is_finished() {
                        // Servers never reached stay visible as they were.
                        line.bar.abandon();
                    }
                }
                // `finish` would fill the bar; a stopped rollout keeps its count.
                if *ok {
                    self.overall.finish_with_message("done");
                } else {
                    self.overall.abandon_with_message("stopped");
                }
                self.note(&event_line(event));
            }
        }
    }
}

/// Wraps a display and also sends every event to the `tracing` log, so
/// the log file holds the run's story even when the display is hidden.
pub struct Logged<P>(pub P);

impl<P: Progress> Progress for Logged<P> {
    fn event(&mut self, event: &RunEvent) {
        log_event(event);
        self.0.event(event);
    }
}

/// Sends one event to the `tracing` log with structured fields.
pub fn log_event(event: &RunEvent) {
    const T: &str = "cu_roll::run";
    match event {
        RunEvent::Started { servers, resumed } => {
            let names: Vec<&str> = servers.iter().map(|(n, _)| n.as_str()).collect();
            tracing::info!(target: T, resumed, servers = %names.join(","), "rollout started");
        }
        RunEvent::Note { server, message } => {
            tracing::info!(target: T, server = server.as_deref().unwrap_or(""), "{message}");
        }
        RunEvent::ServerStarted { server } => {
            tracing::info!(target: T, server, "server started");
        }
        RunEvent::ServerSkipped { server, reason } => {
            tracing::info!(target: T, server, reason, "server skipped");
        }
        RunEvent::StepStarted { server, step } => {
            tracing::info!(target: T, server, step = step.id(), "step started");
        }
        RunEvent::StepProgress {
            server,
            step,
            message,
        } => {
            tracing::debug!(target: T, server, step = step.id(), "{message}");
        }
        RunEvent::StepFinished {
            server,
            step,
            already_done,
            detail,
            elapsed,
        } => {
            tracing::info!(
                target: T,
                server,
                step = step.id(),
                already_done,
                elapsed_s = elapsed.as_secs_f64(),
                detail,
                "step done"
            );
        }
        RunEvent::StepSkipped {
            server,
            step,
            reason,
        } => {
            tracing::info!(target: T, server, step = step.id(), reason, "step skipped");
        }
        RunEvent::StepFailed {
            server,
            step,
            error,
            elapsed,
        } => {
            tracing::error!(
                target: T,
                server,
                step = step.id(),
                elapsed_s = elapsed.as_secs_f64(),
                error,
                "step failed"
            );
        }
        RunEvent::ServerFinished { server, elapsed } => {
            tracing::info!(target: T, server, elapsed_s = elapsed.as_secs_f64(), "server finished");
        }
        RunEvent::Finished {
            ok,
            message,
            elapsed,
        } => {
            if *ok {
                tracing::info!(target: T, elapsed_s = elapsed.as_secs_f64(), message, "rollout done");
            } else {
                tracing::warn!(target: T, elapsed_s = elapsed.as_secs_f64(), message, "rollout stopped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

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
        2026-11-27T10:00:03Z EX02 health FAILED after 2.0s: Test-ServiceHealth: MSExchangeIS not running\nsecond line
        2026-11-27T10:00:03Z rollout STOPPED after 1h02m: EX02 health failed
        ");
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
        assert_eq!(ex01.bar.message(), "✓ EX01  DAG01 done in 1m02s (2 steps)");
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
}
