//! Reading the last run of a server's `ExchangeSetup.log` in bounded
//! pieces (review real-exchange.md #17). Setup appends every run to the
//! same file, which grows to tens of MB; only the last run counts (the
//! run from the last `Starting Microsoft Exchange Server … Setup` line,
//! as CSS-Exchange's SetupLogReviewer reads it:
//! `Setup/Shared/SetupLogReviewerFunctions.ps1`). So cu-roll never sends
//! the whole file back:
//!
//! 1. [`CMD_RUN_STARTS`] (cmd.exe `findstr /N`) prints the numbered run
//!    start lines only, a line per run; [`last_run_start`] picks the last
//!    (the line must be a run start, not the words elsewhere).
//! 2. [`CMD_LINE_COUNT`] (cmd.exe `find /C /V ""`) prints how many lines
//!    the file has ([`line_count`]).
//! 3. [`PIECE`] (PowerShell, once setup has ended) prints
//!    [`PIECE_LINES`] lines at a time of the last run: `Get-Content
//!    -Tail` starts from the end of the file (Microsoft Learn,
//!    "Get-Content": `-Tail` "gets the specified number of lines from the
//!    end of a file"), so the earlier runs are neither read again for the
//!    piece nor sent; [`pieces`] says which.
//!
//! `findstr` and `find` count lines the same way (a line ends at LF;
//! Microsoft Learn, "findstr" `/N`, "find" `/C`); that `Get-Content`
//! splits at the same places holds for the CRLF lines setup writes. Pure
//! text in, numbers out: running the commands is the step's.

use super::parse::is_run_start;

/// The log (cmd.exe expands the variable on the server).
pub const LOG: &str = r"%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log";

/// cmd.exe: the numbered lines holding the run start words (`12:[…] [0]
/// Starting Microsoft Exchange Server 2019 Setup`). Exit 1 when none
/// matched or the file is missing. `/L` literal; case-sensitive, as setup
/// writes the line in this exact case.
pub const CMD_RUN_STARTS: &str = r#"findstr /N /L /C:"Starting Microsoft Exchange Server" "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#;

/// cmd.exe: how many lines the log has: `---------- <PATH>: 52341`.
pub const CMD_LINE_COUNT: &str =
    r#"find /C /V "" "%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log""#;

/// PowerShell: `{{count}}` lines of the log, starting `{{tail}}` lines
/// before its end (the prelude of a `Target` script first).
pub const PIECE: &str = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$log = Join-Path -Path $env:SystemDrive -ChildPath 'ExchangeSetupLogs\ExchangeSetup.log'
Get-Content -LiteralPath $log -Tail {{tail}} | Select-Object -First {{count}}
"#;

/// Lines per piece: setup's lines are mostly under 200 characters, so a
/// piece is a few MB at most (the line length is UNVERIFIED beyond the
/// captures in `tests/fixtures/real/setup-logs/`, whose lines average
/// under 150 characters).
pub const PIECE_LINES: u64 = 20_000;

/// The 1-based number of the last run start line in `findstr /N` output.
pub fn last_run_start(findstr_n: &str) -> Option<u64> {
    findstr_n
        .lines()
        .filter_map(|l| {
            let (n, text) = l.split_once(':')?;
            let n: u64 = n.trim().parse().ok()?;
            is_run_start(text.trim_end_matches('\r')).then_some(n)
        })
        .max()
}

/// The count `find /C` printed (the number after the last `: `).
pub fn line_count(find_c: &str) -> Option<u64> {
    find_c
        .lines()
        .rev()
        .find_map(|l| l.trim_end().rsplit_once(": ")?.1.trim().parse().ok())
}

/// The `(tail, count)` of each piece reading lines `start..=total`, in
/// order, each at most `per` lines.
pub fn pieces(start: u64, total: u64, per: u64) -> Vec<(u64, u64)> {
    let per = per.max(1);
    let mut out = Vec::new();
    let mut tail = total.saturating_sub(start.max(1)) + 1;
    if start > total {
        return out;
    }
    while tail > 0 {
        let count = tail.min(per);
        out.push((tail, count));
        tail -= count;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_real_run_start_is_picked() {
        let out = "3:[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r\n\
                   40:[02/10/2026 09:05:00.0000] [1] Not Starting Microsoft Exchange Server here\r\n\
                   77:[02/11/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\r\n\
                   90:[02/11/2026 10:00:01.0000] [1] Starting Microsoft Exchange Server something else\r\n";
        assert_eq!(last_run_start(out), Some(77));
        assert_eq!(last_run_start(""), None);
    }

    #[test]
    fn the_line_count_is_read_from_finds_output() {
        assert_eq!(
            line_count("\r\n---------- C:\\EXCHANGESETUPLOGS\\EXCHANGESETUP.LOG: 52341\r\n"),
            Some(52_341)
        );
        assert_eq!(line_count("File not found - X"), None);
    }

    #[test]
    fn pieces_cover_the_run_exactly_once() {
        assert_eq!(pieces(3, 10, 100), vec![(8, 8)]);
        assert_eq!(pieces(1, 10, 4), vec![(10, 4), (6, 4), (2, 2)]);
        assert_eq!(pieces(10, 10, 4), vec![(1, 1)]);
        assert_eq!(pieces(11, 10, 4), vec![]);
        let all: u64 = pieces(5, 45_000, PIECE_LINES).iter().map(|p| p.1).sum();
        assert_eq!(all, 45_000 - 5 + 1);
    }
}
