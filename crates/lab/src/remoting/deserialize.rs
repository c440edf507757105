//! What crosses a PowerShell remoting session: objects are serialised to
//! CLIXML on the server and rebuilt on the client as property bags whose
//! type names carry the prefix `Deserialized.` and whose methods are gone
//! (about_Remote_Output; MS-PSRP §2.2.5). Primitive types (strings, numbers, booleans,
//! DateTime) arrive as themselves. An enum arrives as an object whose
//! ToString is the member's name, type names `Deserialized.<enum type>`;
//! the lab gives it no number at all, so a client that relies on `[int]`
//! or on ConvertTo-Json printing a number (as it does for a live enum)
//! fails here (what ConvertTo-Json prints for a deserialized enum on a
//! real client is UNVERIFIED). Implicit remoting adds `PSComputerName`,
//! `RunspaceId` and `PSShowComputerName` to every top-level object.

use crate::pwsh::convert::to_ps_string;
use crate::pwsh::value::{PsObject, Value};

const PREFIX: &str = "Deserialized.";

/// `v` as the client sees it after the round trip.
pub(super) fn deserialize(v: &Value) -> Value {
    match v {
        Value::Enum(e) => {
            let mut o = PsObject::new(&format!("{PREFIX}{}", e.type_name)).display(e.name.clone());
            o.type_names = [
                e.type_name.as_str(),
                "System.Enum",
                "System.ValueType",
                "System.Object",
            ]
            .iter()
            .map(|t| format!("{PREFIX}{t}"))
            .collect();
            Value::object(o)
        }
        Value::Array(a) => Value::Array(a.iter().map(deserialize).collect()),
        Value::Hashtable(h) => {
            Value::Hashtable(h.iter().map(|(k, v)| (k.clone(), deserialize(v))).collect())
        }
        Value::Object(o) => {
            let mut d = PsObject::new("");
            d.type_names = o
                .type_names
                .iter()
                .map(|t| {
                    if t.starts_with(PREFIX) {
                        t.clone()
                    } else {
                        format!("{PREFIX}{t}")
                    }
                })
                .collect();
            d.props = o
                .props
                .iter()
                .map(|(k, v)| (k.clone(), deserialize(v)))
                .collect();
            // CLIXML carries the object's ToString.
            d.display = Some(to_ps_string(v));
            Value::object(d)
        }
        Value::ScriptBlock(s) => Value::String(s.clone()),
        other => other.clone(),
    }
}

/// A top-level output object of an imported command, with the properties
/// implicit remoting adds.
pub(super) fn output(v: &Value, computer: &str, runspace_id: &str) -> Value {
    match deserialize(v) {
        Value::Object(mut o) => {
            o.props
                .insert("PSComputerName".into(), Value::str(computer));
            o.props.insert("RunspaceId".into(), Value::str(runspace_id));
            o.props
                .insert("PSShowComputerName".into(), Value::Bool(false));
            Value::Object(o)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_become_named_objects_nested_too() {
        let live = Value::object(
            PsObject::new("Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxServer")
                .with(
                    "DatabaseCopyAutoActivationPolicy",
                    Value::enumv("Microsoft.Exchange.Data.Directory.SystemConfiguration.DatabaseCopyAutoActivationPolicyType", "Blocked", 2),
                )
                .with(
                    "Inner",
                    PsObject::new("X.Y").with("State", Value::enumv("X.State", "Active", 1)),
                )
                .with("Name", "EX01"),
        );
        let d = output(&live, "ex01.contoso.local", "r1");
        let Value::Object(o) = &d else { panic!() };
        assert_eq!(
            o.type_names[0],
            "Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxServer"
        );
        let policy = d.property("DatabaseCopyAutoActivationPolicy").unwrap();
        assert_eq!(to_ps_string(&policy), "Blocked");
        let Value::Object(p) = &policy else {
            panic!("{policy:?}")
        };
        assert!(p.type_names[0].starts_with("Deserialized.Microsoft.Exchange"));
        assert_eq!(p.get("value__"), None);
        let state = d.property("Inner").unwrap().property("State").unwrap();
        assert_eq!(to_ps_string(&state), "Active");
        assert!(matches!(state, Value::Object(_)));
        assert_eq!(
            d.property("PSComputerName"),
            Some(Value::str("ex01.contoso.local"))
        );
        assert_eq!(d.property("Name"), Some(Value::str("EX01")));
    }
}
