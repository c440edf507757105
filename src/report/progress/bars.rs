//! The terminal board of the live display: one `indicatif` line per
//! server (waiting, working with a spinner, then ended with a mark) and an
//! overall bar below them; notes and failures are printed above the bars.
//!
//! Shows events only: it decides nothing and keeps no state a resumed run
//! relies on (that is the journal's job). Drawing errors are ignored, so a
//! closed terminal never stops a rollout.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::event_line;
use crate::report::text::{format_duration, one_line};
use crate::runbook::{Progress, RunEvent};

/// Spinner ticks while a server works.
const TICK: Duration = Duration::from_millis(120);
/// The overall bar's redraw while the rollout runs (its clock).
const CLOCK_TICK: Duration = Duration::from_secs(1);

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
    let g = crate::report::glyphs::for_console();
    ProgressStyle::with_template(template)
        .expect("the display's templates are constant and valid")
        .tick_chars(g.spinner)
        .progress_chars(g.bar)
}

/// One server's line on the board.
pub(super) struct ServerLine {
    name: String,
    /// Name and DAG, padded so every line's columns align.
    label: String,
    pub(super) bar: ProgressBar,
    pub(super) step: Option<String>,
    steps_done: usize,
    /// Steps a resumed run found done in an earlier run.
    steps_earlier: usize,
}

/// The terminal board: one line per server and an overall bar; notes and
/// failures go above the bars through [`MultiProgress::println`], never
/// through them.
pub struct BarsProgress {
    multi: MultiProgress,
    pub(super) overall: ProgressBar,
    pub(super) servers: Vec<ServerLine>,
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

    /// The board's handle, to hide it while a question is asked.
    pub(super) fn multi(&self) -> MultiProgress {
        self.multi.clone()
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
            steps_earlier: 0,
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

    /// Sizes the columns for the rollout's servers and adds a waiting line
    /// for each one not on the board yet.
    fn list_servers(&mut self, servers: &[(String, Option<String>)]) {
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
    }

    /// A step of `server` finished, in this run or (`earlier`) in an
    /// earlier one: count it and show `text` on its line.
    fn step_counted(&mut self, server: &str, earlier: bool, text: String) {
        let line = self.line(server);
        if earlier {
            line.steps_earlier += 1;
        } else {
            line.steps_done += 1;
        }
        line.bar.set_message(text);
    }

    fn server_finished(&mut self, server: &str, elapsed: Duration) {
        let line = self.line(server);
        let steps = line.steps_done;
        let earlier = match line.steps_earlier {
            0 => String::new(),
            n => format!("; {n} done in an earlier run"),
        };
        Self::ended(
            line,
            crate::report::glyphs::for_console().done,
            &format!(
                "done in {} ({steps} step{}{earlier})",
                format_duration(elapsed),
                if steps == 1 { "" } else { "s" }
            ),
        );
        self.overall.inc(1);
    }

    /// The rollout ended: every line stops ticking and the overall bar says
    /// `done`, or `stopped` with its count kept.
    fn close(&mut self, ok: bool) {
        for line in &self.servers {
            line.bar.disable_steady_tick();
            if !line.bar.is_finished() {
                // Servers never reached stay visible as they were.
                line.bar.abandon();
            }
        }
        self.overall.disable_steady_tick();
        // `finish` would fill the bar; a stopped rollout keeps its count.
        if ok {
            self.overall.finish_with_message("done");
        } else {
            self.overall.abandon_with_message("stopped");
        }
    }
}

impl Progress for BarsProgress {
    fn event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started { servers, .. } => {
                self.list_servers(servers);
                // The overall clock moves while a server works, not only
                // when one finishes.
                self.overall.enable_steady_tick(CLOCK_TICK);
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
                let mark = crate::report::glyphs::for_console().skipped;
                Self::ended(line, mark, &format!("skipped: {}", one_line(reason)));
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
                let done = if *already_done {
                    "already done"
                } else {
                    "done"
                };
                let text = format!("{step} {done} in {}", format_duration(*elapsed));
                self.step_counted(server, false, text);
            }
            RunEvent::StepSkipped { server, step, .. } => {
                self.step_counted(server, true, format!("{step} done in an earlier run"));
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
                    crate::report::glyphs::for_console().failed,
                    &format!("{step} FAILED after {}", format_duration(*elapsed)),
                );
                // The error itself can be long (setup's [ERROR] lines): it
                // goes above the bars in full, the bar keeps one line.
                self.note(&event_line(event));
            }
            RunEvent::ServerFinished { server, elapsed } => self.server_finished(server, *elapsed),
            RunEvent::Finished { ok, .. } => {
                self.close(*ok);
                self.note(&event_line(event));
            }
        }
    }
}
