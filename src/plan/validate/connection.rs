//! The `[connection]` section: transport, scheme, port, authentication,
//! where the secret comes from (never the plan itself), and TLS trust.
//! Contradicting settings are refused at their line with what to change.

use std::path::PathBuf;

use toml::Spanned;

use crate::plan::model::*;
use crate::plan::raw::*;
use planfile::values::*;
use planfile::{checked, PlanError, Source};

use super::positive_duration;

pub(super) fn connection(src: &Source, c: &RawConnection) -> Result<Connection, PlanError> {
    if let Some(p) = &c.password {
        return Err(src.secret_error(
            p.span(),
            "a password may not be written in [connection]: secrets never go in the plan file. \
             Use password_env = \"NAME\" (read from that environment variable) or \
             password_file = \"PATH\" (first line of that file) instead",
        ));
    }
    let transport = match c.transport.get_ref() {
        RawTransport::Winrm => Transport::WinRm,
        RawTransport::Powershell => Transport::PowerShell,
        RawTransport::Lab => Transport::Lab,
    };
    let scheme = match c.scheme.as_ref().map(Spanned::get_ref) {
        Some(RawScheme::Http) => Scheme::Http,
        Some(RawScheme::Https) | None => Scheme::Https,
    };
    let auth = match c.auth.as_ref().map(Spanned::get_ref) {
        Some(RawAuth::Basic) => AuthMethod::Basic,
        Some(RawAuth::Ntlm) | None => AuthMethod::Ntlm,
    };
    let port = port(src, c, scheme)?;
    let allow_unencrypted = c.allow_unencrypted.unwrap_or(false);
    if transport == Transport::WinRm
        && scheme == Scheme::Http
        && auth == AuthMethod::Basic
        && !allow_unencrypted
    {
        let span = c.auth.as_ref().map_or(c.transport.span(), Spanned::span);
        return Err(src.error(
            span,
            "auth = \"basic\" over scheme = \"http\" sends the password and every command unencrypted \
             (Basic is only base64); use scheme = \"https\", or auth = \"ntlm\" (which seals messages), \
             or set allow_unencrypted = true if this is a lab or an isolated test network",
        ));
    }
    let (user, secret) = credentials(src, c, transport)?;
    let (ca_file, insecure_skip_verify) = trust(src, c, scheme)?;
    let powershell_path = powershell_path(src, c, transport)?;
    let operation_timeout = positive_duration(
        src,
        "operation_timeout",
        c.operation_timeout.as_ref(),
        "60s",
    )?;
    Ok(Connection {
        transport,
        scheme,
        port,
        auth,
        user,
        secret,
        allow_unencrypted,
        ca_file,
        insecure_skip_verify,
        powershell_path,
        operation_timeout,
    })
}

/// The port, by default WinRM's (5985 for HTTP, 5986 for HTTPS).
fn port(src: &Source, c: &RawConnection, scheme: Scheme) -> Result<u16, PlanError> {
    Ok(match &c.port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p.span(), "port must be from 1 to 65535"));
        }
        Some(p) => *p.get_ref(),
        None => match scheme {
            Scheme::Http => 5985,
            Scheme::Https => 5986,
        },
    })
}

/// The account and where its secret comes from, as the transport needs
/// them: WinRM needs both, local PowerShell neither.
fn credentials(
    src: &Source,
    c: &RawConnection,
    transport: Transport,
) -> Result<(Option<String>, SecretSource), PlanError> {
    let user = c
        .user
        .as_ref()
        .map(|u| checked(src, u, |t| check_user(t).map(|()| t.to_string())))
        .transpose()?;
    let secret =
        match (&c.password_env, &c.password_file) {
            (Some(_), Some(f)) => return Err(src.error(
                f.span(),
                "give password_env or password_file, not both: cu-roll would not know which to use",
            )),
            (Some(e), None) => SecretSource::Env(checked(src, e, |t| {
                check_env_name(t).map(|()| t.to_string())
            })?),
            (None, Some(f)) => {
                checked(src, f, |t| check_local_path("password_file", t))?;
                SecretSource::File(PathBuf::from(f.get_ref()))
            }
            (None, None) => SecretSource::None,
        };
    match transport {
        Transport::WinRm => check_winrm_credentials(src, c, &user, &secret)?,
        // The connection runs as the signed-in Windows user (Kerberos through
        // Invoke-Command); user and password are the installer's account,
        // which the plan must give (see `plan::installer`).
        Transport::PowerShell if user.is_some() || secret != SecretSource::None => {
            check_winrm_credentials(src, c, &user, &secret)?;
        }
        Transport::PowerShell => {}
        Transport::Lab => {}
    }
    Ok((user, secret))
}

/// The TLS trust settings: a pinned CA file or no verification, not both,
/// and neither on HTTP.
fn trust(
    src: &Source,
    c: &RawConnection,
    scheme: Scheme,
) -> Result<(Option<PathBuf>, bool), PlanError> {
    let ca_file = c
        .ca_file
        .as_ref()
        .map(|f| {
            checked(src, f, |t| check_local_path("ca_file", t)).map(|()| PathBuf::from(f.get_ref()))
        })
        .transpose()?;
    let insecure_skip_verify = c
        .insecure_skip_verify
        .as_ref()
        .is_some_and(|v| *v.get_ref());
    if let (Some(f), true) = (&c.ca_file, insecure_skip_verify) {
        return Err(src.error(
            f.span(),
            "ca_file pins the certificate authority but insecure_skip_verify = true turns checking off; \
             keep one of the two",
        ));
    }
    if scheme == Scheme::Http {
        if let Some(f) = &c.ca_file {
            return Err(src.error(f.span(), "ca_file applies only to scheme = \"https\""));
        }
    }
    Ok((ca_file, insecure_skip_verify))
}

/// `powershell_path`, only for the local PowerShell transport.
fn powershell_path(
    src: &Source,
    c: &RawConnection,
    transport: Transport,
) -> Result<Option<String>, PlanError> {
    Ok(match &c.powershell_path {
        Some(p) if transport != Transport::PowerShell => {
            return Err(src.error(
                p.span(),
                "powershell_path applies only to transport = \"powershell\"",
            ))
        }
        Some(p) => Some(checked(src, p, |t| {
            check_local_path("powershell_path", t).map(|()| t.to_string())
        })?),
        None => None,
    })
}

/// A user name as `DOMAIN\user` or `user@domain`: printable, no quotes or
/// characters that would need escaping on the wire or in PowerShell.
pub(super) fn check_user(text: &str) -> Result<(), String> {
    let bad = text.is_empty()
        || text.len() > 256
        || text
            .chars()
            .any(|c| c.is_control() || matches!(c, '\'' | '"' | '`' | '$' | ';' | ':'));
    if bad {
        Err(format!(
            "user {text:?} is not a valid account name; expected e.g. 'CONTOSO\\svc-curoll' or \
             'svc-curoll@contoso.local' without quotes, '$', ';' or ':'"
        ))
    } else {
        Ok(())
    }
}

/// WinRM needs an account and its secret, also against `cu-roll lab serve`
/// (whose lab-only account a lab plan names like any other).
fn check_winrm_credentials(
    src: &Source,
    c: &RawConnection,
    user: &Option<String>,
    secret: &SecretSource,
) -> Result<(), PlanError> {
    match (user, secret) {
        (Some(_), SecretSource::None) => Err(src.error(
            c.user.as_ref().map_or(c.transport.span(), Spanned::span),
            "user is set but no password source; add password_env = \"NAME\" or password_file = \"PATH\"",
        )),
        (None, SecretSource::Env(_) | SecretSource::File(_)) => Err(src.error(
            c.password_env.as_ref().or(c.password_file.as_ref()).map_or(c.transport.span(), Spanned::span),
            "a password source is set but no user; add user = 'CONTOSO\\svc-curoll' (the account WinRM logs on as)",
        )),
        (None, SecretSource::None) => Err(src.error(
            c.transport.span(),
            "transport = \"winrm\" needs an account: add user = 'CONTOSO\\svc-curoll' and \
             password_env = \"NAME\" or password_file = \"PATH\"",
        )),
        _ => Ok(()),
    }
}
