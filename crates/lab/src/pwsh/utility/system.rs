//! The path, time and object-construction cmdlets: Join-Path, Split-Path
//! (Windows separators), Get-Date, Start-Sleep (on the host's clock, so
//! lab time is simulated) and New-Object for the few types scripts use.
//! Any other type name is reported as unsupported, never guessed.

use indexmap::IndexMap;
use tree_sitter::Node;

use super::super::convert::to_ps_string;
use super::super::errors::R;
use super::super::eval::{unroll, Interp, Src};
use super::super::host::{Bound, ErrorCategory};
use super::super::ops::{to_int, to_num, Num};
use super::super::value::{PsObject, Value};
use super::{join_path, terminating};

/// Join-Path: each `-Path` joined with `-ChildPath`.
pub(super) fn join_path_cmdlet(b: &Bound) -> Vec<Value> {
    let child = b.string("ChildPath").unwrap_or_default();
    unroll(b.get("Path").cloned().unwrap_or(Value::Null))
        .iter()
        .map(|p| Value::String(join_path(&to_ps_string(p), &child)))
        .collect()
}

/// Split-Path: the parent (a drive root keeps its backslash) or, with `-Leaf`, the leaf.
pub(super) fn split_path(b: &Bound) -> Vec<Value> {
    let p = b.string("Path").unwrap_or_default();
    let trimmed = p.trim_end_matches('\\');
    let (parent, leaf) = trimmed.rsplit_once('\\').unwrap_or(("", trimmed));
    let parent = if parent.ends_with(':') {
        format!("{parent}\\")
    } else {
        parent.to_string()
    };
    vec![Value::String(if b.switch("Leaf") {
        leaf.to_string()
    } else {
        parent
    })]
}

pub(super) fn new_object(b: &Bound, n: Node, s: &Src) -> R<Vec<Value>> {
    let t = b
        .string("TypeName")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let t = t.strip_prefix("system.").unwrap_or(&t);
    match t {
        "psobject" | "management.automation.psobject" | "pscustomobject" => {
            let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
            if let Some(Value::Hashtable(h)) = b.get("Property") {
                o.props = h.clone();
            }
            Ok(vec![Value::object(o)])
        }
        "collections.arraylist" => Ok(vec![Value::Array(vec![])]),
        _ if t.starts_with("collections.generic.list") => Ok(vec![Value::Array(vec![])]),
        "collections.hashtable" => Ok(vec![Value::Hashtable(IndexMap::new())]),
        "security.securestring" => Ok(vec![super::super::credential::new_secure_string()]),
        "management.automation.pscredential" | "pscredential" => {
            let args = b.get("ArgumentList").cloned().unwrap_or(Value::Null);
            super::super::credential::new_credential(&args)
                .map(|c| vec![c])
                .map_err(|m| {
                    terminating(
                        "New-Object",
                        "ConstructorInvokedThrowException",
                        ErrorCategory::InvalidOperation,
                        m,
                        n,
                        s,
                    )
                })
        }
        _ => Err(super::super::errors::unsupported(
            &format!("New-Object -TypeName {t}"),
            n,
            &s.src,
        )),
    }
}

impl Interp<'_> {
    pub(super) fn get_date(&mut self, canon: &str, b: &Bound, n: Node, s: &Src) -> R<Vec<Value>> {
        let ms = match b.get("Date") {
            Some(Value::DateTime(ms)) => *ms,
            Some(other) => super::super::types::parse_datetime(&to_ps_string(other)).ok_or_else(|| {
                terminating(
                    canon,
                    "ParameterArgumentTransformationError",
                    ErrorCategory::InvalidData,
                    format!("Cannot bind parameter 'Date'. Cannot convert value \"{}\" to type \"System.DateTime\".", to_ps_string(other)),
                    n,
                    s,
                )
            })?,
            None => self.host.now_ms(),
        };
        Ok(vec![match b.string("Format") {
            Some(f) => Value::String(super::super::datetime::format_custom(ms, &f)),
            None => Value::DateTime(ms),
        }])
    }

    pub(super) fn start_sleep(&mut self, b: &Bound) -> R<Vec<Value>> {
        let secs = b.get("Seconds").and_then(to_num);
        let ms = match (secs, b.get("Milliseconds").and_then(to_int)) {
            (_, Some(ms)) => ms,
            (Some(Num::I(i)), None) => i * 1000,
            (Some(Num::D(d)), None) => (d * 1000.0) as i64,
            (None, None) => 0,
        };
        self.host.sleep_ms(u64::try_from(ms).unwrap_or(0));
        Ok(vec![])
    }
}
