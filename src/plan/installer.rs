//! `[rollout] installer_account`: whose account runs the detached installer
//! (setup, the SU, AD preparation), decided with the connection. It refuses
//! every plan that would run setup as SYSTEM, with the rule setup would fail
//! and what to write instead; it reads no secret (the step does, at run time).

use toml::Spanned;

use crate::plan::model::{Connection, InstallerAccount, SecretSource, Transport};
use crate::plan::raw::{RawConnection, RawRollout};
use planfile::{PlanError, Source};

/// `[rollout] installer_account`: whose account runs setup, the SU and AD
/// preparation. Never SYSTEM: it acts in AD as the computer account, and
/// setup refuses it (CSS-Exchange `ExchangeSetup_ADUpdated_NoOrgMan.log`,
/// `ExchangeSetup_AD_Prep_Reboot.log`). WinRM and PowerShell plans run the
/// installer as `[connection] user`; lab plans as the lab transport's own
/// account.
pub(crate) fn installer_account(
    src: &Source,
    r: &RawRollout,
    c: &Connection,
    raw: &RawConnection,
) -> Result<InstallerAccount, PlanError> {
    let has_user = c.user.is_some() && c.secret != SecretSource::None;
    if let Some(v) = &r.installer_account {
        match v.get_ref().as_str() {
            "connection-user" => {}
            "system" => return Err(src.error(v.span(), SYSTEM_REFUSED)),
            other => {
                return Err(src.error(
                    v.span(),
                    format!(
                    "'{other}' is not allowed for 'installer_account'; expected connection-user"
                ),
                ))
            }
        }
    }
    match (c.transport, has_user) {
        (_, true) => Ok(InstallerAccount::ConnectionUser),
        (Transport::Lab, false) if r.installer_account.is_none() => Ok(InstallerAccount::Transport),
        (Transport::PowerShell, false) => Err(src.error(
            raw.transport.span(),
            "transport = \"powershell\" needs an account for the installer: setup and /PrepareAD run in a \
             scheduled task, and cu-roll never runs them as SYSTEM (Exchange setup refuses the computer account: \
             Failed [Rule:DelegatedMailboxFirstInstall], [Rule:GlobalUpdateRequired]). Add user = 'CONTOSO\\svc-exsetup' \
             (a member of Organization Management; Schema and Enterprise Admins for AD preparation) and \
             password_env = \"NAME\" or password_file = \"PATH\" to [connection]",
        )),
        (_, false) => Err(src.error(
            r.installer_account.as_ref().map_or(raw.transport.span(), Spanned::span),
            "installer_account = \"connection-user\" needs [connection] user and password_env or password_file \
             (the scheduled task is registered with that account's password)",
        )),
    }
}

/// Why `installer_account = "system"` is refused, and what to write instead.
const SYSTEM_REFUSED: &str = "installer_account = \"system\" would run setup as NT AUTHORITY\\SYSTEM, which acts in \
     Active Directory as the server's computer account; Exchange setup refuses it (Failed \
     [Rule:DelegatedMailboxFirstInstall]: \"You must use an account that's a member of the Organization Management \
     role group\", and [Rule:GlobalUpdateRequired] for /PrepareAD). Remove installer_account: the installer runs as \
     [connection] user (give user and password_env or password_file; with transport = \"powershell\" they are used \
     for the installer only)";
