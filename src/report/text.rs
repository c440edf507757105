//! Plain-text helpers the run report, `status` and the live progress
//! display share: one-line cleaning of server text, durations and journal
//! times as an admin reads them, and the aligned grid both `status` and the
//! run summary print.
//!
//! Formatting only: nothing here knows what a rollout, a step or a journal
//! record is, and nothing writes anywhere.

use std::time::Duration;

/// Duration as an admin reads it: `3.1s`, `4m05s`, `1h02m`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Escapes control characters (newlines, ESC …) so a message that came from
/// a server (setup's `[ERROR]` lines, a cmdlet's error record) stays on one
/// line and cannot drive the terminal.
pub(super) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim_end().chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A journal time to the second (`2026-11-27T10:00:03Z`); text that is not
/// a time is shown as it is.
pub(super) fn short_time(at: &str) -> String {
    match humantime::parse_rfc3339_weak(at) {
        Ok(t) => humantime::format_rfc3339_seconds(t).to_string(),
        Err(_) => one_line(at),
    }
}

/// Upper-case headers, columns padded to their widest cell, two spaces
/// between columns, no trailing spaces. Cells must already be one line.
pub(super) fn grid(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(&widths) {
            text.push_str(cell);
            let pad = w - cell.chars().count() + 2;
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_an_admin_writes_them() {
        assert_eq!(format_duration(Duration::from_millis(3_100)), "3.1s");
        assert_eq!(format_duration(Duration::from_secs(59)), "59.0s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(3_725)), "1h02m");
    }
}
