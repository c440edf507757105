//! Asking the operator before `run` changes anything, as `terraform apply`
//! does: once after the plan view, and (`pause_between`) before each next
//! server. Only a terminal is asked; `--yes` skips every question, and a
//! run with neither does not start. Answering anything but `y`/`yes` stops
//! the run where nothing is half-done (exit 5: stopped by the operator,
//! resumable). Reads stdin and writes stderr (the plan view comes from
//! `runbook::dry_run` and `report::dry_run`); decides nothing else.

use std::io::IsTerminal;
use std::path::Path;

use crate::error::Error;
use crate::runbook::schedule::Confirm;
use crate::runbook::JournalState;

/// Like `terraform apply`: a run asks before it changes anything, so
/// without a terminal to ask on it needs `--yes` (exit 2 otherwise).
pub fn terminal_or_yes(plan_path: &Path, pause_between: bool, yes: bool) -> Result<(), Error> {
    if yes || interactive() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "nothing started: there is no terminal to confirm the rollout of {} on{}; \
         pass --yes to start it without asking (a scheduled task, CI, a pipe)",
        plan_path.display(),
        if pause_between {
            " (nor to ask before each next server, as pause_between = true wants)"
        } else {
            ""
        }
    )))
}

/// The plan view, then the question (or, with `--yes`, the view alone on
/// a terminal; nothing at all without one). The run takes the order the
/// operator was shown (`prior.order`, when the journal has none yet).
/// "no" is [`Error::Declined`].
pub fn plan_view_and_question(
    of: crate::runbook::dry_run::Inputs<'_>,
    prior: &mut JournalState,
    yes: bool,
) -> Result<(), Error> {
    if yes && !std::io::stderr().is_terminal() {
        return Ok(());
    }
    let view = crate::runbook::dry_run::plan(&of, prior);
    eprint!("{}", crate::report::dry_run::plan_view(&view));
    if prior.order.is_empty() {
        prior.order.clone_from(&view.order);
    }
    let rolled = view.rolled();
    if yes || rolled.is_empty() {
        return Ok(());
    }
    if ask(&format!(
        "Roll {} to {}?",
        rolled.join(", "),
        of.target.name()
    )) {
        Ok(())
    } else {
        Err(Error::Declined)
    }
}

/// True when there is someone to ask: stdin and stderr are a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` at the terminal; true only for `y` or `yes`. End of
/// input or a read error is "no".
pub fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `pause_between`: asks at the terminal before each next server, with
/// the board hidden meanwhile.
pub struct AskAtTerminal(pub crate::report::progress::Suspend);

impl Confirm for AskAtTerminal {
    fn next_server(&mut self, done: &str, next: &str) -> bool {
        self.0
            .run(|| ask(&format!("{done} is done. Go on with {next}?")))
    }
}
