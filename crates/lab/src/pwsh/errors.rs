//! Runtime errors and control flow of the interpreter, and the rendering of
//! error records exactly as Windows PowerShell 5.1's console host prints them
//! (`Cmd : message`, `At line:N char:M`, the source line underlined with `~`,
//! CategoryInfo and FullyQualifiedErrorId). It does not decide error policy.

use tree_sitter::Node;

use super::host::{ErrorCategory, PsError};

/// Where an error happened: the extent PowerShell underlines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
    pub line_text: String,
    /// Characters to underline (clipped to the end of the line).
    pub len: usize,
}

impl Pos {
    pub fn of(n: Node, src: &str) -> Pos {
        let start = n.start_position();
        let line_text = src
            .lines()
            .nth(start.row)
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_string();
        let col_chars = line_text
            .get(..start.column.min(line_text.len()))
            .map_or(0, |s| s.chars().count());
        let extent = &src[n.byte_range()];
        let first_line = extent.lines().next().unwrap_or("");
        Pos {
            line: start.row + 1,
            col: col_chars + 1,
            line_text,
            len: first_line.chars().count().max(1),
        }
    }
}

/// How far an error unwinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Ends the current statement only (command not found, parameter
    /// binding, a cmdlet's terminating error) unless `Stop` or inside `try`.
    Statement,
    /// Ends the script (`throw`, `-ErrorAction Stop`, unsupported constructs).
    Script,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RtError {
    pub err: PsError,
    pub pos: Option<Pos>,
    pub scope: Scope,
}

/// Non-local exits: errors and the flow-control statements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Flow {
    Err(Box<RtError>),
    Break,
    Continue,
    Return,
    Exit(i32),
}

pub(crate) type R<T> = Result<T, Flow>;

impl Flow {
    pub fn error(err: PsError, pos: Option<Pos>, scope: Scope) -> Flow {
        Flow::Err(Box::new(RtError { err, pos, scope }))
    }
}

/// `The lab does not support <construct> (line N)`: script-terminating.
pub(crate) fn unsupported(what: &str, n: Node, src: &str) -> Flow {
    let pos = Pos::of(n, src);
    let err = PsError::new(
        ErrorCategory::NotImplemented,
        "LabNotSupported",
        format!("The lab does not support {what} (line {})", pos.line),
    );
    Flow::error(err, Some(pos), Scope::Script)
}

/// A runtime error raised by the language itself (bad cast, bad index …).
pub(crate) fn runtime(
    category: ErrorCategory,
    id: &str,
    msg: impl Into<String>,
    n: Node,
    src: &str,
) -> Flow {
    Flow::error(
        PsError::new(category, id, msg).terminating(),
        Some(Pos::of(n, src)),
        Scope::Statement,
    )
}

/// The .NET exception type shown after CategoryInfo, derived from the
/// error id the way the real errors pair them.
fn exception_name(e: &PsError) -> String {
    let id = e.fully_qualified_error_id.split(',').next().unwrap_or("");
    match id {
        "CommandNotFoundException" => "CommandNotFoundException".into(),
        "NamedParameterNotFound"
        | "ParameterAlreadyBound"
        | "AmbiguousParameter"
        | "MissingArgument"
        | "PositionalParameterNotFound"
        | "CannotConvertArgument" => "ParameterBindingException".into(),
        "HostFunctionNotImplemented" => "PSInvalidOperationException".into(),
        "LabNotSupported" => "NotSupportedException".into(),
        "ScriptsNotAllowed" => "ParseException".into(),
        _ if e.fully_qualified_error_id.ends_with(",PSSessionOpenFailed") => {
            "PSRemotingTransportException".into()
        }
        "Microsoft.PowerShell.Commands.WriteErrorException" => "WriteErrorException".into(),
        _ if id.ends_with("Exception") && !id.contains(' ') => id.to_string(),
        _ => "RuntimeException".into(),
    }
}

/// Renders an error record as the 5.1 console does (CRLF line ends).
pub(crate) fn render(e: &RtError) -> String {
    let err = &e.err;
    let mut s = String::new();
    match &err.command {
        Some(c) => s.push_str(&format!("{c} : {}\r\n", err.message)),
        None => s.push_str(&format!("{}\r\n", err.message)),
    }
    if let Some(p) = &e.pos {
        let avail = p.line_text.chars().count().saturating_sub(p.col - 1).max(1);
        s.push_str(&format!("At line:{} char:{}\r\n", p.line, p.col));
        s.push_str(&format!("+ {}\r\n", p.line_text));
        s.push_str(&format!(
            "+ {}{}\r\n",
            " ".repeat(p.col - 1),
            "~".repeat(p.len.min(avail))
        ));
    }
    let activity = if err.fully_qualified_error_id == "CommandNotFoundException" {
        String::new()
    } else {
        err.command.clone().unwrap_or_default()
    };
    s.push_str(&format!(
        "    + CategoryInfo          : {}: ({}) [{}], {}\r\n",
        err.category.as_str(),
        err.target.as_deref().unwrap_or(":"),
        activity,
        exception_name(err)
    ));
    s.push_str(&format!(
        "    + FullyQualifiedErrorId : {}\r\n",
        err.fully_qualified_error_id
    ));
    s
}
