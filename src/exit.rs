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
/// on a second Ctrl-C, between two journal records); the journal is saved
/// and the run resumable.
pub const INTERRUPTED: i32 = 5;
/// The command's output could not be written to stdout (a closed pipe, a
/// full disk behind a redirect). Its own code, so a script can tell "the
/// command failed" from "its answer was lost on the way".
/// 6 and 7 are taken by the design (window reached, a run in progress for
/// `status`), hence 8.
pub const OUTPUT_FAILED: i32 = 8;

/// The table shown at the end of `--help`.
pub const HELP: &str = "\
Exit codes:
  0  done (report: nothing blocks)
  1  stopped on a failed step; the journal is saved, run again to resume
  2  bad command line or plan
  3  the pre-flight gate refused to start (report: a server is blocked)
  4  another run holds the lock for this plan
  5  interrupted (Ctrl-C, SIGTERM); the journal is saved, run again to resume
  8  the output could not be written to stdout";

/// How a command that ran to its end came out. A command that stops early
/// returns an `Error` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done; for `report`: nothing blocks.
    Done,
    /// `report`: a server (or AD preparation) blocks the rollout.
    Blocked,
    /// `exec`, `backup`, `drift`: the command failed on at least one server
    /// (each failure was printed with its server).
    SomeFailed,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Done => DONE,
            Outcome::Blocked => GATE_REFUSED,
            Outcome::SomeFailed => STEP_FAILED,
        }
    }
}
