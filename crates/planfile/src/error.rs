//! `PlanError` and the bits that make it point at a plan file: byte span →
//! line and column, a one-line source excerpt with carets (in the style of
//! rustc and `toml`'s own errors), and rewording of serde's messages into the
//! plan's vocabulary ("unknown key 'tagret' in [rollout]"). It formats
//! errors only; it decides nothing about what is valid.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a plan file; lines and columns count from 1, columns in
/// characters (not bytes) so a caret lines up under non-ASCII text too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Why a plan could not be loaded. Every variant but `Read` names the file,
/// line and column; `Display` starts with `path:line:column: ` and ends with
/// an excerpt of the offending line.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}: cannot read the plan file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything wrong with the plan's content: TOML syntax, an unknown key, a
    /// wrong type or an invalid value.
    #[error("{at}: {message}\n{excerpt}")]
    Invalid {
        at: Location,
        message: String,
        /// The offending source line with carets under the span.
        excerpt: String,
    },
}

impl PlanError {
    /// The position the error points at, if it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PlanError::Read { .. } => None,
            PlanError::Invalid { at, .. } => Some(at),
        }
    }

    /// The explanation without position or excerpt.
    pub fn message(&self) -> String {
        match self {
            PlanError::Read { source, .. } => format!("cannot read the plan file: {source}"),
            PlanError::Invalid { message, .. } => message.clone(),
        }
    }
}

/// The plan's text and path, to turn spans into `PlanError`s.
pub struct Source<'a> {
    pub text: &'a str,
    pub path: &'a Path,
}

impl Source<'_> {
    /// 1-based (line, column) of a byte offset. A line ends at LF, CRLF or
    /// a lone CR (old Mac line endings), so a CR-only file still gets
    /// useful positions.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = line_breaks(self.text).take_while(|&i| i < offset).count() + 1;
        let line_start = self.line_bounds(offset).start;
        (line, self.text[line_start..offset].chars().count() + 1)
    }

    /// An error pointing at `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> PlanError {
        let (line, column) = self.line_col(span.start);
        PlanError::Invalid {
            at: Location {
                path: self.path.to_path_buf(),
                line,
                column,
            },
            message: message.into(),
            excerpt: self.excerpt(span),
        }
    }

    /// An error about a secret written in the plan: like `error`, but the
    /// excerpt shows `<hidden>` instead of the value, so the secret does not
    /// reach a terminal, a log or a CI transcript.
    pub fn secret_error(&self, span: Range<usize>, message: impl Into<String>) -> PlanError {
        let (line, column) = self.line_col(span.start);
        let bounds = self.line_bounds(span.start);
        let before = &self.text[bounds.start..floor_char_boundary(self.text, span.start)];
        let gutter = " ".repeat(line.to_string().len());
        let excerpt = format!(
            "{gutter} |\n{line} | {before}<hidden>\n{gutter} | {}{}",
            " ".repeat(column - 1),
            "^".repeat("<hidden>".len())
        );
        PlanError::Invalid {
            at: Location {
                path: self.path.to_path_buf(),
                line,
                column,
            },
            message: message.into(),
            excerpt,
        }
    }

    fn line_bounds(&self, offset: usize) -> Range<usize> {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let start = line_breaks(self.text)
            .take_while(|&i| i < offset)
            .last()
            .map_or(0, |i| i + 1);
        let end = line_breaks(self.text)
            .find(|&i| i >= offset)
            .unwrap_or(self.text.len());
        start..end
    }

    fn excerpt(&self, span: Range<usize>) -> String {
        let (line, column) = self.line_col(span.start);
        let bounds = self.line_bounds(span.start);
        let source_line = self.text[bounds.clone()].trim_end_matches('\r');
        let span_end = floor_char_boundary(self.text, span.end.clamp(span.start, bounds.end));
        let span_start = floor_char_boundary(self.text, span.start.min(bounds.end));
        let width = self.text[span_start..span_end].chars().count().max(1);
        let gutter = " ".repeat(line.to_string().len());
        format!(
            "{gutter} |\n{line} | {source_line}\n{gutter} | {}{}",
            " ".repeat(column - 1),
            "^".repeat(width)
        )
    }

    /// The table header (`[rollout]`, `[[lab.server]]`) governing the line
    /// at `offset`, or `None` at the top level. When the line itself is a
    /// header, its parent's is returned (an unknown table belongs there).
    fn section_at(&self, offset: usize) -> Option<String> {
        let bounds = self.line_bounds(offset);
        if let Some(header) = header_name(&self.text[bounds.clone()]) {
            return header
                .rsplit_once('.')
                .map(|(parent, _)| format!("[{parent}]"));
        }
        self.text[..bounds.start]
            .split(['\n', '\r'])
            .rev()
            .find_map(|l| header_line(l).map(str::to_string))
    }

    /// The key written on the line at `offset` (`key = …`), if any.
    fn key_at(&self, offset: usize) -> Option<String> {
        let line = &self.text[self.line_bounds(offset)];
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
    }

    /// Turns a `toml` deserialisation error into a `PlanError`, rewording
    /// serde's field and variant messages in the plan's terms.
    pub fn toml_error(&self, err: &toml::de::Error) -> PlanError {
        let span = err.span().unwrap_or(0..0);
        let raw = err.message().trim_end();
        let section = self.section_at(span.start);
        let in_section = section
            .as_deref()
            .map_or("at the top level".to_string(), |s| format!("in {s}"));
        let is_header = header_name(&self.text[self.line_bounds(span.start)]).is_some();
        let message = if let Some(rest) = raw.strip_prefix("unknown field ") {
            let (field, expected) = split_expected(rest);
            let what = if is_header { "table" } else { "key" };
            let guess = did_you_mean(&field, rest)
                .map_or(String::new(), |g| format!("; did you mean '{g}'?"));
            format!("unknown {what} '{field}' {in_section}; expected {expected}{guess}")
        } else if let Some(rest) = raw.strip_prefix("missing field ") {
            // A missing key is reported at its table's header.
            let table = header_line(&self.text[self.line_bounds(span.start)])
                .map_or(in_section, |h| format!("in {h}"));
            let name = rest.trim_matches('`');
            if section.is_none() && !is_header {
                // Only tables live at the top level of a plan.
                format!("missing section [{name}]")
            } else {
                let hint = missing_key_hint(name).map_or(String::new(), |h| format!("; {h}"));
                format!("missing key '{name}' {table}{hint}")
            }
        } else if let Some(rest) = raw.strip_prefix("unknown variant ") {
            let (value, expected) = split_expected(rest);
            let key = self
                .key_at(span.start)
                .map_or(String::new(), |k| format!(" for '{k}'"));
            format!("'{value}' is not allowed{key}; expected {expected}")
        } else if raw.starts_with("invalid type") || raw.starts_with("invalid value") {
            let key = self
                .key_at(span.start)
                .map_or(String::new(), |k| format!("'{k}': "));
            format!("{key}{raw}")
        } else if self.text[floor_char_boundary(self.text, span.start.min(self.text.len()))..]
            .starts_with('\r')
        {
            // `toml` gives a bare CR an empty message.
            "a carriage return (CR) without a line feed: TOML lines end with LF or CRLF; \
             save the plan with Unix (LF) or Windows (CRLF) line endings"
                .to_string()
        } else if raw.is_empty() {
            "invalid TOML here".to_string()
        } else {
            raw.to_string()
        };
        self.error(span, message)
    }
}

/// What to write for a required key a newcomer may not know (review #15).
fn missing_key_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "setup_path" => "the local path of the CU's Setup.exe on every server, e.g. setup_path = 'E:\\ExchangeServer2019-x64-CU15\\Setup.exe' (single quotes keep the backslashes)",
        "target" => "the CU to roll to, e.g. target = \"2019-CU15\" (`cu-roll catalog` lists them)",
        "fqdn" => "the server's DNS name, e.g. fqdn = \"ex01.contoso.local\"",
        "name" => "the server's NetBIOS name as Exchange knows it, e.g. name = \"EX01\"",
        _ => return None,
    })
}

/// The expected name closest to `field` in serde's "`x`, expected one of
/// `a`, `b`", when it is a likely typo: at most two edits away (a quarter
/// of its length for a long name), or containing it (review #16).
fn did_you_mean(field: &str, serde_text: &str) -> Option<String> {
    let (_, expected) = serde_text.split_once(", expected")?;
    let field = field.to_ascii_lowercase();
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|c| (edits(&field, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| {
            *d <= 2.max(field.len() / 4)
                || (field.len() > 3 && c.to_ascii_lowercase().contains(&field))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// `[a.b]` or `[[a.b]]` → `a.b` (with the brackets kept by `header_line`).
fn header_name(line: &str) -> Option<&str> {
    let line = line.split('#').next().unwrap_or("").trim();
    let inner = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]"));
    let inner = inner.or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
    inner.map(str::trim)
}

fn header_line(line: &str) -> Option<&str> {
    header_name(line)?;
    Some(line.split('#').next().unwrap_or("").trim())
}

/// Splits serde's "`x`, expected one of `a`, `b`" into ("x", "one of: a, b")
/// and "`x`, expected `a` or `b`" into ("x", "a or b").
fn split_expected(rest: &str) -> (String, String) {
    let (name, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
    let expected = expected.trim().replace('`', "");
    let expected = match expected.strip_prefix("one of ") {
        Some(list) => format!("one of: {list}"),
        None if expected.is_empty() => "no keys here".to_string(),
        None => expected,
    };
    (name.trim_matches('`').to_string(), expected)
}

/// Byte offsets of line ends: every LF, and every CR not followed by LF.
fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        (b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))).then_some(i)
    })
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source<'_> {
        Source {
            text,
            path: Path::new("plans/x.toml"),
        }
    }

    #[test]
    fn line_and_column_count_characters() {
        let s = src("a = 1\nbé = \"x\"\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(s.line_col(9), (2, 3));
    }

    #[test]
    fn cr_only_line_endings_count_as_lines() {
        let s = src("a = 1\rbe = 2\r\nc = 3\n");
        assert_eq!(s.line_col(6), (2, 1));
        assert_eq!(s.line_col(8), (2, 3));
        assert_eq!(s.line_col(14), (3, 1));
        assert_eq!(
            s.error(8..9, "x").to_string().lines().nth(2),
            Some("2 | be = 2")
        );
    }

    #[test]
    fn a_cr_only_plan_gets_a_message() {
        let text = "[rollout]\rtarget = \"2019-CU15\"\r";
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        let shown = src(text).toml_error(&err).to_string();
        assert!(
            shown.contains("carriage return (CR) without a line feed"),
            "{shown}"
        );
        assert!(shown.starts_with("plans/x.toml:1:10: "), "{shown}");
    }

    #[test]
    fn display_has_position_message_and_caret() {
        let s = src("[rollout]\ntarget = \"x\"\n");
        let err = s.error(19..22, "bad target");
        assert_eq!(
            err.to_string(),
            "plans/x.toml:2:10: bad target\n  |\n2 | target = \"x\"\n  |          ^^^"
        );
        assert_eq!(err.location().map(|l| l.line), Some(2));
    }

    #[test]
    fn secret_errors_do_not_show_the_value() {
        let s = src("[connection]\npassword = \"Summer2026!\"\n");
        let shown = s.secret_error(24..37, "no passwords here").to_string();
        assert!(!shown.contains("Summer2026"), "{shown}");
        assert!(shown.contains("password = <hidden>"), "{shown}");
        assert!(
            shown.starts_with("plans/x.toml:2:12: no passwords here"),
            "{shown}"
        );
    }

    #[test]
    fn sections_are_found_from_headers() {
        let s = src("[rollout]\na = 1\n[[lab.server]] # c\nb = 2\n[policy.timeoutz]\n");
        assert_eq!(s.section_at(12).as_deref(), Some("[rollout]"));
        assert_eq!(s.section_at(37).as_deref(), Some("[[lab.server]]"));
        assert_eq!(s.section_at(45).as_deref(), Some("[policy]"));
        assert_eq!(s.section_at(0), None);
    }

    #[test]
    fn a_likely_typo_gets_a_suggestion_and_a_far_one_none() {
        let serde =
            "`min_healthy_copy`, expected one of `order`, `min_healthy_copies`, `pause_between`";
        assert_eq!(
            did_you_mean("min_healthy_copy", serde).as_deref(),
            Some("min_healthy_copies")
        );
        assert_eq!(
            did_you_mean("paus_betwen", serde).as_deref(),
            Some("pause_between")
        );
        assert_eq!(did_you_mean("colour", serde), None);
        assert_eq!(edits("kitten", "sitting"), 3);
    }

    #[test]
    fn a_missing_setup_path_says_what_to_write() {
        let hint = missing_key_hint("setup_path").unwrap();
        assert!(
            hint.contains(r"setup_path = 'E:\ExchangeServer2019-x64-CU15\Setup.exe'"),
            "{hint}"
        );
        assert_eq!(missing_key_hint("su_path"), None);
    }
}
