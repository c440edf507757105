//! `Script`: a PowerShell script rendered from a template whose holes are
//! filled only with quoted literals or numbers. Templates are `&'static str`
//! written in this crate; values come from the plan or from earlier
//! observations and can never become code.

use std::fmt;

use super::quote;

/// A rendered PowerShell script, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// What the script is for, e.g. `server facts` (used in errors and dry-run output).
    pub purpose: &'static str,
    text: String,
}

/// A value for one template hole.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// Rendered as a single-quoted literal.
    Str(&'a str),
    /// Rendered as a decimal number.
    Int(i64),
    /// Rendered as `$true` / `$false`.
    Bool(bool),
    /// Rendered as single-quoted literals separated by `, ` (an array
    /// argument, e.g. `-CommandName 'A', 'B'`).
    List(&'a [&'a str]),
}

impl Script {
    /// Fills `{name}` holes in `template` with `args`. Panics (in tests, at
    /// development time) when a hole has no value or a value no hole: the
    /// templates are constants of this crate, not user input.
    pub fn render(
        purpose: &'static str,
        template: &'static str,
        args: &[(&str, Arg<'_>)],
    ) -> Script {
        let mut text = String::with_capacity(template.len() + 64);
        let mut rest = template;
        let mut used = vec![false; args.len()];
        while let Some(start) = rest.find("{{") {
            text.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .expect("unclosed {{hole}} in a script template");
            let name = &after[..end];
            let (i, (_, arg)) = args
                .iter()
                .enumerate()
                .find(|(_, (n, _))| *n == name)
                .unwrap_or_else(|| panic!("script template hole {{{{{name}}}}} has no value"));
            used[i] = true;
            match arg {
                Arg::Str(s) => text.push_str(&quote(s)),
                Arg::Int(n) => text.push_str(&n.to_string()),
                Arg::Bool(b) => text.push_str(super::bool_literal(*b)),
                Arg::List(items) => {
                    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
                    text.push_str(&quoted.join(", "));
                }
            }
            rest = &after[end + 2..];
        }
        text.push_str(rest);
        assert!(
            used.iter().all(|u| *u),
            "a script argument fills no hole in template for {purpose}"
        );
        Script { purpose, text }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every `marker` (a constant of this crate) replaced by the parameter
    /// ` -name 'value'` (a quoted literal), or removed when `value` is
    /// `None`: an optional parameter decided after rendering (the domain
    /// controller an Exchange operation is pinned to).
    pub fn with_optional_parameter(
        &self,
        marker: &'static str,
        name: &'static str,
        value: Option<&str>,
    ) -> Script {
        let with = value.map_or_else(String::new, |v| format!(" -{name} {}", quote(v)));
        Script {
            purpose: self.purpose,
            text: self.text.replace(marker, &with),
        }
    }

    /// `body` placed between the rendered `head` and the constant `tail`:
    /// still nothing but templates of this crate and quoted literals.
    pub fn around(head: Script, body: &Script, tail: &'static str) -> Script {
        let mut text = head.text;
        text.push_str(&body.text);
        text.push_str(tail);
        Script {
            purpose: body.purpose,
            text,
        }
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_holes_with_quoted_values() {
        let s = Script::render(
            "t",
            "Get-MailboxServer -Identity {{server}} | Select-Object -First {{n}}",
            &[("server", Arg::Str("EX'01")), ("n", Arg::Int(1))],
        );
        assert_eq!(
            s.text(),
            "Get-MailboxServer -Identity 'EX''01' | Select-Object -First 1"
        );
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn a_missing_value_is_a_bug() {
        let _ = Script::render("t", "Get-X {{a}}", &[]);
    }
}
