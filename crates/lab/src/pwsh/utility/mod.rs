//! The built-in utility cmdlets the interpreter implements itself
//! (Where-Object, ForEach-Object, Select-Object, Sort-Object, Measure-Object,
//! Group-Object, ConvertTo/From-Json, Out-*, Write-*, Join-Path, Split-Path,
//! Get-Date, Start-Sleep, New-Object, Set-StrictMode). Each has a
//! `CmdletSpec` and is bound with `bind::bind`, so a wrong parameter fails
//! exactly as in PowerShell. Everything else goes to the `CommandHost`.
//!
//! This file holds the names, the parameter tables and the binding; the
//! cmdlets live by family in `objects` (the object pipeline), `output`
//! (Write-*, JSON) and `system` (paths, time, New-Object).

use tree_sitter::Node;

mod objects;
mod output;
mod system;

use super::bind::bind;
use super::command::{error_position, Args};
use super::errors::{Flow, Pos, Scope, R};
use super::eval::{unroll, Interp, Src};
use super::host::{
    positional, switch, value, CmdletSpec, ErrorCategory, ParamKind, ParamSpec, PsError,
};
use super::value::Value;

const fn alias(name: &'static str, kind: ParamKind, aliases: &'static [&'static str]) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        position: None,
        aliases,
    }
}

const WHERE: &[ParamSpec] = &[
    positional("Property", 0),
    positional("Value", 1),
    value("FilterScript"),
    value("InputObject"),
    switch("EQ"),
    switch("NE"),
    switch("GT"),
    switch("GE"),
    switch("LT"),
    switch("LE"),
    switch("Like"),
    switch("NotLike"),
    switch("Match"),
    switch("NotMatch"),
    switch("Contains"),
    switch("NotContains"),
    switch("In"),
    switch("NotIn"),
    switch("CEQ"),
    switch("CNE"),
    switch("CLike"),
];
const FOREACH: &[ParamSpec] = &[
    positional("Process", 0),
    value("MemberName"),
    value("Begin"),
    value("End"),
    value("InputObject"),
];
const SELECT: &[ParamSpec] = &[
    positional("Property", 0),
    value("ExpandProperty"),
    value("First"),
    value("Last"),
    value("Skip"),
    switch("Unique"),
    value("InputObject"),
];
const SORT: &[ParamSpec] = &[
    positional("Property", 0),
    switch("Descending"),
    switch("Unique"),
    value("InputObject"),
];
const MEASURE: &[ParamSpec] = &[
    positional("Property", 0),
    switch("Sum"),
    switch("Average"),
    switch("Maximum"),
    switch("Minimum"),
    value("InputObject"),
];
const GROUP: &[ParamSpec] = &[
    positional("Property", 0),
    switch("NoElement"),
    value("InputObject"),
];
const TO_JSON: &[ParamSpec] = &[
    positional("InputObject", 0),
    value("Depth"),
    switch("Compress"),
];
const FROM_JSON: &[ParamSpec] = &[positional("InputObject", 0)];
const OUT_NULL: &[ParamSpec] = &[value("InputObject")];
const OUT_STRING: &[ParamSpec] = &[value("InputObject"), value("Width"), switch("Stream")];
const WRITE_OUTPUT: &[ParamSpec] = &[positional("InputObject", 0), switch("NoEnumerate")];
const WRITE_HOST: &[ParamSpec] = &[
    positional("Object", 0),
    switch("NoNewline"),
    value("Separator"),
    value("ForegroundColor"),
    value("BackgroundColor"),
];
const WRITE_ERROR: &[ParamSpec] = &[
    positional("Message", 0),
    value("Category"),
    value("ErrorId"),
    value("TargetObject"),
    value("Exception"),
];
const MESSAGE: &[ParamSpec] = &[positional("Message", 0)];
const JOIN_PATH: &[ParamSpec] = &[
    positional("Path", 0),
    positional("ChildPath", 1),
    switch("Resolve"),
];
const SPLIT_PATH: &[ParamSpec] = &[positional("Path", 0), switch("Leaf"), switch("Parent")];
const GET_DATE: &[ParamSpec] = &[positional("Date", 0), value("Format")];
const START_SLEEP: &[ParamSpec] = &[
    positional("Seconds", 0),
    alias("Milliseconds", ParamKind::Value, &["ms"]),
];
const NEW_OBJECT: &[ParamSpec] = &[
    positional("TypeName", 0),
    positional("ArgumentList", 1),
    value("Property"),
    value("ComObject"),
    switch("Strict"),
];
const STRICT: &[ParamSpec] = &[value("Version"), switch("Off")];

/// The canonical utility cmdlet for a name or built-in alias.
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    let l = name.to_ascii_lowercase();
    Some(match l.as_str() {
        "where-object" | "where" | "?" => "Where-Object",
        "foreach-object" | "foreach" | "%" => "ForEach-Object",
        "select-object" | "select" => "Select-Object",
        "sort-object" | "sort" => "Sort-Object",
        "measure-object" | "measure" => "Measure-Object",
        "group-object" | "group" => "Group-Object",
        "convertto-json" => "ConvertTo-Json",
        "convertfrom-json" => "ConvertFrom-Json",
        "out-null" => "Out-Null",
        "out-string" => "Out-String",
        "write-output" | "echo" => "Write-Output",
        "write-host" => "Write-Host",
        "write-error" => "Write-Error",
        "write-warning" => "Write-Warning",
        "write-verbose" => "Write-Verbose",
        "write-debug" => "Write-Debug",
        "join-path" => "Join-Path",
        "split-path" => "Split-Path",
        "get-date" => "Get-Date",
        "start-sleep" | "sleep" => "Start-Sleep",
        "new-object" => "New-Object",
        "set-strictmode" => "Set-StrictMode",
        _ => return None,
    })
}

pub(crate) fn spec(canon: &'static str) -> CmdletSpec {
    let params = match canon {
        "Where-Object" => WHERE,
        "ForEach-Object" => FOREACH,
        "Select-Object" => SELECT,
        "Sort-Object" => SORT,
        "Measure-Object" => MEASURE,
        "Group-Object" => GROUP,
        "ConvertTo-Json" => TO_JSON,
        "ConvertFrom-Json" => FROM_JSON,
        "Out-Null" => OUT_NULL,
        "Out-String" => OUT_STRING,
        "Write-Output" => WRITE_OUTPUT,
        "Write-Host" => WRITE_HOST,
        "Write-Error" => WRITE_ERROR,
        "Join-Path" => JOIN_PATH,
        "Split-Path" => SPLIT_PATH,
        "Get-Date" => GET_DATE,
        "Start-Sleep" => START_SLEEP,
        "New-Object" => NEW_OBJECT,
        "Set-StrictMode" => STRICT,
        _ => MESSAGE,
    };
    CmdletSpec {
        name: canon,
        params,
        should_process: None,
    }
}

/// `a\b` joining as Join-Path does on Windows.
pub(crate) fn join_path(a: &str, b: &str) -> String {
    let a = a.trim_end_matches(['\\', '/']);
    let b = b.trim_start_matches(['\\', '/']);
    format!("{a}\\{b}")
}

fn terminating(canon: &str, id: &str, cat: ErrorCategory, msg: String, n: Node, s: &Src) -> Flow {
    let e = PsError::new(
        cat,
        &format!(
            "{id},Microsoft.PowerShell.Commands.{}Command",
            canon.replace('-', "")
        ),
        msg,
    )
    .in_command(canon)
    .terminating();
    Flow::error(e, Some(Pos::of(n, &s.src)), Scope::Statement)
}

impl Interp<'_> {
    #[allow(clippy::too_many_arguments)] // the command's whole context, passed once from run_command
    pub(crate) fn run_utility(
        &mut self,
        canon: &'static str,
        spec: &CmdletSpec,
        a: Args,
        input: Vec<Value>,
        piped: bool,
        ea: &str,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
        // Write-Host takes all its positional arguments (ValueFromRemainingArguments).
        let mut args = a.args.clone();
        if canon == "Write-Host" {
            let rest: Vec<Value> = args
                .iter()
                .filter_map(|x| match x {
                    super::host::Argument::Positional(v) => Some(v.clone()),
                    super::host::Argument::Named { .. } => None,
                })
                .collect();
            if rest.len() > 1 {
                args.retain(|x| !matches!(x, super::host::Argument::Positional(_)));
                args.push(super::host::Argument::Positional(Value::Array(rest)));
            }
        }
        let b = match bind(spec, &args) {
            Ok(b) => b,
            Err(e) => {
                let name_node = n.child_by_field_name("command_name").unwrap_or(n);
                let pos = error_position(&e, name_node, &a, n, s);
                return Err(Flow::error(e, Some(pos), Scope::Statement));
            }
        };
        // -InputObject binds the whole value as one input; piped input is per item.
        let items: Vec<Value> = match b.get("InputObject") {
            Some(v) if !piped && canon != "ConvertTo-Json" && canon != "Write-Output" => {
                unroll(v.clone())
            }
            _ => input,
        };
        match canon {
            "Where-Object" => self.where_object(&b, items, n, s),
            "ForEach-Object" => self.foreach_object(&b, items, n, s),
            "Select-Object" => self.select_object(&b, items, n, s),
            "Sort-Object" => self.sort_object(&b, items, n, s),
            "Measure-Object" => Ok(vec![objects::measure(&b, &items)]),
            "Group-Object" => Ok(objects::group(&b, items)),
            "ConvertTo-Json" => Ok(output::convert_to_json(&b, items, piped)),
            "ConvertFrom-Json" => output::convert_from_json(canon, &items, n, s),
            "Out-Null" => Ok(vec![]),
            "Out-String" => Ok(vec![Value::String(super::render::render_output(&items))]),
            "Write-Output" => Ok(output::write_output(&b, items)),
            "Write-Host" => self.write_host(&b, items),
            "Write-Error" => self.write_error_cmdlet(&b, ea, n, s),
            "Write-Warning" => self.write_warning(&b),
            "Write-Verbose" | "Write-Debug" | "Set-StrictMode" => Ok(vec![]),
            "Join-Path" => Ok(system::join_path_cmdlet(&b)),
            "Split-Path" => Ok(system::split_path(&b)),
            "Get-Date" => self.get_date(canon, &b, n, s),
            "Start-Sleep" => self.start_sleep(&b),
            "New-Object" => match b.string("ComObject") {
                Some(prog_id) => self.com.create(&prog_id).map(|v| vec![v]).map_err(|m| {
                    terminating(
                        canon,
                        "NoCOMClassIdentified",
                        ErrorCategory::ResourceUnavailable,
                        m,
                        n,
                        s,
                    )
                }),
                None => system::new_object(&b, n, s),
            },
            _ => Err(super::errors::unsupported(canon, n, &s.src)),
        }
    }
}
