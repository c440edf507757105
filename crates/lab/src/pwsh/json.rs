//! `ConvertTo-Json` / `ConvertFrom-Json` with Windows PowerShell 5.1's exact
//! semantics: the FullCLR branch of `ConvertToJsonCommand.cs` pre-processes
//! the object graph (depth limit, enums → numbers), serialises it with
//! System.Web's `JavaScriptSerializer` (compact, HTML-sensitive characters
//! as `\u003c`…, DateTime as `"\/Date(ms)\/"`), then, unless `-Compress`,
//! re-indents the text with `ConvertToPrettyJsonString`. It does not touch
//! the pipeline: the caller decides what the input objects are.

use indexmap::IndexMap;

use super::convert::{format_double, to_ps_string};
use super::value::{PsObject, Value};

/// A pre-processed JSON value (what JavaScriptSerializer would see).
#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    /// Already the final JSON text of a string (quoted and escaped).
    Str(String),
    List(Vec<J>),
    Dict(Vec<(String, J)>),
}

/// `ConvertTo-Json` over the collected input objects. `None` = no output at
/// all (no input, or only `$null`s: `ProcessRecord` skips null input).
/// Several inputs become one array at depth 0; one input is serialised bare.
pub fn convert_to_json(inputs: &[Value], depth: i64, compress: bool) -> Option<String> {
    let inputs: Vec<&Value> = inputs
        .iter()
        .filter(|v| !matches!(v, Value::Null))
        .collect();
    let j = match inputs.as_slice() {
        [] => return None,
        [one] => process(one, 0, depth),
        many => J::List(many.iter().map(|v| process(v, 1, depth)).collect()),
    };
    let compact = write_compact(&j);
    Some(if compress { compact } else { pretty(&j) })
}

/// `ProcessValue(obj, depth)`: primitives pass; a non-primitive deeper than
/// `max` becomes its ToString(); dictionaries, lists and objects recurse
/// with depth + 1.
fn process(v: &Value, depth: i64, max: i64) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::Int(*i),
        Value::Double(d) => J::Double(*d),
        Value::String(s) => J::Str(quote(s)),
        // JavaScriptSerializer: "\/Date(ms)\/" (UTC ms, no offset).
        Value::DateTime(ms) => J::Str(format!("\"\\/Date({ms})\\/\"")),
        // Enums serialise as their number (Int64-based enums excepted; the
        // lab's enums are all Int32-based).
        Value::Enum(e) => J::Int(e.value),
        _ if depth > max => J::Str(quote(&to_ps_string(v))),
        Value::Array(a) => J::List(a.iter().map(|x| process(x, depth + 1, max)).collect()),
        Value::Hashtable(h) => J::Dict(
            h.iter()
                .map(|(k, x)| (k.clone(), process(x, depth + 1, max)))
                .collect(),
        ),
        Value::Object(o) => J::Dict(
            o.props
                .iter()
                .map(|(k, x)| (k.clone(), process(x, depth + 1, max)))
                .collect(),
        ),
        Value::ScriptBlock(s) => J::Str(quote(s)),
    }
}

/// JavaScriptSerializer's string escaping: `"` `\` and control characters,
/// plus `<` `>` `'` `&` as `\u003c` `\u003e` `\u0027` `\u0026`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '\'' | '&' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_compact(j: &J) -> String {
    match j {
        J::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(write_compact)
                .collect::<Vec<_>>()
                .join(",")
        ),
        J::Dict(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), write_compact(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Int(i) => i.to_string(),
        J::Double(d) => format_double(*d),
        J::Str(s) => s.clone(),
    }
}

/// The 5.1 pretty form, equivalent to `ConvertToPrettyJsonString` in the
/// FullCLR branch of ConvertToJsonCommand.cs (see PowerShell/PowerShell
/// issues #2736 and #9266 for captured 5.1 output): CRLF line ends, members
/// indented 4 spaces from their container's closing bracket, `"Key":  value`
/// with two spaces, and a container that is a member's value indented to
/// the column after `"Key":  `, so nested brackets drift right. Empty
/// containers print as `[` CRLF CRLF `]`.
fn pretty(j: &J) -> String {
    let mut out = String::new();
    write_pretty(j, 0, &mut out);
    out
}

/// Writes `j` whose opening bracket is already positioned; `pad` is the
/// column of its closing bracket.
fn write_pretty(j: &J, pad: usize, out: &mut String) {
    match j {
        J::List(items) => {
            out.push_str("[\r\n");
            let inner = pad + 4;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\r\n");
                }
                out.push_str(&" ".repeat(inner));
                write_pretty(item, inner, out);
            }
            out.push_str("\r\n");
            out.push_str(&" ".repeat(pad));
            out.push(']');
        }
        J::Dict(entries) => {
            out.push_str("{\r\n");
            let inner = pad + 4;
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\r\n");
                }
                let key = quote(k);
                out.push_str(&" ".repeat(inner));
                out.push_str(&key);
                out.push_str(":  ");
                write_pretty(v, inner + key.chars().count() + 3, out);
            }
            out.push_str("\r\n");
            out.push_str(&" ".repeat(pad));
            out.push('}');
        }
        other => out.push_str(&write_compact(other)),
    }
}

/// `ConvertFrom-Json`: objects become PSCustomObjects, `"\/Date(ms)\/"`
/// strings become DateTimes (JavaScriptSerializer does that), numbers Int
/// or Double. Errors carry serde_json's description.
pub fn convert_from_json(text: &str) -> Result<Value, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(from_serde(v))
}

fn from_serde(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => parse_date(&s).map_or(Value::String(s), Value::DateTime),
        serde_json::Value::Array(a) => Value::Array(a.into_iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            let mut obj = PsObject::new("System.Management.Automation.PSCustomObject");
            obj.props = o
                .into_iter()
                .map(|(k, v)| (k, from_serde(v)))
                .collect::<IndexMap<_, _>>();
            Value::object(obj)
        }
    }
}

fn parse_date(s: &str) -> Option<i64> {
    s.strip_prefix("/Date(")?.strip_suffix(")/")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(props: &[(&str, Value)]) -> Value {
        let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
        for (k, v) in props {
            o.props.insert((*k).to_string(), v.clone());
        }
        Value::object(o)
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert_eq!(convert_to_json(&[], 2, true), None);
        assert_eq!(convert_to_json(&[Value::Null], 2, true), None);
    }

    #[test]
    fn one_object_is_bare_and_several_are_an_array() {
        let a = obj(&[("A", Value::Int(1))]);
        assert_eq!(
            convert_to_json(std::slice::from_ref(&a), 2, true).unwrap(),
            r#"{"A":1}"#
        );
        assert_eq!(
            convert_to_json(&[a.clone(), a], 2, true).unwrap(),
            r#"[{"A":1},{"A":1}]"#
        );
        // -InputObject @($x): the caller passes the array as one input.
        let one = Value::Array(vec![Value::Int(5)]);
        assert_eq!(convert_to_json(&[one], 2, true).unwrap(), "[5]");
    }

    #[test]
    fn enums_are_numbers_and_dates_are_ms() {
        let v = obj(&[
            (
                "State",
                Value::enumv("Microsoft.Exchange.ServiceState", "Inactive", 0),
            ),
            ("When", Value::DateTime(1_632_850_321_807)),
        ]);
        assert_eq!(
            convert_to_json(&[v], 2, true).unwrap(),
            r#"{"State":0,"When":"\/Date(1632850321807)\/"}"#
        );
    }

    #[test]
    fn html_sensitive_characters_are_unicode_escaped() {
        let v = Value::str("<a href='x'>&\"\\\n");
        assert_eq!(
            convert_to_json(&[v], 2, true).unwrap(),
            r#""\u003ca href=\u0027x\u0027\u003e\u0026\"\\\n""#
        );
    }

    #[test]
    fn objects_past_the_depth_become_strings() {
        let inner = obj(&[("c1", Value::str("str")), ("c2", Value::Array(vec![]))]);
        let v = obj(&[("a", obj(&[("b", Value::Array(vec![inner]))]))]);
        // Default depth 2: a=0+1, b=2, the element of b is at 3 > 2.
        assert_eq!(
            convert_to_json(std::slice::from_ref(&v), 2, true).unwrap(),
            r#"{"a":{"b":["@{c1=str; c2=System.Object[]}"]}}"#
        );
        assert_eq!(
            convert_to_json(&[v], 4, true).unwrap(),
            r#"{"a":{"b":[{"c1":"str","c2":[]}]}}"#
        );
        // Several inputs start at depth 1, so a list two levels down is a string.
        let x = obj(&[(
            "L",
            Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Int(2)])]),
        )]);
        assert_eq!(
            convert_to_json(&[x.clone(), x], 2, true).unwrap(),
            r#"[{"L":["1 2"]},{"L":["1 2"]}]"#
        );
    }

    #[test]
    fn pretty_form_matches_5_1() {
        // Captured 5.1 output in PowerShell/PowerShell issue #9266.
        let user = obj(&[
            ("isCertified", Value::Bool(true)),
            (
                "Email",
                Value::Array(vec!["onemail".into(), "twomail".into()]),
            ),
        ]);
        let v = obj(&[("Users", Value::Array(vec![user]))]);
        let expected = "{\r\n    \"Users\":  [\r\n                  {\r\n                      \"isCertified\":  true,\r\n                      \"Email\":  [\r\n                                    \"onemail\",\r\n                                    \"twomail\"\r\n                                ]\r\n                  }\r\n              ]\r\n}";
        assert_eq!(convert_to_json(&[v], 4, false).unwrap(), expected);
        let empty = obj(&[("c2", Value::Array(vec![]))]);
        assert_eq!(
            convert_to_json(&[empty], 2, false).unwrap(),
            "{\r\n    \"c2\":  [\r\n\r\n           ]\r\n}"
        );
        assert_eq!(
            convert_to_json(&[Value::str("x")], 2, false).unwrap(),
            "\"x\""
        );
    }

    #[test]
    fn doubles_print_as_dotnet() {
        let v = Value::Array(vec![
            Value::Double(1.5),
            Value::Double(0.1),
            Value::Double(2.0),
        ]);
        assert_eq!(convert_to_json(&[v], 2, true).unwrap(), "[1.5,0.1,2]");
    }

    #[test]
    fn from_json_builds_custom_objects_and_dates() {
        let v = convert_from_json(r#"{"a":1,"b":[true,"\/Date(5)\/"],"c":1.5}"#).unwrap();
        let Value::Object(o) = v else {
            panic!("expected an object")
        };
        assert_eq!(
            o.type_names[0],
            "System.Management.Automation.PSCustomObject"
        );
        assert_eq!(o.get("A"), Some(&Value::Int(1)));
        assert_eq!(
            o.get("b"),
            Some(&Value::Array(vec![Value::Bool(true), Value::DateTime(5)]))
        );
        assert_eq!(o.get("c"), Some(&Value::Double(1.5)));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e12f64..1e12).prop_map(Value::Double),
            ".*".prop_map(Value::String),
            any::<i32>().prop_map(|ms| Value::DateTime(i64::from(ms))),
            (0i64..10).prop_map(|n| Value::enumv("T", "N", n)),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z<&']{1,6}", inner), 0..4).prop_map(|kv| {
                    let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
                    o.props = kv.into_iter().collect();
                    Value::object(o)
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn compressed_and_pretty_output_always_parse(v in arb_value(), depth in 0i64..5) {
            if let Some(text) = convert_to_json(std::slice::from_ref(&v), depth, true) {
                let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
                let pretty = convert_to_json(&[v], depth, false).unwrap();
                prop_assert_eq!(serde_json::from_str::<serde_json::Value>(&pretty).unwrap(), parsed);
                prop_assert!(!pretty.contains('\n') || pretty.contains("\r\n"));
            }
        }
    }
}
