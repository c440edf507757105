//! `New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri
//! http://<fqdn>/PowerShell/ -Authentication Kerberos -Credential $c`
//! (Microsoft Learn, "Connect to Exchange servers using remote
//! PowerShell"): whether the lab server named in the URI accepts, and the
//! error a real client gets when it does not. Refused while the server is
//! down (rebooting), while setup or msiexec runs on it (ExchangeDsc's
//! `Get-RemoteExchangeSession` refuses to connect during setup for the same
//! reason: the endpoint is being replaced), while IIS (W3SVC) or the
//! Exchange services behind `/PowerShell` are stopped, and for a credential
//! that is not the lab's account. Messages are the WinRM client's own
//! wording for each transport failure; which failure Exchange produces in
//! each state is UNVERIFIED (no capture shows it).

use crate::model::Server;
use crate::pwsh::host::{ErrorCategory, PsError};
use crate::world::World;

/// What a connection needs from the server: IIS serves `/PowerShell`, and
/// its application pool reaches AD through the topology service (UNVERIFIED
/// which Exchange services exactly; these are the ones setup stops first).
const NEEDED_SERVICES: [&str; 3] = ["W3SVC", "MSExchangeADTopology", "MSExchangeServiceHost"];

/// A New-PSSession error: non-terminating, category OpenError, the target
/// a RemoteRunspace, as New-PSSession writes it.
fn open_failed(host: &str, id: &str, detail: &str) -> PsError {
    let mut e = PsError::new(
        ErrorCategory::OpenError,
        &format!("{id},PSSessionOpenFailed"),
        format!("Connecting to remote server {host} failed with the following error message : {detail} For more information, see the about_Remote_Troubleshooting Help topic."),
    )
    .in_command("New-PSSession");
    e.target = Some("System.Manageme....RemoteRunspace:RemoteRunspace".into());
    e
}

/// The host part of `http://host[:port]/PowerShell/` and whether the path is
/// Exchange's `/PowerShell` endpoint.
pub(super) fn parse_uri(uri: &str) -> Option<(String, bool)> {
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
        .or_else(|| uri.strip_prefix("HTTP://"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.split(':').next().unwrap_or(authority).to_string();
    let is_exchange = path
        .trim_end_matches('/')
        .eq_ignore_ascii_case("PowerShell");
    Some((host, is_exchange))
}

/// The lab server a URI host names (its FQDN or its short name, any case).
pub(super) fn server_of(world: &World, host: &str) -> Option<usize> {
    world
        .servers
        .iter()
        .position(|s| s.fqdn.eq_ignore_ascii_case(host) || s.name.eq_ignore_ascii_case(host))
}

/// Why `host` refuses a new session now, if it does.
pub(super) fn refusal(world: &World, host: &str) -> Option<PsError> {
    let Some(i) = server_of(world, host) else {
        return Some(open_failed(
            host,
            "NetworkPathNotFound",
            &format!("WinRM cannot process the request. The following error occurred while using Kerberos authentication: Cannot find the computer {host}. Verify that the computer exists on the network and that the name provided is spelled correctly."),
        ));
    };
    let s: &Server = &world.servers[i];
    if s.edge.is_some() {
        return Some(crate::edge::no_remote_powershell(host));
    }
    if s.is_down() || !s.service_running("W3SVC") {
        return Some(open_failed(
            host,
            "WinRMOperationTimeout",
            "WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet.",
        ));
    }
    if s.installer_running() || NEEDED_SERVICES.iter().any(|n| !s.service_running(n)) {
        return Some(open_failed(
            host,
            "WinRMHttpError",
            "The WinRM client received an HTTP server error status (500), but the remote service did not include any other information about the cause of the failure.",
        ));
    }
    None
}

/// A credential the server's domain does not accept.
pub(super) fn access_denied(host: &str) -> PsError {
    open_failed(host, "AccessDenied", "Access is denied.")
}

/// `-ConfigurationName` other than `Microsoft.Exchange`, or a URI that is
/// not `/PowerShell`: IIS has no such endpoint (text UNVERIFIED).
pub(super) fn no_such_endpoint(host: &str, uri: &str) -> PsError {
    open_failed(
        host,
        "WinRMHttpError",
        &format!("The WinRM client cannot process the request. The resource URI ({uri}) was not found in the WS-Management catalog."),
    )
}
