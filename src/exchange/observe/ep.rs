//! Extended Protection on a server's client-access virtual directories:
//! each `Get-*VirtualDirectory`'s `ExtendedProtectionTokenChecking` (None,
//! Allow, Require) and the RPC (Outlook Anywhere) directory's
//! `SSLOffloading`, typed. Judging the risk is the pre-flight's job;
//! nothing here changes a server.
//!
//! Source: CSS-Exchange `Security/src/ExchangeExtendedProtectionManagement/
//! ExchangeExtendedProtectionManagement.ps1` (commit f88378b1e) refuses to
//! configure EP on a server whose `Get-OutlookAnywhere` shows
//! `SSLOffloading` true ("Set-OutlookAnywhere 'SERVERNAME\RPC (Default Web
//! Site)' -SSLOffloading $false …"); it reads `tokenChecking` from IIS's
//! applicationHost.config, where cu-roll reads the cmdlets' AD property
//! (`-ADPropertiesOnly`: no call to the server's IIS). That the two agree
//! is UNVERIFIED.

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{same, Operation, QueryError};
use crate::plan::Server;
use crate::ps::Arg;

/// One virtual directory's EP setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VdirEpObs {
    /// e.g. `owa (Default Web Site)`.
    pub name: String,
    /// `None`, `Allow` or `Require`.
    pub token_checking: String,
}

/// What `EXTENDED_PROTECTION` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExtendedProtectionObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub virtual_directories: Vec<VdirEpObs>,
    /// The RPC directory's `SSLOffloading`; `None` when it was not found.
    #[serde(default)]
    pub rpc_ssl_offloading: Option<bool>,
}

impl ExtendedProtectionObs {
    /// EP is configured on at least one directory (CSS-Exchange's
    /// `ExtendedProtectionConfigured`: any `tokenChecking` other than None).
    pub fn configured(&self) -> bool {
        self.virtual_directories
            .iter()
            .any(|v| !same(&v.token_checking, "None"))
    }

    /// `owa Require, ecp Require, …` for the report.
    pub fn summary(&self) -> String {
        self.virtual_directories
            .iter()
            .map(|v| {
                let short = v.name.split(" (").next().unwrap_or(&v.name);
                format!("{short} {}", v.token_checking)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Server `{{server}}`'s directories (Default Web Site) and Outlook Anywhere.
pub const EXTENDED_PROTECTION: crate::exchange::Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$directories = @()
$directories += @(Get-OwaVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-EcpVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-WebServicesVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-ActiveSyncVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-OabVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-MapiVirtualDirectory -Server $server -ADPropertiesOnly)
$directories += @(Get-AutodiscoverVirtualDirectory -Server $server -ADPropertiesOnly)
$rpc = @(Get-OutlookAnywhere -Server $server -ADPropertiesOnly)
$directories += $rpc
$vdirs = @($directories | Where-Object { [string]$_.Name -like '*(Default Web Site)' } | ForEach-Object {
    [pscustomobject]@{ Name = [string]$_.Name; TokenChecking = $_.ExtendedProtectionTokenChecking.ToString() }
})
$offloading = $null
if ($rpc.Count -gt 0) { $offloading = [bool]$rpc[0].SSLOffloading }
[pscustomobject]@{ VirtualDirectories = $vdirs; RpcSslOffloading = $offloading } | ConvertTo-Json -Depth 3 -Compress
"#
);

pub fn read_extended_protection(server: &str) -> Operation {
    EXTENDED_PROTECTION.render(
        "Extended Protection of the virtual directories",
        &[("server", Arg::Str(server))],
    )
}

pub fn extended_protection(
    reach: &Reach<'_>,
    server: &Server,
) -> Result<ExtendedProtectionObs, QueryError> {
    query(reach, server, &read_extended_protection(&server.name))
}
