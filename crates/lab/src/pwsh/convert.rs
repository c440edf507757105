//! PowerShell's conversions between values: to string (as `"$x"` and
//! `.ToString()` do), to number and to bool, with 5.1's rules.

use super::value::Value;

/// The string PowerShell makes of a value (`[string]$x`).
pub fn to_ps_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => format_double(*d),
        Value::String(s) => s.clone(),
        Value::DateTime(ms) => crate::pwsh::datetime::format_general(*ms),
        Value::Enum(e) => e.name.clone(),
        Value::Array(a) => a.iter().map(to_ps_string).collect::<Vec<_>>().join(" "),
        Value::Hashtable(_) => "System.Collections.Hashtable".to_string(),
        Value::Object(o) => match &o.display {
            Some(d) => d.clone(),
            // A PSCustomObject converts to `@{a=1; b=System.Object[]}`.
            None if o
                .type_names
                .first()
                .is_some_and(|t| t.ends_with("PSCustomObject")) =>
            {
                let inner = o
                    .props
                    .iter()
                    .map(|(k, v)| format!("{k}={}", nested_string(v)))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("@{{{inner}}}")
            }
            None => o.type_names.first().cloned().unwrap_or_default(),
        },
        Value::ScriptBlock(s) => s.clone(),
    }
}

/// Inside `@{…}` an array shows its type name, as .NET's ToString() does.
fn nested_string(v: &Value) -> String {
    match v {
        Value::Array(_) => "System.Object[]".to_string(),
        other => to_ps_string(other),
    }
}

/// A double as .NET's round-trip ("R") format prints it: shortest digits,
/// no trailing `.0`, exponent form `1E+15`/`1E-05` outside [1e-5, 1e15).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = d.abs();
    if a != 0.0 && !(1e-5..1e15).contains(&a) {
        // Rust gives `1e15` / `1.5e-7`; .NET gives `1E+15` / `1.5E-07`.
        let s = format!("{d:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(x) => ('-', x),
            None => ('+', exp),
        };
        return format!("{mant}E{sign}{digits:0>2}");
    }
    let s = format!("{d}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_format_like_dotnet() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(2.0), "2");
        assert_eq!(format_double(1e15), "1E+15");
        assert_eq!(format_double(1.5e-7), "1.5E-07");
    }
}
