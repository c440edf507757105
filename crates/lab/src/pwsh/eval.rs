//! The interpreter's core: variables, statement lists, pipelines and
//! assignment. Control flow (`if`/`foreach`/`for`/`while`/`try`/`throw`/
//! `return`/`exit`) lives in `control.rs`, expressions in `expr.rs`,
//! commands in `command.rs`. Unsupported constructs end the script with a
//! clear error.

use std::collections::HashMap;
use std::rc::Rc;

use tree_sitter::Node;

use super::convert::to_ps_string;
use super::errors::{render, unsupported, Flow, Pos, RtError, Scope, R};
use super::host::{CommandHost, ErrorCategory, PsError};
use super::parse::{all, named, parse, text, unwrap, Parsed};
use super::value::Value;

pub(crate) type Src = Rc<Parsed>;

pub(crate) struct Interp<'h> {
    pub host: &'h mut dyn CommandHost,
    /// Variables by lower-cased name (PowerShell names are case-insensitive).
    pub vars: HashMap<String, Value>,
    pub stdout: String,
    pub stderr: String,
    /// Script block text → where it was parsed, so `& {}`/Where-Object run
    /// the original nodes (with their real line numbers).
    pub blocks: HashMap<String, (Src, usize, usize)>,
    /// Inside `try`, statement-terminating errors unwind to the catch.
    pub try_depth: usize,
    /// Error records written to stderr so far: the exit code of
    /// `powershell.exe -Command` is 1 when the last statement wrote one
    /// (its `$?` is false), even without a terminating error.
    pub errors_written: usize,
    /// The unread rest of the process's stdin (`[Console]::In`, console.rs).
    pub stdin: String,
    /// What a block run by `&` output before a terminating error or `exit`
    /// unwound it: powershell.exe had already sent it on (see invoke_block).
    pub unwound: Vec<Value>,
    /// The COM objects this process created (`com.rs`).
    pub com: super::com::Objects,
    /// `[System.Net.ServicePointManager]::ServerCertificateValidationCallback`
    /// in this process (the host is told whether one is set).
    pub certificate_callback: Value,
    /// Variables assigned as `$global:name`: they outlive the script
    /// block that set them (a child scope's other assignments do not).
    pub globals: std::collections::HashSet<String>,
    /// The script ran `exit`: the process ends (`run_in_session`).
    pub exited: bool,
}

impl<'h> Interp<'h> {
    pub fn new(host: &'h mut dyn CommandHost) -> Self {
        let mut vars = HashMap::new();
        vars.insert("erroractionpreference".into(), Value::str("Continue"));
        vars.insert("progresspreference".into(), Value::str("Continue"));
        vars.insert("confirmpreference".into(), Value::str("High"));
        vars.insert("psversiontable".into(), super::records::ps_version_table());
        Interp {
            host,
            vars,
            stdout: String::new(),
            stderr: String::new(),
            blocks: HashMap::new(),
            try_depth: 0,
            errors_written: 0,
            stdin: String::new(),
            unwound: Vec::new(),
            com: super::com::Objects::default(),
            certificate_callback: Value::Null,
            globals: std::collections::HashSet::new(),
            exited: false,
        }
    }

    pub fn get_var(&self, name: &str) -> Value {
        self.vars
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn set_var(&mut self, name: &str, v: Value) {
        self.vars.insert(name.to_ascii_lowercase(), v);
    }

    /// `$ErrorActionPreference`, lower-cased.
    pub fn error_preference(&self) -> String {
        to_ps_string(&self.get_var("ErrorActionPreference")).to_ascii_lowercase()
    }

    /// Writes a non-terminating error to stderr as 5.1 does.
    pub fn write_error(&mut self, e: RtError) {
        self.errors_written += 1;
        self.stderr.push_str(&render(&e));
    }

    /// Runs the top level: output of each statement is rendered as soon as
    /// the statement ends (Out-Default), so Write-Host interleaves properly.
    pub fn run_program(&mut self, s: &Src) -> i32 {
        let root = s.tree.root_node();
        let stmts: Vec<Node> = named(root)
            .into_iter()
            .flat_map(|n| {
                if n.kind() == "statement_list" {
                    named(n)
                } else {
                    smallvec::smallvec![n]
                }
            })
            .collect();
        let mut last_failed = false;
        for st in stmts {
            let mut out = Vec::new();
            let errors_before = self.errors_written;
            let r = self.exec_statement_handled(st, s, &mut out);
            out.append(&mut self.unwound);
            last_failed = self.errors_written > errors_before;
            self.stdout.push_str(&super::render::render_output(&out));
            match r {
                Ok(()) => {}
                Err(Flow::Err(e)) => {
                    self.write_error(*e);
                    return 1;
                }
                Err(Flow::Exit(code)) => {
                    self.exited = true;
                    return code;
                }
                // `return`/`break`/`continue` at the top level end the script.
                Err(_) => return 0,
            }
        }
        i32::from(last_failed)
    }

    /// Runs a statement list; statement-terminating errors are reported and
    /// the list goes on, unless inside `try` or under `Stop`.
    pub fn exec_list(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        for st in named(n) {
            self.exec_statement_handled(st, s, out)?;
        }
        Ok(())
    }

    fn exec_statement_handled(&mut self, st: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        match self.exec_statement(st, s, out) {
            Err(Flow::Err(e))
                if e.scope == Scope::Statement
                    && self.try_depth == 0
                    && self.error_preference() != "stop" =>
            {
                self.write_error(*e);
                Ok(())
            }
            other => other,
        }
    }

    fn exec_statement(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        match n.kind() {
            "pipeline" => self.exec_pipeline_statement(n, s, out),
            "statement_list" => self.exec_list(n, s, out),
            "empty_statement" | "comment" => Ok(()),
            "if_statement" => self.exec_if(n, s, out),
            "foreach_statement" => self.exec_foreach(n, s, out),
            "for_statement" => self.exec_for(n, s, out),
            "while_statement" => self.exec_while(n, s, out),
            "try_statement" => self.exec_try(n, s, out),
            "flow_control_statement" => self.exec_flow(n, s, out),
            "function_statement" => Err(unsupported("function definitions", n, s.src.as_str())),
            "switch_statement" => Err(unsupported("switch statements", n, s.src.as_str())),
            "do_statement" => Err(unsupported("do loops", n, s.src.as_str())),
            "ERROR" => Err(parse_error(n, s)),
            other => Err(unsupported(
                &format!("'{other}' statements"),
                n,
                s.src.as_str(),
            )),
        }
    }

    /// A pipeline statement: an assignment writes nothing; otherwise the
    /// pipeline's output is written (arrays unrolled one level).
    fn exec_pipeline_statement(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let inner = named(n);
        let Some(first) = inner.first().copied() else {
            return Ok(());
        };
        if first.kind() == "assignment_expression" {
            return self.exec_assignment(first, s);
        }
        if first.kind() == "pipeline_chain" && is_silent(first, &s.src) {
            self.run_chain(first, s)?;
            return Ok(());
        }
        let items = self.run_chain(first, s)?;
        out.extend(items);
        Ok(())
    }

    /// Runs `a | b | c`: the first element may be an expression (its value
    /// is enumerated into the pipeline), the rest are commands.
    pub fn run_chain(&mut self, n: Node, s: &Src) -> R<Vec<Value>> {
        if n.kind() != "pipeline_chain" {
            let v = self.eval(n, s)?;
            return Ok(unroll(v));
        }
        let mut items: Vec<Value> = Vec::new();
        let mut first = true;
        for el in all(n) {
            match el.kind() {
                "|" => continue,
                "command" => {
                    items = self.run_command(el, s, items, !first)?;
                }
                "pipeline_chain_tail" => {
                    return Err(unsupported("'&&'/'||' pipeline chains", el, &s.src))
                }
                "redirection" | "redirections" => {
                    return Err(unsupported("redirections", el, &s.src))
                }
                _ if first => items = unroll(self.eval(el, s)?),
                _ => return Err(unsupported("an expression after '|'", el, &s.src)),
            }
            first = false;
        }
        Ok(items)
    }

    /// A pipeline as a value (assignment right side, `( )`, hashtable
    /// entry): a lone expression keeps its value (`@(1)` stays an array);
    /// command output collapses to `$null`, the single item, or an array.
    pub fn eval_pipeline_value(&mut self, n: Node, s: &Src) -> R<Value> {
        let n = if n.kind() == "pipeline" {
            named(n).first().copied().unwrap_or(n)
        } else {
            n
        };
        if n.kind() == "assignment_expression" {
            self.exec_assignment(n, s)?;
            return Ok(Value::Null);
        }
        let elements = named(n);
        if n.kind() == "pipeline_chain" && elements.len() == 1 && elements[0].kind() != "command" {
            return self.eval(elements[0], s);
        }
        if n.kind() != "pipeline_chain" {
            return self.eval(n, s);
        }
        Ok(collapse(self.run_chain(n, s)?))
    }

    fn exec_assignment(&mut self, n: Node, s: &Src) -> R<()> {
        let kids = named(n);
        let (Some(lhs), Some(op)) = (kids.first(), kids.get(1)) else {
            return Err(unsupported("this assignment", n, &s.src));
        };
        let rhs = n
            .child_by_field_name("value")
            .or_else(|| kids.get(2).copied());
        let Some(rhs) = rhs else {
            return Err(unsupported("this assignment", n, &s.src));
        };
        let op = text(*op, &s.src).trim().to_string();
        let target = unwrap(*lhs);
        let mut value = self.eval_pipeline_value(rhs, s)?;
        if op != "=" {
            let current = self.eval(target, s)?;
            let bop = match op.as_str() {
                "+=" => "+",
                "-=" => "-",
                "*=" => "*",
                "/=" => "/",
                "%=" => "%",
                _ => return Err(unsupported(&format!("the '{op}' operator"), n, &s.src)),
            };
            value = super::ops::binary(bop, current, value).map_err(|m| self.op_error(m, n, s))?;
        }
        self.assign(target, value, s)
    }

    /// Stores `value` into a variable, a property or an element.
    pub fn assign(&mut self, target: Node, value: Value, s: &Src) -> R<()> {
        match target.kind() {
            "variable" => {
                let raw = text(target, &s.src);
                let name = var_name(raw);
                let bare = raw.trim_start_matches('$').trim_start_matches('{');
                if bare.len() > 7 && bare[..7].eq_ignore_ascii_case("global:") {
                    self.globals.insert(name.to_ascii_lowercase());
                }
                if !name.eq_ignore_ascii_case("null") {
                    self.set_var(&name, value);
                }
                Ok(())
            }
            "member_access" | "element_access" => {
                let kids = named(target);
                let base = unwrap(kids[0]);
                if target.kind() == "member_access" && self.is_static(target, s) {
                    let ty = super::expr::type_name(base, s);
                    let key = text(kids[kids.len() - 1], &s.src).to_string();
                    return self.set_static(&ty, &key, value).ok_or_else(|| {
                        unsupported(&format!("assigning [{ty}]::{key}"), target, &s.src)
                    });
                }
                if target.kind() == "member_access" {
                    if let Some(id) = self.com_handle(base, s)? {
                        let key = text(kids[kids.len() - 1], &s.src).to_string();
                        return self.com.set(id, &key, value).map_err(|m| {
                            super::errors::runtime(
                                ErrorCategory::InvalidOperation,
                                "PropertyAssignmentException",
                                m,
                                target,
                                &s.src,
                            )
                        });
                    }
                }
                if base.kind() != "variable" {
                    return Err(unsupported("assigning into a non-variable", target, &s.src));
                }
                let name = var_name(text(base, &s.src));
                let key = if target.kind() == "member_access" {
                    Value::str(text(kids[kids.len() - 1], &s.src))
                } else {
                    self.eval(kids[1], s)?
                };
                let mut container = self.get_var(&name);
                super::members::set_member(&mut container, &key)
                    .map(|slot| *slot = value)
                    .ok_or_else(|| {
                        super::errors::runtime(
                            ErrorCategory::InvalidOperation,
                            "PropertyAssignmentException",
                            format!(
                                "The property '{}' cannot be found on this object.",
                                to_ps_string(&key)
                            ),
                            target,
                            &s.src,
                        )
                    })?;
                self.set_var(&name, container);
                Ok(())
            }
            _ => Err(unsupported("this assignment target", target, &s.src)),
        }
    }

    /// The COM object `base` evaluates to, when it is one (its value is a
    /// reference: assigning to its member changes the object, not a copy).
    fn com_handle(&mut self, base: Node, s: &Src) -> R<Option<usize>> {
        if !matches!(
            base.kind(),
            "variable" | "member_access" | "invokation_expression"
        ) {
            return Ok(None);
        }
        Ok(super::com::id_of(&self.eval(base, s)?))
    }

    /// Runs a script block value with `$_` bound (Where-Object, ForEach-Object,
    /// calculated properties, `& { }`); returns its output.
    pub fn invoke_block(
        &mut self,
        block: &str,
        under: Option<Value>,
        at: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
        let (bs, start, end) = match self.blocks.get(block) {
            Some(b) => b.clone(),
            None => {
                let inner = block
                    .trim()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_string();
                let p =
                    parse(&inner).ok_or_else(|| unsupported("this script block", at, &s.src))?;
                let len = p.src.len();
                (Rc::new(p), 0, len)
            }
        };
        let root = bs.tree.root_node();
        let node = root.descendant_for_byte_range(start, end).unwrap_or(root);
        let mut body = node;
        while body.kind() != "script_block_expression" && body.kind() != "program" {
            match body.parent() {
                Some(p) => body = p,
                None => break,
            }
        }
        let whole = under.is_none();
        let saved = under
            .as_ref()
            .map(|_| (self.get_var("_"), self.get_var("PSItem")));
        if let Some(u) = &under {
            self.set_var("_", u.clone());
            self.set_var("PSItem", u.clone());
        }
        let mut out = Vec::new();
        let r = self.exec_script_block(body, &bs, &mut out);
        if let Some((a, b)) = saved {
            self.set_var("_", a);
            self.set_var("PSItem", b);
        }
        match r {
            Ok(()) | Err(Flow::Return) => Ok(out),
            // A block run whole (`& $sb`, not per pipeline item) keeps what
            // it output before unwinding; per-item blocks still lose theirs.
            Err(e @ (Flow::Err(_) | Flow::Exit(_))) if whole => {
                self.unwound.append(&mut out);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn exec_script_block(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        for k in named(n) {
            match k.kind() {
                "script_block" | "script_block_body" => self.exec_script_block(k, s, out)?,
                "statement_list" => self.exec_list(k, s, out)?,
                "param_block" => return Err(unsupported("param blocks", k, &s.src)),
                "named_block_list" => {
                    return Err(unsupported("begin/process/end blocks", k, &s.src))
                }
                _ => self.exec_statement_handled(k, s, out)?,
            }
        }
        Ok(())
    }

    pub fn op_error(&self, msg: String, n: Node, s: &Src) -> Flow {
        super::errors::runtime(
            ErrorCategory::InvalidOperation,
            "RuntimeException",
            msg,
            n,
            &s.src,
        )
    }
}

/// A syntax error met while running (the caller did not `syntax_check`).
fn parse_error(n: Node, s: &Src) -> Flow {
    let err = PsError::new(
        ErrorCategory::ParserError,
        "UnexpectedToken",
        format!(
            "Unexpected token '{}' in expression or statement.",
            text(n, &s.src).trim()
        ),
    );
    Flow::error(err, Some(Pos::of(n, &s.src)), Scope::Script)
}

/// Arrays written to the pipeline are enumerated one level.
pub(crate) fn unroll(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => vec![other],
    }
}

/// Collected pipeline output as one value: nothing → `$null`, one item →
/// the item, several → an array.
pub(crate) fn collapse(mut items: Vec<Value>) -> Value {
    match items.len() {
        0 => Value::Null,
        1 => items.remove(0),
        _ => Value::Array(items),
    }
}

/// `$x`, `${x}`, `$script:x` → `x` (scopes are not modelled).
pub(crate) fn var_name(t: &str) -> String {
    let t = t.trim_start_matches('$');
    let t = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(t);
    for scope in ["script:", "global:", "local:", "private:", "using:"] {
        if t.len() > scope.len() && t[..scope.len()].eq_ignore_ascii_case(scope) {
            return t[scope.len()..].to_string();
        }
    }
    t.to_string()
}

/// Statements whose value is not written: `$i++`, `[void](…)`.
fn is_silent(chain: Node, src: &str) -> bool {
    let els = named(chain);
    if els.len() != 1 {
        return false;
    }
    let e = unwrap(els[0]);
    match e.kind() {
        "post_increment_expression"
        | "post_decrement_expression"
        | "pre_increment_expression"
        | "pre_decrement_expression" => true,
        "expression_with_unary_operator" | "cast_expression" => {
            let cast = if e.kind() == "cast_expression" {
                Some(e)
            } else {
                named(e).into_iter().find(|c| c.kind() == "cast_expression")
            };
            cast.and_then(|c| named(c).first().copied())
                .is_some_and(|t| text(t, src).eq_ignore_ascii_case("[void]"))
        }
        _ => false,
    }
}
