//! DateTime formatting as Windows PowerShell 5.1 does it on an en-US server.

/// `M/d/yyyy h:mm:ss tt`, the en-US general format (`[string]$date`).
pub fn format_general(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{mo}/{d}/{y} {h12}:{mi:02}:{s:02} {ampm}")
}

/// Round-trip format `yyyy-MM-ddTHH:mm:ss.fffffffZ` (`.ToString('o')` on a UTC DateTime).
pub fn format_roundtrip(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z", milli * 10_000)
}

/// Splits milliseconds since the Unix epoch into civil UTC parts.
pub fn civil(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60, milli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_known_instant() {
        // 2021-09-28T17:32:01.807Z, the timestamp in the CSS-Exchange capture.
        assert_eq!(format_general(1_632_850_321_807), "9/28/2021 5:32:01 PM");
        assert_eq!(format_roundtrip(1_632_850_321_807), "2021-09-28T17:32:01.8070000Z");
    }
}
