//! Facts a fresh lab server is built from: the Windows services an Exchange
//! mailbox server runs, the OS version per caption, the CU revision behind
//! an installed build, and the text setup writes to ExchangeSetup.log.
//! Pure functions; the world decides when to use them.

use super::model::{Service, ServiceStatus, StartType};
use super::pwsh::datetime::civil;
use crate::build::ExchangeBuild;

pub use crate::facts::cu_revision;

/// `Win32_OperatingSystem.Version` for a Windows Server caption.
pub fn os_version(caption: &str) -> &'static str {
    if caption.contains("2025") {
        "10.0.26100"
    } else if caption.contains("2022") {
        "10.0.20348"
    } else if caption.contains("2019") {
        "10.0.17763"
    } else if caption.contains("2016") {
        "10.0.14393"
    } else if caption.contains("2012 R2") {
        "6.3.9600"
    } else {
        "6.2.9200"
    }
}

/// Product name as setup prints it: 15.1 = 2016, 15.2 ≥ 2562 = SE, else 2019.
pub fn product_name(build: &ExchangeBuild) -> &'static str {
    match (build.minor, build.build) {
        (1, _) => "Microsoft Exchange Server 2016",
        (2, b) if b >= 2562 => "Microsoft Exchange Server Subscription Edition",
        _ => "Microsoft Exchange Server 2019",
    }
}

/// Services of a mailbox server (names and display names as Windows shows
/// them); the Test-ServiceHealth roles of cmdlets.md §8 are built from these.
pub fn services_for(exchange_minor: u16) -> Vec<Service> {
    let auto = |name: &str, display: &str| Service {
        name: name.to_string(),
        display_name: display.to_string(),
        status: ServiceStatus::Running,
        start_type: StartType::Automatic,
    };
    // With the services CSS-Exchange SetupAssist Test-ExchangeServices
    // checks (MpsSvc, FMS, HostControllerService, …).
    let mut list = vec![
        auto("ClusSvc", "Cluster Service"),
        auto("FMS", "Microsoft Filtering Management Service"),
        auto(
            "HostControllerService",
            "Microsoft Exchange Search Host Controller",
        ),
        auto("MpsSvc", "Windows Defender Firewall"),
        auto(
            "MSExchangeAntispamUpdate",
            "Microsoft Exchange Anti-spam Update",
        ),
        auto("MSExchangeDagMgmt", "Microsoft Exchange DAG Management"),
        auto("MSExchangeDiagnostics", "Microsoft Exchange Diagnostics"),
        auto("MSExchangeFastSearch", "Microsoft Exchange Search"),
        auto("IISAdmin", "IIS Admin Service"),
        auto(
            "MSExchangeADTopology",
            "Microsoft Exchange Active Directory Topology",
        ),
        auto(
            "MSExchangeDelivery",
            "Microsoft Exchange Mailbox Transport Delivery",
        ),
        auto("MSExchangeEdgeSync", "Microsoft Exchange EdgeSync"),
        auto(
            "MSExchangeFrontEndTransport",
            "Microsoft Exchange Frontend Transport",
        ),
        auto("MSExchangeHM", "Microsoft Exchange Health Manager"),
        Service {
            name: "MSExchangeIMAP4".to_string(),
            display_name: "Microsoft Exchange IMAP4".to_string(),
            status: ServiceStatus::Stopped,
            start_type: StartType::Manual,
        },
        auto("MSExchangeIS", "Microsoft Exchange Information Store"),
        auto(
            "MSExchangeMailboxAssistants",
            "Microsoft Exchange Mailbox Assistants",
        ),
        auto(
            "MSExchangeMailboxReplication",
            "Microsoft Exchange Mailbox Replication",
        ),
        Service {
            name: "MSExchangePOP3".to_string(),
            display_name: "Microsoft Exchange POP3".to_string(),
            status: ServiceStatus::Stopped,
            start_type: StartType::Manual,
        },
        auto("MSExchangeRepl", "Microsoft Exchange Replication"),
        auto("MSExchangeRPC", "Microsoft Exchange RPC Client Access"),
        auto("MSExchangeServiceHost", "Microsoft Exchange Service Host"),
        auto(
            "MSExchangeSubmission",
            "Microsoft Exchange Mailbox Transport Submission",
        ),
        auto("MSExchangeThrottling", "Microsoft Exchange Throttling"),
        auto("MSExchangeTransport", "Microsoft Exchange Transport"),
        auto(
            "MSExchangeTransportLogSearch",
            "Microsoft Exchange Transport Log Search",
        ),
        auto("RemoteRegistry", "Remote Registry"),
        auto("W3SVC", "World Wide Web Publishing Service"),
        auto("WinRM", "Windows Remote Management (WS-Management)"),
        auto("Winmgmt", "Windows Management Instrumentation"),
    ];
    if exchange_minor == 1 {
        list.push(auto("MSExchangeUM", "Microsoft Exchange Unified Messaging"));
    }
    list.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
    });
    list
}

/// `[MM/dd/yyyy HH:mm:ss.ffff]` as ExchangeSetup.log stamps its lines.
pub(crate) fn stamp(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    format!(
        "[{mo:02}/{d:02}/{y:04} {h:02}:{mi:02}:{s:02}.{:04}]",
        milli * 10
    )
}

/// The lines one successful setup run appends to ExchangeSetup.log, ending
/// with the success line the runbook checks. `fresh` = a first install (no
/// "locally installed version" line).
pub fn setup_log_run(
    build: &ExchangeBuild,
    cu_revision: u32,
    start_ms: i64,
    fresh: bool,
) -> String {
    let version = format!(
        "{}.{}.{}.{}",
        build.major, build.minor, build.build, cu_revision
    );
    let mode = if fresh { "Install" } else { "Upgrade" };
    let mut t = start_ms;
    let mut out = String::new();
    // Each line on thread [0] (setup's console), or on [1] (the readiness
    // rules and component tasks) when `text` starts with "[1] ".
    let mut line = |delta_ms: i64, text: &str| {
        t += delta_ms;
        let (thread, text) = match text.strip_prefix("[1] ") {
            Some(task) => (1, task),
            None => (0, text),
        };
        out.push_str(&format!("{} [{thread}] {text}\r\n", stamp(t)));
    };
    line(0, "**********************************************");
    line(0, &format!("Starting {} Setup", product_name(build)));
    line(0, "**********************************************");
    line(16, "Local time zone: (UTC) Coordinated Universal Time.");
    line(
        0,
        "Operating system version: Microsoft Windows NT 6.2.9200.0.",
    );
    line(0, &format!("Setup version: {version}."));
    line(0, r"Logged on user: CONTOSO\Administrator.");
    line(
        31,
        &format!("Command Line Parameter Name='mode', Value='{mode}'."),
    );
    line(0, "Command Line Parameter Name='iacceptexchangeserverlicenseterms_diagnosticdataoff', Value=''.");
    if !fresh {
        line(
            2_100,
            &format!("The locally installed version is {version}."),
        );
    }
    line(1_200, "Setup will run from path 'D:\\'.");
    line(900, "Validating options for the 1 requested roles.");
    line(45_000, "[1] Evaluated [Rule:PendingRebootWindowsComponents] [Value:\"False\"] [ParentValue:\"<NULL>\"] [Thread:4] [Duration:00:00:00.0156250]");
    line(
        600_000,
        "[1] Setup is completing the installation of the Mailbox role.",
    );
    line(1_800_000, "Completing the Setup.");
    line(
        1_200,
        "The Exchange Server setup operation completed successfully.",
    );
    line(0, "End of Setup");
    line(0, "**********************************************");
    out
}

/// `setup_log_earlier_mb` MB of earlier runs: the same run, an hour
/// apart, ending a day before `installed_ms`.
pub(crate) fn earlier_runs(s: &crate::spec::LabServer, installed_ms: i64) -> String {
    let want = usize::try_from(s.setup_log_earlier_mb).unwrap_or(0) * 1024 * 1024;
    let mut out = String::with_capacity(want);
    let mut start = installed_ms - 86_400_000 - 3_600_000 * 24 * 365;
    while out.len() < want {
        out.push_str(&setup_log_run(
            &s.build,
            cu_revision(&s.build),
            start,
            false,
        ));
        start += 3_600_000;
    }
    out
}

/// `MsiInstallPath`: on `D:` when the server has an install drive of its
/// own (`install_drive_free_gb`), else the default on `C:`.
pub(crate) fn install_path(s: &crate::spec::LabServer) -> String {
    let drive = if s.install_drive_free_gb.is_some() {
        "D"
    } else {
        "C"
    };
    format!(r"{drive}:\Program Files\Microsoft\Exchange Server\V15\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cu_revision_comes_from_the_cu_table() {
        assert_eq!(cu_revision(&"15.2.1748.43".parse().unwrap()), 10);
        assert_eq!(cu_revision(&"15.1.2507.66".parse().unwrap()), 6);
        assert_eq!(cu_revision(&"15.2.9999.3".parse().unwrap()), 3);
    }

    #[test]
    fn setup_log_ends_with_the_success_line() {
        let log = setup_log_run(
            &"15.2.1544.39".parse().unwrap(),
            4,
            1_632_850_321_807,
            false,
        );
        assert!(log.starts_with("[09/28/2021 17:32:01.8070] [0] ****"));
        assert!(log.contains("Starting Microsoft Exchange Server 2019 Setup"));
        assert!(log.contains("Setup version: 15.2.1544.4."));
        assert!(log.contains("The Exchange Server setup operation completed successfully."));
        // One thread number a line; the rules and tasks on [1] as real logs have them.
        assert!(!log.contains("] [0] [1]"), "{log}");
        assert!(log.contains("] [1] Evaluated [Rule:PendingRebootWindowsComponents]"));
        assert!(log.contains("] [1] Setup is completing the installation of the Mailbox role."));
    }
}
