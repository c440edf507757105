//! Judging an `ExchangeSetup.log` the way CSS-Exchange's SetupLogReviewer
//! does (`Setup/SetupLogReviewer/SetupLogReviewer.ps1`,
//! `Setup/Shared/SetupLogReviewer{Functions,Logic}.ps1` and the checks under
//! `Setup/SetupLogReviewer/Checks/`, microsoft/CSS-Exchange, MIT): setup
//! appends every run to the same file, only the last run counts, and that
//! run says which setup and installed builds met, how it ended, which
//! readiness rules failed, which `[ERROR]`s stopped it, and in what context
//! (user, server, domain, AD site, schema master).
//!
//! This module owns the one reader of that log: `cu-roll setup-log` prints
//! its [`SetupLogReview`], and the `setup` and `prepare-ad` steps judge the
//! log they fetch from a server with the same [`review`]. It is pure text in,
//! verdict out ([`tail`] is the only I/O: reading the last run of a large
//! file; [`pieces`] holds the commands that read it from a server in
//! bounded pieces, which the steps run). It must not decide what a rollout
//! does with the verdict (that is the runbook's job), and it does not run
//! anything on a server.

mod advice;
mod parse;
pub mod pieces;
pub mod stage;
pub mod table;
pub mod tail;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use serde::Serialize;

pub use advice::Advice;

/// The version of the JSON shape below; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// How the last run ended, as the log tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The line `The Exchange Server setup operation completed successfully.`
    Succeeded,
    /// The readiness checks refused: `Failed [Rule:…]` lines.
    PrerequisitesFailed,
    /// `[ERROR]` lines, `Setup is stopping now…`, `…didn't complete.` or
    /// `End of Setup` without the success line.
    Failed,
    /// None of the above yet: setup is still running (or was killed before
    /// it could write its end).
    Running,
    /// The text has no `Starting Microsoft Exchange Server … Setup` line.
    /// `cu-roll setup-log` refuses such a file (exit 2) instead of printing it.
    NoRun,
}

/// Who ran setup where, as the last run logs it (SetupLogReviewer's
/// "Additional Context", `Checks/FindContext/Test-PrerequisiteCheck.ps1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetupContext {
    /// `Logged on user: SOLO\Han.`
    pub user: Option<String>,
    /// The readiness setting `ComputerNameDnsFullyQualified`.
    pub server: Option<String>,
    /// The second label of `server` (`Solo-E16A.Child.Solo.net` → `Child`),
    /// as SetupLogReviewer derives it.
    pub domain: Option<String>,
    /// The readiness setting `SiteName`.
    pub ad_site: Option<String>,
    /// `… Setup will attempt to use the Schema Master domain controller X`.
    pub schema_master: Option<String>,
    /// The second label of `schema_master`.
    pub schema_master_domain: Option<String>,
    /// `… on a computer in the domain D and site S, and wait for replication to complete`.
    pub schema_master_site: Option<String>,
    /// The readiness setting `DomainController`.
    pub domain_controller: Option<String>,
    /// The readiness setting `DomainControllerSiteName`.
    pub domain_controller_site: Option<String>,
}

/// What the last run of a setup log says. Every field comes from that run
/// only; a field the run does not log is `None` / empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupLogReview {
    pub schema_version: u32,
    /// The time stamp of the run's start line, as logged (`MM/dd/yyyy HH:mm:ss.ffff`).
    pub run_started: Option<String>,
    /// `Microsoft Exchange Server 2019`, from the start line.
    pub product: Option<String>,
    /// `Setup version: 15.1.2106.2.`: the build of the media that ran.
    pub setup_version: Option<String>,
    /// `The locally installed version is 15.1.2106.2.`: the build of the
    /// installed Exchange files (ExSetup.exe) when this run started.
    pub installed_version: Option<String>,
    /// `The backup copy of the previously installed version is '15.1.1713.5'.`:
    /// the build before an earlier upgrade attempt that did not finish.
    pub previous_version: Option<String>,
    /// `The installation mode is set to: 'BuildToBuildUpgrade'.`
    pub mode: Option<String>,
    /// `Command Line Parameter Name='mode', Value='Upgrade'.` (what
    /// SetupLogReviewer prints as "Setup Mode").
    pub command_line_mode: Option<String>,
    pub outcome: Outcome,
    /// Names of the `Failed [Rule:…]` lines, in log order, each once.
    pub failed_rules: Vec<String>,
    /// The `[Message:…]` of each failed rule.
    pub rule_messages: IndexMap<String, String>,
    /// The `[ERROR]` texts, in log order, each once (see `parse.rs` for how a
    /// multi-line error is shortened).
    pub errors: Vec<String>,
    /// The last `[ERROR-REFERENCE] Id=…`: the setup task that failed.
    pub error_reference: Option<String>,
    /// A build-to-build upgrade whose installed version already equals the
    /// setup version: an earlier attempt copied the new build's files and
    /// did not finish configuring the roles.
    pub previous_attempt_incomplete: bool,
    pub context: SetupContext,
    /// What SetupLogReviewer (and cu-roll) would tell the admin to do.
    pub advice: Vec<Advice>,
}

/// Judges the last run in `log_text` (the whole log, or any tail of it that
/// starts at or before the last run's start line).
pub fn review(log_text: &str) -> SetupLogReview {
    let Some(run) = parse::last_run(log_text) else {
        return SetupLogReview::empty();
    };
    let facts = parse::RunFacts::of(&run);
    let outcome = facts.outcome();
    let previous_attempt_incomplete = facts.previous_attempt_incomplete();
    let context = facts.context(&run);
    let mut review = SetupLogReview {
        schema_version: SCHEMA_VERSION,
        run_started: run.started().map(str::to_string),
        product: run.product().map(str::to_string),
        setup_version: facts.setup_version.clone(),
        installed_version: facts.installed_version.clone(),
        previous_version: facts.previous_version.clone(),
        mode: facts.mode.clone(),
        command_line_mode: facts.command_line_mode.clone(),
        outcome,
        failed_rules: facts.failed_rules.iter().map(|r| r.0.clone()).collect(),
        rule_messages: facts.failed_rules.iter().cloned().collect(),
        errors: facts.errors.clone(),
        error_reference: facts.error_reference.clone(),
        previous_attempt_incomplete,
        context,
        advice: Vec::new(),
    };
    review.advice = advice::advise(&run, &facts, &review);
    review
}

impl SetupLogReview {
    fn empty() -> SetupLogReview {
        SetupLogReview {
            schema_version: SCHEMA_VERSION,
            run_started: None,
            product: None,
            setup_version: None,
            installed_version: None,
            previous_version: None,
            mode: None,
            command_line_mode: None,
            outcome: Outcome::NoRun,
            failed_rules: Vec::new(),
            rule_messages: IndexMap::new(),
            errors: Vec::new(),
            error_reference: None,
            previous_attempt_incomplete: false,
            context: SetupContext::default(),
            advice: Vec::new(),
        }
    }

    /// `Failed [Rule:X] [Message:M]` as `X: M`, for one-line summaries.
    pub fn rule_failures(&self) -> Vec<String> {
        self.failed_rules
            .iter()
            .map(|r| match self.rule_messages.get(r) {
                Some(m) if !m.is_empty() => format!("{r}: {m}"),
                _ => r.clone(),
            })
            .collect()
    }
}
