//! Exit codes: the one place they are defined. Documented in `--help`
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

/// The table shown at the end of `--help`.
pub const HELP: &str = "\
Exit codes:
  0  done (report: nothing blocks)
  1  stopped on a failed step; the journal is saved, run again to resume
  2  bad command line or plan
  3  the pre-flight gate refused to start (report: a server is blocked)
  4  another run holds the lock for this plan";
