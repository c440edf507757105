//! How the process running a lab script logged on, and the one rule that
//! follows from it: a WinRM network logon has no credentials to pass on to
//! a domain controller (Microsoft Learn, "Making the second hop in
//! PowerShell Remoting"; KB 2827611: loading the Exchange snap-in in a
//! remote session is unsupported). Every script the lab runs through WinRM
//! (`lab serve`) or the in-process transport is such a logon. A scheduled
//! task registered with a user and password runs as a batch logon with
//! that user's credentials, and a cmdlet run inside Exchange's own
//! `/PowerShell` endpoint reaches AD as the endpoint does: both work.
//! The list of the lab's Exchange cmdlets (and which of them read or write
//! AD) lives here too, because it is what the rule is about and what an
//! Exchange session exports.

use crate::pwsh::host::{Argument, ErrorCategory, PsError};

/// How the process running a script logged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Logon {
    /// A WinRM network logon (Kerberos/NTLM): no credentials to delegate.
    #[default]
    Network,
    /// A scheduled task's batch logon with a stored password.
    Batch,
    /// Inside Exchange's `/PowerShell` endpoint (an imported proxy or
    /// `Invoke-Command -Session`): AD is reached as the session's user.
    ExchangeEndpoint,
}

/// The lab's Exchange cmdlets (canonical names) and whether each reads or
/// writes Active Directory. Only `Get-Queue` asks the local transport
/// service and nothing else (exchange/cmdlets.md; the contract, issue 9 §1).
pub(crate) const EXCHANGE_CMDLETS: [(&str, bool); 31] = [
    ("Get-ExchangeServer", true),
    ("Get-MailboxServer", true),
    ("Set-MailboxServer", true),
    ("Get-ServerComponentState", true),
    ("Set-ServerComponentState", true),
    ("Get-DatabaseAvailabilityGroup", true),
    ("Get-MailboxDatabaseCopyStatus", true),
    ("Get-MailboxDatabase", true),
    ("Move-ActiveMailboxDatabase", true),
    ("Suspend-MailboxDatabaseCopy", true),
    ("Resume-MailboxDatabaseCopy", true),
    ("Test-ServiceHealth", true),
    ("Test-ReplicationHealth", true),
    ("Test-MAPIConnectivity", true),
    ("Redirect-Message", true),
    ("Get-Queue", false),
    ("Retry-Queue", false),
    ("Resume-Queue", false),
    // Asks the server's UM service (UNVERIFIED: whether it reads AD).
    ("Get-UMActiveCalls", false),
    // Both read the configuration in AD (the server object, the Auth
    // configuration object); UNVERIFIED for Get-ExchangeCertificate, whose
    // certificates come from the server's store.
    ("Get-ExchangeCertificate", true),
    ("Get-AuthConfig", true),
    // With -ADPropertiesOnly the virtual directory cmdlets read AD only.
    ("Get-OwaVirtualDirectory", true),
    ("Get-EcpVirtualDirectory", true),
    ("Get-WebServicesVirtualDirectory", true),
    ("Get-ActiveSyncVirtualDirectory", true),
    ("Get-OabVirtualDirectory", true),
    ("Get-MapiVirtualDirectory", true),
    ("Get-AutodiscoverVirtualDirectory", true),
    ("Get-OutlookAnywhere", true),
    // Edge subscriptions are organisation configuration (edge.rs).
    ("Get-EdgeSubscription", true),
    ("Test-EdgeSynchronization", true),
];

/// The canonical name of an Exchange cmdlet, if `name` is one.
pub(crate) fn exchange_cmdlet(name: &str) -> Option<&'static str> {
    EXCHANGE_CMDLETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, _)| *n)
}

/// The ActiveDirectory-module cmdlets the lab has.
const AD_MODULE_CMDLETS: [&str; 4] = [
    "Get-ADRootDSE",
    "Get-ADObject",
    "Get-ADForest",
    "Get-ADDomainController",
];

/// Microsoft's DAG scripts the lab runs (`cmdlets/scripts.rs`).
const DAG_SCRIPTS: [&str; 3] = [
    "RedistributeActiveDatabases.ps1",
    "StartDagServerMaintenance.ps1",
    "StopDagServerMaintenance.ps1",
];

/// The Exchange error for a directory call without usable credentials
/// (UNVERIFIED wording, see `second_hop`).
fn ad_failed(command: &str) -> PsError {
    PsError::new(
        ErrorCategory::NotSpecified,
        &format!("ADOperationException,{command}"),
        format!("Active Directory operation failed on {LAB_DC}. This error is not retriable. Additional information: The supplied credential is invalid."),
    )
    .in_command(command)
    .terminating()
}

/// The domain controller every lab error names.
pub(crate) const LAB_DC: &str = "dc01.contoso.local";

/// THE SECOND HOP, enforced here and nowhere else: in a network logon,
/// an Exchange cmdlet that needs AD (after `Add-PSSnapin`) and an
/// ActiveDirectory-module cmdlet without `-Credential` fail as a
/// directory call without delegable credentials fails. `None` = allowed.
///
/// The message is UNVERIFIED (no capture shows what the snap-in prints in
/// a network logon); it follows the contract's Active Directory
/// "operation failed / credential" shape.
pub(crate) fn second_hop(
    logon: Logon,
    snapin: bool,
    name: &str,
    args: &[Argument],
) -> Option<PsError> {
    if logon != Logon::Network {
        return None;
    }
    if let Some((canon, true)) = EXCHANGE_CMDLETS
        .iter()
        .find(|(n, _)| snapin && n.eq_ignore_ascii_case(name))
    {
        return Some(ad_failed(canon));
    }
    // Microsoft's DAG scripts ($exscripts) call Get-DatabaseAvailabilityGroup
    // and friends first thing: the same hop.
    let file = name.rsplit(['\\', '/']).next().unwrap_or(name);
    if file != name && DAG_SCRIPTS.iter().any(|s| s.eq_ignore_ascii_case(file)) {
        return Some(ad_failed(file));
    }
    let ad = AD_MODULE_CMDLETS
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))?;
    if args.iter().any(|a| {
        matches!(a, Argument::Named { name, .. } if name.len() >= 3 && "credential".starts_with(&name.to_ascii_lowercase()))
    }) {
        return None;
    }
    // The ActiveDirectory module's wording for a bind without usable
    // credentials (UNVERIFIED, no capture).
    Some(
        PsError::new(
            ErrorCategory::NotSpecified,
            &format!("ActiveDirectoryServer:0,Microsoft.ActiveDirectory.Management.Commands.{}", ad.replace('-', "")),
            "Unable to contact the server. This may be because this server does not exist, it is currently down, or it does not have the Active Directory Web Services running.",
        )
        .in_command(ad)
        .terminating(),
    )
}
