//! .NET composite formatting as `-f` and `ToString(format)` apply it:
//! `{index[,alignment][:format]}` items, escaped braces, and the standard
//! numeric formats the lab's scripts use (N, D, F, P, X). It formats
//! values only; which operator calls it is `ops`' business.

use super::super::convert::{format_double, to_ps_string};
use super::super::value::Value;
use super::{to_num, Num};

/// .NET composite formatting for `-f`: `{0}`, `{0,8}`, `{0:N2}`, `{0:D3}`,
/// `{0:F1}`, `{0:P0}`, `{0:X}`, `{{`/`}}`.
pub(crate) fn format_composite(fmt: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut spec = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    spec.push(d);
                }
                let (head, f) = spec
                    .split_once(':')
                    .map_or((spec.as_str(), ""), |(h, f)| (h, f));
                let (idx, align) = head.split_once(',').map_or((head, ""), |(i, a)| (i, a));
                let i: usize = idx
                    .trim()
                    .parse()
                    .map_err(|_| "Input string was not in a correct format.".to_string())?;
                let v = args.get(i).ok_or_else(|| {
                    "Index (zero based) must be greater than or equal to zero and less than the size of the argument list.".to_string()
                })?;
                let s = format_one(v, f);
                let width: i64 = align.trim().parse().unwrap_or(0);
                let w = width.unsigned_abs() as usize;
                if width > 0 {
                    out.push_str(&format!("{s:>w$}"));
                } else {
                    out.push_str(&format!("{s:<w$}"));
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn format_one(v: &Value, f: &str) -> String {
    if let Value::DateTime(ms) = v {
        if !f.is_empty() {
            return super::super::datetime::format_custom(*ms, f);
        }
    }
    let Some(kind) = f.chars().next() else {
        return to_ps_string(v);
    };
    let digits: Option<usize> = f[1..].parse().ok();
    let Some(n) = to_num(v).filter(|_| !matches!(v, Value::String(_)) || to_num(v).is_some())
    else {
        return to_ps_string(v);
    };
    match kind.to_ascii_uppercase() {
        'N' => group_thousands(&format!("{:.*}", digits.unwrap_or(2), n.f())),
        'F' => format!("{:.*}", digits.unwrap_or(2), n.f()),
        'D' => match n {
            Num::I(i) => format!("{:0>w$}", i, w = digits.unwrap_or(0)),
            Num::D(d) => format_double(d),
        },
        'P' => format!(
            "{} %",
            group_thousands(&format!("{:.*}", digits.unwrap_or(2), n.f() * 100.0))
        ),
        'X' => match n {
            Num::I(i) => {
                let s = format!("{:0>w$X}", i, w = digits.unwrap_or(0));
                if kind == 'x' {
                    s.to_lowercase()
                } else {
                    s
                }
            }
            Num::D(d) => format_double(d),
        },
        _ => to_ps_string(v),
    }
}

fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}
