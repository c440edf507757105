//! Rendering PowerShell from typed values, and reading what it prints.
//!
//! Every value that reaches a remote script goes through `quote` (or is a
//! number): plan strings only ever become single-quoted literals with their
//! quotes doubled. PowerShell treats the typographic single quotes
//! U+2018..U+201B as quote characters too, so they are doubled as well —
//! otherwise `EX01’; Remove-Item …` would close the literal.

mod json;
mod script;

pub use json::{parse_json, parse_ms_date, JsonError};
pub use script::{Arg, Script};

/// The characters PowerShell's tokenizer accepts as a single quote
/// (`SpecialChars.IsSingleQuote`: ' ‘ ’ ‚ ‛).
const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// `value` as a single-quoted PowerShell string literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A PowerShell boolean literal.
pub fn bool_literal(b: bool) -> &'static str {
    if b {
        "$true"
    } else {
        "$false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_embedded_quotes() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
        assert_eq!(quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(quote(""), "''");
    }

    /// Splits a rendered literal back into its content the way the
    /// PowerShell tokenizer would: a quote followed by a quote is one
    /// literal quote; a lone quote ends the string.
    fn tokenize_single_quoted(lit: &str) -> Option<(String, &str)> {
        let mut chars = lit.char_indices().peekable();
        let (_, first) = chars.next()?;
        if !SINGLE_QUOTES.contains(&first) {
            return None;
        }
        let mut content = String::new();
        while let Some((i, c)) = chars.next() {
            if SINGLE_QUOTES.contains(&c) {
                if let Some(&(_, n)) = chars.peek() {
                    if SINGLE_QUOTES.contains(&n) {
                        content.push(n);
                        chars.next();
                        continue;
                    }
                }
                return Some((content, &lit[i + c.len_utf8()..]));
            }
            content.push(c);
        }
        None
    }

    proptest! {
        /// No plan value ever escapes its quotes: the literal ends exactly
        /// at the end of the rendering and holds the value unchanged.
        #[test]
        fn no_value_escapes_its_quotes(s in "\\PC*|[';‘’‚‛$`\"]{0,12}") {
            let lit = quote(&s);
            let (content, rest) = tokenize_single_quoted(&lit).expect("literal is closed");
            prop_assert_eq!(rest, "");
            prop_assert_eq!(content, s);
        }
    }
}
