//! While Exchange setup runs: its current stage for the step's progress
//! message (`setup running on EX02: Mailbox role: Transport service (step
//! 5 of 9)`), read with cmd.exe only from the marker lines of
//! `ExchangeSetup.log` (`setup_log::stage`). Read every few polls, not at
//! each: `findstr` reads the whole log on the server, which grows to tens
//! of MB. A read that fails keeps the last stage known; the stage is for
//! people only and never decides anything.

use crate::runbook::StepContext;
use crate::setup_log::stage::{current_stage, SetupStage, CMD_SETUP_STAGE};

/// The stage is read at the first poll and then at every this many polls
/// (every 30 s at the default 5 s poll interval).
const EVERY: u32 = 6;

#[derive(Default)]
pub(super) struct StageReader {
    polls: u32,
    last: Option<SetupStage>,
}

impl StageReader {
    /// The stage as of this poll (read now when due).
    pub(super) fn poll(&mut self, ctx: &StepContext<'_>) -> Option<&SetupStage> {
        if self.polls.is_multiple_of(EVERY) {
            if let Ok(out) = ctx.exec.run_cmd(ctx.server, CMD_SETUP_STAGE) {
                if let Some(stage) = (out.exit_code == 0)
                    .then(|| current_stage(&out.stdout))
                    .flatten()
                {
                    self.last = Some(stage);
                }
            }
        }
        self.polls = self.polls.wrapping_add(1);
        self.last.as_ref()
    }
}
