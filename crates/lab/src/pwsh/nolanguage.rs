//! What a runspace in no-language mode accepts from a script block: since
//! the April 2021 Exchange SU (KB5001779) Exchange's remote PowerShell
//! endpoint (`/PowerShell`, configuration `Microsoft.Exchange`) runs in
//! no-language mode, so `Invoke-Command -Session $s -ScriptBlock { … }`
//! works only when the block is one command with literal arguments (which
//! PowerShell sends as a command, not as script text); anything else fails
//! with `The syntax is not supported by this runspace. This can occur if
//! the runspace is in no-language mode.` (FullyQualifiedErrorId
//! `ScriptsNotAllowed`, as KB5001779 quotes it). Which literals count is
//! UNVERIFIED beyond that: strings without variables, numbers, bare words,
//! parameters and `$true`/`$false`/`$null` (the constants PowerShell's
//! restricted language allows). This module only judges and binds the
//! block's text; running it is the caller's.

use super::eval::Interp;
use super::host::{Argument, CommandHost, ErrorCategory, PsError};
use super::parse::{all, named, parse, text};
use super::value::Value;

/// KB5001779's message.
pub const NO_LANGUAGE_MESSAGE: &str =
    "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.";

/// The error a no-language runspace returns for script text.
pub fn scripts_not_allowed() -> PsError {
    PsError::new(
        ErrorCategory::ParserError,
        "ScriptsNotAllowed",
        NO_LANGUAGE_MESSAGE,
    )
    .terminating()
}

/// The command and its arguments when `block` (a script block's text,
/// braces included or not) is one command with literal arguments;
/// otherwise `ScriptsNotAllowed`.
pub fn single_command(block: &str) -> Result<(String, Vec<Argument>), PsError> {
    let inner = block
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or(block);
    let parsed = parse(inner).ok_or_else(scripts_not_allowed)?;
    let root = parsed.tree.root_node();
    if root.has_error() {
        return Err(scripts_not_allowed());
    }
    let statements: Vec<_> = named(root)
        .into_iter()
        .flat_map(|n| {
            if n.kind() == "statement_list" {
                named(n)
            } else {
                smallvec::smallvec![n]
            }
        })
        .filter(|n| n.kind() != "empty_statement")
        .collect();
    let [pipeline] = statements.as_slice() else {
        return Err(scripts_not_allowed());
    };
    let chain = named(*pipeline);
    let [chain] = chain.as_slice() else {
        return Err(scripts_not_allowed());
    };
    let commands = named(*chain);
    let [command] = commands.as_slice() else {
        return Err(scripts_not_allowed());
    };
    if pipeline.kind() != "pipeline" || command.kind() != "command" {
        return Err(scripts_not_allowed());
    }
    let Some(name) = command
        .child_by_field_name("command_name")
        .filter(|n| n.kind() == "command_name")
    else {
        return Err(scripts_not_allowed());
    };
    let elements = command.child_by_field_name("command_elements");
    if let Some(el) = elements {
        if !literal_only(el, &parsed.src) {
            return Err(scripts_not_allowed());
        }
    }
    let name = text(name, &parsed.src).to_string();
    // The evaluator reads token text through a shared handle.
    let src = std::rc::Rc::new(super::parse::Parsed {
        src: parsed.src.clone(),
        tree: parsed.tree.clone(),
    });
    let mut host = NoHost;
    let mut interp = Interp::new(&mut host);
    let args = interp
        .build_args(elements, &src, None)
        .map_err(|_| scripts_not_allowed())?;
    Ok((name, args.args))
}

/// Whether every node under `n` is a literal, a parameter or a separator.
fn literal_only(n: tree_sitter::Node, src: &str) -> bool {
    all(n).into_iter().all(|k| {
        let kind = k.kind();
        let ok = match kind {
            "variable" => ["$true", "$false", "$null"]
                .iter()
                .any(|c| text(k, src).eq_ignore_ascii_case(c)),
            "command_elements"
            | "command_parameter"
            | "command_argument_sep"
            | "generic_token"
            | "array_literal_expression"
            | "unary_expression"
            | "string_literal"
            | "expandable_string_literal"
            | "verbatim_string_characters"
            | "integer_literal"
            | "decimal_integer_literal"
            | "hexadecimal_integer_literal"
            | "real_literal"
            | "," => true,
            _ => !k.is_named() && !matches!(kind, "(" | "$(" | "@(" | "@{" | "{" | "|" | ";"),
        };
        ok && (kind == "variable" || literal_only(k, src))
    })
}

/// Evaluating literals never reaches a host.
struct NoHost;

impl CommandHost for NoHost {
    fn invoke(&mut self, name: &str, _: &[Argument], _: Vec<Value>) -> Result<Vec<Value>, PsError> {
        Err(PsError::command_not_found(name))
    }
    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_with_literal_arguments_is_allowed() {
        let (name, args) =
            single_command("{ Get-MailboxServer -Identity 'EX01' -Confirm:$false -Count 3 }")
                .unwrap();
        assert_eq!(name, "Get-MailboxServer");
        assert_eq!(args.len(), 3, "{args:?}");
        assert_eq!(
            args[0],
            Argument::Named {
                name: "Identity".into(),
                value: Some(Value::str("EX01"))
            }
        );
    }

    #[test]
    fn script_syntax_is_refused_as_kb5001779_says() {
        for block in [
            "Get-X $server",
            "Get-X | Select-Object Name",
            "$a = 1",
            "Get-X; Get-Y",
            "Get-X (Get-Date)",
            "Get-X \"$env:COMPUTERNAME\"",
            "& 'Get-X'",
            "foreach ($x in 1) { Get-X }",
            "Get-X @{a=1}",
        ] {
            let e = single_command(block).unwrap_err();
            assert_eq!(e.fully_qualified_error_id, "ScriptsNotAllowed", "{block}");
            assert_eq!(e.message, NO_LANGUAGE_MESSAGE);
        }
    }
}
