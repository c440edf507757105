//! Exit codes: the one place they are defined, and the outcomes of a
//! command that finished. Which error gets which code is decided beside
//! them, in `error.rs` (`Error::exit_code`). Documented in `--help`
//! (cli.rs) and in docs/troubleshooting.md.

/// Everything done; for `report`: nothing blocks.
pub const DONE: i32 = 0;
/// Stopped on a failed step; the journal is saved and the run resumable.
pub const STEP_FAILED: i32 = 1;
/// Bad command line or plan.
pub const BAD_INPUT: i32 = 2;
/// The pre-flight gate refused to start (for `report`: a server is blocked).
pub const GATE_REFUSED: i32 = 3;
/// Another run holds the plan's lock.
pub const LOCKED: i32 = 4;
/// Interrupted by Ctrl-C or SIGTERM: stopped at a safe point (or at once
/// on a second Ctrl-C, between two journal records); or the operator
/// answered "no" at the confirmation or a `pause_between` question. The
/// journal is saved and the run resumable.
pub const INTERRUPTED: i32 = 5;
/// The command's output could not be written to stdout (a closed pipe, a
/// full disk behind a redirect). Its own code, so a script can tell "the
/// command failed" from "its answer was lost on the way".
/// 6 and 7 are taken by the design (below), hence 8.
pub const OUTPUT_FAILED: i32 = 8;

/// The maintenance window (`[policy] not_after`) was reached: the server in
/// progress was finished, no other started; resumable. `status`: the last
/// run recorded `window-reached`.
pub const WINDOW_REACHED: i32 = 6;
/// `status` only: a run holds the plan's lock now.
pub const RUNNING: i32 = 7;

/// The table shown at the end of `--help`.
pub const HELP: &str = "\
Exit codes:
  0  done (report: nothing blocks)
  1  stopped on a failed step; the journal is saved, run again to resume
  2  bad command line or plan
  3  the pre-flight gate refused to start (report: a server is blocked)
  4  another run holds the lock for this plan
  5  interrupted (Ctrl-C, SIGTERM, or \"no\" at a question); run again to resume
  6  the maintenance window (not_after) was reached; run again to resume
  7  status: a run is in progress
  8  the output could not be written to stdout
status exits with the code of the rollout's last run, or 7 while one runs.";

/// How a command that ran to its end came out. A command that stops early
/// returns an `Error` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done; for `report`: nothing blocks.
    Done,
    /// `report`: a server (or AD preparation) blocks the rollout.
    Blocked,
    /// `exec`, `backup`, `drift`: the command failed on at least one server
    /// (each failure was printed with its server). `status`: the last run
    /// stopped on a failure.
    SomeFailed,
    /// `status`: the last run was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
    /// `status`: the last run stopped at the end of its maintenance window.
    WindowReached,
    /// `status`: a run holds the lock now.
    Running,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Done => DONE,
            Outcome::Blocked => GATE_REFUSED,
            Outcome::SomeFailed => STEP_FAILED,
            Outcome::Interrupted => INTERRUPTED,
            Outcome::WindowReached => WINDOW_REACHED,
            Outcome::Running => RUNNING,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leading numbers of `lines` that start with `prefix` then a code.
    fn codes(text: &str, prefix: &str) -> Vec<i32> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    }

    #[test]
    fn help_and_troubleshooting_list_the_same_codes() {
        let docs = include_str!("../docs/troubleshooting.md");
        let mut defined = vec![
            DONE,
            STEP_FAILED,
            BAD_INPUT,
            GATE_REFUSED,
            LOCKED,
            INTERRUPTED,
            WINDOW_REACHED,
            RUNNING,
            OUTPUT_FAILED,
        ];
        defined.sort_unstable();
        assert_eq!(codes(HELP, "  "), defined, "--help's table");
        assert_eq!(
            codes(docs, "| "),
            defined,
            "docs/troubleshooting.md's table"
        );
    }
}
