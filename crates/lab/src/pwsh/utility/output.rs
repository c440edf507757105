//! The output cmdlets: Write-Output, Write-Host, Write-Error,
//! Write-Warning, and the JSON converters (ConvertTo-Json, ConvertFrom-Json),
//! on bound parameters. Write-Host and Write-Warning write to the
//! interpreter's stdout and stderr as a PowerShell 5.1 host does.

use tree_sitter::Node;

use super::super::convert::to_ps_string;
use super::super::errors::{Pos, R};
use super::super::eval::{collapse, unroll, Interp, Src};
use super::super::host::{Bound, ErrorCategory, PsError};
use super::super::value::Value;
use super::terminating;

/// ConvertTo-Json: `-InputObject` converts as one value, piped input as a list.
pub(super) fn convert_to_json(b: &Bound, items: Vec<Value>, piped: bool) -> Vec<Value> {
    let inputs = match b.get("InputObject") {
        Some(v) if !piped => vec![v.clone()],
        _ => items,
    };
    let depth = b
        .get("Depth")
        .and_then(super::super::ops::to_int)
        .unwrap_or(2);
    super::super::json::convert_to_json(&inputs, depth, b.switch("Compress"))
        .map(Value::String)
        .into_iter()
        .collect()
}

pub(super) fn convert_from_json(canon: &str, items: &[Value], n: Node, s: &Src) -> R<Vec<Value>> {
    let text = items
        .iter()
        .map(to_ps_string)
        .collect::<Vec<_>>()
        .join("\n");
    match super::super::json::convert_from_json(&text) {
        // 5.1 writes a JSON array as one object (not enumerated).
        Ok(v) => Ok(vec![v]),
        Err(e) => Err(terminating(
            canon,
            "System.ArgumentException",
            ErrorCategory::NotSpecified,
            format!("Invalid JSON primitive: {e}."),
            n,
            s,
        )),
    }
}

pub(super) fn write_output(b: &Bound, items: Vec<Value>) -> Vec<Value> {
    match b.get("InputObject") {
        Some(v) if b.switch("NoEnumerate") => vec![v.clone()],
        Some(v) => unroll(v.clone()),
        None => items,
    }
}

impl Interp<'_> {
    pub(super) fn write_host(&mut self, b: &Bound, items: Vec<Value>) -> R<Vec<Value>> {
        let sep = b.string("Separator").unwrap_or_else(|| " ".into());
        let text = unroll(b.get("Object").cloned().unwrap_or_else(|| collapse(items)))
            .iter()
            .map(to_ps_string)
            .collect::<Vec<_>>()
            .join(&sep);
        self.stdout.push_str(&text);
        if !b.switch("NoNewline") {
            self.stdout.push_str("\r\n");
        }
        Ok(vec![])
    }

    pub(super) fn write_error_cmdlet(
        &mut self,
        b: &Bound,
        ea: &str,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
        let msg = b.string("Message").unwrap_or_default();
        let mut e = PsError::new(
            ErrorCategory::NotSpecified,
            &b.string("ErrorId")
                .unwrap_or_else(|| "Microsoft.PowerShell.Commands.WriteErrorException".into()),
            msg,
        )
        .in_command("Write-Error");
        e.target = b.string("TargetObject").map(|t| format!("{t}:String"));
        self.non_terminating(e, ea, Pos::of(n, &s.src))?;
        Ok(vec![])
    }

    pub(super) fn write_warning(&mut self, b: &Bound) -> R<Vec<Value>> {
        let msg = b.string("Message").unwrap_or_default();
        self.stderr.push_str(&format!("WARNING: {msg}\r\n"));
        Ok(vec![])
    }
}
