//! The rollout's events as notifications: a [`Progress`] that passes every
//! event on to the display it wraps and, for the few that matter to
//! someone away from the console (the start, a server done, a failed
//! step), queues a notification. Queuing returns at once; sending is the
//! workers' job.

use super::Notifier;
use crate::plan::NotifyEvent;
use crate::runbook::{Progress, RunEvent};

/// The display, plus notifications.
pub struct NotifyingProgress<'n> {
    inner: Box<dyn Progress>,
    notifier: &'n Notifier,
    /// Each server's DAG, from the start event.
    dags: Vec<(String, Option<String>)>,
}

impl<'n> NotifyingProgress<'n> {
    pub fn new(inner: Box<dyn Progress>, notifier: &'n Notifier) -> Self {
        NotifyingProgress {
            inner,
            notifier,
            dags: Vec::new(),
        }
    }

    fn dag(&self, server: &str) -> Option<String> {
        self.dags
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(server))
            .and_then(|(_, d)| d.clone())
    }

    fn notify(&mut self, event: &RunEvent) {
        let ctx = self.notifier.context();
        let m = match event {
            RunEvent::Started { servers, resumed } => {
                self.dags = servers.clone();
                let names: Vec<String> = servers.iter().map(|(s, _)| s.clone()).collect();
                let mut m = ctx.message(
                    NotifyEvent::Start,
                    format!(
                        "rollout of {} to {} {}: {} server{} in order {}",
                        ctx.plan,
                        ctx.target,
                        if *resumed { "resumed" } else { "started" },
                        names.len(),
                        if names.len() == 1 { "" } else { "s" },
                        names.join(", ")
                    ),
                );
                m.servers = names;
                m.resumed = Some(*resumed);
                m
            }
            RunEvent::ServerFinished { server, elapsed } => {
                let mut m = ctx.message(
                    NotifyEvent::ServerDone,
                    format!(
                        "{server} is done in {}: at the target and back in service",
                        crate::report::text::format_duration(*elapsed)
                    ),
                );
                m.server = Some(server.clone());
                m.dag = self.dag(server);
                m.elapsed_seconds = Some(elapsed.as_secs_f64());
                m
            }
            RunEvent::StepFailed {
                server,
                step,
                error,
                ..
            } => {
                let mut m = ctx.message(
                    NotifyEvent::Failure,
                    format!("{server} {step} failed: {error}"),
                );
                m.server = Some(server.clone());
                m.dag = self.dag(server);
                m.step = Some(step.to_string());
                m
            }
            _ => return,
        };
        self.notifier.send(m);
    }
}

impl Progress for NotifyingProgress<'_> {
    fn event(&mut self, event: &RunEvent) {
        self.inner.event(event);
        self.notify(event);
    }
}
