//! A Windows PowerShell 5.1 interpreter for the subset of the language the
//! orchestrator (and an admin poking at the lab) sends. Scripts are parsed
//! with the tree-sitter PowerShell grammar, then evaluated; commands that
//! are not part of the language go to a `CommandHost`.

pub mod bind;
pub mod convert;
pub mod datetime;
pub mod host;
pub mod value;

/// What running a script produced, as `powershell.exe -NonInteractive` would
/// leave it: text on stdout, error records rendered as 5.1 renders them on
/// stderr, and the process exit code (0, or 1 after a terminating error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}
