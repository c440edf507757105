//! A Windows PowerShell 5.1 interpreter for the subset of the language the
//! orchestrator (and an admin poking at the lab) sends. Scripts are parsed
//! with the tree-sitter PowerShell grammar, then evaluated; commands that
//! are not part of the language go to a `CommandHost`.

pub mod bind;
mod com;
mod command;
mod console;
mod control;
pub mod convert;
pub(crate) mod credential;
pub mod datetime;
mod errors;
mod eval;
mod expr;
mod files;
pub mod host;
pub mod json;
mod members;
pub(crate) mod nolanguage;
mod ops;
mod parse;
mod records;
pub mod render;
mod utility;
pub mod value;

pub use console::reads_console_in;
pub(crate) use members::type_of;

#[cfg(test)]
mod tests;
pub(crate) mod types;

/// What running a script produced, as `powershell.exe -NonInteractive` would
/// leave it: text on stdout, error records rendered as 5.1 renders them on
/// stderr, and the process exit code (0, or 1 after a terminating error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

/// Runs `script` against `host` and returns what powershell.exe would.
/// A script with syntax errors does not run at all (PowerShell parses the
/// whole script first) and reports the first error as a ParserError.
pub fn run(script: &str, host: &mut dyn host::CommandHost) -> ScriptOutput {
    run_with_stdin(script, "", host)
}

/// `run`, with `stdin` as the text the process's standard input held:
/// what `[Console]::In.ReadToEnd()` returns (see `console.rs`).
pub fn run_with_stdin(script: &str, stdin: &str, host: &mut dyn host::CommandHost) -> ScriptOutput {
    let Some(parsed) = parse::parse(script) else {
        return ScriptOutput {
            stdout: String::new(),
            stderr: "The PowerShell grammar could not be loaded.\r\n".into(),
            exit_code: 1,
        };
    };
    if let Some(first) = parse::syntax_errors(&parsed).first() {
        return ScriptOutput {
            stdout: String::new(),
            stderr: render_parse_error(script, first),
            exit_code: 1,
        };
    }
    host.log_script_block(script);
    let parsed = std::rc::Rc::new(parsed);
    let mut interp = eval::Interp::new(host);
    interp.stdin = stdin.to_string();
    let exit_code = interp.run_program(&parsed);
    ScriptOutput {
        stdout: interp.stdout,
        stderr: interp.stderr,
        exit_code,
    }
}

/// 5.1 prints parse errors position first, then the message.
fn render_parse_error(script: &str, e: &SyntaxError) -> String {
    let line = script
        .lines()
        .nth(e.line - 1)
        .unwrap_or("")
        .trim_end_matches('\r');
    let id = if e.message.starts_with("The string is missing") {
        "TerminatorExpectedAtEndOfString"
    } else if e.message.starts_with("Missing closing") {
        "MissingEndCurlyBrace"
    } else {
        "UnexpectedToken"
    };
    format!(
        "At line:{} char:{}\r\n+ {line}\r\n+ {}~\r\n{}\r\n    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\r\n    + FullyQualifiedErrorId : {id}\r\n",
        e.line,
        e.column,
        " ".repeat(e.column - 1),
        e.message
    )
}

/// A syntax error found by the PowerShell grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses `script` with the tree-sitter PowerShell grammar; every ERROR or
/// MISSING node becomes a `SyntaxError`.
pub fn syntax_check(script: &str) -> Result<(), Vec<SyntaxError>> {
    let Some(parsed) = parse::parse(script) else {
        return Err(vec![SyntaxError {
            line: 1,
            column: 1,
            message: "The PowerShell grammar could not be loaded.".into(),
        }]);
    };
    let errors = parse::syntax_errors(&parsed);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
