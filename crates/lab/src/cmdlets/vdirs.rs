//! The client-access virtual directories' Extended Protection, as the
//! `Get-*VirtualDirectory` cmdlets and `Get-OutlookAnywhere` show it
//! (`ExtendedProtectionTokenChecking`, and the RPC directory's
//! `SSLOffloading`), and what setup does to it. Owns the per-directory
//! values; it changes nothing but through setup (`after_setup`).
//!
//! Sources: the values EP sets on the Default Web Site are CSS-Exchange's
//! table (`Shared/IISFunctions/ExtendedProtection/Get-ExtendedProtectionConfigurationResult.ps1`,
//! commit f88378b1e: OWA, ECP, RPC, MAPI `Require`; EWS, ActiveSync, OAB
//! `Allow`; Autodiscover, PowerShell `None`). 2019 CU14 setup turns EP on
//! unless `/DoNotEnableEP` (keep it as it is) or `/DoNotEnableEP_FEEWS`
//! (on, but EWS on the front end `None`) is given (Microsoft Learn, "Use
//! unattended mode in Exchange Server"). Exchange 2016 and 2019 before
//! CU14 keep whatever was configured. That the cmdlets' AD property
//! matches IIS's `tokenChecking` (which CSS-Exchange reads) is assumed:
//! UNVERIFIED.

use serde::{Deserialize, Serialize};

use super::exchange::select_servers;
use super::Answer;
use crate::build::ExchangeBuild;
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, PsError};
use crate::pwsh::value::{PsObject, Value};

/// Extended Protection on a server's virtual directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtendedProtection {
    Off,
    On,
    /// `/DoNotEnableEP_FEEWS`: on, but EWS on the front end `None`.
    OnExceptEwsFrontEnd,
}

/// Media (or an installed build) whose setup turns EP on: 2019 CU14
/// (15.2.1544) and later, SE included.
pub fn setup_enables(build: ExchangeBuild) -> bool {
    build.major == 15 && build.minor == 2 && build.build >= 1544
}

impl ExtendedProtection {
    /// At the start: as declared (`[[lab.server]] extended_protection`),
    /// else on for a build whose setup turned it on.
    pub fn initial(build: ExchangeBuild, declared: Option<bool>) -> ExtendedProtection {
        match declared {
            Some(true) => ExtendedProtection::On,
            Some(false) => ExtendedProtection::Off,
            None if setup_enables(build) => ExtendedProtection::On,
            None => ExtendedProtection::Off,
        }
    }

    /// After a successful setup of `media` with `command_line`.
    pub fn after_setup(media: ExchangeBuild, before: Option<Self>, command_line: &str) -> Self {
        let before = before.unwrap_or(ExtendedProtection::Off);
        if !setup_enables(media) {
            return before;
        }
        let line = command_line.to_ascii_lowercase();
        if line.contains("donotenableep_feews") {
            ExtendedProtection::OnExceptEwsFrontEnd
        } else if line.contains("donotenableep") {
            before
        } else {
            ExtendedProtection::On
        }
    }

    /// `ExtendedProtectionTokenChecking` of virtual directory `vdir` (its
    /// name as the cmdlets show it, before " (Default Web Site)").
    pub fn token_checking(self, vdir: &str) -> &'static str {
        if self == ExtendedProtection::Off {
            return "None";
        }
        match vdir.to_ascii_lowercase().as_str() {
            "owa" | "ecp" | "rpc" | "mapi" => "Require",
            "ews" if self == ExtendedProtection::OnExceptEwsFrontEnd => "None",
            "ews" | "microsoft-server-activesync" | "oab" => "Allow",
            _ => "None",
        }
    }
}

/// The cmdlets and the directory each shows (Default Web Site).
const VDIR_CMDLETS: &[(&str, &str)] = &[
    ("Get-OwaVirtualDirectory", "owa"),
    ("Get-EcpVirtualDirectory", "ecp"),
    ("Get-WebServicesVirtualDirectory", "EWS"),
    (
        "Get-ActiveSyncVirtualDirectory",
        "Microsoft-Server-ActiveSync",
    ),
    ("Get-OabVirtualDirectory", "OAB"),
    ("Get-MapiVirtualDirectory", "mapi"),
    ("Get-AutodiscoverVirtualDirectory", "Autodiscover"),
    ("Get-OutlookAnywhere", "Rpc"),
];

const PARAMS: &[crate::pwsh::host::ParamSpec] = &[
    positional("Identity", 0),
    value("Server"),
    switch("ADPropertiesOnly"),
    value("DomainController"),
    switch("ShowMailboxVirtualDirectories"),
];

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    let (name, vdir) = VDIR_CMDLETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(lname))?;
    Some(get_vdirs(host, args, name, vdir))
}

fn token_value(mode: &str) -> Value {
    let n = match mode {
        "Allow" => 1,
        "Require" => 2,
        _ => 0,
    };
    Value::enumv(
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.ExtendedProtectionTokenCheckingMode",
        mode,
        n,
    )
}

fn get_vdirs(
    host: &mut ServerHost,
    args: &[Argument],
    cmd: &'static str,
    vdir: &str,
) -> Result<Vec<Value>, PsError> {
    let spec = CmdletSpec {
        name: cmd,
        params: PARAMS,
        should_process: None,
    };
    let b = bind(&spec, args)?;
    let class = format!("SystemConfigurationTasks.{}", cmd.replace('-', ""));
    let ids = select_servers(host, b.string("Server"), cmd, &class, false)?;
    Ok(ids
        .into_iter()
        .map(|i| {
            let s = &host.world.servers[i];
            let ep = s
                .extended_protection
                .unwrap_or_else(|| ExtendedProtection::initial(s.build, None));
            let name = format!("{vdir} (Default Web Site)");
            let mut o = PsObject::new(&format!(
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.AD{}",
                cmd.trim_start_matches("Get-")
            ))
            .with("Name", name.clone())
            .with("Server", s.name.clone())
            .with("Identity", format!("{}\\{name}", s.name))
            .with(
                "ExtendedProtectionTokenChecking",
                token_value(ep.token_checking(vdir)),
            );
            if cmd == "Get-OutlookAnywhere" {
                o = o.with("SSLOffloading", s.rpc_ssl_offloading);
            }
            o.display(format!("{}\\{name}", s.name)).into()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> ExchangeBuild {
        s.parse().unwrap()
    }

    #[test]
    fn cu14_setup_turns_ep_on_unless_told_not_to() {
        let cu15 = b("15.2.1748.10");
        let off = Some(ExtendedProtection::Off);
        assert_eq!(
            ExtendedProtection::after_setup(cu15, off, "/Mode:Upgrade"),
            ExtendedProtection::On
        );
        assert_eq!(
            ExtendedProtection::after_setup(cu15, off, "/Mode:Upgrade /DoNotEnableEP"),
            ExtendedProtection::Off
        );
        assert_eq!(
            ExtendedProtection::after_setup(cu15, off, "/Mode:Upgrade /DoNotEnableEP_FEEWS"),
            ExtendedProtection::OnExceptEwsFrontEnd
        );
        assert_eq!(
            ExtendedProtection::after_setup(b("15.2.1258.12"), off, "/Mode:Upgrade"),
            ExtendedProtection::Off,
            "CU13 setup leaves EP alone"
        );
    }

    #[test]
    fn token_checking_follows_css_exchanges_table() {
        let on = ExtendedProtection::On;
        assert_eq!(on.token_checking("owa"), "Require");
        assert_eq!(on.token_checking("EWS"), "Allow");
        assert_eq!(on.token_checking("Autodiscover"), "None");
        assert_eq!(
            ExtendedProtection::OnExceptEwsFrontEnd.token_checking("EWS"),
            "None"
        );
        assert_eq!(ExtendedProtection::Off.token_checking("owa"), "None");
    }
}
