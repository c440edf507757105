//! How pipeline output reaches stdout when nothing formats it explicitly
//! (Out-Default): strings and numbers one per line, booleans `True`/`False`,
//! DateTimes in the en-US long form, hashtables as the Name/Value table and
//! other objects as a Format-List block. 5.1's Format-Table choice for
//! objects with few properties and its column widths are not reproduced.

use super::convert::to_ps_string;
use super::value::Value;

/// Renders output objects as the console would, with CRLF line ends.
pub fn render_output(items: &[Value]) -> String {
    let mut out = String::new();
    let mut in_list = false;
    for item in items {
        let is_block = matches!(item, Value::Object(o) if o.display.is_none())
            || matches!(item, Value::Hashtable(_));
        if in_list && !is_block {
            out.push_str("\r\n");
            in_list = false;
        }
        match item {
            Value::Null => {}
            Value::DateTime(ms) => {
                out.push_str(&format!(
                    "\r\n{}\r\n\r\n",
                    super::datetime::format_long(*ms)
                ));
            }
            Value::Hashtable(h) => {
                out.push_str("\r\nName                           Value\r\n----                           -----\r\n");
                for (k, v) in h {
                    out.push_str(&format!("{k:<30} {}\r\n", cell(v)));
                }
                in_list = true;
            }
            Value::Object(o) if o.display.is_none() => {
                let w = o.props.keys().map(|k| k.chars().count()).max().unwrap_or(0);
                out.push_str("\r\n");
                for (k, v) in &o.props {
                    out.push_str(&format!("{k:<w$} : {}\r\n", cell(v)));
                }
                in_list = true;
            }
            Value::Array(a) => out.push_str(&render_output(a)),
            other => {
                out.push_str(&to_ps_string(other));
                out.push_str("\r\n");
            }
        }
    }
    if in_list {
        out.push_str("\r\n");
    }
    out
}

/// A property value in a list or table: collections in braces, as 5.1 does.
fn cell(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "{{{}}}",
            a.iter().map(to_ps_string).collect::<Vec<_>>().join(", ")
        ),
        other => to_ps_string(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pwsh::value::PsObject;

    #[test]
    fn scalars_one_per_line_and_objects_as_lists() {
        let o = PsObject::new("X")
            .with("Name", "EX01")
            .with("State", Value::enumv("S", "Active", 1));
        let out = render_output(&[
            Value::str("a"),
            Value::Int(1),
            Value::Bool(true),
            Value::Null,
            Value::object(o),
        ]);
        assert_eq!(
            out,
            "a\r\n1\r\nTrue\r\n\r\nName  : EX01\r\nState : Active\r\n\r\n"
        );
    }
}
