//! The maintenance window's end (`[policy] not_after`): an RFC 3339 local
//! time with its zone, e.g. `2026-12-08T06:00:00+01:00`, read into an
//! instant, and the estimate of one server's roll that the scheduler
//! weighs against it. Pure values: no clock is read here (the scheduler
//! asks its clock, which in the lab is the lab's).

use std::time::Duration;

use super::model::Policy;

/// When the maintenance window ends, as written and as an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowEnd {
    /// As the plan wrote it (shown in messages, so the operator sees their
    /// own local time).
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: i64,
}

/// Parses `YYYY-MM-DDTHH:MM[:SS]` followed by `Z` or `±HH:MM`. The zone is
/// required: a bare local time would mean one thing at the console and
/// another in a scheduled task on a machine set to UTC.
pub fn parse_window_end(text: &str) -> Result<WindowEnd, String> {
    let bad = |why: &str| {
        format!(
            "not_after '{text}' {why}; expected a local time with its zone, e.g. \"2026-12-08T06:00:00+01:00\" (or \"…Z\" for UTC)"
        )
    };
    let t = text.trim();
    let (date, rest) = t
        .split_once(['T', 't', ' '])
        .ok_or_else(|| bad("has no time"))?;
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        return Err(bad("has no date YYYY-MM-DD"));
    };
    let (time, offset_s) = split_zone(rest).ok_or_else(|| bad("has no zone"))?;
    let tp: Vec<&str> = time.split(':').collect();
    let (h, mi, s) = match tp.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad("has no time HH:MM[:SS]")),
    };
    let num = |v: &str, lo: i64, hi: i64| -> Result<i64, String> {
        let n: i64 = v
            .split('.')
            .next()
            .unwrap_or(v)
            .parse()
            .map_err(|_| bad("is not a valid date and time"))?;
        (lo..=hi)
            .contains(&n)
            .then_some(n)
            .ok_or_else(|| bad("is out of range"))
    };
    let (y, mo, da) = (num(y, 1970, 9999)?, num(mo, 1, 12)?, num(da, 1, 31)?);
    if da > days_in_month(y, mo) {
        return Err(bad("names a day its month does not have"));
    }
    let (h, mi, s) = (num(h, 0, 23)?, num(mi, 0, 59)?, num(s, 0, 59)?);
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s - offset_s?;
    Ok(WindowEnd {
        text: t.to_string(),
        unix_ms: secs * 1000,
    })
}

/// The time part and the zone's offset in seconds (`Z` = 0).
fn split_zone(rest: &str) -> Option<(&str, Result<i64, String>)> {
    if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        return Some((time, Ok(0)));
    }
    let at = rest.rfind(['+', '-'])?;
    let (time, zone) = rest.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (zh, zm) = zone[1..].split_once(':')?;
    let parse = |v: &str, hi: i64| v.parse::<i64>().ok().filter(|n| (0..=hi).contains(n));
    let offset = match (parse(zh, 23), parse(zm, 59)) {
        (Some(h), Some(m)) => Ok(sign * (h * 3600 + m * 60)),
        _ => Err(format!("the zone '{zone}' is not ±HH:MM")),
    };
    Some((time, offset))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Policy {
    /// How long one server's roll is expected to take, for `not_after`:
    /// `server_estimate` when the plan gives one, else the longest it can
    /// take before a wait gives up (drain, setup, two reboots, health and
    /// moving databases back: 4h40m with the default timeouts, whose
    /// setup share is Microsoft's "about 180 minutes"). The default is
    /// deliberately pessimistic: a server is never started that its
    /// timeouts would let run past the window.
    pub fn estimated_server_duration(&self) -> Duration {
        self.server_estimate.unwrap_or_else(|| {
            let t = &self.timeouts;
            t.drain + t.setup + t.reboot * 2 + t.health + t.move_databases
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_with_its_zone_is_the_same_instant_as_in_utc() {
        let a = parse_window_end("2026-12-08T06:00:00+01:00").unwrap();
        let b = parse_window_end("2026-12-08T05:00:00Z").unwrap();
        assert_eq!(a.unix_ms, b.unix_ms);
        assert_eq!(a.text, "2026-12-08T06:00:00+01:00");
        // 2026-12-08T05:00:00Z, as `date -u -d … +%s` gives it.
        assert_eq!(b.unix_ms, 1_796_706_000_000);
        let west = parse_window_end("2026-12-07T23:30-05:30").unwrap();
        assert_eq!(west.unix_ms, b.unix_ms);
    }

    #[test]
    fn a_time_without_a_zone_or_with_a_bad_part_is_refused_with_an_example() {
        for bad in [
            "06:00",
            "2026-12-08T06:00:00",
            "2026-02-30T06:00:00Z",
            "2026-12-08T25:00:00Z",
            "2026-12-08T06:00:00+1",
            "tomorrow",
        ] {
            let e = parse_window_end(bad).unwrap_err();
            assert!(e.contains("2026-12-08T06:00:00+01:00"), "{bad}: {e}");
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }
}
