//! Operator semantics as Windows PowerShell 5.1 applies them: the left
//! operand's type drives conversion, comparisons are case-insensitive unless
//! `-c…`, an array on the left of a comparison filters, `+` appends to
//! arrays and concatenates strings, `-f` formats with .NET composite format.
//! Errors come back as message strings; the caller adds the position.
//! The `-f` formatting itself is in `format`.

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};

use super::convert::to_ps_string;
use super::eval::unroll;
use super::value::Value;

mod format;

pub(crate) use format::format_composite;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    I(i64),
    D(f64),
}

impl Num {
    fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::D(d) => d,
        }
    }
    fn value(self) -> Value {
        match self {
            Num::I(i) => Value::Int(i),
            Num::D(d) => Value::Double(d),
        }
    }
}

/// PowerShell's numeric conversion (`[double]'1.5'`, `$null` → 0, `$true` → 1).
pub(crate) fn to_num(v: &Value) -> Option<Num> {
    match v {
        Value::Null => Some(Num::I(0)),
        Value::Bool(b) => Some(Num::I(i64::from(*b))),
        Value::Int(i) => Some(Num::I(*i)),
        Value::Double(d) => Some(Num::D(*d)),
        Value::Enum(e) => Some(Num::I(e.value)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Some(Num::I(0));
            }
            match super::expr::parse_number(t)? {
                Value::Int(i) => Some(Num::I(i)),
                Value::Double(d) => Some(Num::D(d)),
                _ => None,
            }
        }
        Value::Array(a) if a.len() == 1 => to_num(&a[0]),
        _ => None,
    }
}

/// `[int]$x` with .NET's banker's rounding for doubles.
pub(crate) fn to_int(v: &Value) -> Option<i64> {
    match to_num(v)? {
        Num::I(i) => Some(i),
        Num::D(d) => Some(round_half_even(d) as i64),
    }
}

pub(crate) fn round_half_even(d: f64) -> f64 {
    let r = d.round();
    if (d - d.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - d.signum()
    } else {
        r
    }
}

fn not_number(v: &Value) -> String {
    format!(
        "Cannot convert value \"{}\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\"",
        to_ps_string(v)
    )
}

fn arith(op: &str, l: Num, r: Num) -> Result<Value, String> {
    if let (Num::I(a), Num::I(b)) = (l, r) {
        let exact = match op {
            "+" => a.checked_add(b),
            "-" => a.checked_sub(b),
            "*" => a.checked_mul(b),
            "/" if b == 0 => return Err("Attempted to divide by zero.".into()),
            "/" if a % b == 0 => Some(a / b),
            "/" => None,
            "%" if b == 0 => return Err("Attempted to divide by zero.".into()),
            "%" => Some(a % b),
            _ => None,
        };
        if let Some(v) = exact {
            return Ok(Value::Int(v));
        }
    }
    let (a, b) = (l.f(), r.f());
    Ok(Num::D(match op {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" if b == 0.0 => return Err("Attempted to divide by zero.".into()),
        "/" => a / b,
        _ => a % b,
    })
    .value())
}

/// Applies a binary operator (lower-cased, e.g. `-eq`, `+`, `-join`).
pub(crate) fn binary(op: &str, l: Value, r: Value) -> Result<Value, String> {
    match op {
        "+" => add(l, r),
        "-" | "*" | "/" | "%" => {
            if op == "*" {
                match (&l, to_int(&r)) {
                    (Value::String(s), Some(n)) => {
                        return Ok(Value::String(s.repeat(n.max(0) as usize)))
                    }
                    (Value::Array(a), Some(n)) => {
                        return Ok(Value::Array(
                            a.iter()
                                .cloned()
                                .cycle()
                                .take(a.len() * n.max(0) as usize)
                                .collect(),
                        ))
                    }
                    _ => {}
                }
            }
            let a = to_num(&l).ok_or_else(|| not_number(&l))?;
            let b = to_num(&r).ok_or_else(|| not_number(&r))?;
            arith(op, a, b)
        }
        ".." => {
            let (a, b) = (
                to_int(&l).ok_or_else(|| not_number(&l))?,
                to_int(&r).ok_or_else(|| not_number(&r))?,
            );
            Ok(range(a, b))
        }
        "-f" => Ok(Value::String(format_composite(
            &to_ps_string(&l),
            &unroll(r),
        )?)),
        "-join" => Ok(Value::String(
            unroll(l)
                .iter()
                .map(to_ps_string)
                .collect::<Vec<_>>()
                .join(&to_ps_string(&r)),
        )),
        "-split" | "-isplit" | "-csplit" => {
            let re = regex(&to_ps_string(&r), op == "-csplit")?;
            let parts = unroll(l)
                .iter()
                .flat_map(|x| {
                    re.split(&to_ps_string(x))
                        .map(Value::str)
                        .collect::<Vec<_>>()
                })
                .collect();
            Ok(Value::Array(parts))
        }
        "-replace" | "-ireplace" | "-creplace" => {
            let args = unroll(r);
            let pat = args.first().map(to_ps_string).unwrap_or_default();
            let rep = args.get(1).map(to_ps_string).unwrap_or_default();
            let re = regex(&pat, op == "-creplace")?;
            let each = |x: &Value| {
                Value::String(re.replace_all(&to_ps_string(x), rep.as_str()).into_owned())
            };
            Ok(match l {
                Value::Array(a) => Value::Array(a.iter().map(each).collect()),
                other => each(&other),
            })
        }
        "-band" | "-bor" | "-bxor" => {
            let (a, b) = (
                to_int(&l).ok_or_else(|| not_number(&l))?,
                to_int(&r).ok_or_else(|| not_number(&r))?,
            );
            Ok(Value::Int(match op {
                "-band" => a & b,
                "-bor" => a | b,
                _ => a ^ b,
            }))
        }
        "-xor" => Ok(Value::Bool(l.is_truthy() != r.is_truthy())),
        "-notmatch" | "-inotmatch" | "-cnotmatch" => {
            let (v, _) = match_op(&l, &r, op == "-cnotmatch")?;
            Ok(match v {
                Value::Bool(b) => Value::Bool(!b),
                other => other,
            })
        }
        _ => compare_op(op, l, r),
    }
}

fn add(l: Value, r: Value) -> Result<Value, String> {
    match l {
        Value::Null => Ok(r),
        Value::String(s) => Ok(Value::String(s + &to_ps_string(&r))),
        Value::Array(mut a) => {
            match r {
                Value::Array(b) => a.extend(b),
                other => a.push(other),
            }
            Ok(Value::Array(a))
        }
        Value::Hashtable(mut h) => match r {
            Value::Hashtable(o) => {
                for (k, v) in o {
                    if h.keys().any(|x| x.eq_ignore_ascii_case(&k)) {
                        return Err(format!("Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'"));
                    }
                    h.insert(k, v);
                }
                Ok(Value::Hashtable(h))
            }
            _ => Err("A hash table can only be added to another hash table.".into()),
        },
        Value::DateTime(_) => {
            Err("The lab does not support adding to a DateTime with '+'; use .AddSeconds()".into())
        }
        other => {
            let a = to_num(&other).ok_or_else(|| not_number(&other))?;
            let b = to_num(&r).ok_or_else(|| not_number(&r))?;
            arith("+", a, b)
        }
    }
}

pub(crate) fn range(a: i64, b: i64) -> Value {
    if a <= b {
        Value::Array((a..=b).map(Value::Int).collect())
    } else {
        Value::Array((b..=a).rev().map(Value::Int).collect())
    }
}

fn regex(pat: &str, case_sensitive: bool) -> Result<Regex, String> {
    RegexBuilder::new(pat)
        .case_insensitive(!case_sensitive)
        .build()
        .map_err(|e| format!("The regular expression pattern {pat} is not valid: {e}"))
}

/// `-match`: on a scalar returns a bool and the `$Matches` hashtable; on an
/// array filters (and leaves `$Matches` alone).
pub(crate) fn match_op(l: &Value, r: &Value, cs: bool) -> Result<(Value, Option<Value>), String> {
    let re = regex(&to_ps_string(r), cs)?;
    if let Value::Array(a) = l {
        let kept = a
            .iter()
            .filter(|x| re.is_match(&to_ps_string(x)))
            .cloned()
            .collect();
        return Ok((Value::Array(kept), None));
    }
    let subject = to_ps_string(l);
    match re.captures(&subject) {
        Some(c) => {
            let mut h = indexmap::IndexMap::new();
            for (i, name) in re.capture_names().enumerate() {
                if let Some(m) = c.get(i) {
                    h.insert(
                        name.map_or_else(|| i.to_string(), str::to_string),
                        Value::str(m.as_str()),
                    );
                }
            }
            Ok((Value::Bool(true), Some(Value::Hashtable(h))))
        }
        None => Ok((Value::Bool(false), None)),
    }
}

/// PowerShell equality with the left operand's type driving conversion.
pub(crate) fn ps_eq(l: &Value, r: &Value, cs: bool) -> bool {
    match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::String(a), _) => {
            let b = to_ps_string(r);
            if cs {
                *a == b
            } else {
                a.to_lowercase() == b.to_lowercase()
            }
        }
        (Value::Bool(a), _) => *a == r.is_truthy(),
        (Value::Enum(e), Value::String(b)) => e.name.eq_ignore_ascii_case(b),
        (Value::Int(_) | Value::Double(_) | Value::Enum(_), _) => match (to_num(l), to_num(r)) {
            (Some(a), Some(b)) => a.f() == b.f(),
            _ => false,
        },
        (Value::DateTime(a), Value::DateTime(b)) => a == b,
        _ => l == r,
    }
}

fn ps_cmp(l: &Value, r: &Value, cs: bool) -> Option<Ordering> {
    match l {
        Value::Int(_) | Value::Double(_) | Value::Enum(_) | Value::Bool(_) => {
            to_num(l)?.f().partial_cmp(&to_num(r)?.f())
        }
        Value::DateTime(a) => match r {
            Value::DateTime(b) => Some(a.cmp(b)),
            _ => None,
        },
        Value::Null => Some(if matches!(r, Value::Null) {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        _ => {
            let (a, b) = (to_ps_string(l), to_ps_string(r));
            Some(if cs {
                a.cmp(&b)
            } else {
                a.to_lowercase().cmp(&b.to_lowercase())
            })
        }
    }
}

/// Ordering used by Sort-Object and Measure-Object.
pub(crate) fn sort_cmp(l: &Value, r: &Value) -> Ordering {
    ps_cmp(l, r, false).unwrap_or(Ordering::Equal)
}

/// `*`, `?` and `[a-z]` wildcards, anchored, case-insensitive unless `cs`.
pub(crate) fn like(subject: &str, pattern: &str, cs: bool) -> bool {
    let mut re = String::from("^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                re.push('[');
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if d == '\\' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                re.push(']');
            }
            '`' => {
                if let Some(d) = chars.next() {
                    re.push_str(&regex::escape(&d.to_string()));
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    RegexBuilder::new(&re)
        .case_insensitive(!cs)
        .dot_matches_new_line(true)
        .build()
        .is_ok_and(|r| r.is_match(subject))
}

/// Scalar comparison for operators that filter arrays element-wise.
fn scalar_cmp(op: &str, l: &Value, r: &Value, cs: bool) -> Result<bool, String> {
    Ok(match op {
        "eq" => ps_eq(l, r, cs),
        "ne" => !ps_eq(l, r, cs),
        "gt" => ps_cmp(l, r, cs) == Some(Ordering::Greater),
        "ge" => matches!(ps_cmp(l, r, cs), Some(Ordering::Greater | Ordering::Equal)),
        "lt" => ps_cmp(l, r, cs) == Some(Ordering::Less),
        "le" => matches!(ps_cmp(l, r, cs), Some(Ordering::Less | Ordering::Equal)),
        "like" => like(&to_ps_string(l), &to_ps_string(r), cs),
        "notlike" => !like(&to_ps_string(l), &to_ps_string(r), cs),
        other => return Err(format!("The lab does not support the operator '-{other}'")),
    })
}

fn compare_op(op: &str, l: Value, r: Value) -> Result<Value, String> {
    const BASES: &[&str] = &[
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "like",
        "notlike",
        "contains",
        "notcontains",
        "in",
        "notin",
        "is",
        "isnot",
        "as",
    ];
    let bare = op.trim_start_matches('-');
    let (cs, base) = if BASES.contains(&bare) {
        (false, bare)
    } else if let Some(b) = bare.strip_prefix('c').filter(|b| BASES.contains(b)) {
        (true, b)
    } else if let Some(b) = bare.strip_prefix('i').filter(|b| BASES.contains(b)) {
        (false, b)
    } else {
        return Err(format!("The lab does not support the operator '{op}'"));
    };
    match base {
        "contains" | "notcontains" => {
            let found = unroll(l).iter().any(|x| ps_eq(x, &r, cs));
            Ok(Value::Bool(found == (base == "contains")))
        }
        "in" | "notin" => {
            let found = unroll(r).iter().any(|x| ps_eq(x, &l, cs));
            Ok(Value::Bool(found == (base == "in")))
        }
        "is" | "isnot" | "as" => Err(format!("The lab does not support the operator '{op}'")),
        _ => match l {
            Value::Array(a) => {
                let mut kept = Vec::new();
                for x in a {
                    if scalar_cmp(base, &x, &r, cs)? {
                        kept.push(x);
                    }
                }
                Ok(Value::Array(kept))
            }
            other => scalar_cmp(base, &other, &r, cs).map(Value::Bool),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_the_left_operand() {
        assert_eq!(
            binary("-eq", Value::str("ABC"), Value::str("abc")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            binary("-ceq", Value::str("ABC"), Value::str("abc")).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            binary("-eq", Value::Int(1), Value::str("1")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            binary("-gt", Value::Int(10), Value::str("9")).unwrap(),
            Value::Bool(true)
        );
        let a = Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
        assert_eq!(
            binary("-gt", a.clone(), Value::Int(1)).unwrap(),
            Value::Array(vec![Value::Int(2), Value::Int(3)])
        );
        assert_eq!(
            binary("-contains", a.clone(), Value::str("2")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(binary("-in", Value::Int(4), a).unwrap(), Value::Bool(false));
        assert_eq!(
            binary("-like", Value::str("EX01"), Value::str("ex*")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            binary("-notlike", Value::str("EX01"), Value::str("ex?")).unwrap(),
            Value::Bool(true)
        );
    }

    #[test]
    fn arithmetic_and_strings() {
        assert_eq!(
            binary("+", Value::Int(1), Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            binary("/", Value::Int(3), Value::Int(2)).unwrap(),
            Value::Double(1.5)
        );
        assert_eq!(
            binary("+", Value::str("a"), Value::Int(1)).unwrap(),
            Value::str("a1")
        );
        assert_eq!(
            binary("+", Value::Int(1), Value::str("2")).unwrap(),
            Value::Int(3)
        );
        assert!(binary("+", Value::Int(1), Value::str("x")).is_err());
        assert_eq!(
            binary(
                "-f",
                Value::str("{0} of {1:N1}|{2,3}"),
                Value::Array(vec![Value::Int(1), Value::Double(1234.56), Value::Int(7)])
            )
            .unwrap(),
            Value::str("1 of 1,234.6|  7")
        );
        assert_eq!(
            binary("-split", Value::str("a,b"), Value::str(",")).unwrap(),
            Value::Array(vec![Value::str("a"), Value::str("b")])
        );
        assert_eq!(
            binary(
                "-replace",
                Value::str("Abc"),
                Value::Array(vec!["b".into(), "x".into()])
            )
            .unwrap(),
            Value::str("Axc")
        );
    }
}
