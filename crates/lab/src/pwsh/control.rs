//! Control flow statements: `{ }` blocks, `if`/`elseif`/`else`, the
//! `foreach`/`for`/`while` loops with `break`/`continue`, `try`/`catch`/
//! `finally`, and `throw`/`return`/`exit`, as PowerShell 5.1 runs them.
//! It must not evaluate expressions or commands itself: it calls the core.

use tree_sitter::Node;

use super::errors::{unsupported, Flow, Pos, R};
use super::eval::{unroll, var_name, Interp, Src};
use super::parse::{all, named, text};
use super::value::Value;

impl Interp<'_> {
    pub(super) fn exec_block(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        // statement_block: '{' statement_list? '}'
        match n
            .child_by_field_name("statement_list")
            .or_else(|| named(n).into_iter().find(|k| k.kind() == "statement_list"))
        {
            Some(l) => self.exec_list(l, s, out),
            None => Ok(()),
        }
    }

    pub(super) fn exec_if(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let cond = n
            .child_by_field_name("condition")
            .ok_or_else(|| unsupported("this if", n, &s.src))?;
        let blocks: Vec<Node> = named(n)
            .into_iter()
            .filter(|k| k.kind() == "statement_block")
            .collect();
        if self.eval_pipeline_value(cond, s)?.is_truthy() {
            return self.exec_block(blocks[0], s, out);
        }
        if let Some(elifs) = n.child_by_field_name("elseif_clauses") {
            for clause in named(elifs) {
                let c = clause
                    .child_by_field_name("condition")
                    .ok_or_else(|| unsupported("this elseif", clause, &s.src))?;
                if self.eval_pipeline_value(c, s)?.is_truthy() {
                    let b = named(clause)
                        .into_iter()
                        .find(|k| k.kind() == "statement_block");
                    return b.map_or(Ok(()), |b| self.exec_block(b, s, out));
                }
            }
        }
        if let Some(e) = n.child_by_field_name("else_clause") {
            if let Some(b) = named(e).into_iter().find(|k| k.kind() == "statement_block") {
                return self.exec_block(b, s, out);
            }
        }
        Ok(())
    }

    /// Runs a loop body, turning `break`/`continue` into loop control.
    fn loop_body(&mut self, body: Node, s: &Src, out: &mut Vec<Value>) -> R<bool> {
        match self.exec_block(body, s, out) {
            Ok(()) | Err(Flow::Continue) => Ok(true),
            Err(Flow::Break) => Ok(false),
            Err(other) => Err(other),
        }
    }

    pub(super) fn exec_foreach(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let kids = named(n);
        let var = kids.iter().find(|k| k.kind() == "variable").copied();
        let body = kids.iter().find(|k| k.kind() == "statement_block").copied();
        let coll = kids.iter().find(|k| k.kind() == "pipeline").copied();
        let (Some(var), Some(body), Some(coll)) = (var, body, coll) else {
            return Err(unsupported("this foreach form", n, &s.src));
        };
        let name = var_name(text(var, &s.src));
        let items = match self.eval_pipeline_value(coll, s)? {
            Value::Null => vec![],
            v => unroll(v),
        };
        for item in items {
            self.set_var(&name, item);
            if !self.loop_body(body, s, out)? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn exec_for(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let body = named(n).into_iter().find(|k| k.kind() == "statement_block");
        let Some(body) = body else {
            return Err(unsupported("this for form", n, &s.src));
        };
        if let Some(init) = n.child_by_field_name("for_initializer") {
            self.exec_list(init, s, &mut Vec::new())?;
        }
        loop {
            if let Some(c) = n.child_by_field_name("for_condition") {
                let p = named(c)[0];
                if !self.eval_pipeline_value(p, s)?.is_truthy() {
                    break;
                }
            }
            if !self.loop_body(body, s, out)? {
                break;
            }
            if let Some(it) = n.child_by_field_name("for_iterator") {
                self.exec_list(it, s, &mut Vec::new())?;
            }
        }
        Ok(())
    }

    pub(super) fn exec_while(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let cond = n
            .child_by_field_name("condition")
            .ok_or_else(|| unsupported("this while", n, &s.src))?;
        let body = named(n).into_iter().find(|k| k.kind() == "statement_block");
        let Some(body) = body else {
            return Err(unsupported("this while", n, &s.src));
        };
        let cond = named(cond).first().copied().unwrap_or(cond);
        while self.eval_pipeline_value(cond, s)?.is_truthy() {
            if !self.loop_body(body, s, out)? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn exec_try(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let kids = named(n);
        let body = kids.iter().find(|k| k.kind() == "statement_block").copied();
        let Some(body) = body else {
            return Err(unsupported("this try", n, &s.src));
        };
        self.try_depth += 1;
        let r = self.exec_block(body, s, out);
        self.try_depth -= 1;
        out.append(&mut self.unwound);
        let mut r = match r {
            Err(Flow::Err(e)) => match kids.iter().find(|k| k.kind() == "catch_clauses") {
                Some(catches) => {
                    // Type filters are not evaluated: the first clause catches.
                    let clause = named(*catches)[0];
                    let block = named(clause)
                        .into_iter()
                        .find(|k| k.kind() == "statement_block");
                    let saved = self.get_var("_");
                    let record = super::records::error_record(&e);
                    self.set_var("_", record.clone());
                    self.set_var("PSItem", record);
                    let r = block.map_or(Ok(()), |b| self.exec_block(b, s, out));
                    self.set_var("_", saved.clone());
                    self.set_var("PSItem", saved);
                    r
                }
                None => Err(Flow::Err(e)),
            },
            other => other,
        };
        if let Some(fin) = kids.iter().find(|k| k.kind() == "finally_clause") {
            if let Some(b) = named(*fin)
                .into_iter()
                .find(|k| k.kind() == "statement_block")
            {
                let fr = self.exec_block(b, s, out);
                if fr.is_err() {
                    r = fr;
                }
            }
        }
        r
    }

    pub(super) fn exec_flow(&mut self, n: Node, s: &Src, out: &mut Vec<Value>) -> R<()> {
        let kw = all(n)
            .first()
            .map(|k| text(*k, &s.src).to_ascii_lowercase())
            .unwrap_or_default();
        let arg = named(n).into_iter().find(|k| k.kind() == "pipeline");
        match kw.as_str() {
            "break" => Err(Flow::Break),
            "continue" => Err(Flow::Continue),
            "return" => {
                if let Some(a) = arg {
                    out.extend(self.run_chain(named(a)[0], s)?);
                }
                Err(Flow::Return)
            }
            "exit" => {
                let code = match arg {
                    Some(a) => super::ops::to_int(&self.eval_pipeline_value(a, s)?).unwrap_or(0),
                    None => 0,
                };
                Err(Flow::Exit(i32::try_from(code).unwrap_or(1)))
            }
            "throw" => {
                let v = match arg {
                    Some(a) => self.eval_pipeline_value(a, s)?,
                    None => Value::str("ScriptHalted"),
                };
                Err(super::records::throw_error(v, Pos::of(n, &s.src)))
            }
            _ => Err(unsupported(&format!("'{kw}'"), n, &s.src)),
        }
    }
}
