//! The built-in utility cmdlets the interpreter implements itself
//! (Where-Object, ForEach-Object, Select-Object, Sort-Object, Measure-Object,
//! Group-Object, ConvertTo/From-Json, Out-*, Write-*, Join-Path, Split-Path,
//! Get-Date, Start-Sleep, New-Object, Set-StrictMode). Each has a
//! `CmdletSpec` and is bound with `bind::bind`, so a wrong parameter fails
//! exactly as in PowerShell. Everything else goes to the `CommandHost`.

use indexmap::IndexMap;
use tree_sitter::Node;

use super::bind::bind;
use super::command::{error_position, Args};
use super::convert::to_ps_string;
use super::errors::{Flow, Pos, Scope, R};
use super::eval::{collapse, unroll, Interp, Src};
use super::host::{
    positional, switch, value, Bound, CmdletSpec, ErrorCategory, ParamKind, ParamSpec, PsError,
};
use super::members::get_member;
use super::value::{PsObject, Value};

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
            "Measure-Object" => Ok(vec![measure(&b, &items)]),
            "Group-Object" => Ok(group(&b, items)),
            "ConvertTo-Json" => {
                let inputs = match b.get("InputObject") {
                    Some(v) if !piped => vec![v.clone()],
                    _ => items,
                };
                let depth = b.get("Depth").and_then(super::ops::to_int).unwrap_or(2);
                Ok(
                    super::json::convert_to_json(&inputs, depth, b.switch("Compress"))
                        .map(Value::String)
                        .into_iter()
                        .collect(),
                )
            }
            "ConvertFrom-Json" => {
                let text = items
                    .iter()
                    .map(to_ps_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                match super::json::convert_from_json(&text) {
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
            "Out-Null" => Ok(vec![]),
            "Out-String" => Ok(vec![Value::String(super::render::render_output(&items))]),
            "Write-Output" => Ok(match b.get("InputObject") {
                Some(v) if b.switch("NoEnumerate") => vec![v.clone()],
                Some(v) => unroll(v.clone()),
                None => items,
            }),
            "Write-Host" => {
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
            "Write-Error" => {
                let msg = b.string("Message").unwrap_or_default();
                let mut e = PsError::new(
                    ErrorCategory::NotSpecified,
                    &b.string("ErrorId").unwrap_or_else(|| {
                        "Microsoft.PowerShell.Commands.WriteErrorException".into()
                    }),
                    msg,
                )
                .in_command("Write-Error");
                e.target = b.string("TargetObject").map(|t| format!("{t}:String"));
                self.non_terminating(e, ea, Pos::of(n, &s.src))?;
                Ok(vec![])
            }
            "Write-Warning" => {
                let msg = b.string("Message").unwrap_or_default();
                self.stderr.push_str(&format!("WARNING: {msg}\r\n"));
                Ok(vec![])
            }
            "Write-Verbose" | "Write-Debug" | "Set-StrictMode" => Ok(vec![]),
            "Join-Path" => {
                let child = b.string("ChildPath").unwrap_or_default();
                Ok(unroll(b.get("Path").cloned().unwrap_or(Value::Null))
                    .iter()
                    .map(|p| Value::String(join_path(&to_ps_string(p), &child)))
                    .collect())
            }
            "Split-Path" => {
                let p = b.string("Path").unwrap_or_default();
                let trimmed = p.trim_end_matches('\\');
                let (parent, leaf) = trimmed.rsplit_once('\\').unwrap_or(("", trimmed));
                let parent = if parent.ends_with(':') {
                    format!("{parent}\\")
                } else {
                    parent.to_string()
                };
                Ok(vec![Value::String(if b.switch("Leaf") {
                    leaf.to_string()
                } else {
                    parent
                })])
            }
            "Get-Date" => {
                let ms = match b.get("Date") {
                    Some(Value::DateTime(ms)) => *ms,
                    Some(other) => super::types::parse_datetime(&to_ps_string(other)).ok_or_else(|| {
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
                    Some(f) => Value::String(super::datetime::format_custom(ms, &f)),
                    None => Value::DateTime(ms),
                }])
            }
            "Start-Sleep" => {
                let secs = b.get("Seconds").and_then(super::ops::to_num);
                let ms = match (secs, b.get("Milliseconds").and_then(super::ops::to_int)) {
                    (_, Some(ms)) => ms,
                    (Some(super::ops::Num::I(i)), None) => i * 1000,
                    (Some(super::ops::Num::D(d)), None) => (d * 1000.0) as i64,
                    (None, None) => 0,
                };
                self.host.sleep_ms(u64::try_from(ms).unwrap_or(0));
                Ok(vec![])
            }
            "New-Object" => {
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
                    _ if t.starts_with("collections.generic.list") => {
                        Ok(vec![Value::Array(vec![])])
                    }
                    "collections.hashtable" => Ok(vec![Value::Hashtable(IndexMap::new())]),
                    _ => Err(super::errors::unsupported(
                        &format!("New-Object -TypeName {t}"),
                        n,
                        &s.src,
                    )),
                }
            }
            _ => Err(super::errors::unsupported(canon, n, &s.src)),
        }
    }

    fn where_object(&mut self, b: &Bound, items: Vec<Value>, n: Node, s: &Src) -> R<Vec<Value>> {
        let script = match (b.get("FilterScript"), b.get("Property")) {
            (Some(Value::ScriptBlock(sb)), _) | (None, Some(Value::ScriptBlock(sb))) => {
                Some(sb.clone())
            }
            _ => None,
        };
        let mut out = Vec::new();
        for item in items {
            let keep = match &script {
                Some(sb) => collapse(self.invoke_block(sb, Some(item.clone()), n, s)?).is_truthy(),
                None => {
                    let prop = b.string("Property").unwrap_or_default();
                    let actual = get_member(&item, &prop);
                    let ops = [
                        ("EQ", "-eq"),
                        ("NE", "-ne"),
                        ("GT", "-gt"),
                        ("GE", "-ge"),
                        ("LT", "-lt"),
                        ("LE", "-le"),
                        ("Like", "-like"),
                        ("NotLike", "-notlike"),
                        ("Match", "-match"),
                        ("NotMatch", "-notmatch"),
                        ("Contains", "-contains"),
                        ("NotContains", "-notcontains"),
                        ("In", "-in"),
                        ("NotIn", "-notin"),
                        ("CEQ", "-ceq"),
                        ("CNE", "-cne"),
                        ("CLike", "-clike"),
                    ];
                    match ops.iter().find(|(sw, _)| b.switch(sw)) {
                        Some((_, op)) => {
                            let v = b.get("Value").cloned().unwrap_or(Value::Null);
                            let r = if *op == "-match" {
                                super::ops::match_op(&actual, &v, false).map(|x| x.0)
                            } else {
                                super::ops::binary(op, actual, v)
                            };
                            r.map_err(|m| self.op_error(m, n, s))?.is_truthy()
                        }
                        None => actual.is_truthy(),
                    }
                }
            };
            if keep {
                out.push(item);
            }
        }
        Ok(out)
    }

    fn foreach_object(&mut self, b: &Bound, items: Vec<Value>, n: Node, s: &Src) -> R<Vec<Value>> {
        let mut out = Vec::new();
        if let Some(Value::ScriptBlock(sb)) = b.get("Begin") {
            out.extend(self.invoke_block(sb, None, n, s)?);
        }
        let process = b.get("Process").or_else(|| b.get("MemberName")).cloned();
        for item in items {
            match &process {
                Some(Value::ScriptBlock(sb)) => {
                    out.extend(self.invoke_block(sb, Some(item), n, s)?)
                }
                Some(name) => out.extend(unroll(get_member(&item, &to_ps_string(name)))),
                None => {}
            }
        }
        if let Some(Value::ScriptBlock(sb)) = b.get("End") {
            out.extend(self.invoke_block(sb, None, n, s)?);
        }
        Ok(out)
    }

    fn select_object(
        &mut self,
        b: &Bound,
        mut items: Vec<Value>,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
        if let Some(skip) = b.get("Skip").and_then(super::ops::to_int) {
            items = items
                .into_iter()
                .skip(usize::try_from(skip).unwrap_or(0))
                .collect();
        }
        if let Some(first) = b.get("First").and_then(super::ops::to_int) {
            items.truncate(usize::try_from(first).unwrap_or(0));
        }
        if let Some(last) = b.get("Last").and_then(super::ops::to_int) {
            let keep = usize::try_from(last).unwrap_or(0).min(items.len());
            items = items.split_off(items.len() - keep);
        }
        if b.switch("Unique") {
            let mut seen: Vec<Value> = Vec::new();
            items.retain(|x| {
                let new = !seen.iter().any(|y| super::ops::ps_eq(y, x, true));
                if new {
                    seen.push(x.clone());
                }
                new
            });
        }
        let props = b.get("Property").cloned().map(unroll);
        let expand = b.string("ExpandProperty");
        let mut out = Vec::new();
        for item in items {
            let projected = match &props {
                Some(ps) => {
                    let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
                    for p in ps {
                        match p {
                            Value::Hashtable(h) => {
                                let get = |keys: &[&str]| {
                                    h.iter()
                                        .find(|(k, _)| {
                                            keys.iter().any(|x| x.eq_ignore_ascii_case(k))
                                        })
                                        .map(|(_, v)| v.clone())
                                };
                                let name = get(&["Name", "N", "Label", "L"])
                                    .map(|v| to_ps_string(&v))
                                    .unwrap_or_default();
                                let v =
                                    match get(&["Expression", "E"]) {
                                        Some(Value::ScriptBlock(sb)) => collapse(
                                            self.invoke_block(&sb, Some(item.clone()), n, s)?,
                                        ),
                                        Some(other) => get_member(&item, &to_ps_string(&other)),
                                        None => Value::Null,
                                    };
                                o.props.insert(name, v);
                            }
                            other => {
                                let name = to_ps_string(other);
                                if name == "*" {
                                    if let Value::Object(src) = &item {
                                        o.props.extend(src.props.clone());
                                    }
                                    continue;
                                }
                                o.props.insert(name.clone(), get_member(&item, &name));
                            }
                        }
                    }
                    Value::object(o)
                }
                None => item,
            };
            match &expand {
                Some(e) => out.extend(unroll(get_member(&projected, e))),
                None => out.push(projected),
            }
        }
        Ok(out)
    }

    fn sort_object(&mut self, b: &Bound, items: Vec<Value>, n: Node, s: &Src) -> R<Vec<Value>> {
        let keys = b.get("Property").cloned().map(unroll).unwrap_or_default();
        let mut keyed: Vec<(Vec<Value>, Value)> = Vec::new();
        for item in items {
            let mut k = Vec::new();
            for key in &keys {
                k.push(match key {
                    Value::ScriptBlock(sb) => {
                        collapse(self.invoke_block(sb, Some(item.clone()), n, s)?)
                    }
                    other => get_member(&item, &to_ps_string(other)),
                });
            }
            if keys.is_empty() {
                k.push(item.clone());
            }
            keyed.push((k, item));
        }
        let desc = b.switch("Descending");
        keyed.sort_by(|(a, _), (bk, _)| {
            let ord = a
                .iter()
                .zip(bk)
                .map(|(x, y)| super::ops::sort_cmp(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal);
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
        if b.switch("Unique") {
            out.dedup_by(|x, y| super::ops::ps_eq(x, y, false));
        }
        Ok(out)
    }
}

fn measure(b: &Bound, items: &[Value]) -> Value {
    let prop = b.string("Property");
    let vals: Vec<Value> = items
        .iter()
        .map(|i| {
            prop.as_ref()
                .map_or_else(|| i.clone(), |p| get_member(i, p))
        })
        .filter(|v| *v != Value::Null)
        .collect();
    let nums: Vec<f64> = vals
        .iter()
        .filter_map(super::ops::to_num)
        .map(|n| match n {
            super::ops::Num::I(i) => i as f64,
            super::ops::Num::D(d) => d,
        })
        .collect();
    let sum: f64 = nums.iter().sum();
    let stat = |on: bool, v: Option<f64>| {
        if on {
            v.map_or(Value::Null, Value::Double)
        } else {
            Value::Null
        }
    };
    Value::object(
        PsObject::new("Microsoft.PowerShell.Commands.GenericMeasureInfo")
            .with("Count", vals.len() as i64)
            .with(
                "Average",
                stat(
                    b.switch("Average"),
                    (!nums.is_empty()).then(|| sum / nums.len() as f64),
                ),
            )
            .with("Sum", stat(b.switch("Sum"), Some(sum)))
            .with(
                "Maximum",
                stat(b.switch("Maximum"), nums.iter().copied().reduce(f64::max)),
            )
            .with(
                "Minimum",
                stat(b.switch("Minimum"), nums.iter().copied().reduce(f64::min)),
            )
            .with("Property", prop.map_or(Value::Null, Value::String)),
    )
}

fn group(b: &Bound, items: Vec<Value>) -> Vec<Value> {
    let prop = b.string("Property");
    let mut groups: IndexMap<String, (String, Vec<Value>)> = IndexMap::new();
    for item in items {
        let key = to_ps_string(
            &prop
                .as_ref()
                .map_or_else(|| item.clone(), |p| get_member(&item, p)),
        );
        groups
            .entry(key.to_lowercase())
            .or_insert_with(|| (key.clone(), Vec::new()))
            .1
            .push(item);
    }
    groups
        .into_values()
        .map(|(name, members)| {
            let mut o = PsObject::new("Microsoft.PowerShell.Commands.GroupInfo")
                .with("Count", members.len() as i64)
                .with("Name", name);
            if !b.switch("NoElement") {
                o = o.with("Group", Value::Array(members));
            }
            Value::object(o)
        })
        .collect()
}
