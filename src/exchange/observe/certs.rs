//! The certificates a server holds and where two of them are bound, typed:
//! `Get-ExchangeCertificate -Server` with `Get-AuthConfig`'s current Auth
//! certificate (`EXCHANGE_CERTIFICATES`, Exchange-level), and IIS's https
//! bindings (`IIS_BINDINGS`, Windows-level, on the server itself). Judging
//! them is the pre-flight's business; nothing here decides or changes
//! anything.
//!
//! The templates are in `templates`. Sources (CSS-Exchange, MIT, commit f88378b1e): the Auth certificate is
//! found as `Admin/MonitorExchangeAuthCertificate/DataCollection/Get-ExchangeAuthCertificateStatus.ps1`
//! finds it (`Get-AuthConfig`'s `CurrentCertificateThumbprint`, then
//! `Get-ExchangeCertificate -Server <fqdn> -Thumbprint …` on every server,
//! expired when `NotAfter` is before now); IIS's bindings as HealthChecker's
//! `DataCollection/ExchangeInformation/IISInformation/Get-IISWebSite.ps1`
//! reads them (`Get-WebBinding`, the site named in `ItemXPath`, the
//! certificate in `certificateHash`).

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::Reach;
use super::super::{Operation, QueryError};
use super::templates::{EXCHANGE_CERTIFICATES, IIS_BINDINGS};
use crate::plan::Server;
use crate::ps::Arg;

/// One certificate as `EXCHANGE_CERTIFICATES` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateObs {
    pub thumbprint: String,
    pub subject: String,
    #[serde(default)]
    pub issuer: String,
    /// Round-trip UTC time.
    pub not_after: String,
    pub expired: bool,
    /// `AllowedServices` as names (`IIS, SMTP`).
    #[serde(default)]
    pub services: String,
}

/// What `EXCHANGE_CERTIFICATES` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExchangeCertificatesObs {
    /// Empty when no Auth certificate is configured.
    #[serde(default)]
    pub auth_certificate_thumbprint: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub certificates: Vec<CertificateObs>,
}

impl ExchangeCertificatesObs {
    /// The certificate with `thumbprint` (any case), if the server holds it.
    pub fn find(&self, thumbprint: &str) -> Option<&CertificateObs> {
        self.certificates
            .iter()
            .find(|c| c.thumbprint.eq_ignore_ascii_case(thumbprint))
    }
}

/// One https binding with a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IisBindingObs {
    pub item_x_path: String,
    pub binding_information: String,
    pub certificate_hash: String,
}

impl IisBindingObs {
    /// The site's name from `ItemXPath`
    /// (`/system.applicationHost/sites/site[@name='Default Web Site' and @id='1']`).
    pub fn site(&self) -> &str {
        self.item_x_path
            .split("@name='")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or(&self.item_x_path)
    }
}

/// What `IIS_BINDINGS` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IisBindingsObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub bindings: Vec<IisBindingObs>,
}

/// Reads server `server`'s Exchange certificates and the Auth configuration.
pub fn read_exchange_certificates(server: &str) -> Operation {
    EXCHANGE_CERTIFICATES.render(
        "reading Exchange certificates and the Auth certificate",
        &[("server", Arg::Str(server))],
    )
}

/// Reads IIS's https bindings.
pub fn read_iis_bindings() -> Operation {
    IIS_BINDINGS.render("reading IIS certificate bindings", &[])
}

pub fn exchange_certificates(
    reach: &Reach<'_>,
    server: &Server,
) -> Result<ExchangeCertificatesObs, QueryError> {
    if server.is_edge() {
        return query(
            reach,
            server,
            &super::edge::read_edge_certificates(&server.name),
        );
    }
    query(reach, server, &read_exchange_certificates(&server.name))
}

/// The IIS bindings; none on an Edge server, which has no IIS (Microsoft
/// Learn, "Edge Transport servers": no Client Access services).
pub fn iis_bindings(reach: &Reach<'_>, server: &Server) -> Result<IisBindingsObs, QueryError> {
    if server.is_edge() {
        return Ok(IisBindingsObs {
            bindings: Vec::new(),
        });
    }
    query(reach, server, &read_iis_bindings())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_comes_from_item_x_path() {
        // The value in CSS-Exchange's E19 GetWebBinding.xml capture.
        let b = IisBindingObs {
            item_x_path: "/system.applicationHost/sites/site[@name='Default Web Site' and @id='1']"
                .into(),
            binding_information: ":443:".into(),
            certificate_hash: "12FD38FA8F58C8A74B3039962882DEFE4199D453".into(),
        };
        assert_eq!(b.site(), "Default Web Site");
    }

    #[test]
    fn a_lone_certificate_is_a_list() {
        let o: ExchangeCertificatesObs = serde_json::from_str(
            r#"{"AuthCertificateThumbprint":"","Certificates":{"Thumbprint":"AB","Subject":"CN=x","Issuer":"CN=x","NotAfter":"2020-03-20T12:00:00.0000000Z","Expired":true,"Services":"IIS"}}"#,
        )
        .unwrap();
        assert_eq!(o.certificates.len(), 1);
        assert!(o.find("ab").unwrap().expired);
    }
}
