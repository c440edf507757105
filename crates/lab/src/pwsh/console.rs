//! The process-level .NET pieces a script uses to read its own standard
//! input and run text as code: `[Console]::In` (a TextReader over what the
//! process's stdin held: `ReadToEnd()`, `ReadLine()`, `Peek()`), the text
//! encodings `[Text.Encoding]::UTF8`/`Unicode`/`ASCII` (`GetString`,
//! `GetBytes`) and `[scriptblock]::Create`. Any client's stdin bootstrap is
//! built from these, so the lab runs it as powershell.exe would instead of
//! recognising one client's text. This module owns no I/O: the interpreter
//! hands it the unread rest of stdin; it must not know any client's script.

use super::files::{byte_array, bytes_of, calling};
use super::ops::to_int;
use super::value::{PsObject, Value};

/// The type `[Console]::In` returns on .NET Framework 4.x (a synchronised
/// wrapper around the stdin reader; `[Console]::In.GetType().FullName`).
const READER_TYPE: &str = "System.IO.TextReader+SyncTextReader";

/// The type `[Console]::Out` and `[Console]::Error` return on .NET
/// Framework 4.x (synchronised wrappers around the process's stdout and
/// stderr writers).
const WRITER_TYPE: &str = "System.IO.TextWriter+SyncTextWriter";

/// `[Console]::Out.WriteLine(x)`, `[Console]::Error.Write(x)`: the text
/// goes straight to the process's stdout or stderr, around the pipeline's
/// output. `None` when `v` is not one of the writers.
pub(crate) fn write(
    stdout: &mut String,
    stderr: &mut String,
    v: &Value,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    let Value::Object(o) = v else { return None };
    if o.type_names.first().map(String::as_str) != Some(WRITER_TYPE) {
        return None;
    }
    let to = match o
        .props
        .get("Stream")
        .map(super::convert::to_ps_string)
        .as_deref()
    {
        Some("Error") => stderr,
        _ => stdout,
    };
    let text = args
        .first()
        .map(super::convert::to_ps_string)
        .unwrap_or_default();
    match name.to_ascii_lowercase().as_str() {
        "writeline" => {
            to.push_str(&text);
            to.push_str("\r\n");
        }
        "write" => to.push_str(&text),
        "flush" => {}
        _ => return None,
    }
    Some(Ok(Value::Null))
}

/// The encodings `[Text.Encoding]::X` hands out: (property, .NET type,
/// WebName, EncodingName, CodePage), as .NET Framework 4.8 reports them.
const ENCODINGS: [(&str, &str, &str, &str, i64); 3] = [
    (
        "utf8",
        "System.Text.UTF8Encoding",
        "utf-8",
        "Unicode (UTF-8)",
        65001,
    ),
    (
        "unicode",
        "System.Text.UnicodeEncoding",
        "utf-16",
        "Unicode",
        1200,
    ),
    (
        "ascii",
        "System.Text.ASCIIEncoding",
        "us-ascii",
        "US-ASCII",
        20127,
    ),
];

/// Whether `script` reads the process's stdin through `[Console]::In`
/// (any case, with or without `System.`). Comments and strings are not
/// told apart: a script that only mentions it waits for end of input too,
/// which is harmless for a client that sends none but closes stdin.
pub fn reads_console_in(script: &str) -> bool {
    let lower = script.to_ascii_lowercase();
    ["[console]::in", "[system.console]::in"]
        .iter()
        .any(|needle| {
            lower.match_indices(needle).any(|(at, _)| {
                !lower[at + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

fn type_key(ty: &str) -> String {
    let ty = ty.to_ascii_lowercase();
    ty.strip_prefix("system.").unwrap_or(&ty).to_string()
}

/// `[Console]::In` and `[Text.Encoding]::UTF8` (and friends); `None` when
/// `ty::name` is not one of them.
pub(crate) fn static_property(ty: &str, name: &str) -> Option<Value> {
    let name = name.to_ascii_lowercase();
    match (type_key(ty).as_str(), name.as_str()) {
        ("console", "in") => Some(Value::object(
            PsObject::new(READER_TYPE).display(READER_TYPE),
        )),
        ("console", "out") => Some(Value::object(
            PsObject::new(WRITER_TYPE)
                .with("Stream", "Out")
                .display(WRITER_TYPE),
        )),
        ("console", "error") => Some(Value::object(
            PsObject::new(WRITER_TYPE)
                .with("Stream", "Error")
                .display(WRITER_TYPE),
        )),
        ("text.encoding", n) => ENCODINGS.iter().find(|e| e.0 == n).map(|e| {
            Value::object(
                PsObject::new(e.1)
                    .with("BodyName", e.2)
                    .with("EncodingName", e.3)
                    .with("WebName", e.2)
                    .with("CodePage", e.4)
                    .display(e.1),
            )
        }),
        _ => None,
    }
}

/// `[scriptblock]::Create(text)`; `None` for any other static method.
/// The text is parsed first: a syntax error is the method's exception, as
/// in 5.1 (ParseException wrapped in MethodInvocationException). Returns
/// the block's text and, when it could be kept,
/// the parse of the block's body that invoking it would make (the same
/// text `Interp::invoke_block` derives), so the script is parsed once
/// for the check and the run (a script sent through a PowerShell host is
/// one such block per request).
pub(crate) fn script_block_create(
    ty: &str,
    name: &str,
    args: &[Value],
) -> Option<Result<(String, Option<super::parse::Parsed>), String>> {
    let ty = type_key(ty);
    if !(ty == "scriptblock" || ty == "management.automation.scriptblock")
        || !name.eq_ignore_ascii_case("create")
    {
        return None;
    }
    let text = args
        .first()
        .map(super::convert::to_ps_string)
        .unwrap_or_default();
    // The interpreter keeps a block as its source with the braces; the
    // closing one goes on a line of its own so a trailing `}` of the
    // script (or a comment on its last line) stays intact.
    let block = format!("{{{text}\n}}");
    // The body `invoke_block` parses is the text and that newline unless
    // the text starts with a brace (it trims those); a trailing backtick
    // would continue onto the newline, so such a text is checked alone.
    let body = format!("{text}\n");
    if !text.starts_with('{') && !text.ends_with('`') {
        if let Some(parsed) = super::parse::parse(&body) {
            if super::parse::syntax_errors(&parsed).is_empty() {
                return Some(Ok((block, Some(parsed))));
            }
        }
    }
    if let Err(errors) = super::syntax_check(&text) {
        let e = &errors[0];
        let line = text.lines().nth(e.line - 1).unwrap_or("");
        return Some(Err(format!(
            "Exception calling \"Create\" with \"{}\" argument(s): \"At line:{} char:{}\r\n+ {line}\r\n+ {}~\r\n{}\"",
            args.len(),
            e.line,
            e.column,
            " ".repeat(e.column - 1),
            e.message
        )));
    }
    Some(Ok((block, None)))
}

fn type_of(v: &Value) -> Option<&str> {
    match v {
        Value::Object(o) => o.type_names.first().map(String::as_str),
        _ => None,
    }
}

/// Methods of the reader and the encodings above; `None` when `v` is not
/// one of them (or has no such method). `stdin` is the unread rest of the
/// process's standard input: reading consumes it, as a TextReader does.
pub(crate) fn method(
    stdin: &mut String,
    v: &Value,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    let ty = type_of(v)?;
    let name = name.to_ascii_lowercase();
    if ty == READER_TYPE {
        return Some(Ok(match name.as_str() {
            "readtoend" => Value::String(std::mem::take(stdin)),
            "readline" => read_line(stdin),
            "peek" => Value::Int(stdin.chars().next().map_or(-1, |c| i64::from(u32::from(c)))),
            _ => return None,
        }));
    }
    let (_, _, web, _, _) = ENCODINGS.iter().find(|e| e.1 == ty)?;
    match name.as_str() {
        "getstring" => Some(get_string(web, args)),
        "getbytes" => {
            let text = args
                .first()
                .map(super::convert::to_ps_string)
                .unwrap_or_default();
            Some(Ok(byte_array(&encode(web, &text))))
        }
        _ => None,
    }
}

/// `ReadLine()`: up to the next `\n` (a `\r` before it dropped), `$null`
/// at end of input.
fn read_line(stdin: &mut String) -> Value {
    if stdin.is_empty() {
        return Value::Null;
    }
    let (line, rest) = match stdin.find('\n') {
        Some(i) => (stdin[..i].to_string(), stdin[i + 1..].to_string()),
        None => (std::mem::take(stdin), String::new()),
    };
    *stdin = rest;
    Value::String(line.strip_suffix('\r').unwrap_or(&line).to_string())
}

/// `GetString(bytes)` or `GetString(bytes, index, count)`. Invalid bytes
/// become U+FFFD (UTF-8) or `?` (ASCII), as .NET's replacement fallback
/// does; a UTF-8 byte order mark is kept as U+FEFF, as `GetString` keeps it.
fn get_string(web: &str, args: &[Value]) -> Result<Value, String> {
    let Some(bytes) = args.first().and_then(bytes_of) else {
        return Err(calling(
            "GetString",
            args,
            "Array cannot be null.\r\nParameter name: bytes",
        ));
    };
    let slice = match (args.get(1), args.get(2)) {
        (Some(i), Some(c)) => {
            let (i, c) = (to_int(i).unwrap_or(-1), to_int(c).unwrap_or(-1));
            if i < 0 || c < 0 || i.saturating_add(c) > bytes.len() as i64 {
                return Err(calling(
                    "GetString",
                    args,
                    "Index and count must refer to a location within the buffer.\r\nParameter name: bytes",
                ));
            }
            &bytes[i as usize..(i + c) as usize]
        }
        _ => &bytes[..],
    };
    Ok(Value::String(match web {
        "utf-8" => String::from_utf8_lossy(slice).into_owned(),
        "utf-16" => {
            let units: Vec<u16> = slice
                .chunks(2)
                .map(|p| u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => slice
            .iter()
            .map(|&b| if b < 0x80 { char::from(b) } else { '?' })
            .collect(),
    }))
}

fn encode(web: &str, text: &str) -> Vec<u8> {
    match web {
        "utf-8" => text.as_bytes().to_vec(),
        "utf-16" => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        _ => text
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_in_is_found_in_any_spelling_but_not_its_longer_cousins() {
        assert!(reads_console_in("[Console]::In.ReadToEnd()"));
        assert!(reads_console_in("$r = [SYSTEM.CONSOLE]::IN\n$r.ReadLine()"));
        assert!(!reads_console_in("[Console]::InputEncoding"));
        assert!(!reads_console_in("Get-Date"));
    }

    #[test]
    fn read_line_walks_the_input_and_ends_with_null() {
        let mut s = "a\r\nb\nc".to_string();
        assert_eq!(read_line(&mut s), Value::str("a"));
        assert_eq!(read_line(&mut s), Value::str("b"));
        assert_eq!(read_line(&mut s), Value::str("c"));
        assert_eq!(read_line(&mut s), Value::Null);
    }

    #[test]
    fn encodings_round_trip_and_replace_what_they_cannot_carry() {
        for web in ["utf-8", "utf-16"] {
            let bytes = byte_array(&encode(web, "héllo"));
            assert_eq!(get_string(web, &[bytes]), Ok(Value::str("héllo")));
        }
        assert_eq!(encode("us-ascii", "hé"), b"h?");
        let bad = byte_array(&[0x68, 0xff]);
        assert_eq!(get_string("utf-8", &[bad]), Ok(Value::str("h\u{fffd}")));
        assert!(get_string("utf-8", &[Value::Null]).is_err());
    }

    #[test]
    fn create_refuses_a_script_that_does_not_parse() {
        let e = script_block_create("scriptblock", "Create", &[Value::str("if ($x) {")]).unwrap();
        assert!(e.is_err_and(|m| m.starts_with("Exception calling \"Create\"")));
        let (block, parsed) = script_block_create(
            "System.Management.Automation.ScriptBlock",
            "create",
            &[Value::str("1")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(block, "{1\n}");
        // The body invoking it parses, kept so it is parsed once.
        assert_eq!(parsed.map(|p| p.src), Some("1\n".to_string()));
        // A text that starts with a brace is trimmed by the invocation:
        // nothing kept, still a block.
        let (block, parsed) = script_block_create("scriptblock", "Create", &[Value::str("{1}")])
            .unwrap()
            .unwrap();
        assert_eq!(block, "{{1}\n}");
        assert!(parsed.is_none());
    }
}
