//! The records the language hands to scripts: the ErrorRecord `$_` in a
//! `catch` block, the error `throw` raises, and `$PSVersionTable`. Pure
//! value construction; no evaluation.

use super::convert::to_ps_string;
use super::errors::{Flow, Pos, RtError, Scope};
use super::host::{ErrorCategory, PsError};
use super::value::{PsObject, Value};

/// `throw x`: a script-terminating RuntimeException; rethrowing an error
/// record keeps the original error.
pub(crate) fn throw_error(v: Value, pos: Pos) -> Flow {
    if let Value::Object(o) = &v {
        if o.type_names.first().is_some_and(|t| t == ERROR_RECORD) {
            let msg = o
                .get("Exception")
                .and_then(|e| e.property("Message"))
                .map(|m| to_ps_string(&m))
                .unwrap_or_default();
            let id = o
                .get("FullyQualifiedErrorId")
                .map(to_ps_string)
                .unwrap_or_default();
            let mut err = PsError::new(ErrorCategory::OperationStopped, &id, msg).terminating();
            err.target = o
                .get("TargetObject")
                .map(to_ps_string)
                .filter(|t| !t.is_empty());
            return Flow::error(err, Some(pos), Scope::Script);
        }
    }
    let msg = to_ps_string(&v);
    let mut err = PsError::new(ErrorCategory::OperationStopped, &msg, msg.clone()).terminating();
    err.target = Some(format!("{msg}:String"));
    Flow::error(err, Some(pos), Scope::Script)
}

pub(crate) const ERROR_RECORD: &str = "System.Management.Automation.ErrorRecord";

/// `$_` in a catch block: an ErrorRecord with `.Exception.Message`,
/// `.FullyQualifiedErrorId`, `.CategoryInfo`; its string is the message.
pub(crate) fn error_record(e: &RtError) -> Value {
    let ex = PsObject::new("System.Management.Automation.RuntimeException")
        .with("Message", e.err.message.as_str())
        .display(e.err.message.clone());
    let cat = PsObject::new("System.Management.Automation.ErrorCategoryInfo")
        .with("Category", e.err.category.as_str())
        .with("Activity", e.err.command.clone().unwrap_or_default())
        .display(format!(
            "{}: ({}) [{}], RuntimeException",
            e.err.category.as_str(),
            e.err.target.as_deref().unwrap_or(":"),
            e.err.command.as_deref().unwrap_or("")
        ));
    let mut rec = PsObject::new(ERROR_RECORD)
        .with("Exception", ex)
        .with(
            "FullyQualifiedErrorId",
            e.err.fully_qualified_error_id.as_str(),
        )
        .with("CategoryInfo", cat)
        .with(
            "TargetObject",
            e.err
                .target
                .clone()
                .map(|t| t.split(':').next().unwrap_or("").to_string()),
        )
        .display(e.err.message.clone());
    if let Some(p) = &e.pos {
        rec = rec.with(
            "ScriptStackTrace",
            format!("at <ScriptBlock>, <No file>: line {}", p.line),
        );
    }
    Value::object(rec)
}

pub(crate) fn ps_version_table() -> Value {
    let version = PsObject::new("System.Version")
        .with("Major", 5)
        .with("Minor", 1)
        .with("Build", 17763)
        .with("Revision", 1)
        .display("5.1.17763.1");
    let mut h = indexmap::IndexMap::new();
    h.insert("PSVersion".to_string(), Value::object(version));
    h.insert("PSEdition".to_string(), Value::str("Desktop"));
    h.insert("CLRVersion".to_string(), Value::str("4.0.30319.42000"));
    h.insert("BuildVersion".to_string(), Value::str("10.0.17763.1"));
    h.insert("WSManStackVersion".to_string(), Value::str("3.0"));
    h.insert("PSRemotingProtocolVersion".to_string(), Value::str("2.3"));
    h.insert("SerializationVersion".to_string(), Value::str("1.1.0.1"));
    Value::Hashtable(h)
}
