//! The last run of a server's `ExchangeSetup.log`, read once setup (or an
//! AD preparation) has ended, in bounded pieces (`setup_log::pieces`):
//! the run starts (`findstr /N`), the line count (`find /C`), then the
//! last run in pieces of at most `PIECE_LINES` lines (`Get-Content
//! -Tail`). Never the whole file: the log gains every run of setup and
//! grows to tens of MB, which one `type` would send back within one
//! command's deadline (review real-exchange.md #17). Reviewing the text is
//! `setup_log::review`'s; what a verdict means is the calling step's.

use crate::exchange::{Operation, Placement, Template};
use crate::exec::ExecError;
use crate::ps::Arg;
use crate::runbook::{PlannedCommand, StepContext};
use crate::setup_log::{self, pieces, SetupLogReview};

const PIECE: Template = Template {
    placement: Placement::Target,
    text: pieces::PIECE,
};

/// The piece `count` lines long that starts `tail` lines before the end.
/// The numbers go in as quoted strings, which PowerShell converts to the
/// parameters' Int32 (so the dry run's text has the same shape).
fn piece(tail: u64, count: u64) -> Operation {
    let (tail, count) = (tail.to_string(), count.to_string());
    PIECE.render(
        "reading a piece of the setup log's last run",
        &[("tail", Arg::Str(&tail)), ("count", Arg::Str(&count))],
    )
}

/// The text of the last run, or nothing when the log is missing or holds
/// no run (the review then says [`setup_log::Outcome::NoRun`]).
pub(super) fn last_run(ctx: &StepContext<'_>) -> Result<String, ExecError> {
    let starts = ctx.exec.run_cmd(ctx.server, pieces::CMD_RUN_STARTS)?;
    let start = (starts.exit_code == 0)
        .then(|| pieces::last_run_start(&starts.stdout))
        .flatten();
    let Some(start) = start else {
        return Ok(String::new());
    };
    let count = ctx.exec.run_cmd(ctx.server, pieces::CMD_LINE_COUNT)?;
    let total = (count.exit_code == 0)
        .then(|| pieces::line_count(&count.stdout))
        .flatten();
    let Some(total) = total else {
        return Err(ExecError::Transport {
            server: ctx.server.name.clone(),
            detail: format!(
                "cannot count the lines of {}: {}",
                pieces::LOG,
                crate::exchange::first_error_line(&count.stderr)
            ),
        });
    };
    let mut text = String::new();
    for (tail, count) in pieces::pieces(start, total, pieces::PIECE_LINES) {
        let out = ctx
            .exec
            .run_ps(ctx.server, piece(tail, count).script.text())?;
        if !out.success() {
            return Err(ExecError::Transport {
                server: ctx.server.name.clone(),
                detail: format!(
                    "reading {} failed: {}",
                    pieces::LOG,
                    crate::exchange::first_error_line(&out.stderr)
                ),
            });
        }
        text.push_str(&out.stdout);
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str("\r\n");
        }
    }
    Ok(text)
}

/// The review of the last run (see [`last_run`]).
pub(super) fn review_last_run(ctx: &StepContext<'_>) -> Result<SetupLogReview, ExecError> {
    Ok(setup_log::review(&last_run(ctx)?))
}

/// What [`last_run`] sends, for the dry run: `when` is when it is read.
pub(super) fn planned(when: &str) -> Vec<PlannedCommand> {
    vec![
        PlannedCommand::cmd(
            format!("{when}: where the log's last run starts"),
            pieces::CMD_RUN_STARTS,
        ),
        PlannedCommand::cmd(
            format!("{when}: the log's length in lines"),
            pieces::CMD_LINE_COUNT,
        ),
        PlannedCommand::ps(
            format!(
                "{when}: the last run, at most {} lines per call",
                pieces::PIECE_LINES
            ),
            &piece(pieces::PIECE_LINES, pieces::PIECE_LINES),
        ),
    ]
}
