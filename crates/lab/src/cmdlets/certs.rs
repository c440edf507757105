//! Certificates as the lab's servers show them: Exchange's
//! `Get-ExchangeCertificate` and `Get-AuthConfig` (snap-in cmdlets), and
//! IIS's `Get-WebBinding` (WebAdministration, Windows-level). They read the
//! world's `[[lab.certificate]]`s and change nothing.
//!
//! Shapes follow CSS-Exchange's captures (MIT, commit f88378b1e):
//! `Diagnostics/HealthChecker/Tests/DataCollection/E19/Exchange/GetExchangeCertificate.xml`
//! (type `Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate`;
//! the Auth certificate's `Services` is SMTP, a server's self-signed one
//! `IMAP, POP, IIS, SMTP`), `Admin/MonitorExchangeAuthCertificate/DataCollection/Tests/Data/GetAuthConfig.xml`
//! (`CurrentCertificateThumbprint`, `NextCertificateThumbprint`, …) and
//! `Diagnostics/HealthChecker/Tests/DataCollection/E19/Exchange/IIS/GetWebBinding.xml`
//! (`protocol`, `bindingInformation`, `certificateHash`,
//! `certificateStoreName`, `ItemXPath`). Lab simplification: the `Exchange
//! Back End` https binding (`*:444:`) carries no certificate here.

use super::Answer;
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, value};
use crate::pwsh::host::{Argument, CmdletSpec, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::spec::LabCertificate;

const GET_EXCHANGE_CERTIFICATE: CmdletSpec = CmdletSpec {
    name: "Get-ExchangeCertificate",
    params: &[
        positional("Thumbprint", 0),
        value("Identity"),
        value("Server"),
        value("DomainController"),
    ],
    should_process: None,
};
const GET_AUTH_CONFIG: CmdletSpec = CmdletSpec {
    name: "Get-AuthConfig",
    params: &[value("DomainController")],
    should_process: None,
};
const GET_WEB_BINDING: CmdletSpec = CmdletSpec {
    name: "Get-WebBinding",
    params: &[
        positional("Name", 0),
        value("Protocol"),
        value("Port"),
        value("IPAddress"),
        value("HostHeader"),
    ],
    should_process: None,
};

/// The Exchange cmdlets (snap-in loaded).
pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-exchangecertificate" => get_exchange_certificate(host, args),
        "get-authconfig" => bind(&GET_AUTH_CONFIG, args).map(|_| vec![auth_config(host)]),
        _ => return None,
    })
}

/// IIS's cmdlets (WebAdministration; no snap-in needed).
pub(crate) fn dispatch_iis(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-webbinding" => get_web_binding(host, args),
        _ => return None,
    })
}

fn get_exchange_certificate(
    host: &mut ServerHost,
    args: &[Argument],
) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_EXCHANGE_CERTIFICATE, args)?;
    let server = match b.string("Server") {
        Some(id) => {
            let ids = super::exchange::select_servers(
                host,
                Some(id),
                "Get-ExchangeCertificate",
                "SystemConfigurationTasks.GetExchangeCertificate",
                true,
            )?;
            ids.first().copied().unwrap_or(host.server)
        }
        None => host.server,
    };
    // `-Identity SERVER\THUMBPRINT` or `-Thumbprint T`.
    let wanted = b
        .string("Thumbprint")
        .or_else(|| b.string("Identity"))
        .map(|t| t.rsplit('\\').next().unwrap_or(&t).to_ascii_uppercase());
    let s = &host.world.servers[server];
    let (name, fqdn) = (s.name.clone(), s.fqdn.clone());
    let now = host.now_ms;
    Ok(host
        .world
        .certificates
        .iter()
        .filter(|c| c.on(&name))
        .filter(|c| wanted.as_ref().is_none_or(|w| *w == c.thumbprint))
        .map(|c| certificate(c, &fqdn, now))
        .collect())
}

fn certificate(c: &LabCertificate, fqdn: &str, now: i64) -> Value {
    // AllowedServices flags: IMAP 1, POP 2, IIS 8, SMTP 16.
    let (services, number) = match (c.iis, c.auth) {
        (true, true) => ("IIS, SMTP", 24),
        (true, false) => ("IIS", 8),
        (false, true) => ("SMTP", 16),
        (false, false) => ("None", 0),
    };
    // CertificateStatus: Valid 1, DateInvalid 3.
    let (status, status_number) = if c.not_after_ms < now || c.not_before_ms > now {
        ("DateInvalid", 3)
    } else {
        ("Valid", 1)
    };
    const NS: &str = "Microsoft.Exchange.Management.SystemConfigurationTasks";
    PsObject::new(&format!("{NS}.ExchangeCertificate"))
        .with("Thumbprint", c.thumbprint.clone())
        .with("Subject", c.subject.clone())
        .with("Issuer", c.issuer.clone())
        .with("NotBefore", Value::DateTime(c.not_before_ms))
        .with("NotAfter", Value::DateTime(c.not_after_ms))
        .with("IsSelfSigned", c.issuer == c.subject)
        .with(
            "Services",
            Value::enumv(&format!("{NS}.AllowedServices"), services, number),
        )
        .with(
            "Status",
            Value::enumv(&format!("{NS}.CertificateStatus"), status, status_number),
        )
        .with("FriendlyName", c.subject.clone())
        .with("Identity", format!("{fqdn}\\{}", c.thumbprint))
        .display(format!(
            "[Subject]\r\n  {}\r\n\r\n[Thumbprint]\r\n  {}\r\n",
            c.subject, c.thumbprint
        ))
        .into()
}

/// The organisation's Auth configuration: the `[[lab.certificate]]` bound
/// to `auth` is current; no next or previous certificate is modelled.
fn auth_config(host: &ServerHost) -> Value {
    let current = host
        .world
        .certificates
        .iter()
        .find(|c| c.auth)
        .map_or(String::new(), |c| c.thumbprint.clone());
    PsObject::new("Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthConfig")
        .with("CurrentCertificateThumbprint", current)
        .with("PreviousCertificateThumbprint", "")
        .with("NextCertificateThumbprint", "")
        .with("NextCertificateEffectiveDate", Value::Null)
        .with("ServiceName", "00000002-0000-0ff1-ce00-000000000000")
        .with("Name", "Auth Configuration")
        .display("Auth Configuration")
        .into()
}

fn get_web_binding(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_WEB_BINDING, args)?;
    let site = b.string("Name");
    let protocol = b.string("Protocol");
    let name = host.this().name.clone();
    let iis = host
        .world
        .certificates
        .iter()
        .find(|c| c.iis && c.on(&name))
        .map(|c| c.thumbprint.clone());
    let rows: [(&str, &str, &str, &str, Option<&String>); 4] = [
        ("Default Web Site", "1", "http", "*:80:", None),
        ("Default Web Site", "1", "https", "*:443:", iis.as_ref()),
        ("Exchange Back End", "2", "http", "*:81:", None),
        ("Exchange Back End", "2", "https", "*:444:", None),
    ];
    Ok(rows
        .iter()
        .filter(|r| site.as_ref().is_none_or(|s| s.eq_ignore_ascii_case(r.0)))
        .filter(|r| {
            protocol
                .as_ref()
                .is_none_or(|p| p.eq_ignore_ascii_case(r.2))
        })
        .map(|(site, id, proto, info, hash)| {
            PsObject::new(
                "Microsoft.IIs.PowerShell.Framework.ConfigurationElement#bindings#binding",
            )
            .with("protocol", *proto)
            .with("bindingInformation", *info)
            .with("sslFlags", 0i64)
            .with("certificateHash", hash.cloned().unwrap_or_default())
            .with(
                "certificateStoreName",
                if hash.is_some() { "MY" } else { "" },
            )
            .with(
                "ItemXPath",
                format!("/system.applicationHost/sites/site[@name='{site}' and @id='{id}']"),
            )
            .display(format!("{proto} {info}"))
            .into()
        })
        .collect())
}
