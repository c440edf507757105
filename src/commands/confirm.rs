//! Asking the operator before `run` changes anything, as `terraform apply`
//! does: once after the plan view, and (`pause_between`) before each next
//! server. Only a terminal is asked; `--yes` skips every question, and a
//! run with neither does not start. Answering anything but `y`/`yes` stops
//! the run where nothing is half-done (exit 5: stopped by the operator,
//! resumable). Reads stdin and writes stderr; decides nothing else.

use std::io::IsTerminal;

use crate::runbook::schedule::Confirm;

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
