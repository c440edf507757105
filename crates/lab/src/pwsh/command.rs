//! Command invocation: turning `command_elements` into `Argument`s the way
//! PowerShell's tokenizer and binder see them, dispatching to the built-in
//! utility cmdlets or to the `CommandHost`, and applying `-ErrorAction` /
//! `$ErrorActionPreference` to the errors that come back.

use tree_sitter::Node;

use super::errors::{unsupported, Flow, Pos, RtError, Scope, R};
use super::eval::{Interp, Src};
use super::host::{Argument, CmdletSpec, ParamKind, PsError};
use super::parse::{all, named, text, unwrap};
use super::value::Value;

/// The raw arguments plus the parameter tokens, for error positions.
pub(crate) struct Args<'t> {
    pub args: Vec<Argument>,
    pub params: Vec<(String, Node<'t>)>,
    /// `2>$null` on the command: its error stream is discarded.
    pub errors_to_null: bool,
}

impl Interp<'_> {
    pub fn run_command(
        &mut self,
        n: Node,
        s: &Src,
        input: Vec<Value>,
        piped: bool,
    ) -> R<Vec<Value>> {
        let kids = named(n);
        let op = kids
            .iter()
            .find(|k| k.kind() == "command_invokation_operator")
            .map(|k| text(*k, &s.src).to_string());
        let Some(name_node) = n.child_by_field_name("command_name").or_else(|| {
            kids.iter()
                .copied()
                .find(|k| k.kind() == "command_name" || k.kind() == "command_name_expr")
        }) else {
            return Err(unsupported("this command form", n, &s.src));
        };
        let elements = n.child_by_field_name("command_elements");
        if name_node.kind() == "command_name_expr" || op.is_some() {
            return self.run_invocation(name_node, op.as_deref(), elements, s, input);
        }
        let name = text(name_node, &s.src).to_string();
        // The grammar reads a statement starting with `1..3` or `1GB` as a command.
        if elements.is_none() && !piped {
            if let Some(v) = super::expr::numeric_command_name(&name) {
                return Ok(super::eval::unroll(v));
            }
        }
        if let Some(canon) = super::utility::canonical(&name) {
            let spec = super::utility::spec(canon);
            let a = self.build_args(elements, s, Some(&spec))?;
            self.host.log_invocation(canon, &a.args, &input);
            let ea = self.error_action_of(&a);
            return self.run_utility(canon, &spec, a, input, piped, &ea, n, s);
        }
        let spec = self.host.command_spec(&name);
        let a = self.build_args(elements, s, spec.as_ref())?;
        self.host.log_invocation(&name, &a.args, &input);
        let ea = self.error_action_of(&a);
        let result = self.host.invoke(&name, &a.args, input);
        let pending = self.host.take_non_terminating();
        self.set_error_variable(&a, &pending, Pos::of(n, &s.src));
        match result {
            Ok(out) => {
                for e in pending {
                    self.non_terminating(e, &ea, Pos::of(n, &s.src))?;
                }
                Ok(out)
            }
            Err(e) if !e.terminating => {
                self.non_terminating(e, &ea, Pos::of(n, &s.src))?;
                Ok(Vec::new())
            }
            Err(e) => {
                let pos = error_position(&e, name_node, &a, n, s);
                Err(Flow::error(e, Some(pos), Scope::Statement))
            }
        }
    }

    /// `& { … }`, `& $block`, `& 'Name' args`.
    fn run_invocation(
        &mut self,
        target: Node,
        op: Option<&str>,
        elements: Option<Node>,
        s: &Src,
        input: Vec<Value>,
    ) -> R<Vec<Value>> {
        if op == Some(".") {
            return Err(unsupported("dot-sourcing", target, &s.src));
        }
        let expr = named(target).first().copied().unwrap_or(target);
        let v = if target.kind() == "command_name" {
            Value::str(text(target, &s.src))
        } else {
            self.eval(expr, s)?
        };
        match v {
            Value::ScriptBlock(b) => {
                if elements
                    .is_some_and(|e| named(e).iter().any(|k| k.kind() != "command_argument_sep"))
                {
                    return Err(unsupported("arguments to a script block", target, &s.src));
                }
                // A script block runs in a child scope: its assignments do not leak.
                let saved = self.vars.clone();
                let under = if input.is_empty() {
                    None
                } else {
                    Some(super::eval::collapse(input))
                };
                let r = self.invoke_block(&b, under, target, s);
                let inner = std::mem::replace(&mut self.vars, saved);
                for g in &self.globals {
                    if let Some(v) = inner.get(g) {
                        self.vars.insert(g.clone(), v.clone());
                    }
                }
                r
            }
            Value::String(name) => {
                let a = self.build_args(elements, s, None)?;
                self.host.log_invocation(&name, &a.args, &input);
                let ea = self.error_action_of(&a);
                let r = self.host.invoke(&name, &a.args, input);
                let pending = self.host.take_non_terminating();
                let pos = Pos::of(target, &s.src);
                self.set_error_variable(&a, &pending, pos.clone());
                for e in pending {
                    self.non_terminating(e, &ea, pos.clone())?;
                }
                r.map_err(|e| Flow::error(e, Some(pos), Scope::Statement))
            }
            _ => Err(unsupported("invoking this value with '&'", target, &s.src)),
        }
    }

    /// Collects the arguments. `-Name:value` always binds the value;
    /// `-Name value` binds it unless the spec says `Name` is a switch.
    pub fn build_args<'t>(
        &mut self,
        elements: Option<Node<'t>>,
        s: &Src,
        spec: Option<&CmdletSpec>,
    ) -> R<Args<'t>> {
        let mut out = Args {
            args: Vec::new(),
            params: Vec::new(),
            errors_to_null: false,
        };
        let Some(elements) = elements else {
            return Ok(out);
        };
        let mut pending: Option<String> = None;
        let mut colon = false;
        let mut comma = false;
        for el in all(elements) {
            match el.kind() {
                // `Name, @{…}`: the grammar leaves the comma between two
                // arguments; PowerShell makes one array argument of them.
                "," => comma = true,
                "command_argument_sep" => {
                    if text(el, &s.src).contains(':') {
                        colon = true;
                    }
                }
                "command_parameter" => {
                    if let Some(p) = pending.take() {
                        out.args.push(Argument::Named {
                            name: p,
                            value: None,
                        });
                    }
                    let t = text(el, &s.src).trim_start_matches('-');
                    colon = t.ends_with(':');
                    let name = t.trim_end_matches(':').to_string();
                    out.params.push((name.clone(), el));
                    pending = Some(name);
                }
                k if k.contains("redirection") => {
                    let t: String = text(el, &s.src)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    if t.eq_ignore_ascii_case("2>$null") {
                        out.errors_to_null = true;
                    } else {
                        return Err(unsupported(&format!("the redirection '{t}'"), el, &s.src));
                    }
                }
                _ if !el.is_named() => {}
                _ => {
                    let v = self.eval_argument(el, s)?;
                    if std::mem::take(&mut comma) {
                        if let Some(
                            Argument::Positional(prev)
                            | Argument::Named {
                                value: Some(prev), ..
                            },
                        ) = out.args.last_mut()
                        {
                            let mut items =
                                super::eval::unroll(std::mem::replace(prev, Value::Null));
                            items.push(v);
                            *prev = Value::Array(items);
                            continue;
                        }
                    }
                    match pending.take() {
                        Some(p) if colon || !is_switch(spec, &p) => {
                            out.args.push(Argument::Named {
                                name: p,
                                value: Some(v),
                            });
                        }
                        Some(p) => {
                            out.args.push(Argument::Named {
                                name: p,
                                value: None,
                            });
                            out.args.push(Argument::Positional(v));
                        }
                        None => out.args.push(Argument::Positional(v)),
                    }
                    colon = false;
                }
            }
        }
        if let Some(p) = pending {
            out.args.push(Argument::Named {
                name: p,
                value: None,
            });
        }
        Ok(out)
    }

    /// An argument in argument mode: a bare word is a string.
    fn eval_argument(&mut self, el: Node, s: &Src) -> R<Value> {
        let u = unwrap(el);
        match u.kind() {
            "generic_token" => Ok(Value::str(text(u, &s.src))),
            _ => self.eval(el, s),
        }
    }

    /// The effective `-ErrorAction` (or `-EA`) for a command, lower-cased;
    /// `2>$null` silences the error stream too.
    fn error_action_of(&self, a: &Args) -> String {
        for arg in &a.args {
            if let Argument::Named {
                name,
                value: Some(v),
            } = arg
            {
                let l = name.to_ascii_lowercase();
                if l == "ea" || (l.len() >= 2 && "erroraction".starts_with(&l)) {
                    return super::convert::to_ps_string(v).to_ascii_lowercase();
                }
            }
        }
        if a.errors_to_null {
            return "silentlycontinue".into();
        }
        self.error_preference()
    }

    /// `-ErrorVariable name` (`-ev`): the command's non-terminating errors,
    /// as ErrorRecords, in `$name` (whatever the error action), as
    /// about_CommonParameters describes; `+name` (append) is not modelled.
    fn set_error_variable(&mut self, a: &Args, pending: &[PsError], pos: Pos) {
        let name = a.args.iter().find_map(|arg| match arg {
            Argument::Named {
                name,
                value: Some(v),
            } if name.eq_ignore_ascii_case("ErrorVariable") || name.eq_ignore_ascii_case("ev") => {
                Some(super::convert::to_ps_string(v))
            }
            _ => None,
        });
        let Some(var) = name else { return };
        let records: Vec<Value> = pending
            .iter()
            .map(|e| {
                super::records::error_record(&super::errors::RtError {
                    err: e.clone(),
                    pos: Some(pos.clone()),
                    scope: super::errors::Scope::Statement,
                })
            })
            .collect();
        self.set_var(&var, Value::Array(records));
    }

    /// Applies an error action to a non-terminating error.
    pub fn non_terminating(&mut self, e: PsError, ea: &str, pos: Pos) -> R<()> {
        match ea {
            "stop" => Err(Flow::error(e.terminating(), Some(pos), Scope::Script)),
            "silentlycontinue" | "ignore" => Ok(()),
            _ => {
                self.write_error(RtError {
                    err: e,
                    pos: Some(pos),
                    scope: Scope::Statement,
                });
                Ok(())
            }
        }
    }
}

fn is_switch(spec: Option<&CmdletSpec>, name: &str) -> bool {
    let Some(spec) = spec else {
        // Without a spec only the ShouldProcess pair and the common
        // switches are known to take no value.
        return ["whatif", "confirm", "verbose", "debug"]
            .contains(&name.to_ascii_lowercase().as_str());
    };
    let l = name.to_ascii_lowercase();
    let exact = spec.params.iter().find(|p| {
        p.name.eq_ignore_ascii_case(&l) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(&l))
    });
    let found = exact.or_else(|| {
        let m: Vec<_> = spec
            .params
            .iter()
            .filter(|p| p.name.to_ascii_lowercase().starts_with(&l))
            .collect();
        (m.len() == 1).then(|| m[0])
    });
    match found {
        Some(p) => p.kind == ParamKind::Switch,
        None => ["whatif", "confirm", "verbose", "debug"]
            .iter()
            .any(|c| c.starts_with(&l)),
    }
}

/// PowerShell underlines the command name for CommandNotFound, the
/// parameter token for binding errors, and the whole command otherwise.
pub(crate) fn error_position(e: &PsError, name_node: Node, a: &Args, whole: Node, s: &Src) -> Pos {
    if e.fully_qualified_error_id == "CommandNotFoundException" {
        return Pos::of(name_node, &s.src);
    }
    if e.fully_qualified_error_id
        .starts_with("NamedParameterNotFound")
        || e.fully_qualified_error_id.starts_with("AmbiguousParameter")
        || e.fully_qualified_error_id.starts_with("MissingArgument")
    {
        if let Some((_, node)) = a.params.iter().find(|(p, _)| {
            e.message.contains(&format!("'{p}'"))
                || e.message
                    .to_ascii_lowercase()
                    .contains(&format!("'{}'", p.to_ascii_lowercase()))
        }) {
            return Pos::of(*node, &s.src);
        }
    }
    Pos::of(whole, &s.src)
}
