//! `System.Security.SecureString` and `System.Management.Automation.PSCredential`,
//! as far as a script builds a credential from text it read on stdin
//! (`New-Object SecureString`, `.AppendChar(c)`, `.MakeReadOnly()`, then
//! `New-Object PSCredential -ArgumentList user, $secure`) and a cmdlet reads
//! it back. The characters live in the object's `internal` state, never in
//! a property: a SecureString converts to the text `System.Security.SecureString`
//! (its .NET ToString), so rendering, ConvertTo-Json and the lab's 4103 log
//! show that and never the secret (Microsoft Learn, SecureString class;
//! PSCredential class). Owns no I/O and no cmdlet.

use super::convert::to_ps_string;
use super::value::{PsObject, Value};

pub(crate) const SECURE_STRING: &str = "System.Security.SecureString";
pub(crate) const PS_CREDENTIAL: &str = "System.Management.Automation.PSCredential";

/// `New-Object System.Security.SecureString`: empty, writable.
pub(crate) fn new_secure_string() -> Value {
    secure(String::new(), false)
}

fn secure(chars: String, read_only: bool) -> Value {
    let mut o = PsObject::new(SECURE_STRING)
        .with("Length", chars.chars().count() as i64)
        .display(SECURE_STRING);
    // `r` + text = read-only, `w` + text = writable.
    o.internal = Some(format!("{}{chars}", if read_only { 'r' } else { 'w' }));
    Value::object(o)
}

/// The characters of a SecureString value (`None` for any other value).
pub(crate) fn secure_text(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) if o.type_names.first().is_some_and(|t| t == SECURE_STRING) => {
            o.internal.as_deref().map(|s| s[1..].to_string())
        }
        _ => None,
    }
}

/// `New-Object PSCredential -ArgumentList user, securestring`.
pub(crate) fn new_credential(args: &Value) -> Result<Value, String> {
    let items = match args {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let (Some(user), Some(password)) = (items.first(), items.get(1)) else {
        return Err(format!(
            "Cannot find an overload for \"PSCredential\" and the argument count: \"{}\".",
            items.len()
        ));
    };
    if secure_text(password).is_none() {
        return Err(format!(
            "Cannot convert argument \"password\", with value: \"{}\", for \"PSCredential\" to type \"System.Security.SecureString\".",
            to_ps_string(password)
        ));
    }
    Ok(Value::object(
        PsObject::new(PS_CREDENTIAL)
            .with("UserName", to_ps_string(user))
            .with("Password", password.clone())
            .display(PS_CREDENTIAL),
    ))
}

/// A PSCredential's user name and password text.
pub(crate) fn credential_parts(v: &Value) -> Option<(String, String)> {
    match v {
        Value::Object(o) if o.type_names.first().is_some_and(|t| t == PS_CREDENTIAL) => Some((
            o.get("UserName").map(to_ps_string).unwrap_or_default(),
            o.get("Password").and_then(secure_text).unwrap_or_default(),
        )),
        _ => None,
    }
}

/// `$secure.AppendChar(c)` / `.MakeReadOnly()` on a SecureString held in a
/// variable: the updated value and the method's return. `None` when `v` is
/// not a SecureString or the method is not one of these.
pub(crate) fn mutate(v: &Value, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let Value::Object(o) = v else { return None };
    if o.type_names.first().is_none_or(|t| t != SECURE_STRING) {
        return None;
    }
    let state = o.internal.clone().unwrap_or_else(|| "w".into());
    let read_only = state.starts_with('r');
    let text = state[1..].to_string();
    match method {
        "appendchar" if read_only => Some(Err(
            "Exception calling \"AppendChar\" with \"1\" argument(s): \"Instance is read-only.\""
                .into(),
        )),
        "appendchar" => {
            let c = args.first().map(to_ps_string).unwrap_or_default();
            if c.chars().count() != 1 {
                return Some(Err(format!(
                    "Cannot convert argument \"c\", with value: \"{c}\", for \"AppendChar\" to type \"System.Char\"."
                )));
            }
            Some(Ok(secure(text + &c, false)))
        }
        "makereadonly" => Some(Ok(secure(text, true))),
        _ => None,
    }
}

/// Methods that do not change the object: `PSCredential.GetNetworkCredential()`
/// (whose `Password` is the plain text, as .NET's NetworkCredential gives
/// it), `SecureString.IsReadOnly()`.
pub(crate) fn method(v: &Value, method: &str) -> Option<Value> {
    if method == "getnetworkcredential" {
        let (user, password) = credential_parts(v)?;
        let (domain, name) = user
            .split_once('\\')
            .map_or((String::new(), user.clone()), |(d, n)| {
                (d.to_string(), n.to_string())
            });
        return Some(Value::object(
            PsObject::new("System.Net.NetworkCredential")
                .with("UserName", name)
                .with("Password", password)
                .with("Domain", domain),
        ));
    }
    if method == "isreadonly" {
        let Value::Object(o) = v else { return None };
        if o.type_names.first().is_some_and(|t| t == SECURE_STRING) {
            return Some(Value::Bool(
                o.internal.as_deref().is_some_and(|s| s.starts_with('r')),
            ));
        }
    }
    None
}
