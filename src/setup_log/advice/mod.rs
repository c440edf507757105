//! What to do about a run: SetupLogReviewer's checks reimplemented
//! (`Setup/SetupLogReviewer/Checks/**`, run in the order of
//! `Invoke-SetupLogReviewer` in `Setup/Shared/SetupLogReviewerLogic.ps1`:
//! the first check that finds something is the answer), plus two notes of
//! cu-roll's own about the builds the run found.
//!
//! SetupLogReviewer's wording is kept, so its Pester tests
//! (`Setup/Tests/SetupLogReviewer.Tests.ps1`) can be checked against ours.
//! Left out: its `-DelegatedSetup` mode, the "SetupAssist already ran"
//! variants of the action plans (it looks for SetupAssist's output on the
//! machine it runs on), and its "let us know at ExToolsFeedback" footers.
//! This module must not read anything but the run it is given.

mod error_context;
mod find_context;
mod prerequisite;

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::parse::{Run, RunFacts};
use super::{Outcome, SetupLogReview};

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// Where it comes from: the SetupLogReviewer check (its file name), or
    /// `cu-roll` for the notes of our own.
    pub source: &'static str,
    /// What was found, one sentence each.
    pub findings: Vec<String>,
    /// What to do, in order.
    pub actions: Vec<String>,
    /// The log lines the finding rests on, as logged.
    pub evidence: Vec<String>,
}

impl Advice {
    fn new(source: &'static str) -> Advice {
        Advice {
            source,
            findings: Vec::new(),
            actions: Vec::new(),
            evidence: Vec::new(),
        }
    }

    fn finding(mut self, text: impl Into<String>) -> Advice {
        self.findings.push(text.into());
        self
    }

    fn actions<S: Into<String>>(mut self, lines: impl IntoIterator<Item = S>) -> Advice {
        self.actions.extend(lines.into_iter().map(Into::into));
        self
    }

    fn evidence<S: AsRef<str>>(mut self, lines: impl IntoIterator<Item = S>) -> Advice {
        self.evidence
            .extend(lines.into_iter().map(|l| l.as_ref().to_string()));
        self
    }

    fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.actions.is_empty()
    }
}

/// What every check reads.
pub(super) struct Ctx<'r, 'a> {
    pub run: &'r Run<'a>,
    pub facts: &'r RunFacts,
    pub review: &'r SetupLogReview,
}

impl Ctx<'_, '_> {
    /// SetupLogReviewer's `LocalBuildNumber`: the backup copy's version
    /// when the run logs one, else the locally installed version.
    fn local_build(&self) -> Option<&str> {
        self.review
            .previous_version
            .as_deref()
            .or(self.review.installed_version.as_deref())
    }

    fn user(&self) -> &str {
        self.review.context.user.as_deref().unwrap_or("")
    }
}

type Check = fn(&Ctx<'_, '_>) -> Option<Advice>;

/// `Invoke-SetupLogReviewer`'s list, in its order.
const CHECKS: [Check; 10] = [
    prerequisite::check,
    find_context::known_ldif_errors,
    find_context::known_msi_issues,
    error_context::known_issues_by_errors,
    find_context::expired_certificate,
    find_context::other_well_known_objects,
    find_context::hybrid_object_found_on_premises,
    find_context::invalid_wk_object_target,
    find_context::shared_config_dc,
    find_context::last_error_information,
];

pub(super) fn advise(run: &Run<'_>, facts: &RunFacts, review: &SetupLogReview) -> Vec<Advice> {
    let ctx = Ctx { run, facts, review };
    let mut out: Vec<Advice> = [same_build_number(&ctx), previous_attempt(review)]
        .into_iter()
        .flatten()
        .collect();
    match review.outcome {
        Outcome::Succeeded | Outcome::NoRun => {}
        Outcome::Running => out.push(still_running()),
        Outcome::PrerequisitesFailed | Outcome::Failed => {
            out.extend(CHECKS.iter().find_map(|check| check(&ctx)));
        }
    }
    out
}

/// `SetupLogReviewerLogic.ps1`: the local build equals the setup build (or
/// has its minor and build numbers) in a run that is not an install: setup
/// was probably started from the installed `Bin` folder.
fn same_build_number(ctx: &Ctx<'_, '_>) -> Option<Advice> {
    let local = version(ctx.local_build()?)?;
    let setup = version(ctx.review.setup_version.as_deref()?)?;
    let install = ctx
        .review
        .command_line_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Install"));
    let same = local == setup || (local.get(1) == setup.get(1) && local.get(2) == setup.get(2));
    (same && !install).then(|| {
        Advice::new("SetupLogReviewerLogic.ps1").finding(
            "Same build number detected..... if using powershell.exe to start setup. Make sure you do '.\\setup.exe'",
        )
    })
}

fn version(s: &str) -> Option<Vec<u64>> {
    s.trim().split('.').map(|p| p.parse().ok()).collect()
}

/// cu-roll's own note for [`SetupLogReview::previous_attempt_incomplete`]
/// (review real-exchange.md finding 1; ExchangeDsc
/// `Test-ExchangeSetupPartiallyCompleted`: rerun `/Mode:Upgrade` to resume).
fn previous_attempt(review: &SetupLogReview) -> Option<Advice> {
    if !review.previous_attempt_incomplete {
        return None;
    }
    let setup = review.setup_version.as_deref().unwrap_or("?");
    let from = review
        .previous_version
        .as_deref()
        .map(|v| format!(" (the build before it was {v})"))
        .unwrap_or_default();
    let advice = Advice::new("cu-roll").finding(format!(
        "An earlier upgrade attempt did not finish: the installed files were already at the setup build {setup} when this run started{from}, with the roles not yet configured."
    ));
    Some(if review.outcome == Outcome::Succeeded {
        advice.actions(["This run completed that upgrade."])
    } else {
        advice.actions([
            format!("Do not count the server as upgraded because its build (ExSetup.exe) reads {setup}: it is not upgraded until setup completes."),
            "Fix the cause below, then run the same Setup.exe with /Mode:Upgrade again: it resumes the upgrade.".to_string(),
        ])
    })
}

/// cu-roll's note for a run with no end yet.
fn still_running() -> Advice {
    Advice::new("cu-roll")
        .finding("The last run has not ended: no success line, no error, no 'End of Setup'.")
        .actions([
            "If Setup.exe or ExSetup.exe is still running on the server, wait for it.",
            "If neither runs, setup was stopped before it could log its end: run it again.",
        ])
}

static ERROR_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\[ERROR\]").expect("valid regex"));

/// `GetFirstErrorWithContextToLine` (`SetupLogReviewerFunctions.ps1`): the
/// first `[ERROR]` line of the run with `before` lines ahead of it, then the
/// lines after it up to line `to` (or `after` lines), empty lines left out.
fn first_error_context(
    run: &Run<'_>,
    to: Option<usize>,
    before: usize,
    after: usize,
) -> Option<Vec<String>> {
    let at = run.lines.iter().position(|l| ERROR_TAG.is_match(l.raw))?;
    let wanted = to.map_or(after, |to| to.saturating_sub(at)).min(after);
    let from = at.saturating_sub(before);
    let until = (at + wanted).min(run.lines.len() - 1);
    Some(
        run.lines[from..=until]
            .iter()
            .map(|l| l.raw)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Whether any line matches (`$lines | Select-String`, case-insensitive).
fn any_line(lines: &[String], re: &Regex) -> bool {
    lines.iter().any(|l| re.is_match(l))
}

/// Index of the last line matching.
fn last_line(lines: &[String], re: &Regex) -> Option<usize> {
    lines.iter().rposition(|l| re.is_match(l))
}

/// `Select-Object -Last ($context.Count - $match.LineNumber + 3)`: the
/// lines from two before the last match to the end.
fn from_two_before(lines: &[String], matched: usize) -> &[String] {
    &lines[matched.saturating_sub(2)..]
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

/// A check that found nothing returns `None`, as a PowerShell check that
/// writes nothing.
fn found(advice: Advice) -> Option<Advice> {
    (!advice.is_empty()).then_some(advice)
}
