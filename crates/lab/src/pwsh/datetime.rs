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
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z",
        milli * 10_000
    )
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// The day of the week's name (1970-01-01 was a Thursday).
pub fn day_of_week(ms: i64) -> &'static str {
    DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize]
}

/// `dddd, MMMM d, yyyy h:mm:ss tt`: how Out-Default shows a DateTime on en-US.
pub fn format_long(ms: i64) -> String {
    format_custom(ms, "dddd, MMMM d, yyyy h:mm:ss tt")
}

/// .NET DateTime formatting for the standard specifiers the lab's scripts
/// use (`o`, `s`, `u`, `g`, `d`) and custom patterns made of `yyyy MM M dd d
/// HH H hh h mm ss fff… tt dddd MMMM` and quoted literals.
pub fn format_custom(ms: i64, f: &str) -> String {
    match f {
        "o" | "O" => return format_roundtrip(ms),
        "s" => return format_custom(ms, "yyyy-MM-ddTHH:mm:ss"),
        "u" => return format_custom(ms, "yyyy-MM-dd HH:mm:ssZ"),
        "g" => return format_custom(ms, "M/d/yyyy h:mm tt"),
        "G" => return format_general(ms),
        "d" => return format_custom(ms, "M/d/yyyy"),
        "D" => return format_custom(ms, "dddd, MMMM d, yyyy"),
        _ => {}
    }
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    let chars: Vec<char> = f.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == c {
            run += 1;
        }
        match c {
            'y' => out.push_str(&if run <= 2 {
                format!("{:02}", y % 100)
            } else {
                format!("{y:0run$}")
            }),
            'M' => out.push_str(&match run {
                1 => mo.to_string(),
                2 => format!("{mo:02}"),
                3 => MONTHS[mo as usize - 1][..3].to_string(),
                _ => MONTHS[mo as usize - 1].to_string(),
            }),
            'd' => out.push_str(&match run {
                1 => d.to_string(),
                2 => format!("{d:02}"),
                3 => day_of_week(ms)[..3].to_string(),
                _ => day_of_week(ms).to_string(),
            }),
            'H' => out.push_str(&if run == 1 {
                h.to_string()
            } else {
                format!("{h:02}")
            }),
            'h' => {
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                out.push_str(&if run == 1 {
                    h12.to_string()
                } else {
                    format!("{h12:02}")
                });
            }
            'm' => out.push_str(&if run == 1 {
                mi.to_string()
            } else {
                format!("{mi:02}")
            }),
            's' => out.push_str(&if run == 1 {
                s.to_string()
            } else {
                format!("{s:02}")
            }),
            'f' | 'F' => {
                let frac = format!("{:07}", milli * 10_000);
                out.push_str(&frac[..run.min(7)]);
            }
            't' => out.push_str(if h < 12 {
                &"AM"[..run.min(2)]
            } else {
                &"PM"[..run.min(2)]
            }),
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|x| *x == c)
                    .map_or(chars.len(), |p| i + 1 + p);
                out.extend(&chars[i + 1..end]);
                i = end + 1;
                continue;
            }
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            _ => {
                out.extend(std::iter::repeat_n(c, run));
            }
        }
        i += run;
    }
    out
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
        assert_eq!(
            format_roundtrip(1_632_850_321_807),
            "2021-09-28T17:32:01.8070000Z"
        );
        assert_eq!(
            format_custom(1_632_850_321_807, "yyyy-MM-dd HH:mm"),
            "2021-09-28 17:32"
        );
        assert_eq!(
            format_long(1_632_850_321_807),
            "Tuesday, September 28, 2021 5:32:01 PM"
        );
    }
}
