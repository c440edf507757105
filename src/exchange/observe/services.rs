//! The services an Exchange installer stops and disables, and the files it
//! keeps their start types in: what "the server is back" looks at beyond
//! the `MSExchange*` services `BOOT_STATE` reads. Read-only; the repair is
//! `exchange::act::enable_service`, and deciding is the steps' job.
//!
//! Sources: CSS-Exchange SetupAssist `Checks/LocalServer/
//! Test-ExchangeServices.ps1` (the list below, "Set the service to
//! Automatic and start it", and the `C:\ExchangeSetupLogs\Service*.xml`
//! "Services Cache Files" check: "Delete the file and start Exchange
//! Services"); SetupLogReviewer `Test-DisabledService.ps1` (action plan
//! `Get-Service MSExchange* | Set-Service -StartupType Automatic`).
//! W3SVC and IISAdmin: setup's ServiceControl.ps1 stops them (review
//! real-exchange.md #6); that they are left Disabled is community-reported
//! (posh-able.com 2021-03-07, iph.ch 2018-03-22): UNVERIFIED.

use serde::Deserialize;

use super::super::query::one_or_many;
use super::super::Operation;
use super::{templates, ServiceObs};

/// Test-ExchangeServices' list, then W3SVC and IISAdmin (UNVERIFIED). The
/// start type each must have on a working Mailbox server: Automatic
/// (SetupAssist's reference text for every one of them).
pub const INSTALLER_SERVICES: [&str; 26] = [
    "MpsSvc",
    "FMS",
    "HostControllerService",
    "MSExchangeADTopology",
    "MSExchangeAntispamUpdate",
    "MSExchangeDagMgmt",
    "MSExchangeDelivery",
    "MSExchangeDiagnostics",
    "MSExchangeEdgeSync",
    "MSExchangeFastSearch",
    "MSExchangeFrontEndTransport",
    "MSExchangeHM",
    "MSExchangeIS",
    "MSExchangeMailboxAssistants",
    "MSExchangeMailboxReplication",
    "MSExchangeRepl",
    "MSExchangeRPC",
    "MSExchangeServiceHost",
    "MSExchangeSubmission",
    "MSExchangeThrottling",
    "MSExchangeTransport",
    "MSExchangeTransportLogSearch",
    "RemoteRegistry",
    "WinMgmt",
    "W3SVC",
    "IISAdmin",
];

/// The start type every service of [`INSTALLER_SERVICES`] is expected to have.
pub const EXPECTED_START_TYPE: &str = "Automatic";

/// What `SERVICE_SET` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSetObs {
    /// Those of [`INSTALLER_SERVICES`] the server has (a missing one is
    /// not installed: HostControllerService on a server without search…).
    #[serde(default, deserialize_with = "one_or_many")]
    pub services: Vec<ServiceObs>,
    /// Full paths of `C:\ExchangeSetupLogs\Service*.xml`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub leftover_files: Vec<String>,
}

impl ServiceSetObs {
    /// The services of the set that are Disabled now.
    pub fn disabled(&self) -> Vec<&ServiceObs> {
        self.services
            .iter()
            .filter(|s| s.start_type.eq_ignore_ascii_case("Disabled"))
            .collect()
    }

    /// Not Disabled, but not running either (SetupAssist warns on both).
    pub fn stopped(&self) -> Vec<&ServiceObs> {
        self.services
            .iter()
            .filter(|s| {
                !s.start_type.eq_ignore_ascii_case("Disabled")
                    && !s.status.eq_ignore_ascii_case("Running")
            })
            .collect()
    }
}

/// Reads the installer's service set and leftover files (`service_set`).
pub fn read_service_set() -> Operation {
    templates::SERVICE_SET.render(
        "reading the services an installer disables, and its Service*.xml files",
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_and_stopped_are_told_apart() {
        let o: ServiceSetObs = serde_json::from_str(
            r#"{"Services":[
            {"Name":"MSExchangeIS","Status":"Running","StartType":"Automatic"},
            {"Name":"RemoteRegistry","Status":"Stopped","StartType":"Disabled"},
            {"Name":"FMS","Status":"Stopped","StartType":"Automatic"}],
            "LeftoverFiles":"C:\\ExchangeSetupLogs\\ServiceStartupMode.xml"}"#,
        )
        .unwrap();
        let names = |v: Vec<&ServiceObs>| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(o.disabled()), ["RemoteRegistry"]);
        assert_eq!(names(o.stopped()), ["FMS"]);
        assert_eq!(o.leftover_files.len(), 1);
    }

    #[test]
    fn the_script_names_every_service_of_the_set() {
        let text = read_service_set().script.text().to_string();
        for n in INSTALLER_SERVICES {
            assert!(text.contains(&format!("'{n}'")), "{n}");
        }
        assert!(lab::pwsh::syntax_check(&text).is_ok(), "{text}");
    }
}
