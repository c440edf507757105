//! The object pipeline cmdlets: Where-Object, ForEach-Object,
//! Select-Object, Sort-Object, Measure-Object and Group-Object, on bound
//! parameters (`super::run_utility` binds them). They must not write to the
//! host's streams: what they return is the pipeline's output.

use indexmap::IndexMap;
use tree_sitter::Node;

use super::super::convert::to_ps_string;
use super::super::errors::R;
use super::super::eval::{collapse, unroll, Interp, Src};
use super::super::host::Bound;
use super::super::members::get_member;
use super::super::value::{PsObject, Value};

impl Interp<'_> {
    pub(super) fn where_object(
        &mut self,
        b: &Bound,
        items: Vec<Value>,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
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
                                super::super::ops::match_op(&actual, &v, false).map(|x| x.0)
                            } else {
                                super::super::ops::binary(op, actual, v)
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

    pub(super) fn foreach_object(
        &mut self,
        b: &Bound,
        items: Vec<Value>,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
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

    pub(super) fn select_object(
        &mut self,
        b: &Bound,
        mut items: Vec<Value>,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
        if let Some(skip) = b.get("Skip").and_then(super::super::ops::to_int) {
            items = items
                .into_iter()
                .skip(usize::try_from(skip).unwrap_or(0))
                .collect();
        }
        if let Some(first) = b.get("First").and_then(super::super::ops::to_int) {
            items.truncate(usize::try_from(first).unwrap_or(0));
        }
        if let Some(last) = b.get("Last").and_then(super::super::ops::to_int) {
            let keep = usize::try_from(last).unwrap_or(0).min(items.len());
            items = items.split_off(items.len() - keep);
        }
        if b.switch("Unique") {
            let mut seen: Vec<Value> = Vec::new();
            items.retain(|x| {
                let new = !seen.iter().any(|y| super::super::ops::ps_eq(y, x, true));
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

    pub(super) fn sort_object(
        &mut self,
        b: &Bound,
        items: Vec<Value>,
        n: Node,
        s: &Src,
    ) -> R<Vec<Value>> {
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
                .map(|(x, y)| super::super::ops::sort_cmp(x, y))
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
            out.dedup_by(|x, y| super::super::ops::ps_eq(x, y, false));
        }
        Ok(out)
    }
}

pub(super) fn measure(b: &Bound, items: &[Value]) -> Value {
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
        .filter_map(super::super::ops::to_num)
        .map(|n| match n {
            super::super::ops::Num::I(i) => i as f64,
            super::super::ops::Num::D(d) => d,
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

pub(super) fn group(b: &Bound, items: Vec<Value>) -> Vec<Value> {
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
