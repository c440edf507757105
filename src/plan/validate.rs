//! Stage two: the raw `PlanFile` → a validated `Plan`. Applies defaults,
//! checks every value with `values`, and cross-checks what single values
//! cannot show: duplicate servers, a server in two DAGs, FQDNs that do not
//! match their NetBIOS name, connection settings that contradict each other,
//! and (through `lab`) the `[lab]` section against `[[server]]`. It does not
//! consult the catalogue or any server.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use crate::plan::installer::installer_account;
use crate::plan::model::*;
use crate::plan::raw::*;
use crate::plan::values::*;
use planfile::values::*;
use planfile::{checked, duration, name_and_fqdn, PlanError, Source};

/// A duration that must be greater than zero (a zero timeout or poll
/// interval would make every wait fail, or spin).
fn positive_duration(
    src: &Source,
    key: &str,
    value: Option<&Text>,
    default: &str,
) -> Result<Duration, PlanError> {
    let d = duration(src, value, default)?;
    match value {
        Some(v) if d.is_zero() => {
            Err(src.error(v.span(), format!("{key} must be longer than zero")))
        }
        _ => Ok(d),
    }
}

pub(crate) fn validate(file: PlanFile, src: &Source) -> Result<Plan, PlanError> {
    let mut rollout = rollout(src, &file.rollout)?;
    let connection = connection(src, &file.connection)?;
    let policy = policy(src, &file.policy)?;
    let servers = servers(src, &file.server)?;
    // The section itself is the lab crate's to read (at the command edge);
    // the plan only checks that the transport has one to talk to.
    if connection.transport == Transport::Lab && file.lab.is_none() {
        return Err(src.error(
            file.connection.transport.span(),
            "transport = \"lab\" needs a [lab] section describing the simulated servers \
             (see plans/lab.toml)",
        ));
    }
    // Last, so a plan's other mistakes are reported at their own lines first.
    rollout.installer_account =
        installer_account(src, &file.rollout, &connection, &file.connection)?;
    Ok(Plan {
        path: src.path.to_path_buf(),
        rollout,
        connection,
        policy,
        servers,
        has_lab: file.lab.is_some(),
    })
}

fn rollout(src: &Source, r: &RawRollout) -> Result<Rollout, PlanError> {
    let target = checked(src, &r.target, parse_target)?;
    let security_update = match &r.security_update {
        Some(v) => checked(src, v, parse_security_update)?,
        None => SecurityUpdateChoice::None,
    };
    check_target_in_catalog(src, r, &target, &security_update)?;
    checked(src, &r.setup_path, |p| {
        check_local_windows_path("setup_path", p, ".exe")
    })?;
    let setup_sha256 = r
        .setup_sha256
        .as_ref()
        .map(|v| checked(src, v, check_sha256))
        .transpose()?;
    let su_path = match (&r.su_path, &security_update, &r.security_update) {
        (Some(p), SecurityUpdateChoice::None, _) => return Err(src.error(
            p.span(),
            "su_path is set but security_update is \"none\"; set security_update to \"latest\" \
                 or an update name, or remove su_path",
        )),
        (Some(p), _, _) => {
            checked(src, p, |t| check_local_windows_path("su_path", t, ".msp"))?;
            Some(p.get_ref().clone())
        }
        (None, SecurityUpdateChoice::None, _) => None,
        (None, _, choice) => {
            let span = choice.as_ref().map_or(r.target.span(), Spanned::span);
            return Err(src.error(
                span,
                "security_update asks for an update but su_path is missing; give the absolute \
                 local path of the update's .msp on each server, e.g. 'C:\\Updates\\Exchange2019-CU15-Feb26SU.msp'",
            ));
        }
    };
    let su_sha256 = match (&r.su_sha256, &su_path) {
        (Some(v), None) => {
            return Err(src.error(
                v.span(),
                "su_sha256 is set but su_path is not; give su_path (the .msp on each server) or remove su_sha256",
            ))
        }
        (Some(v), Some(_)) => Some(checked(src, v, |t| {
            check_sha256(t).map_err(|e| e.replacen("setup_sha256", "su_sha256", 1))
        })?),
        (None, _) => None,
    };
    let Some(diagnostic_data) = &r.diagnostic_data else {
        return Err(src.error(
            header_span(src, "rollout"),
            "missing key 'diagnostic_data' in [rollout]; write diagnostic_data = \"on\" or \"off\". \
             There is no default: setup must be run with /IAcceptExchangeServerLicenseTerms_DiagnosticDataON \
             or _DiagnosticDataOFF, and which licence terms your organisation accepts is your decision",
        ));
    };
    Ok(Rollout {
        target,
        security_update,
        setup_path: r.setup_path.get_ref().clone(),
        setup_sha256,
        su_path,
        su_sha256,
        diagnostic_data: match diagnostic_data.get_ref() {
            RawDiagnosticData::On => DiagnosticData::On,
            RawDiagnosticData::Off => DiagnosticData::Off,
        },
        // Decided with the connection in `installer_account` below.
        installer_account: InstallerAccount::ConnectionUser,
    })
}

/// The span of the `[name]` header line, for errors about a key that is
/// missing from that table; the start of the file if there is no header
/// (an inline `name = { … }` table).
fn header_span(src: &Source, name: &str) -> std::ops::Range<usize> {
    let mut start = 0;
    for line in src.text.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("").trim();
        let inner = content.strip_prefix('[').and_then(|c| c.strip_suffix(']'));
        if inner.is_some_and(|i| i.trim() == name) {
            return start..start + line.trim_end().len();
        }
        start += line.len();
    }
    0..0
}

fn connection(src: &Source, c: &RawConnection) -> Result<Connection, PlanError> {
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
    let port = match &c.port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p.span(), "port must be from 1 to 65535"));
        }
        Some(p) => *p.get_ref(),
        None => match scheme {
            Scheme::Http => 5985,
            Scheme::Https => 5986,
        },
    };
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
        // which the plan must give (see `installer_account`).
        Transport::PowerShell if user.is_some() || secret != SecretSource::None => {
            check_winrm_credentials(src, c, &user, &secret)?;
        }
        Transport::PowerShell => {}
        Transport::Lab => {}
    }
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
    let powershell_path = match &c.powershell_path {
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
    };
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

/// A user name as `DOMAIN\user` or `user@domain`: printable, no quotes or
/// characters that would need escaping on the wire or in PowerShell.
fn check_user(text: &str) -> Result<(), String> {
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

fn at_least_one(
    src: &Source,
    key: &str,
    value: Option<&Spanned<u32>>,
    default: u32,
) -> Result<u32, PlanError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.error(v.span(), format!("{key} must be at least 1")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    }
}

fn policy(src: &Source, p: &RawPolicy) -> Result<Policy, PlanError> {
    let t = &p.timeouts;
    Ok(Policy {
        order: match p.order {
            Some(RawOrder::Plan) => Order::Plan,
            Some(RawOrder::PassiveFirst) | None => Order::PassiveFirst,
        },
        // Zero would let the gate take a database's last healthy copy away.
        min_healthy_copies: at_least_one(
            src,
            "min_healthy_copies",
            p.min_healthy_copies.as_ref(),
            1,
        )?,
        max_copy_queue: p.max_copy_queue.unwrap_or(10),
        max_replay_queue: p.max_replay_queue.unwrap_or(50),
        min_free_space_gb: p.min_free_space_gb.unwrap_or(30),
        redistribute: match p.redistribute {
            Some(RawRedistribute::AtEnd) => Redistribute::AtEnd,
            Some(RawRedistribute::AfterEach) | None => Redistribute::AfterEach,
        },
        pause_between: p.pause_between.unwrap_or(false),
        prepare_ad: match p.prepare_ad {
            Some(RawPrepareAd::Run) => PrepareAd::Run,
            Some(RawPrepareAd::Block) | None => PrepareAd::Block,
        },
        // Zero is allowed: a single-DC forest has nothing to wait for.
        ad_replication_wait: duration(src, p.ad_replication_wait.as_ref(), "15m")?,
        timeouts: Timeouts {
            drain: positive_duration(src, "drain", t.drain.as_ref(), "30m")?,
            setup: positive_duration(src, "setup", t.setup.as_ref(), "3h")?,
            reboot: positive_duration(src, "reboot", t.reboot.as_ref(), "20m")?,
            health: positive_duration(src, "health", t.health.as_ref(), "15m")?,
            move_databases: positive_duration(
                src,
                "move_databases",
                t.move_databases.as_ref(),
                "15m",
            )?,
        },
        poll_interval: positive_duration(src, "poll_interval", p.poll_interval.as_ref(), "5s")?,
        max_parallel_dags: at_least_one(src, "max_parallel_dags", p.max_parallel_dags.as_ref(), 1)?,
    })
}

fn servers(src: &Source, raw: &[Spanned<RawServer>]) -> Result<Vec<Server>, PlanError> {
    if raw.is_empty() {
        return Err(src.error(
            0..0,
            "the plan lists no servers; add at least one [[server]] with name, fqdn and dag",
        ));
    }
    let mut seen: HashMap<String, &RawServer> = HashMap::new();
    let mut fqdns: HashMap<String, &RawServer> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let s = entry.get_ref();
        let fqdn = name_and_fqdn(src, &s.name, &s.fqdn)?;
        let dag = s
            .dag
            .as_ref()
            .map(|d| {
                checked(src, d, |t| {
                    check_netbios("DAG name", t).map(|()| t.to_string())
                })
            })
            .transpose()?;
        let redirect_to = match &s.redirect_to {
            Some(r) => {
                let target = checked(src, r, |t| check_fqdn("redirect_to", t))?;
                if target == fqdn {
                    return Err(src.error(
                        r.span(),
                        "redirect_to names the server itself; queued mail must go to another member of the DAG",
                    ));
                }
                Some(target)
            }
            None => None,
        };
        let address = s
            .address
            .as_ref()
            .map(|a| checked(src, a, check_address))
            .transpose()?;
        let port = match &s.port {
            Some(p) if *p.get_ref() == 0 => {
                return Err(src.error(p.span(), "port must be from 1 to 65535"))
            }
            p => p.as_ref().map(|p| *p.get_ref()),
        };
        if let Some(first) = seen.get(&s.name.get_ref().to_ascii_lowercase()) {
            return Err(duplicate_server(src, first, s));
        }
        if let Some(first) = fqdns.get(&fqdn) {
            let (line, _) = src.line_col(first.fqdn.span().start);
            return Err(src.error(
                s.fqdn.span(),
                format!(
                    "fqdn '{fqdn}' is already used by server '{}' (line {line})",
                    first.name.get_ref()
                ),
            ));
        }
        seen.insert(s.name.get_ref().to_ascii_lowercase(), s);
        fqdns.insert(fqdn.clone(), s);
        out.push(Server {
            name: s.name.get_ref().clone(),
            fqdn,
            dag,
            redirect_to,
            address,
            port,
        });
    }
    Ok(out)
}

/// `[[server]] address`: an IPv4 or IPv6 address, a DNS name or a NetBIOS
/// name for cu-roll's WinRM connection.
fn check_address(text: &str) -> Result<String, String> {
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_string());
    }
    check_fqdn("address", text)
        .or_else(|_| check_netbios("address", text).map(|()| text.to_string()))
        .map_err(|_| {
            format!(
                "address '{text}' is neither an IP address nor a host name; \
                 expected e.g. \"10.0.0.11\" or \"ex01-mgmt.contoso.local\""
            )
        })
}

/// A server listed twice: "in two DAGs" when the DAGs differ (a server can
/// belong to one DAG only), otherwise a plain duplicate.
fn duplicate_server(src: &Source, first: &RawServer, second: &RawServer) -> PlanError {
    let dag_of = |s: &RawServer| s.dag.as_ref().map(|d| d.get_ref().to_ascii_lowercase());
    let (first_line, _) = src.line_col(first.name.span().start);
    let name = second.name.get_ref();
    if dag_of(first) != dag_of(second) {
        let shown = |s: &RawServer| {
            s.dag
                .as_ref()
                .map_or("no DAG".to_string(), |d| format!("DAG '{}'", d.get_ref()))
        };
        let span = second
            .dag
            .as_ref()
            .map_or(second.name.span(), Spanned::span);
        let (second_line, _) = src.line_col(span.start);
        let first_span = first.dag.as_ref().map_or(first.name.span(), Spanned::span);
        let (first_line, _) = src.line_col(first_span.start);
        src.error(
            span,
            format!(
                "server '{name}' is in two DAGs: {} (line {first_line}) and {} (line {second_line}); \
                 a mailbox server belongs to at most one DAG, list it once",
                shown(first),
                shown(second)
            ),
        )
    } else {
        src.error(
            second.name.span(),
            format!("server '{name}' is listed twice (first at line {first_line}); list each server once"),
        )
    }
}

/// A target id or SU name the catalogue in force (the stored one from
/// `cu-roll catalog update`, else the embedded one) does not know is a plan
/// error at its line: cu-roll never guesses what an unknown CU contains.
fn check_target_in_catalog(
    src: &Source,
    r: &RawRollout,
    target: &TargetSpec,
    su: &SecurityUpdateChoice,
) -> Result<(), PlanError> {
    let TargetSpec::CuId(id) = target else {
        return Ok(());
    };
    let catalog = crate::catalog::Catalog::active().map_err(|e| {
        src.error(
            r.target.span(),
            format!("cannot check target '{id}' against the catalogue: {e}"),
        )
    })?;
    let Some(cu) = catalog.cu_by_id(id) else {
        let known: Vec<&str> = catalog.cus().iter().map(|c| c.id.as_str()).collect();
        return Err(src.error(
            r.target.span(),
            format!(
                "target '{id}' is not in the catalogue; known: {}",
                known.join(", ")
            ),
        ));
    };
    if let (SecurityUpdateChoice::Named(name), Some(v)) = (su, &r.security_update) {
        if cu.su_by_name(name).is_none() {
            let known: Vec<&str> = cu
                .security_updates
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(src.error(
                v.span(),
                format!(
                    "security_update '{name}' is not an update of {}; known: {}",
                    cu.display_name(),
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
