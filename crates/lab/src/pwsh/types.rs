//! Conversions to .NET types (`[int]$x`, `[datetime]'…'`) and the static
//! methods of the type literals the lab knows (`[Math]::Round`,
//! `[string]::IsNullOrEmpty`, …). Pure functions over values.

use super::convert::to_ps_string;
use super::eval::unroll;
use super::ops::{round_half_even, to_int, to_num, Num};
use super::value::Value;

fn arg_str(args: &[Value], i: usize) -> String {
    args.get(i).map(to_ps_string).unwrap_or_default()
}

pub(crate) fn dotnet_name(t: &str) -> String {
    match t {
        "int" | "int32" => "System.Int32",
        "long" | "int64" => "System.Int64",
        "double" => "System.Double",
        "datetime" => "System.DateTime",
        "bool" => "System.Boolean",
        _ => t,
    }
    .to_string()
}

/// `[type]value`; `None` for types the lab does not know, `Err` when the
/// conversion fails.
pub(crate) fn cast(v: Value, t: &str) -> Option<Result<Value, ()>> {
    let t = t.strip_prefix("system.").unwrap_or(t);
    Some(match t {
        "void" => Ok(Value::Null),
        "string" => Ok(match v {
            Value::Null => Value::str(""),
            other => Value::String(to_ps_string(&other)),
        }),
        "int" | "int32" | "long" | "int64" | "uint32" | "uint64" | "byte" | "int16" => {
            to_int(&v).map(Value::Int).ok_or(())
        }
        "double" | "decimal" | "single" | "float" => to_num(&v)
            .map(|n| {
                Value::Double(match n {
                    Num::I(i) => i as f64,
                    Num::D(d) => d,
                })
            })
            .ok_or(()),
        "bool" | "boolean" => Ok(Value::Bool(v.is_truthy())),
        "array" | "object[]" => Ok(match v {
            Value::Array(a) => Value::Array(a),
            Value::Null => Value::Array(vec![]),
            other => Value::Array(vec![other]),
        }),
        "string[]" => Ok(Value::Array(
            unroll(v)
                .iter()
                .map(|x| Value::String(to_ps_string(x)))
                .collect(),
        )),
        "int[]" => unroll(v)
            .iter()
            .map(|x| to_int(x).map(Value::Int).ok_or(()))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        "hashtable" | "ordered" | "collections.specialized.ordereddictionary" => match v {
            Value::Hashtable(h) => Ok(Value::Hashtable(h)),
            _ => Err(()),
        },
        "object" | "psobject" => Ok(v),
        "datetime" => match v {
            Value::DateTime(ms) => Ok(Value::DateTime(ms)),
            Value::String(s) => parse_datetime(&s).map(Value::DateTime).ok_or(()),
            _ => Err(()),
        },
        "version" => Ok(Value::String(to_ps_string(&v))),
        _ => return None,
    })
}

/// `yyyy-MM-dd[THH:mm:ss[.fff…]][Z]` and `M/d/yyyy[ h:mm:ss tt]`, as UTC.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s
        .split_once(['T', ' '])
        .map_or((s, ""), |(d, t)| (d, t.trim()));
    let (y, m, d): (i64, i64, i64) = if date.contains('-') {
        let p: Vec<&str> = date.split('-').collect();
        (
            p.first()?.parse().ok()?,
            p.get(1)?.parse().ok()?,
            p.get(2)?.parse().ok()?,
        )
    } else {
        let p: Vec<&str> = date.split('/').collect();
        (
            p.get(2)?.parse().ok()?,
            p.first()?.parse().ok()?,
            p.get(1)?.parse().ok()?,
        )
    };
    let pm = time.ends_with("PM");
    let time = time.trim_end_matches("AM").trim_end_matches("PM").trim();
    let mut tp = time.split(':');
    let mut h: i64 = tp
        .next()
        .filter(|x| !x.is_empty())
        .map_or(Some(0), |x| x.parse().ok())?;
    let mi: i64 = tp.next().map_or(Some(0), |x| x.parse().ok())?;
    let sec: f64 = tp.next().map_or(Some(0.0), |x| x.parse().ok())?;
    if pm && h < 12 {
        h += 12;
    }
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + (sec * 1000.0).round() as i64)
}

/// Static methods of type literals the lab knows.
pub(crate) fn static_method(ty: &str, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let ty = ty.to_ascii_lowercase();
    let ty = ty.strip_prefix("system.").unwrap_or(&ty);
    let l = name.to_ascii_lowercase();
    let num = |i: usize| {
        args.get(i).and_then(to_num).map(|n| match n {
            Num::I(x) => x as f64,
            Num::D(d) => d,
        })
    };
    let out = match (ty, l.as_str()) {
        ("math", "round") => {
            let x = num(0)?;
            let digits = args.get(1).and_then(to_int).unwrap_or(0);
            let f = 10f64.powi(i32::try_from(digits).ok()?);
            let r = round_half_even(x * f) / f;
            if digits == 0 && matches!(args.first(), Some(Value::Int(_))) {
                Value::Int(r as i64)
            } else {
                Value::Double(r)
            }
        }
        ("math", "floor") => Value::Double(num(0)?.floor()),
        ("math", "ceiling") => Value::Double(num(0)?.ceil()),
        ("math", "abs") => match args.first()? {
            Value::Int(i) => Value::Int(i.abs()),
            _ => Value::Double(num(0)?.abs()),
        },
        ("math", "max" | "min") => {
            let (a, b) = (args.first()?, args.get(1)?);
            let pick_first =
                (super::ops::sort_cmp(a, b) == std::cmp::Ordering::Greater) == (l == "max");
            if pick_first {
                a.clone()
            } else {
                b.clone()
            }
        }
        ("math", "pow") => Value::Double(num(0)?.powf(num(1)?)),
        ("math", "sqrt") => Value::Double(num(0)?.sqrt()),
        ("string", "isnullorempty") => Value::Bool(arg_str(args, 0).is_empty()),
        ("string", "isnullorwhitespace") => Value::Bool(arg_str(args, 0).trim().is_empty()),
        ("string", "join") => {
            let items: Vec<Value> = args[1..].iter().cloned().flat_map(unroll).collect();
            Value::String(
                items
                    .iter()
                    .map(to_ps_string)
                    .collect::<Vec<_>>()
                    .join(&arg_str(args, 0)),
            )
        }
        ("string", "format") => {
            let rest: Vec<Value> = args[1..].iter().cloned().flat_map(unroll).collect();
            return Some(super::ops::format_composite(&arg_str(args, 0), &rest).map(Value::String));
        }
        ("datetime", "parse") => match parse_datetime(&arg_str(args, 0)) {
            Some(ms) => Value::DateTime(ms),
            None => {
                return Some(Err(format!(
                    "String '{}' was not recognized as a valid DateTime.",
                    arg_str(args, 0)
                )))
            }
        },
        ("io.path", "combine") => Value::String(super::utility::join_path(
            &arg_str(args, 0),
            &arg_str(args, 1),
        )),
        ("io.path", "getfilename") => {
            Value::str(arg_str(args, 0).rsplit(['\\', '/']).next().unwrap_or(""))
        }
        ("regex", "escape") => Value::String(regex::escape(&arg_str(args, 0))),
        ("int" | "int32" | "int64" | "long", "parse") => {
            match to_int(&Value::String(arg_str(args, 0))) {
                Some(i) => Value::Int(i),
                None => return Some(Err("Input string was not in a correct format.".into())),
            }
        }
        _ => return None,
    };
    Some(Ok(out))
}
