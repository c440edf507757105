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
        Value::Double(d) => d.to_string(),
        Value::String(s) => s.clone(),
        Value::DateTime(ms) => crate::lab::pwsh::datetime::format_general(*ms),
        Value::Enum(e) => e.name.clone(),
        Value::Array(a) => a.iter().map(to_ps_string).collect::<Vec<_>>().join(" "),
        Value::Hashtable(_) => "System.Collections.Hashtable".to_string(),
        Value::Object(o) => o
            .display
            .clone()
            .unwrap_or_else(|| o.type_names.first().cloned().unwrap_or_default()),
        Value::ScriptBlock(s) => s.clone(),
    }
}
