//! What a runbook step is: an id from the contract, and a reconcile loop
//! (observe → decide → act → wait) run against one server through a
//! `StepContext`. Steps never touch the journal or the terminal directly:
//! they report what they changed and saw through `StepEvents`, and the
//! scheduler journals it.

use std::fmt;
use std::time::Duration;

use crate::catalog::ExchangeBuild;
use crate::exchange::act::Action;
use crate::exchange::{self, ExchangeState, Operation, ServerFacts};
use crate::exec::{ExecError, ExecOutput, Executor};
use crate::journal::{Baseline, Change};
use crate::plan::{Plan, ResolvedTarget, Server};
use crate::ps::Script;

/// The per-server steps, in the order they run. The ids are part of the
/// user-facing contract (journal, status, `during = "EX02:setup"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepId {
    BackupConfig,
    EnterMaintenance,
    RebootBeforeSetup,
    Setup,
    SecurityUpdate,
    RebootAfterSetup,
    ExitMaintenance,
    Health,
    Redistribute,
    /// Active Directory preparation (`Setup.exe /PrepareSchema|/PrepareAD|
    /// /PrepareAllDomains`): not a per-server step, so not in `ALL`; the
    /// scheduler runs it once, on the first server to be rolled, before
    /// that server's first step, and journals it under that server.
    PrepareAd,
    /// Active Directory preparation for a domain level the target's SU
    /// raises (`%ExchangeInstallPath%Bin\Setup.exe /PrepareAllDomains`):
    /// not a per-server step either; the scheduler runs it once, on the
    /// first server that reached the target, before it is journaled done.
    PrepareAdSu,
}

impl StepId {
    pub const ALL: [StepId; 9] = [
        StepId::BackupConfig,
        StepId::EnterMaintenance,
        StepId::RebootBeforeSetup,
        StepId::Setup,
        StepId::SecurityUpdate,
        StepId::RebootAfterSetup,
        StepId::ExitMaintenance,
        StepId::Health,
        StepId::Redistribute,
    ];

    pub fn id(self) -> &'static str {
        match self {
            StepId::BackupConfig => "backup-config",
            StepId::EnterMaintenance => "enter-maintenance",
            StepId::RebootBeforeSetup => "reboot-before-setup",
            StepId::Setup => "setup",
            StepId::SecurityUpdate => "security-update",
            StepId::RebootAfterSetup => "reboot-after-setup",
            StepId::ExitMaintenance => "exit-maintenance",
            StepId::Redistribute => "redistribute",
            StepId::Health => "health",
            StepId::PrepareAd => "prepare-ad",
            StepId::PrepareAdSu => "prepare-ad-su",
        }
    }

    pub fn from_id(id: &str) -> Option<StepId> {
        StepId::ALL
            .into_iter()
            .chain([StepId::PrepareAd, StepId::PrepareAdSu])
            .find(|s| s.id() == id)
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// How a step ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step acted and the observation now says done.
    Done { detail: String },
    /// The observation said done before acting: nothing was changed.
    AlreadyDone { detail: String },
}

impl StepOutcome {
    pub fn detail(&self) -> &str {
        match self {
            StepOutcome::Done { detail } | StepOutcome::AlreadyDone { detail } => detail,
        }
    }
}

/// Why a step stopped. The message says what happened, where, and what to
/// do next; the server is left in the state the message describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub kind: StepErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepErrorKind {
    /// A command failed or the server reported a failure (setup's exit code…).
    Failed,
    /// A wait ran past its `[policy.timeouts]` limit.
    Timeout,
    /// The server could not be reached.
    Unreachable,
    /// A gate refused: taking this server down now would risk a database.
    GateRefused,
    /// The server answered something cu-roll cannot understand.
    BadOutput,
    /// Ctrl-C or SIGTERM: the step stopped at a safe point (a wait); the
    /// message says what still runs on the server.
    Interrupted,
}

impl StepError {
    pub fn new(kind: StepErrorKind, message: impl Into<String>) -> Self {
        StepError {
            kind,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(StepErrorKind::Failed, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StepErrorKind::Timeout, message)
    }
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(StepErrorKind::Interrupted, message)
    }

    /// Appends `extra` to the message, keeping the kind. An interrupt's
    /// message stays as it is: the context a wait adds explains a timeout
    /// or a failure (a stuck queue, a hung reboot), not a stop the operator
    /// asked for.
    pub fn with_context(mut self, extra: &str) -> Self {
        if !extra.is_empty() && self.kind != StepErrorKind::Interrupted {
            self.message = format!("{}. {}", self.message.trim_end_matches('.'), extra);
        }
        self
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ExecError> for StepError {
    fn from(e: ExecError) -> Self {
        let kind = match e {
            // A stop the operator asked for, in the wait for an answer: a
            // safe point like any wait (the intent stays without outcome).
            ExecError::Interrupted { .. } => StepErrorKind::Interrupted,
            // A dropped connection is "no answer right now", like a refused one.
            ExecError::Unreachable { .. }
            | ExecError::Unresolved { .. }
            | ExecError::Timeout { .. }
            | ExecError::Transport { .. } => StepErrorKind::Unreachable,
            _ => StepErrorKind::Failed,
        };
        StepError::new(kind, e.to_string())
    }
}

impl From<crate::exchange::QueryError> for StepError {
    fn from(e: crate::exchange::QueryError) -> Self {
        match e {
            crate::exchange::QueryError::Exec(x) => x.into(),
            crate::exchange::QueryError::BadOutput { .. } => {
                StepError::new(StepErrorKind::BadOutput, e.to_string())
            }
            crate::exchange::QueryError::ScriptFailed { .. }
            | crate::exchange::QueryError::SetupRunning { .. } => StepError::failed(e.to_string()),
        }
    }
}

/// Where a step reports what it does; the scheduler journals `changed` and
/// `observed` durably before the step goes on, and shows `progress`.
pub trait StepEvents {
    /// Write-ahead: record what the next command will change (and what
    /// the server looked like before cu-roll's maintenance, when known),
    /// durably, *before* it is sent.
    fn intent(&mut self, changes: &[Change], before: Option<&Baseline>) -> Result<(), StepError>;
    /// Record a change cu-roll made, *before* making it would be too late
    /// to undo: call it right after the command that made it succeeded.
    fn changed(&mut self, change: Change) -> Result<(), StepError>;
    /// Record something found on the server (e.g. pre-existing state).
    fn observed(&mut self, what: String) -> Result<(), StepError>;
    /// A short progress message for the display (not journaled).
    fn progress(&mut self, message: &str);
}

/// Time, as waits see it: real in production, fake in unit tests. It also
/// carries the operator's interrupt (Ctrl-C, SIGTERM), because a wait is
/// where a step can stop safely.
pub trait Clock: Send + Sync {
    fn sleep(&self, d: Duration);
    fn now(&self) -> std::time::Instant;
    /// True once the run was asked to stop at its next safe point.
    fn interrupted(&self) -> bool {
        false
    }
    /// The wall-clock time in ms since the Unix epoch, as the maintenance
    /// window (`not_after`) is judged by: the system's, or the lab's.
    fn wall_ms(&self) -> i64 {
        system_wall_ms()
    }
}

/// The system's wall clock in ms since the Unix epoch.
pub fn system_wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
    fn now(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
}

/// Everything a step may use.
pub struct StepContext<'a> {
    pub plan: &'a Plan,
    pub target: &'a ResolvedTarget,
    /// The server being rolled.
    pub server: &'a Server,
    /// The other members of its DAG, in plan order.
    pub peers: Vec<&'a Server>,
    pub exec: &'a dyn Executor,
    /// How Exchange cmdlets reach Exchange: the session credential and the
    /// servers the scheduler believes in service (peer choice).
    pub exchange: exchange::Reach<'a>,
    pub clock: &'a dyn Clock,
    pub events: &'a mut dyn StepEvents,
    /// Changes cu-roll journaled for this server earlier in this rollout
    /// (including before a crash): a step undoes only these.
    pub prior_changes: Vec<Change>,
    /// What the server looked like before cu-roll's maintenance: from the
    /// journal, or set by `enter-maintenance` from its first observation.
    /// Exit-maintenance restores and verifies every value against it.
    pub observed_before: Option<Baseline>,
}

impl StepContext<'_> {
    /// Sends `op` for the server being rolled.
    pub fn run_ps(&self, op: &Operation) -> Result<ExecOutput, StepError> {
        Ok(exchange::run(&self.exchange, self.server, op)?)
    }

    /// Sends `op` and fails the step when it exits non-zero, quoting the
    /// server's first error line.
    pub fn run_ps_ok(&self, op: &Operation) -> Result<ExecOutput, StepError> {
        let out = self.run_ps(op)?;
        if out.success() {
            Ok(out)
        } else {
            Err(StepError::failed(format!(
                "{} failed on {} (exit code {}): {}",
                op.script.purpose,
                self.server.name,
                out.exit_code,
                crate::exchange::first_error_line(&out.stderr)
            )))
        }
    }

    /// [`StepContext::run_ps_ok`] with another account's credential for
    /// a `TargetWithCredential` operation (the installer's task account).
    pub fn run_ps_ok_as(
        &self,
        op: &Operation,
        credential: &exchange::Credential,
    ) -> Result<ExecOutput, StepError> {
        let reach = exchange::Reach {
            credential,
            ..self.exchange.clone()
        };
        let out = exchange::run(&reach, self.server, op)?;
        if out.success() {
            return Ok(out);
        }
        Err(StepError::failed(format!(
            "{} failed on {} (exit code {}): {}",
            op.script.purpose,
            self.server.name,
            out.exit_code,
            crate::exchange::first_error_line(&out.stderr)
        )))
    }

    /// Journals the intent to make `changes` (write-ahead), with the
    /// baseline when known: call it right before sending the command.
    pub fn intend(&mut self, changes: &[Change]) -> Result<(), StepError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.events.intent(changes, self.observed_before.as_ref())
    }

    /// Journals the intent (write-ahead), sends `action` (failing the step
    /// on a non-zero exit) and journals its changes right after it
    /// succeeded; `made` collects them for the undo hint of a later failure.
    pub fn act(&mut self, action: &Action, made: &mut Vec<Change>) -> Result<(), StepError> {
        self.act_with_output(action, made).map(|_| ())
    }

    /// [`act`](Self::act), keeping what the command printed (an action
    /// that reports its own results, e.g. the redistribution's moves).
    pub fn act_with_output(
        &mut self,
        action: &Action,
        made: &mut Vec<Change>,
    ) -> Result<ExecOutput, StepError> {
        self.events.progress(action.op.script.purpose);
        self.intend(&action.changes)?;
        let out = self.run_ps_ok(&action.op)?;
        if !action.changes.is_empty() {
            crate::runbook::crash_hook::after_change();
        }
        for change in &action.changes {
            self.events.changed(change.clone())?;
            made.push(change.clone());
        }
        Ok(out)
    }

    /// Sends `op` and parses the one JSON value it prints.
    pub fn query<T: serde::de::DeserializeOwned>(&self, op: &Operation) -> Result<T, StepError> {
        Ok(exchange::query(&self.exchange, self.server, op)?)
    }

    pub fn exchange_state(&self) -> Result<ExchangeState, StepError> {
        Ok(exchange::exchange_state(&self.exchange, self.server)?)
    }

    pub fn server_facts(&self) -> Result<ServerFacts, StepError> {
        Ok(exchange::server_facts(&self.exchange, self.server)?)
    }

    /// The build ExSetup.exe reports, or a BadOutput error naming the server.
    pub fn build(&self) -> Result<ExchangeBuild, StepError> {
        let facts = self.server_facts()?;
        facts.build().ok_or_else(|| {
            StepError::new(
                StepErrorKind::BadOutput,
                format!(
                    "{}: cannot read the Exchange build (ExSetup.exe ProductVersion was {:?}); \
                     check that Exchange is installed and HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Setup\\MsiInstallPath is set",
                    self.server.name, facts.ex_setup_version
                ),
            )
        })
    }

    /// Changes journaled earlier (`prior_changes`), then `made` in this run.
    pub fn all_changes(&self, made: &[Change]) -> Vec<Change> {
        self.prior_changes.iter().chain(made).cloned().collect()
    }

    /// Polls `check` every `poll_interval` until it returns `Some`, or fails
    /// with `what` after `timeout`, or with an `Interrupted` error once the
    /// run is asked to stop (a wait is a safe point).
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&mut Self) -> Result<Option<T>, StepError>,
    ) -> Result<T, StepError> {
        let start = self.clock.now();
        let mut polls = 0u32;
        loop {
            polls += 1;
            if self.clock.interrupted() {
                return Err(StepError::interrupted(format!(
                    "stopped while {what} on {}; what cu-roll changed there is journaled, and the next run observes where it stands and carries on",
                    self.server.name
                )));
            }
            if let Some(v) = check(self)? {
                tracing::debug!(
                    target: "cu_roll::calls",
                    server = %self.server.name,
                    polls,
                    ms = self.clock.now().duration_since(start).as_secs_f64() * 1000.0,
                    "waited: {what}"
                );
                return Ok(v);
            }
            if self.clock.now().duration_since(start) >= timeout {
                return Err(StepError::timeout(format!(
                    "{} on {}: still not done after {} (the [policy.timeouts] limit)",
                    what,
                    self.server.name,
                    humantime::format_duration(timeout)
                )));
            }
            self.clock.sleep(self.plan.policy.poll_interval);
        }
    }
}

/// One runbook step.
pub trait Step: Send + Sync {
    fn id(&self) -> StepId;

    /// Whether this step applies to this rollout at all (e.g.
    /// `security-update` only when the plan asks for one).
    fn applies(&self, plan: &Plan, target: &ResolvedTarget) -> bool {
        let _ = (plan, target);
        true
    }

    /// Observe, decide, act, wait.
    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError>;

    /// Every script this step may send for `server`, in order, with a label
    /// saying when it is sent (for `--dry-run`, snapshots and docs).
    fn scripts(
        &self,
        plan: &Plan,
        target: &ResolvedTarget,
        server: &Server,
        peers: &[&Server],
    ) -> Vec<PlannedCommand>;
}

/// A command a step may send, for dry-run output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCommand {
    /// When it is sent, e.g. `if HubTransport is not yet Draining`.
    pub when: String,
    pub command: PlannedText,
}

impl PlannedCommand {
    /// An observation or action sent with PowerShell: as sent, for an
    /// Exchange one inside its session (`Operation::shown`).
    pub fn ps(when: impl Into<String>, op: &Operation) -> PlannedCommand {
        PlannedCommand {
            when: when.into(),
            command: PlannedText::PowerShell(op.shown()),
        }
    }

    /// The reads `exchange::exchange_state` sends about `server`: its
    /// Exchange state in a session, then (for a DAG member) its cluster
    /// node's state on the server itself.
    pub fn exchange_state(when: impl Into<String>, server: &str) -> [PlannedCommand; 2] {
        let when = when.into();
        [
            PlannedCommand::ps(
                when.clone(),
                &crate::exchange::observe::read_exchange_state(server),
            ),
            PlannedCommand::ps(
                format!("{when} (then, for a DAG member, its cluster node on {server} itself)"),
                &crate::exchange::observe::read_cluster_node_state(server),
            ),
        ]
    }

    /// A cmd.exe line.
    pub fn cmd(when: impl Into<String>, line: impl Into<String>) -> PlannedCommand {
        PlannedCommand {
            when: when.into(),
            command: PlannedText::Cmd(line.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedText {
    PowerShell(Script),
    /// A cmd.exe command line.
    Cmd(String),
}

#[cfg(test)]
mod tests {
    use super::StepId;

    /// The plan validates `during = "<server>:<step>"` against its own list
    /// (plan must not depend on the runbook): both must name the same steps.
    #[test]
    fn plan_knows_the_same_step_ids_in_the_same_order() {
        let ids: Vec<&str> = StepId::ALL.iter().map(|s| s.id()).collect();
        assert_eq!(ids, lab::STEP_NAMES);
        for s in StepId::ALL {
            assert_eq!(StepId::from_id(s.id()), Some(s));
        }
    }
}
