//! Reading `ExchangeSetup.log`: setup appends every run to the same file,
//! so only the last run counts — it starts at the last `Starting Microsoft
//! Exchange Server 2016|2019|Subscription Edition Setup` line. Success is
//! the line `The Exchange Server setup operation completed successfully.`
//! in that run; a failed run carries `[ERROR]` lines (exchange-facts.md §4),
//! and a run stopped by the prerequisite analysis carries `Failed
//! [Rule:X] [Message:…]` and `[REQUIRED] …` lines instead (CSS-Exchange
//! SetupLogReviewer test logs, e.g. `ExchangeSetup_Reboot_Pending.log`).

/// What the last run of the log says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetupLogRun {
    /// Whether a run start line was found at all.
    pub found: bool,
    pub succeeded: bool,
    /// The `[ERROR]`, `[REQUIRED]` and `Failed [Rule:…]` lines of the last
    /// run, without their timestamp prefix.
    pub errors: Vec<String>,
}

const RUN_START: &str = "Starting Microsoft Exchange Server";
const SUCCESS: &str = "The Exchange Server setup operation completed successfully.";

/// `[02/10/2025 10:15:32.0123] [1] text` → `text`.
fn strip_prefix(line: &str) -> &str {
    let mut rest = line.trim();
    for _ in 0..2 {
        if rest.starts_with('[') {
            if let Some(end) = rest.find(']') {
                let inner = &rest[1..end];
                // Stop at `[ERROR]` itself: only timestamps and thread ids go.
                if inner
                    .chars()
                    .all(|c| c.is_ascii_digit() || " /:.".contains(c))
                {
                    rest = rest[end + 1..].trim_start();
                }
            }
        }
    }
    rest
}

pub fn last_run(log: &str) -> SetupLogRun {
    let lines: Vec<&str> = log.lines().collect();
    let Some(start) = lines.iter().rposition(|l| {
        let l = strip_prefix(l);
        l.starts_with(RUN_START) && l.trim_end().ends_with("Setup")
    }) else {
        return SetupLogRun::default();
    };
    let run = &lines[start..];
    SetupLogRun {
        found: true,
        succeeded: run.iter().any(|l| strip_prefix(l).starts_with(SUCCESS)),
        errors: run
            .iter()
            .map(|l| strip_prefix(l))
            .filter_map(|l| {
                if let Some(rest) = l.strip_prefix("[ERROR]") {
                    Some(rest.trim().to_string())
                } else if l.starts_with("[REQUIRED]") || l.starts_with("Failed [Rule:") {
                    Some(l.trim().to_string())
                } else {
                    None
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run stopped by the prerequisite analysis has no `[ERROR]` line: its
    /// rule failures must still reach the admin.
    #[test]
    fn prerequisite_failures_are_reported() {
        let log = "\
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:02:40.0934] [1] Failed [Rule:RebootPending] [Message:Setup can't continue because a restart is pending.]\r
[02/10/2026 09:02:40.0934] [1] [REQUIRED] Setup can't continue because a restart is pending.\r
";
        let run = last_run(log);
        assert!(!run.succeeded);
        assert_eq!(run.errors.len(), 2, "{:?}", run.errors);
        assert!(run.errors[0].starts_with("Failed [Rule:RebootPending]"));
    }

    /// Two runs: the first failed (a prerequisite rule), the second is the
    /// one that counts.
    const TWO_RUNS: &str = "\
[02/10/2026 09:01:12.0451] [0] **********************************************\r
[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 09:01:12.0451] [0] **********************************************\r
[02/10/2026 09:01:12.0467] [0] Local time zone: (UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna.\r
[02/10/2026 09:01:12.0467] [0] Operating system version: Microsoft Windows NT 10.0.20348.0.\r
[02/10/2026 09:01:12.0482] [0] Setup version: 15.2.1748.10.\r
[02/10/2026 09:04:40.0872] [1] Evaluated [Rule:ProcessNeedsToBeClosedOnUpgrade] [Value:\"True\"] [ParentValue:\"<NULL>\"] [Thread:6] [Duration:00:00:00.0781250]\r
[02/10/2026 09:04:40.0934] [1] [ERROR] There are processes running that must be closed before setup can continue: powershell (4711).\r
[02/10/2026 09:04:40.0934] [1] [ERROR-REFERENCE] Id=ProcessNeedsToBeClosedOnUpgrade Component=\r
[02/10/2026 09:04:41.0012] [0] The Exchange Server setup operation didn't complete. More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.\r
[02/10/2026 10:12:03.0219] [0] **********************************************\r
[02/10/2026 10:12:03.0219] [0] Starting Microsoft Exchange Server 2019 Setup\r
[02/10/2026 10:12:03.0219] [0] **********************************************\r
[02/10/2026 10:12:03.0235] [0] Setup version: 15.2.1748.10.\r
[02/10/2026 10:12:05.0300] [0] The locally installed version is 15.2.1544.4.\r
[02/10/2026 11:40:51.0777] [0] The Exchange Server setup operation completed successfully.\r
[02/10/2026 11:40:51.0780] [0] End of Setup\r
[02/10/2026 11:40:51.0780] [0] **********************************************\r
";

    #[test]
    fn only_the_last_run_counts() {
        let run = last_run(TWO_RUNS);
        assert!(run.found);
        assert!(run.succeeded);
        assert!(run.errors.is_empty());
    }

    #[test]
    fn a_failed_last_run_lists_its_errors() {
        let failed = "\
[03/01/2026 08:00:00.0001] [0] Starting Microsoft Exchange Server Subscription Edition Setup\r
[03/01/2026 08:40:10.0100] [2] [ERROR] The following error was generated when \"$error.Clear(); Install-ExchangeCertificate -services IIS\" was run: \"Access is denied.\".\r
[03/01/2026 08:40:10.0100] [2] [ERROR] Access is denied.\r
[03/01/2026 08:40:10.0110] [2] [ERROR-REFERENCE] Id=CafeComponent___8f3ef01c Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup\r
[03/01/2026 08:40:10.0120] [2] Setup is stopping now because of one or more critical errors.\r
[03/01/2026 08:40:11.0000] [0] The Exchange Server setup operation didn't complete. More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.\r
";
        let run = last_run(&format!("{TWO_RUNS}{failed}"));
        assert!(run.found && !run.succeeded);
        assert_eq!(
            run.errors,
            vec![
                "The following error was generated when \"$error.Clear(); Install-ExchangeCertificate -services IIS\" was run: \"Access is denied.\".",
                "Access is denied.",
            ]
        );
    }

    #[test]
    fn a_log_without_a_run_is_not_success() {
        assert_eq!(last_run(""), SetupLogRun::default());
        // The success line of an older run does not leak into a new one.
        let started_only = format!(
            "{TWO_RUNS}[02/11/2026 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\r\n"
        );
        assert!(!last_run(&started_only).succeeded);
    }
}
