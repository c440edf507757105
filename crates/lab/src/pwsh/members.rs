//! Member access, method calls, indexing, casts and static members of type
//! literals (`[Math]::Round`, `[DateTime]::UtcNow`, …) for the .NET types
//! the lab's values stand for. Member access on an array enumerates the
//! member over its elements, as PowerShell 3+ does. The instance methods
//! themselves are in `methods`.

use std::rc::Rc;

use tree_sitter::Node;

use super::convert::to_ps_string;
use super::errors::{runtime, unsupported, R};
use super::eval::{var_name, Interp, Src};
use super::expr::type_name;
use super::host::ErrorCategory;
use super::ops::to_int;
use super::parse::{all, named, text, unwrap};
use super::value::{PsObject, Value};

mod methods;

pub(crate) use methods::call_method;
use methods::mutate;

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
