//! Expression evaluation: literals (numbers with `KB`…`PB` multipliers,
//! verbatim and expandable strings, here-strings), variables, arrays,
//! hashtables, script blocks, sub-expressions, unary and binary operators.
//! Member access and casts are in `members.rs`, operator semantics in `ops.rs`.

use std::rc::Rc;

use indexmap::IndexMap;
use tree_sitter::Node;

use super::convert::to_ps_string;
use super::errors::{runtime, unsupported, R};
use super::eval::{collapse, var_name, Interp, Src};
use super::host::ErrorCategory;
use super::parse::{all, named, text, unwrap};
use super::value::Value;

impl Interp<'_> {
    pub fn eval(&mut self, n: Node, s: &Src) -> R<Value> {
        let n = unwrap(n);
        match n.kind() {
            "logical_expression"
            | "bitwise_expression"
            | "comparison_expression"
            | "additive_expression"
            | "multiplicative_expression"
            | "format_expression"
            | "range_expression"
            | "logical_argument_expression"
            | "bitwise_argument_expression"
            | "comparison_argument_expression"
            | "additive_argument_expression"
            | "multiplicative_argument_expression"
            | "format_argument_expression"
            | "range_argument_expression" => self.eval_binary(n, s),
            "array_literal_expression" => {
                let items = named(n)
                    .into_iter()
                    .map(|k| self.eval(k, s))
                    .collect::<R<Vec<_>>>()?;
                Ok(Value::Array(items))
            }
            "unary_expression" | "expression_with_unary_operator" => self.eval_unary(n, s),
            "cast_expression" => self.eval_cast(n, s),
            "variable" => self.eval_variable(n, s),
            "string_literal" => self.eval_string(n, s),
            "integer_literal" | "real_literal" => parse_number(text(n, &s.src)).ok_or_else(|| {
                unsupported(&format!("the number '{}'", text(n, &s.src)), n, &s.src)
            }),
            "member_access" => self.eval_member_access(n, s),
            "invokation_expression" => self.eval_invocation(n, s),
            "element_access" => self.eval_element_access(n, s),
            "parenthesized_expression" => match named(n).first() {
                Some(p) => self.eval_pipeline_value(*p, s),
                None => Ok(Value::Null),
            },
            "sub_expression" => Ok(collapse(self.statements_output(n, s)?)),
            "array_expression" => Ok(Value::Array(self.statements_output(n, s)?)),
            "hash_literal_expression" => self.eval_hashtable(n, s).map(Value::Hashtable),
            "script_block_expression" => {
                let t = text(n, &s.src).to_string();
                self.blocks
                    .insert(t.clone(), (Rc::clone(s), n.start_byte(), n.end_byte()));
                Ok(Value::ScriptBlock(t))
            }
            "type_literal" => Ok(Value::str(type_name(n, s))),
            "pipeline" | "pipeline_chain" | "assignment_expression" => {
                self.eval_pipeline_value(n, s)
            }
            "post_increment_expression"
            | "post_decrement_expression"
            | "pre_increment_expression"
            | "pre_decrement_expression" => {
                let target = named(n)
                    .into_iter()
                    .find(|k| k.kind() != "comment")
                    .map(unwrap);
                let Some(target) = target else {
                    return Err(unsupported("this increment", n, &s.src));
                };
                let old = self.eval(target, s)?;
                let delta = if n.kind().contains("increment") {
                    1
                } else {
                    -1
                };
                let new = super::ops::binary("+", old.clone(), Value::Int(delta))
                    .map_err(|m| self.op_error(m, n, s))?;
                self.assign(target, new.clone(), s)?;
                Ok(if n.kind().starts_with("post") {
                    old
                } else {
                    new
                })
            }
            "generic_token" => Ok(Value::str(text(n, &s.src))),
            "command" => Ok(collapse(self.run_command(n, s, Vec::new(), false)?)),
            other => Err(unsupported(&format!("the expression '{other}'"), n, &s.src)),
        }
    }

    /// Output of the statements inside `$( )` / `@( )`.
    fn statements_output(&mut self, n: Node, s: &Src) -> R<Vec<Value>> {
        let mut out = Vec::new();
        if let Some(list) = named(n).into_iter().find(|k| k.kind() == "statement_list") {
            self.exec_list(list, s, &mut out)?;
        }
        Ok(out)
    }

    /// Left-associative chains `a op b op c`; `-and`/`-or` short-circuit.
    fn eval_binary(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = all(n);
        let mut acc = self.eval(kids[0], s)?;
        let mut i = 1;
        while i + 1 < kids.len() {
            let op = text(kids[i], &s.src).trim().to_ascii_lowercase();
            let rhs = kids[i + 1];
            acc = match op.as_str() {
                "-and" => Value::Bool(acc.is_truthy() && self.eval(rhs, s)?.is_truthy()),
                "-or" => Value::Bool(acc.is_truthy() || self.eval(rhs, s)?.is_truthy()),
                _ => {
                    let r = self.eval(rhs, s)?;
                    self.apply_binary(&op, acc, r, n, s)?
                }
            };
            i += 2;
        }
        Ok(acc)
    }

    fn apply_binary(&mut self, op: &str, l: Value, r: Value, n: Node, s: &Src) -> R<Value> {
        if op == "-match" || op == "-imatch" || op == "-cmatch" {
            let (v, matches) = super::ops::match_op(&l, &r, op == "-cmatch")
                .map_err(|m| self.op_error(m, n, s))?;
            if let Some(m) = matches {
                self.set_var("Matches", m);
            }
            return Ok(v);
        }
        super::ops::binary(op, l, r).map_err(|m| self.op_error(m, n, s))
    }

    fn eval_unary(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = all(n);
        if kids.len() == 1 {
            return self.eval(kids[0], s);
        }
        let op = text(kids[0], &s.src).trim().to_ascii_lowercase();
        let v = self.eval(kids[1], s)?;
        match op.as_str() {
            "-not" | "!" => Ok(Value::Bool(!v.is_truthy())),
            "-" => super::ops::binary("*", v, Value::Int(-1)).map_err(|m| self.op_error(m, n, s)),
            "+" => Ok(v),
            "," => Ok(Value::Array(vec![v])),
            "-join" => Ok(Value::str(
                super::eval::unroll(v)
                    .iter()
                    .map(to_ps_string)
                    .collect::<String>(),
            )),
            "-split" => super::ops::binary("-split", v, Value::str(r"\s+"))
                .map(|a| match a {
                    Value::Array(x) => Value::Array(
                        x.into_iter()
                            .filter(|p| !to_ps_string(p).is_empty())
                            .collect(),
                    ),
                    o => o,
                })
                .map_err(|m| self.op_error(m, n, s)),
            _ => Err(unsupported(
                &format!("the unary operator '{op}'"),
                n,
                &s.src,
            )),
        }
    }

    fn eval_variable(&mut self, n: Node, s: &Src) -> R<Value> {
        let raw = text(n, &s.src);
        let name = var_name(raw);
        if let Some(env) = name.strip_prefix("env:").or_else(|| {
            name.strip_prefix("ENV:")
                .or_else(|| name.strip_prefix("Env:"))
        }) {
            return Ok(self.host.env_var(env).map_or(Value::Null, Value::String));
        }
        match name.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            "psitem" => Ok(self.get_var("_")),
            "pshome" => Ok(Value::str(r"C:\Windows\System32\WindowsPowerShell\v1.0")),
            "psscriptroot" | "pscommandpath" => Ok(Value::str("")),
            _ if name.contains(':') => {
                Err(unsupported(&format!("the variable '{raw}'"), n, &s.src))
            }
            _ => Ok(self.get_var(&name)),
        }
    }

    fn eval_hashtable(&mut self, n: Node, s: &Src) -> R<IndexMap<String, Value>> {
        let mut h = IndexMap::new();
        let Some(body) = named(n)
            .into_iter()
            .find(|k| k.kind() == "hash_literal_body")
        else {
            return Ok(h);
        };
        for entry in named(body).into_iter().filter(|k| k.kind() == "hash_entry") {
            let kids = named(entry);
            let (Some(key), Some(val)) = (kids.first(), kids.get(1)) else {
                continue;
            };
            let key_node = unwrap(*key);
            let k = match key_node.kind() {
                "simple_name" | "key_expression" => text(key_node, &s.src).to_string(),
                _ => to_ps_string(&self.eval(key_node, s)?),
            };
            let v = self.eval_pipeline_value(*val, s)?;
            // Keys are case-insensitive: a later duplicate is an error in PS;
            // the lab keeps the first spelling and the last value.
            match h
                .keys()
                .find(|x: &&String| x.eq_ignore_ascii_case(&k))
                .cloned()
            {
                Some(existing) => {
                    h.insert(existing, v);
                }
                None => {
                    h.insert(k, v);
                }
            }
        }
        Ok(h)
    }

    fn eval_string(&mut self, n: Node, s: &Src) -> R<Value> {
        let Some(inner) = named(n).first().copied() else {
            return Ok(Value::str(text(n, &s.src)));
        };
        let raw = text(inner, &s.src);
        match inner.kind() {
            "verbatim_string_characters" => {
                let body = raw
                    .strip_prefix('\'')
                    .and_then(|x| x.strip_suffix('\''))
                    .unwrap_or(raw);
                Ok(Value::str(body.replace("''", "'")))
            }
            "verbatim_here_string_characters" => Ok(Value::str(here_body(raw))),
            "expandable_string_literal" | "expandable_here_string_literal" => {
                let here = inner.kind() == "expandable_here_string_literal";
                self.expand(inner, here, s).map(Value::String)
            }
            other => Err(unsupported(
                &format!("the string form '{other}'"),
                n,
                &s.src,
            )),
        }
    }

    /// Expands `"…"`: `$var` and `$( )` are evaluated (`$var.Prop` expands
    /// only `$var`, as PowerShell does); backtick escapes and `""` apply to
    /// the literal parts.
    fn expand(&mut self, n: Node, here: bool, s: &Src) -> R<String> {
        let raw = text(n, &s.src);
        let base = n.start_byte();
        let (open, close) = if here {
            let open = raw.find('\n').map_or(2, |i| i + 1);
            let close = raw
                .rfind('\n')
                .filter(|c| *c >= open)
                .map_or(raw.len() - 2, |c| {
                    if raw[..c].ends_with('\r') {
                        c - 1
                    } else {
                        c
                    }
                });
            (open, close)
        } else {
            (1, raw.len().saturating_sub(1).max(1))
        };
        let mut out = String::new();
        let mut pos = open;
        for child in named(n) {
            let (cs, ce) = (child.start_byte() - base, child.end_byte() - base);
            if cs < pos || ce > close {
                continue;
            }
            let lit = &raw[pos..cs];
            if unescape(lit, here, &mut out) {
                // A trailing backtick escapes the `$`: the variable is literal.
                out.push_str(&raw[cs..ce]);
            } else {
                let v = match child.kind() {
                    "sub_expression" => collapse(self.statements_output(child, s)?),
                    _ => self.eval(child, s)?,
                };
                out.push_str(&expand_value(&v));
            }
            pos = ce;
        }
        if pos < close {
            unescape(&raw[pos..close], here, &mut out);
        }
        Ok(out)
    }
}

/// A value inside a string: arrays join with spaces (`$OFS`).
fn expand_value(v: &Value) -> String {
    to_ps_string(v)
}

/// Applies backtick escapes (and `""` outside here-strings); returns true
/// when the text ends with an unpaired backtick (escaping what follows).
fn unescape(lit: &str, here: bool, out: &mut String) -> bool {
    let mut chars = lit.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some('a') => out.push('\u{7}'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('v') => out.push('\u{b}'),
                Some(other) => out.push(other),
                None => return true,
            },
            '"' if !here && chars.peek() == Some(&'"') => {
                chars.next();
                out.push('"');
            }
            c => out.push(c),
        }
    }
    false
}

/// The text between `@'`+newline and newline+`'@`.
fn here_body(raw: &str) -> String {
    let open = raw.find('\n').map_or(2, |i| i + 1);
    let close = raw
        .rfind('\n')
        .filter(|c| *c >= open)
        .unwrap_or(raw.len().saturating_sub(2));
    let body = &raw[open.min(close)..close];
    body.strip_suffix('\r').unwrap_or(body).to_string()
}

/// The name inside a type literal, `[System.Int32]` → `System.Int32`.
pub(crate) fn type_name(n: Node, s: &Src) -> String {
    text(n, &s.src)
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim()
        .to_string()
}

/// Numeric literals: decimal, hex, reals, the `l`/`d` suffixes and the
/// `KB MB GB TB PB` multipliers.
pub(crate) fn parse_number(t: &str) -> Option<Value> {
    let lower = t.trim().to_ascii_lowercase();
    let mut body = lower.as_str();
    let mut mult: i64 = 1;
    for (suffix, m) in [
        ("kb", 1i64 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("tb", 1 << 40),
        ("pb", 1 << 50),
    ] {
        if let Some(b) = body.strip_suffix(suffix) {
            body = b;
            mult = m;
            break;
        }
    }
    let body = body.strip_suffix('l').unwrap_or(body);
    if let Some(hex) = body.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .ok()
            .map(|v| Value::Int(v * mult));
    }
    if let Some(d) = body.strip_suffix('d') {
        return d
            .parse::<f64>()
            .ok()
            .map(|v| Value::Double(v * mult as f64));
    }
    if let Ok(i) = body.parse::<i64>() {
        return Some(
            i.checked_mul(mult)
                .map_or(Value::Double(i as f64 * mult as f64), Value::Int),
        );
    }
    let d = body.parse::<f64>().ok()?;
    let d = d * mult as f64;
    // `1.5GB` is an integer in PowerShell when the product is whole.
    if mult > 1 && d.fract() == 0.0 {
        return Some(Value::Int(d as i64));
    }
    Some(Value::Double(d))
}

/// `1..3` or `1GB` parsed by the grammar as a command name.
pub(crate) fn numeric_command_name(t: &str) -> Option<Value> {
    if let Some((a, b)) = t.split_once("..") {
        let (Some(Value::Int(a)), Some(Value::Int(b))) = (parse_number(a), parse_number(b)) else {
            return None;
        };
        return Some(super::ops::range(a, b));
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_number(t);
    }
    None
}

/// An error for a value that cannot be indexed or converted.
pub(crate) fn invalid_cast(v: &Value, ty: &str, n: Node, s: &Src) -> super::errors::Flow {
    runtime(
        ErrorCategory::InvalidArgument,
        "InvalidCastFromStringToInteger",
        format!("Cannot convert value \"{}\" to type \"{ty}\". Error: \"Input string was not in a correct format.\"", to_ps_string(v)),
        n,
        &s.src,
    )
}
