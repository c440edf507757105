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
    let mut stdin = stdin.to_string();
    run_in_session(script, &mut stdin, &mut Session::default(), host)
}

/// What a powershell.exe process keeps between the commands it reads
/// one by one from stdin (`-Command -`): its variables, which of them were
/// assigned as `$global:`, and whether the last command succeeded (`$?`).
#[derive(Debug, Clone, Default)]
pub struct Session {
    vars: Option<std::collections::HashMap<String, value::Value>>,
    globals: std::collections::HashSet<String>,
    /// A command ran `exit`: the process has ended.
    pub exited: bool,
}

/// A script parsed and checked, not yet run: what `prepare` makes so that
/// the parse (tree-sitter, the costliest part of a short script) can
/// happen before the caller takes any lock on the world.
pub struct Prepared(Parse);

enum Parse {
    Parsed(parse::Parsed),
    /// The grammar could not be loaded: nothing ran, `$?` is left alone.
    NoGrammar(ScriptOutput),
    /// A syntax error: nothing ran, and `$?` turns false.
    Invalid(ScriptOutput),
}

/// Parses `script` and checks its syntax; the result runs with
/// `run_prepared`. A script that does not parse runs as its ParserError.
pub fn prepare(script: &str) -> Prepared {
    let Some(parsed) = parse::parse(script) else {
        return Prepared(Parse::NoGrammar(ScriptOutput {
            stdout: String::new(),
            stderr: "The PowerShell grammar could not be loaded.\r\n".into(),
            exit_code: 1,
        }));
    };
    if let Some(first) = parse::syntax_errors(&parsed).first() {
        return Prepared(Parse::Invalid(ScriptOutput {
            stdout: String::new(),
            stderr: render_parse_error(script, first),
            exit_code: 1,
        }));
    }
    Prepared(Parse::Parsed(parsed))
}

impl Prepared {
    /// Whether the script parsed without a syntax error (an incomplete
    /// line of a `-Command -` process waits for the next one).
    pub fn is_valid(&self) -> bool {
        !matches!(self.0, Parse::Invalid(_))
    }
}

/// Runs one command of a `-Command -` process in `session`: its variables
/// carry over from the commands before (as in an interactive console),
/// `$?` is whether the previous command succeeded, and `stdin` is what the
/// process's standard input still holds after the command's own line:
/// what the command reads with `[Console]::In` is consumed from it. The
/// exit code is the command's status: 0, 1 after an error (`$?` false),
/// or N after `exit N` (which ends the process).
pub fn run_in_session(
    script: &str,
    stdin: &mut String,
    session: &mut Session,
    host: &mut dyn host::CommandHost,
) -> ScriptOutput {
    run_prepared(prepare(script), stdin, session, host)
}

/// `run_in_session` for a script `prepare` has parsed.
pub fn run_prepared(
    prepared: Prepared,
    stdin: &mut String,
    session: &mut Session,
    host: &mut dyn host::CommandHost,
) -> ScriptOutput {
    let parsed = match prepared.0 {
        Parse::Parsed(parsed) => parsed,
        Parse::NoGrammar(out) => return out,
        Parse::Invalid(out) => {
            session.set_status(false);
            return out;
        }
    };
    host.log_script_block(&parsed.src);
    let parsed = std::rc::Rc::new(parsed);
    let mut interp = eval::Interp::new(host);
    if let Some(vars) = session.vars.take() {
        interp.vars = vars;
    }
    interp.globals = std::mem::take(&mut session.globals);
    interp.stdin = std::mem::take(stdin);
    let exit_code = interp.run_program(&parsed);
    *stdin = std::mem::take(&mut interp.stdin);
    session.globals = std::mem::take(&mut interp.globals);
    session.vars = Some(std::mem::take(&mut interp.vars));
    session.set_status(exit_code == 0);
    session.exited = interp.exited;
    ScriptOutput {
        stdout: std::mem::take(&mut interp.stdout),
        stderr: std::mem::take(&mut interp.stderr),
        exit_code,
    }
}

impl Session {
    fn set_status(&mut self, ok: bool) {
        if let Some(vars) = self.vars.as_mut() {
            vars.insert("?".into(), value::Value::Bool(ok));
        }
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
