//! Reading a journal's bytes back into entries: every complete line must
//! be UTF-8 JSON with the next sequence number, or the journal is damaged
//! there (reported with the line number, never skipped). Only an
//! incomplete last line — a crash or a full disk mid-append, whatever
//! bytes it holds — is set aside, with a warning naming the record it
//! held. Decides nothing about what the records mean.

use std::path::Path;

use super::{Entry, JournalError, Loaded};

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Loaded, JournalError> {
    let mut loaded = Loaded::default();
    let corrupt = |line: usize, detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let complete = bytes.is_empty() || bytes.ends_with(b"\n");
    let all: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // `split` yields an empty piece after a final newline.
    let all = if complete {
        &all[..all.len() - 1]
    } else {
        &all[..]
    };
    let mut expected_seq = 1;
    for (i, raw) in all.iter().enumerate() {
        let torn = !complete && i + 1 == all.len();
        let entry = std::str::from_utf8(raw)
            .map_err(|e| {
                format!(
                    "not UTF-8 text (a bad byte at column {})",
                    e.valid_up_to() + 1
                )
            })
            .and_then(|line| {
                if line.trim().is_empty() {
                    Ok(None)
                } else {
                    serde_json::from_str::<Entry>(line)
                        .map(Some)
                        .map_err(|e| e.to_string())
                }
            });
        match entry {
            Ok(None) => {}
            Ok(Some(e)) if e.seq == expected_seq => {
                expected_seq += 1;
                loaded.entries.push(e);
            }
            // A last line without its newline that still reads whole is
            // kept (the next append ends its line first); one out of
            // sequence is as damaged as any other.
            Ok(Some(e)) => {
                return Err(corrupt(
                    i + 1,
                    format!(
                        "record number {} where {expected_seq} was expected (a line duplicated, reordered or removed)",
                        e.seq
                    ),
                ))
            }
            Err(_) if torn => loaded.torn_tail = Some(describe_torn(path, raw, expected_seq)),
            Err(detail) => return Err(corrupt(i + 1, detail)),
        }
    }
    Ok(loaded)
}

/// The warning for an incomplete last line: how long it is and which
/// record it held, as far as its first bytes tell.
fn describe_torn(path: &Path, raw: &[u8], expected_seq: u64) -> String {
    let text = String::from_utf8_lossy(raw);
    let field = |name: &str| {
        let key = format!("\"{name}\":");
        let rest = text.split_once(&key)?.1.trim_start();
        let value: String = match rest.strip_prefix('"') {
            Some(s) => s.chars().take_while(|c| *c != '"').collect(),
            None => rest.chars().take_while(char::is_ascii_digit).collect(),
        };
        (!value.is_empty()).then_some(value)
    };
    let lost = match field("seq") {
        Some(seq) => {
            let what: Vec<String> = ["event", "server", "step"]
                .iter()
                .filter_map(|k| field(k))
                .collect();
            let what = if what.is_empty() {
                String::new()
            } else {
                format!(" ({})", what.join(" "))
            };
            format!("record {seq}{what} is lost")
        }
        None if text.contains('\u{fffd}') || raw.iter().all(|b| *b == 0) => format!(
            "its bytes are binary data, not a record; record {expected_seq} was never written whole"
        ),
        None => format!("no record number can be read in it; record {expected_seq} is lost"),
    };
    format!(
        "the last line of {} ({} bytes) is incomplete — a crash or a full disk cut it off — and is ignored: {lost}. \
         If that record was a change on a server, check that server before resuming",
        path.display(),
        raw.len()
    )
}
