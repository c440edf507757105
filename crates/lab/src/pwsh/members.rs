//! Member access, method calls, indexing, casts and static members of type
//! literals (`[Math]::Round`, `[DateTime]::UtcNow`, …) for the .NET types
//! the lab's values stand for. Member access on an array enumerates the
//! member over its elements, as PowerShell 3+ does.

use std::rc::Rc;

use indexmap::IndexMap;
use tree_sitter::Node;

use super::convert::to_ps_string;
use super::errors::{runtime, unsupported, R};
use super::eval::{var_name, Interp, Src};
use super::expr::type_name;
use super::host::ErrorCategory;
use super::ops::{to_int, to_num, Num};
use super::parse::{all, named, text, unwrap};
use super::value::{PsObject, Value};

impl Interp<'_> {
    fn member_name(&mut self, n: Node, s: &Src) -> R<String> {
        let inner = named(n).first().copied().unwrap_or(n);
        match inner.kind() {
            "simple_name" | "member_name" => Ok(text(inner, &s.src).to_string()),
            _ => Ok(to_ps_string(&self.eval(inner, s)?)),
        }
    }

    pub(crate) fn is_static(&self, n: Node, s: &Src) -> bool {
        all(n).iter().any(|k| text(*k, &s.src) == "::")
    }

    pub fn eval_member_access(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = named(n);
        let name_node = *kids.last().unwrap_or(&n);
        let name = self.member_name(name_node, s)?;
        if self.is_static(n, s) {
            let ty = type_name(unwrap(kids[0]), s);
            return self
                .static_property(&ty, &name)
                .ok_or_else(|| unsupported(&format!("[{ty}]::{name}"), n, &s.src));
        }
        // `$var.Name` reads the member off the variable in place: cloning
        // the whole value first (an object with its properties, a list of
        // them) was much of the interpreter's time.
        if let Some(v) = self.plain_var(unwrap(kids[0]), s) {
            if super::com::id_of(v).is_none() {
                return Ok(get_member(v, &name));
            }
        }
        let v = self.eval(kids[0], s)?;
        if let Some(id) = super::com::id_of(&v) {
            return Ok(self.com.get(id, &name));
        }
        Ok(get_member(&v, &name))
    }

    /// The value of `n` when it is a variable of the script's own that is
    /// set (no drive such as `env:`, no automatic variable that
    /// `eval_variable` computes); `None` otherwise.
    fn plain_var(&self, n: Node, s: &Src) -> Option<&Value> {
        if n.kind() != "variable" {
            return None;
        }
        let name = var_name(text(n, &s.src)).to_ascii_lowercase();
        let key = match name.as_str() {
            "psitem" => "_",
            "true" | "false" | "null" | "pshome" | "psscriptroot" | "pscommandpath" => return None,
            other if other.contains(':') => return None,
            other => other,
        };
        self.vars.get(key)
    }

    pub fn eval_invocation(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = named(n);
        let name_node = kids
            .iter()
            .find(|k| k.kind() == "member_name")
            .copied()
            .unwrap_or(n);
        let name = self.member_name(name_node, s)?;
        let mut args = Vec::new();
        if let Some(list) = kids.iter().find(|k| k.kind() == "argument_list") {
            if let Some(exprs) = named(*list)
                .into_iter()
                .find(|k| k.kind() == "argument_expression_list")
            {
                for a in named(exprs) {
                    args.push(self.eval(a, s)?);
                }
            }
        }
        let err = |m: String, me: &Self| {
            let _ = me;
            runtime(
                ErrorCategory::InvalidOperation,
                "MethodInvocationException",
                m,
                n,
                &s.src,
            )
        };
        if self.is_static(n, s) {
            let ty = type_name(unwrap(kids[0]), s);
            if let Some(r) = super::console::script_block_create(&ty, &name, &args) {
                let (block, parsed) = r.map_err(|m| err(m, self))?;
                // `[scriptblock]::Create(text)` compiles: script block logging sees it.
                self.host.log_script_block(&block);
                if let Some(p) = parsed {
                    let len = p.src.len();
                    self.blocks.insert(block.clone(), (Rc::new(p), 0, len));
                }
                return Ok(Value::ScriptBlock(block));
            }
            if let Some(r) = super::files::static_method(&mut *self.host, &ty, &name, &args) {
                return r.map_err(|m| err(m, self));
            }
            return match super::types::static_method(&ty, &name, &args) {
                Some(r) => r.map_err(|m| err(m, self)),
                None => Err(unsupported(&format!("[{ty}]::{name}()"), n, &s.src)),
            };
        }
        let target = unwrap(kids[0]);
        let v = self.eval(target, s)?;
        if let Some(id) = super::com::id_of(&v) {
            return match self.com.call(&mut *self.host, id, &name, &args) {
                Some(r) => r.map_err(|m| err(m, self)),
                None => Err(runtime(
                    ErrorCategory::InvalidOperation,
                    "MethodNotFound",
                    format!("Method invocation failed because [System.__ComObject] does not contain a method named '{name}'."),
                    n,
                    &s.src,
                )),
            };
        }
        // Mutating collection methods write back to the variable.
        let lname = name.to_ascii_lowercase();
        if matches!(lname.as_str(), "add" | "remove" | "clear" | "insert")
            && target.kind() == "variable"
        {
            let var = var_name(text(target, &s.src));
            let (updated, ret) = mutate(v, &lname, &args).map_err(|m| err(m, self))?;
            self.set_var(&var, updated);
            return Ok(ret);
        }
        if target.kind() == "variable" {
            if let Some(r) = super::credential::mutate(&v, &lname, &args) {
                let updated = r.map_err(|m| err(m, self))?;
                self.set_var(&var_name(text(target, &s.src)), updated);
                return Ok(Value::Null);
            }
        }
        if let Some(r) = super::credential::method(&v, &lname) {
            return Ok(r);
        }
        if let Some(r) = super::console::write(&mut self.stdout, &mut self.stderr, &v, &name, &args)
        {
            return r.map_err(|m| err(m, self));
        }
        if let Some(r) = super::console::method(&mut self.stdin, &v, &name, &args) {
            return r.map_err(|m| err(m, self));
        }
        match call_method(&v, &name, &args) {
            Some(r) => r.map_err(|m| err(m, self)),
            None => Err(runtime(
                ErrorCategory::InvalidOperation,
                "MethodNotFound",
                format!("Method invocation failed because [{}] does not contain a method named '{name}'.", type_of(&v)),
                n,
                &s.src,
            )),
        }
    }

    pub fn eval_element_access(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = named(n);
        let v = self.eval(kids[0], s)?;
        let idx = match kids.get(1) {
            Some(i) => self.eval(*i, s)?,
            None => return Ok(Value::Null),
        };
        Ok(match idx {
            Value::Array(ix) => Value::Array(
                ix.iter()
                    .map(|i| index(&v, i))
                    .filter(|x| *x != Value::Null)
                    .collect(),
            ),
            i => index(&v, &i),
        })
    }

    pub fn eval_cast(&mut self, n: Node, s: &Src) -> R<Value> {
        let kids = named(n);
        let ty = type_name(kids[0], s);
        let Some(operand) = kids.get(1) else {
            return Err(unsupported("this cast", n, &s.src));
        };
        let v = self.eval(*operand, s)?;
        let lt = ty.to_ascii_lowercase();
        if lt == "pscustomobject"
            || lt == "psobject"
            || lt == "system.management.automation.pscustomobject"
        {
            return Ok(match v {
                Value::Hashtable(h) => {
                    let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
                    o.props = h;
                    Value::object(o)
                }
                other => other,
            });
        }
        match super::types::cast(v.clone(), &lt) {
            Some(Ok(r)) => Ok(r),
            Some(Err(())) => Err(super::expr::invalid_cast(
                &v,
                &super::types::dotnet_name(&lt),
                n,
                s,
            )),
            None => Err(unsupported(&format!("the type [{ty}]"), n, &s.src)),
        }
    }

    /// `[Type]::Name = value` for the one static property scripts set:
    /// the certificate callback of `ServicePointManager` (a client-access
    /// probe relaxes the name check with it). `None`: not supported.
    pub(crate) fn set_static(&mut self, ty: &str, name: &str, value: Value) -> Option<()> {
        if !is_certificate_callback(ty, name) {
            return None;
        }
        self.host
            .set_certificate_callback(!matches!(value, Value::Null));
        self.certificate_callback = value;
        Some(())
    }

    fn static_property(&mut self, ty: &str, name: &str) -> Option<Value> {
        if is_certificate_callback(ty, name) {
            return Some(self.certificate_callback.clone());
        }
        let ty = ty.to_ascii_lowercase();
        let ty = ty.strip_prefix("system.").unwrap_or(&ty);
        let name = name.to_ascii_lowercase();
        Some(match (ty, name.as_str()) {
            ("datetime", "utcnow" | "now") => Value::DateTime(self.host.now_ms()),
            ("datetime", "today") => {
                Value::DateTime(self.host.now_ms().div_euclid(86_400_000) * 86_400_000)
            }
            ("environment", "machinename") => self
                .host
                .env_var("COMPUTERNAME")
                .map_or(Value::Null, Value::String),
            ("environment", "newline") => Value::str("\r\n"),
            ("string", "empty") => Value::str(""),
            ("int" | "int32", "maxvalue") => Value::Int(i64::from(i32::MAX)),
            ("int" | "int32", "minvalue") => Value::Int(i64::from(i32::MIN)),
            ("long" | "int64", "maxvalue") => Value::Int(i64::MAX),
            ("math", "pi") => Value::Double(std::f64::consts::PI),
            _ => return super::console::static_property(ty, &name),
        })
    }
}

/// `[System.Net.ServicePointManager]::ServerCertificateValidationCallback`.
fn is_certificate_callback(ty: &str, name: &str) -> bool {
    let ty = ty.to_ascii_lowercase();
    ty.strip_prefix("system.").unwrap_or(&ty) == "net.servicepointmanager"
        && name.eq_ignore_ascii_case("ServerCertificateValidationCallback")
}

/// `.Name` on a value; on an array (other than its own Count/Length) the
/// member is enumerated over the elements, one result unwrapped.
pub(crate) fn get_member(v: &Value, name: &str) -> Value {
    if let Some(p) = v.property(name) {
        return p;
    }
    let l = name.to_ascii_lowercase();
    match v {
        Value::Array(a) => {
            let mut vals: Vec<Value> = Vec::new();
            for x in a {
                match get_member(x, name) {
                    Value::Null => {}
                    Value::Array(inner) => vals.extend(inner),
                    other => vals.push(other),
                }
            }
            super::eval::collapse(vals)
        }
        Value::Null if l == "count" || l == "length" => Value::Int(0),
        Value::Hashtable(h) => match l.as_str() {
            "count" => Value::Int(h.len() as i64),
            "keys" => Value::Array(h.keys().map(|k| Value::str(k.as_str())).collect()),
            "values" => Value::Array(h.values().cloned().collect()),
            _ => Value::Null,
        },
        Value::DateTime(ms) => {
            let (y, mo, d, h, mi, s, milli) = super::datetime::civil(*ms);
            match l.as_str() {
                "year" => Value::Int(y),
                "month" => Value::Int(i64::from(mo)),
                "day" => Value::Int(i64::from(d)),
                "hour" => Value::Int(h),
                "minute" => Value::Int(mi),
                "second" => Value::Int(s),
                "millisecond" => Value::Int(milli),
                "dayofweek" => {
                    Value::enumv("System.DayOfWeek", super::datetime::day_of_week(*ms), 0)
                }
                "date" => Value::DateTime(ms.div_euclid(86_400_000) * 86_400_000),
                "ticks" => Value::Int(ms * 10_000 + 621_355_968_000_000_000),
                "kind" => Value::enumv("System.DateTimeKind", "Utc", 1),
                _ => Value::Null,
            }
        }
        _ if l == "count" || l == "length" => Value::Int(1),
        _ => Value::Null,
    }
}

/// The slot `container.key` / `container[key]` for assignment; adds a key
/// to a hashtable, refuses an unknown property on an object (as 5.1 does).
pub(crate) fn set_member<'a>(container: &'a mut Value, key: &Value) -> Option<&'a mut Value> {
    match container {
        Value::Hashtable(h) => {
            let k = to_ps_string(key);
            let existing = h
                .keys()
                .find(|x| x.eq_ignore_ascii_case(&k))
                .cloned()
                .unwrap_or(k);
            Some(h.entry(existing).or_insert(Value::Null))
        }
        Value::Object(o) => {
            let k = to_ps_string(key);
            let existing = o
                .props
                .keys()
                .find(|x| x.eq_ignore_ascii_case(&k))
                .cloned()?;
            o.props.get_mut(&existing)
        }
        Value::Array(a) => {
            let i = to_int(key)?;
            let len = a.len() as i64;
            let i = if i < 0 { len + i } else { i };
            a.get_mut(usize::try_from(i).ok()?)
        }
        _ => None,
    }
}

fn index(v: &Value, i: &Value) -> Value {
    match v {
        Value::Hashtable(h) => {
            let k = to_ps_string(i);
            h.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(&k))
                .map_or(Value::Null, |(_, v)| v.clone())
        }
        Value::Object(o) => o.get(&to_ps_string(i)).cloned().unwrap_or(Value::Null),
        Value::Array(a) => pick(a.len(), i).map_or(Value::Null, |x| a[x].clone()),
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            pick(chars.len(), i).map_or(Value::Null, |x| Value::String(chars[x].to_string()))
        }
        Value::Null => Value::Null,
        other => match to_int(i) {
            Some(0 | -1) => other.clone(),
            _ => Value::Null,
        },
    }
}

fn pick(len: usize, i: &Value) -> Option<usize> {
    let i = to_int(i)?;
    let i = if i < 0 { len as i64 + i } else { i };
    usize::try_from(i).ok().filter(|x| *x < len)
}

/// The .NET type name PowerShell reports for a value (`.GetType()`).
pub(crate) fn type_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "System.Boolean".into(),
        Value::Int(i) if i32::try_from(*i).is_ok() => "System.Int32".into(),
        Value::Int(_) => "System.Int64".into(),
        Value::Double(_) => "System.Double".into(),
        Value::String(_) => "System.String".into(),
        Value::DateTime(_) => "System.DateTime".into(),
        Value::Enum(e) => e.type_name.clone(),
        Value::Array(_) => "System.Object[]".into(),
        Value::Hashtable(_) => "System.Collections.Hashtable".into(),
        Value::Object(o) => o.type_names.first().cloned().unwrap_or_default(),
        Value::ScriptBlock(_) => "System.Management.Automation.ScriptBlock".into(),
    }
}

fn arg_str(args: &[Value], i: usize) -> String {
    args.get(i).map(to_ps_string).unwrap_or_default()
}

fn cmp_case(a: &str, b: &str, f: impl Fn(&str, &str) -> bool) -> bool {
    f(a, b)
}

/// Instance methods; `None` when the value has no such method.
pub(crate) fn call_method(v: &Value, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let l = name.to_ascii_lowercase();
    if l == "tostring" {
        return Some(Ok(Value::String(match (v, args.first()) {
            (Value::DateTime(ms), Some(f)) => super::datetime::format_custom(*ms, &to_ps_string(f)),
            (Value::Int(_) | Value::Double(_), Some(f)) => super::ops::format_composite(
                &format!("{{0:{}}}", to_ps_string(f)),
                std::slice::from_ref(v),
            )
            .ok()?,
            (Value::Array(_), None) => "System.Object[]".into(),
            _ => to_ps_string(v),
        })));
    }
    if l == "gettype" {
        let full = type_of(v);
        let short = full.rsplit('.').next().unwrap_or(&full).to_string();
        return Some(Ok(Value::object(
            PsObject::new("System.RuntimeType")
                .with("Name", short)
                .with("FullName", full.clone())
                .display(full),
        )));
    }
    if l == "equals" {
        return Some(Ok(Value::Bool(super::ops::ps_eq(
            v,
            args.first().unwrap_or(&Value::Null),
            false,
        ))));
    }
    match v {
        Value::String(s) => string_method(s, &l, args),
        Value::DateTime(ms) => {
            let n = args.first().and_then(to_num).map_or(0.0, |n| match n {
                Num::I(i) => i as f64,
                Num::D(d) => d,
            });
            let add = |unit: f64| Some(Ok(Value::DateTime(ms + (n * unit).round() as i64)));
            match l.as_str() {
                "touniversaltime" | "tolocaltime" => Some(Ok(Value::DateTime(*ms))),
                "addmilliseconds" => add(1.0),
                "addseconds" => add(1000.0),
                "addminutes" => add(60_000.0),
                "addhours" => add(3_600_000.0),
                "adddays" => add(86_400_000.0),
                "subtract" => match args.first() {
                    Some(Value::DateTime(o)) => Some(Ok(timespan(ms - o))),
                    _ => None,
                },
                _ => None,
            }
        }
        Value::Hashtable(h) => match l.as_str() {
            "containskey" => Some(Ok(Value::Bool(
                h.keys().any(|k| k.eq_ignore_ascii_case(&arg_str(args, 0))),
            ))),
            "containsvalue" => {
                Some(Ok(Value::Bool(h.values().any(|x| {
                    super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), false)
                }))))
            }
            _ => None,
        },
        Value::Array(a) => match l.as_str() {
            "contains" => Some(Ok(Value::Bool(a.iter().any(|x| {
                super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true)
            })))),
            "indexof" => Some(Ok(Value::Int(
                a.iter()
                    .position(|x| super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true))
                    .map_or(-1, |p| p as i64),
            ))),
            _ => None,
        },
        Value::Int(_) | Value::Double(_) if l == "compareto" => Some(Ok(Value::Int(
            match super::ops::sort_cmp(v, args.first().unwrap_or(&Value::Null)) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            },
        ))),
        _ => None,
    }
}

fn timespan(ms: i64) -> Value {
    let t = ms as f64;
    Value::object(
        PsObject::new("System.TimeSpan")
            .with("Days", ms / 86_400_000)
            .with("Hours", (ms / 3_600_000) % 24)
            .with("Minutes", (ms / 60_000) % 60)
            .with("Seconds", (ms / 1000) % 60)
            .with("Milliseconds", ms % 1000)
            .with("Ticks", ms * 10_000)
            .with("TotalDays", t / 86_400_000.0)
            .with("TotalHours", t / 3_600_000.0)
            .with("TotalMinutes", t / 60_000.0)
            .with("TotalSeconds", t / 1000.0)
            .with("TotalMilliseconds", t),
    )
}

fn string_method(s: &str, l: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let a0 = arg_str(args, 0);
    let out = match l {
        "toupper" | "toupperinvariant" => Value::String(s.to_uppercase()),
        "tolower" | "tolowerinvariant" => Value::String(s.to_lowercase()),
        "trim" if args.is_empty() => Value::str(s.trim()),
        "trim" => Value::str(s.trim_matches(|c| a0.contains(c))),
        "trimstart" if args.is_empty() => Value::str(s.trim_start()),
        "trimstart" => Value::str(s.trim_start_matches(|c| a0.contains(c))),
        "trimend" if args.is_empty() => Value::str(s.trim_end()),
        "trimend" => Value::str(s.trim_end_matches(|c| a0.contains(c))),
        // .NET string methods are ordinal (case-sensitive) by default.
        "contains" => Value::Bool(cmp_case(s, &a0, |a, b| a.contains(b))),
        "startswith" => Value::Bool(s.starts_with(&a0)),
        "endswith" => Value::Bool(s.ends_with(&a0)),
        "indexof" => Value::Int(s.find(&a0).map_or(-1, |i| s[..i].chars().count() as i64)),
        "replace" => Value::String(s.replace(&a0, &arg_str(args, 1))),
        "tochararray" => Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()),
        "split" => {
            let seps: Vec<char> = if args.is_empty() {
                vec![' ']
            } else {
                args.iter()
                    .flat_map(|a| to_ps_string(a).chars().collect::<Vec<_>>())
                    .collect()
            };
            Value::Array(s.split(|c| seps.contains(&c)).map(Value::str).collect())
        }
        "substring" => {
            let chars: Vec<char> = s.chars().collect();
            let start = usize::try_from(to_int(args.first()?)?).ok()?;
            let len = match args.get(1) {
                Some(l) => usize::try_from(to_int(l)?).ok()?,
                None => chars.len().checked_sub(start)?,
            };
            if start + len > chars.len() {
                return Some(Err(format!(
                    "Exception calling \"Substring\" with \"{}\" argument(s): \"Index and length must refer to a location within the string.\"",
                    args.len()
                )));
            }
            Value::String(chars[start..start + len].iter().collect())
        }
        "padleft" => Value::String(format!(
            "{s:>w$}",
            w = usize::try_from(to_int(args.first()?)?).ok()?
        )),
        "padright" => Value::String(format!(
            "{s:<w$}",
            w = usize::try_from(to_int(args.first()?)?).ok()?
        )),
        _ => return None,
    };
    Some(Ok(out))
}

/// `Add`/`Remove`/`Clear`/`Insert` on a collection held in a variable:
/// returns the updated collection and the method's own return value.
fn mutate(v: Value, l: &str, args: &[Value]) -> Result<(Value, Value), String> {
    match (v, l) {
        (Value::Array(mut a), "add") => {
            a.push(args.first().cloned().unwrap_or(Value::Null));
            let idx = a.len() as i64 - 1;
            Ok((Value::Array(a), Value::Int(idx)))
        }
        (Value::Array(mut a), "remove") => {
            if let Some(p) = a
                .iter()
                .position(|x| super::ops::ps_eq(x, args.first().unwrap_or(&Value::Null), true))
            {
                a.remove(p);
            }
            Ok((Value::Array(a), Value::Null))
        }
        (Value::Array(_), "clear") => Ok((Value::Array(vec![]), Value::Null)),
        (Value::Hashtable(mut h), "add") => {
            let k = arg_str(args, 0);
            if h.keys().any(|x| x.eq_ignore_ascii_case(&k)) {
                return Err(format!(
                    "Exception calling \"Add\" with \"2\" argument(s): \"Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'\""
                ));
            }
            h.insert(k, args.get(1).cloned().unwrap_or(Value::Null));
            Ok((Value::Hashtable(h), Value::Null))
        }
        (Value::Hashtable(mut h), "remove") => {
            let k = arg_str(args, 0);
            h.retain(|x, _| !x.eq_ignore_ascii_case(&k));
            Ok((Value::Hashtable(h), Value::Null))
        }
        (Value::Hashtable(_), "clear") => Ok((Value::Hashtable(IndexMap::new()), Value::Null)),
        (other, m) => Err(format!(
            "Method invocation failed because [{}] does not contain a method named '{m}'.",
            type_of(&other)
        )),
    }
}
