//! Instance methods of the lab's values, as .NET defines them for the
//! types they stand for: `ToString(format)`, `Equals`, `Contains`, the
//! string methods, TimeSpan arithmetic, and `Add`/`Remove`/`Clear`/`Insert`
//! on a collection held in a variable. It computes results only; finding
//! the receiver and writing a mutated collection back is `members`' work.

use indexmap::IndexMap;

use super::super::convert::to_ps_string;
use super::super::ops::{to_int, to_num, Num};
use super::super::value::{PsObject, Value};
use super::type_of;

fn arg_str(args: &[Value], i: usize) -> String {
    args.get(i).map(to_ps_string).unwrap_or_default()
}

fn cmp_case(a: &str, b: &str, f: impl Fn(&str, &str) -> bool) -> bool {
    f(a, b)
}

/// Instance methods; `None` when the value has no such method.
pub(crate) fn call_method(v: &Value, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let l = name.to_ascii_lowercase();
    if l == "tostring" {
        return Some(Ok(Value::String(match (v, args.first()) {
            (Value::DateTime(ms), Some(f)) => {
                super::super::datetime::format_custom(*ms, &to_ps_string(f))
            }
            (Value::Int(_) | Value::Double(_), Some(f)) => super::super::ops::format_composite(
                &format!("{{0:{}}}", to_ps_string(f)),
                std::slice::from_ref(v),
            )
            .ok()?,
            (Value::Array(_), None) => "System.Object[]".into(),
            _ => to_ps_string(v),
        })));
    }
    if l == "gettype" {
        let full = type_of(v);
        let short = full.rsplit('.').next().unwrap_or(&full).to_string();
        return Some(Ok(Value::object(
            PsObject::new("System.RuntimeType")
                .with("Name", short)
                .with("FullName", full.clone())
                .display(full),
        )));
    }
    if l == "equals" {
        return Some(Ok(Value::Bool(super::super::ops::ps_eq(
            v,
            args.first().unwrap_or(&Value::Null),
            false,
        ))));
    }
    match v {
        Value::String(s) => string_method(s, &l, args),
        Value::DateTime(ms) => {
            let n = args.first().and_then(to_num).map_or(0.0, |n| match n {
                Num::I(i) => i as f64,
                Num::D(d) => d,
            });
            let add = |unit: f64| Some(Ok(Value::DateTime(ms + (n * unit).round() as i64)));
            match l.as_str() {
                "touniversaltime" | "tolocaltime" => Some(Ok(Value::DateTime(*ms))),
                "addmilliseconds" => add(1.0),
                "addseconds" => add(1000.0),
                "addminutes" => add(60_000.0),
                "addhours" => add(3_600_000.0),
                "adddays" => add(86_400_000.0),
                "subtract" => match args.first() {
                    Some(Value::DateTime(o)) => Some(Ok(timespan(ms - o))),
                    _ => None,
                },
                _ => None,
            }
        }
        Value::Hashtable(h) => match l.as_str() {
            "containskey" => Some(Ok(Value::Bool(
                h.keys().any(|k| k.eq_ignore_ascii_case(&arg_str(args, 0))),
            ))),
            "containsvalue" => Some(Ok(Value::Bool(h.values().any(|x| {
                super::super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), false)
            })))),
            _ => None,
        },
        Value::Array(a) => match l.as_str() {
            "contains" => Some(Ok(Value::Bool(a.iter().any(|x| {
                super::super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true)
            })))),
            "indexof" => Some(Ok(Value::Int(
                a.iter()
                    .position(|x| {
                        super::super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true)
                    })
                    .map_or(-1, |p| p as i64),
            ))),
            _ => None,
        },
        Value::Int(_) | Value::Double(_) if l == "compareto" => Some(Ok(Value::Int(
            match super::super::ops::sort_cmp(v, args.first().unwrap_or(&Value::Null)) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            },
        ))),
        _ => None,
    }
}

fn timespan(ms: i64) -> Value {
    let t = ms as f64;
    Value::object(
        PsObject::new("System.TimeSpan")
            .with("Days", ms / 86_400_000)
            .with("Hours", (ms / 3_600_000) % 24)
            .with("Minutes", (ms / 60_000) % 60)
            .with("Seconds", (ms / 1000) % 60)
            .with("Milliseconds", ms % 1000)
            .with("Ticks", ms * 10_000)
            .with("TotalDays", t / 86_400_000.0)
            .with("TotalHours", t / 3_600_000.0)
            .with("TotalMinutes", t / 60_000.0)
            .with("TotalSeconds", t / 1000.0)
            .with("TotalMilliseconds", t),
    )
}

fn string_method(s: &str, l: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let a0 = arg_str(args, 0);
    let out = match l {
        "toupper" | "toupperinvariant" => Value::String(s.to_uppercase()),
        "tolower" | "tolowerinvariant" => Value::String(s.to_lowercase()),
        "trim" if args.is_empty() => Value::str(s.trim()),
        "trim" => Value::str(s.trim_matches(|c| a0.contains(c))),
        "trimstart" if args.is_empty() => Value::str(s.trim_start()),
        "trimstart" => Value::str(s.trim_start_matches(|c| a0.contains(c))),
        "trimend" if args.is_empty() => Value::str(s.trim_end()),
        "trimend" => Value::str(s.trim_end_matches(|c| a0.contains(c))),
        // .NET string methods are ordinal (case-sensitive) by default.
        "contains" => Value::Bool(cmp_case(s, &a0, |a, b| a.contains(b))),
        "startswith" => Value::Bool(s.starts_with(&a0)),
        "endswith" => Value::Bool(s.ends_with(&a0)),
        "indexof" => Value::Int(s.find(&a0).map_or(-1, |i| s[..i].chars().count() as i64)),
        "replace" => Value::String(s.replace(&a0, &arg_str(args, 1))),
        "tochararray" => Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()),
        "split" => {
            let seps: Vec<char> = if args.is_empty() {
                vec![' ']
            } else {
                args.iter()
                    .flat_map(|a| to_ps_string(a).chars().collect::<Vec<_>>())
                    .collect()
            };
            Value::Array(s.split(|c| seps.contains(&c)).map(Value::str).collect())
        }
        "substring" => {
            let chars: Vec<char> = s.chars().collect();
            let start = usize::try_from(to_int(args.first()?)?).ok()?;
            let len = match args.get(1) {
                Some(l) => usize::try_from(to_int(l)?).ok()?,
                None => chars.len().checked_sub(start)?,
            };
            if start + len > chars.len() {
                return Some(Err(format!(
                    "Exception calling \"Substring\" with \"{}\" argument(s): \"Index and length must refer to a location within the string.\"",
                    args.len()
                )));
            }
            Value::String(chars[start..start + len].iter().collect())
        }
        "padleft" => Value::String(format!(
            "{s:>w$}",
            w = usize::try_from(to_int(args.first()?)?).ok()?
        )),
        "padright" => Value::String(format!(
            "{s:<w$}",
            w = usize::try_from(to_int(args.first()?)?).ok()?
        )),
        _ => return None,
    };
    Some(Ok(out))
}

/// `Add`/`Remove`/`Clear`/`Insert` on a collection held in a variable:
/// returns the updated collection and the method's own return value.
pub(super) fn mutate(v: Value, l: &str, args: &[Value]) -> Result<(Value, Value), String> {
    match (v, l) {
        (Value::Array(mut a), "add") => {
            a.push(args.first().cloned().unwrap_or(Value::Null));
            let idx = a.len() as i64 - 1;
            Ok((Value::Array(a), Value::Int(idx)))
        }
        (Value::Array(mut a), "remove") => {
            if let Some(p) = a.iter().position(|x| {
                super::super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true)
            }) {
                a.remove(p);
            }
            Ok((Value::Array(a), Value::Null))
        }
        (Value::Array(_), "clear") => Ok((Value::Array(vec![]), Value::Null)),
        (Value::Hashtable(mut h), "add") => {
            let k = arg_str(args, 0);
            if h.keys().any(|x| x.eq_ignore_ascii_case(&k)) {
                return Err(format!(
                    "Exception calling \"Add\" with \"2\" argument(s): \"Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'\""
                ));
            }
            h.insert(k, args.get(1).cloned().unwrap_or(Value::Null));
            Ok((Value::Hashtable(h), Value::Null))
        }
        (Value::Hashtable(mut h), "remove") => {
            let k = arg_str(args, 0);
            h.retain(|x, _| !x.eq_ignore_ascii_case(&k));
            Ok((Value::Hashtable(h), Value::Null))
        }
        (Value::Hashtable(_), "clear") => Ok((Value::Hashtable(IndexMap::new()), Value::Null)),
        (other, m) => Err(format!(
            "Method invocation failed because [{}] does not contain a method named '{m}'.",
            type_of(&other)
        )),
    }
}
