//! Webhook notifications for an unattended rollout (`[[notify]]` in the
//! plan): start, each server done, a failure, an interruption and the end
//! with the run report's summary, sent as cu-roll's JSON object or as a
//! Teams or Slack message (`format`).
//!
//! Notifications never stop or slow the rollout: each target has its own
//! worker thread and queue, so the rollout only enqueues; a message that
//! fails is retried briefly, then logged (`cu-roll.log`, target
//! `cu_roll::notify`) and dropped. At the end [`Notifier::finish`] waits a
//! bounded time for the queues to drain. The secret header's value and the
//! URL's path (Teams and Slack put their token there) are never logged or
//! shown: only the scheme and host are.
//!
//! The rooms: `message` (what a notification says), `format` (the body per
//! format), `send` (the one HTTP call), `progress` (the rollout's events
//! turned into notifications). This module decides nothing about the
//! rollout and never touches the journal.

mod format;
mod message;
mod progress;
mod send;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

pub use message::{Message, RunContext, Summary};
pub use progress::NotifyingProgress;

use crate::plan::{NotifyEvent, NotifyTarget, Plan, Secret, SecretError};
use crate::report::run::RunReport;
use crate::runbook::schedule::{RolloutError, RolloutOutcome};

/// How long one POST may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Waits before the second and third attempt of a message.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];
/// How long [`Notifier::finish`] waits for unsent messages, in all.
pub const DRAIN_BOUND: Duration = Duration::from_secs(10);

/// Why notifications could not be set up (before anything changed).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("[[notify]] number {number} ({url}): {detail}")]
    Secret {
        number: usize,
        url: String,
        detail: String,
    },
    #[error("[[notify]] number {number} ({url}): cannot set up the HTTP client: {detail}")]
    Client {
        number: usize,
        url: String,
        detail: String,
    },
}

/// The running notifications of one run. Without `[[notify]]` it has no
/// workers and every call does nothing.
pub struct Notifier {
    context: RunContext,
    workers: Vec<Worker>,
    /// Set when a `failure` was sent, so the outcome does not repeat it.
    failure_sent: AtomicBool,
    /// When the drain must end; set by `finish`, read by the workers.
    deadline: Arc<OnceLock<Instant>>,
    done: Mutex<Receiver<Delivery>>,
}

struct Worker {
    events: Vec<NotifyEvent>,
    queue: Mutex<Option<Sender<Arc<Message>>>>,
    shown: String,
}

/// What one worker reports when its queue is closed and drained.
struct Delivery {
    shown: String,
    sent: usize,
    failed: Vec<String>,
}

impl Notifier {
    /// Reads each target's secret (refusing a missing one now, before the
    /// rollout changes anything) and starts one worker per target.
    pub fn start(plan: &Plan, context: RunContext) -> Result<Notifier, NotifyError> {
        let deadline = Arc::new(OnceLock::new());
        let (done_tx, done) = mpsc::channel();
        let mut workers = Vec::new();
        for (i, target) in plan.notify.iter().enumerate() {
            let shown = target.url.shown();
            let secret =
                crate::plan::read_secret(&target.secret).map_err(|e| NotifyError::Secret {
                    number: i + 1,
                    url: shown.clone(),
                    detail: secret_problem(e),
                })?;
            let client =
                send::Client::new(REQUEST_TIMEOUT).map_err(|detail| NotifyError::Client {
                    number: i + 1,
                    url: shown.clone(),
                    detail,
                })?;
            let (tx, rx) = mpsc::channel::<Arc<Message>>();
            let job = Job {
                target: target.clone(),
                secret,
                client,
                deadline: Arc::clone(&deadline),
                shown: shown.clone(),
            };
            let done_tx = done_tx.clone();
            std::thread::Builder::new()
                .name(format!("notify-{}", i + 1))
                .spawn(move || {
                    let _ = done_tx.send(job.run(&rx));
                })
                .map_err(|e| NotifyError::Client {
                    number: i + 1,
                    url: shown.clone(),
                    detail: e.to_string(),
                })?;
            workers.push(Worker {
                events: target.events.clone(),
                queue: Mutex::new(Some(tx)),
                shown,
            });
        }
        Ok(Notifier {
            context,
            workers,
            failure_sent: AtomicBool::new(false),
            deadline,
            done: Mutex::new(done),
        })
    }

    pub fn context(&self) -> &RunContext {
        &self.context
    }

    /// Queues `m` for every target that wants its event; returns at once.
    pub fn send(&self, m: Message) {
        if m.event == NotifyEvent::Failure {
            self.failure_sent.store(true, Ordering::SeqCst);
        }
        let m = Arc::new(m);
        for w in self.workers.iter().filter(|w| w.events.contains(&m.event)) {
            if let Some(q) = w
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                let _ = q.send(Arc::clone(&m));
            }
        }
    }

    /// Sends what the rollout's outcome adds: an interruption, or a
    /// failure that no failed step announced (a gate refusal, the final
    /// check, a journal that could not be written).
    pub fn outcome(&self, outcome: &Result<RolloutOutcome, RolloutError>) {
        let sent = self.failure_sent.load(Ordering::SeqCst);
        let m = match outcome {
            Ok(o) => self.context.from_outcome(o, sent),
            Err(e) => Some(
                self.context
                    .message(NotifyEvent::Failure, format!("the rollout stopped: {e}")),
            ),
        };
        if let Some(m) = m {
            self.send(m);
        }
    }

    /// The pre-flight gate refused a fresh start: nothing was changed.
    pub fn blocked(&self, blockers: &[String]) {
        self.send(self.context.message(
            NotifyEvent::Failure,
            format!(
                "rollout of {} not started: the pre-flight report is blocked: {}",
                self.context.plan,
                blockers.join("; ")
            ),
        ));
    }

    /// `end`, with the run report's summary; `html` is the HTML run
    /// report when it was written.
    pub fn end(&self, report: &RunReport, html: Option<&Path>) {
        let label = report
            .runs
            .last()
            .and_then(|r| r.outcome.clone())
            .unwrap_or_else(|| report.outcome.clone());
        self.send(self.context.end(&label, Summary::of(report, html)));
    }

    /// Closes the queues and waits at most `bound` for them to drain.
    /// Returns one warning per target that lost messages, for the caller
    /// to print (the details are in the log).
    pub fn finish(self, bound: Duration) -> Vec<String> {
        let _ = self.deadline.set(Instant::now() + bound);
        for w in &self.workers {
            w.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
        let mut warnings = Vec::new();
        let mut reported: Vec<String> = Vec::new();
        let end = Instant::now() + bound;
        let done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while reported.len() < self.workers.len() {
            let left = end.saturating_duration_since(Instant::now());
            let Ok(d) = done.recv_timeout(left) else {
                break;
            };
            if !d.failed.is_empty() {
                warnings.push(format!(
                    "{} of {} notification{} to {} could not be delivered ({}); see cu-roll.log",
                    d.failed.len(),
                    d.failed.len() + d.sent,
                    if d.failed.len() + d.sent == 1 {
                        ""
                    } else {
                        "s"
                    },
                    d.shown,
                    d.failed.last().map_or("", String::as_str)
                ));
            }
            reported.push(d.shown);
        }
        for w in &self.workers {
            if let Some(i) = reported.iter().position(|s| *s == w.shown) {
                reported.remove(i);
            } else {
                tracing::warn!(target: "cu_roll::notify", webhook = %w.shown, "notifications still unsent after {}s; given up", bound.as_secs());
                warnings.push(format!(
                    "notifications to {} were still unsent after {}s and were given up (the receiver did not answer)",
                    w.shown,
                    bound.as_secs()
                ));
            }
        }
        warnings
    }
}

/// Why the secret header's value could not be read, in the words of a
/// webhook secret (the plan's reader speaks of the connection password).
fn secret_problem(e: SecretError) -> String {
    match e {
        SecretError::EnvMissing(name) => format!(
            "the secret header's value is read from the environment variable {name}, which is not set; \
             export it before running cu-roll"
        ),
        SecretError::File { path, detail } => format!(
            "cannot read the secret file {path}: {detail}; its first line must be the header's value"
        ),
        SecretError::FileEmpty(path) => {
            format!("the secret file {path} is empty; its first line must be the header's value")
        }
    }
}

/// One target's worker: sends its queue in order, each message with a
/// few attempts, until the queue is closed and empty or the drain's
/// deadline passes.
struct Job {
    target: NotifyTarget,
    secret: Option<Secret>,
    client: send::Client,
    deadline: Arc<OnceLock<Instant>>,
    shown: String,
}

impl Job {
    fn run(self, queue: &Receiver<Arc<Message>>) -> Delivery {
        let mut delivery = Delivery {
            shown: self.shown.clone(),
            sent: 0,
            failed: Vec::new(),
        };
        while let Ok(m) = queue.recv() {
            if self.past_deadline() {
                delivery
                    .failed
                    .push("not sent before the drain's deadline".into());
                continue;
            }
            match self.deliver(&m) {
                Ok(()) => delivery.sent += 1,
                Err(e) => {
                    tracing::warn!(
                        target: "cu_roll::notify",
                        webhook = %self.shown,
                        event = m.event.as_str(),
                        "notification not delivered: {e}"
                    );
                    delivery.failed.push(e);
                }
            }
        }
        delivery
    }

    fn past_deadline(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }

    /// Up to three attempts, with short waits between, none past the
    /// drain's deadline.
    fn deliver(&self, m: &Message) -> Result<(), String> {
        let body =
            serde_json::to_vec(&format::body(self.target.format, m)).map_err(|e| e.to_string())?;
        let secret = self
            .secret
            .as_ref()
            .map(|s| (self.target.secret_header.as_str(), s));
        let mut last = String::new();
        for attempt in 0..=RETRY_DELAYS.len() {
            if attempt > 0 {
                let wait = RETRY_DELAYS[attempt - 1];
                if self
                    .deadline
                    .get()
                    .is_some_and(|d| Instant::now() + wait >= *d)
                {
                    break;
                }
                std::thread::sleep(wait);
            }
            match self.client.post(self.target.url.expose(), &body, secret) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::debug!(target: "cu_roll::notify", webhook = %self.shown, attempt = attempt + 1, "notification attempt failed: {e}");
                    last = e;
                }
            }
        }
        Err(last)
    }
}
