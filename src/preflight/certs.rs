//! The pre-flight's certificate checks: an expired certificate bound to an
//! IIS site stops setup, and an expired Exchange Auth certificate breaks
//! OWA and ECP once an update is installed. Both block a server that will
//! be upgraded, naming the certificate (thumbprint, subject, NotAfter, where
//! it is bound). Read-only: this module sends the `exchange::observe`
//! certificate observations and judges what they print; it changes nothing.
//!
//! Sources (CSS-Exchange, MIT, commit f88378b1e):
//! `Setup/SetupLogReviewer/Checks/FindContext/Test-ExpiredCertificate.ps1`
//! (setup logs "[ERROR] The certificate is expired." after "Installing
//! certificate signed by … for site …"; its action plan: "Please replace
//! it, reboot the server and run setup again."), and
//! `Admin/MonitorExchangeAuthCertificate` (`Get-AuthConfig`
//! `CurrentCertificateThumbprint`, the certificate must exist on every
//! server and is expired when `NotAfter` is past); `docs/Emerging-Issues.md`
//! names the expired Auth certificate among the causes of OWA/ECP failing
//! after a security update.

use super::model::BlockerCode;
use crate::exchange::observe::{
    exchange_certificates, iis_bindings, CertificateObs, ExchangeCertificatesObs, IisBindingsObs,
};
use crate::exchange::{QueryError, Reach};
use crate::plan::Server;

/// What was read about one server's certificates.
pub struct CertsObs {
    pub exchange: Result<ExchangeCertificatesObs, QueryError>,
    pub iis: Result<IisBindingsObs, QueryError>,
}

/// Reads the certificates and IIS's bindings of `server`.
pub fn observe(reach: &Reach<'_>, server: &Server) -> CertsObs {
    CertsObs {
        exchange: exchange_certificates(reach, server),
        iis: iis_bindings(reach, server),
    }
}

/// What the checks found: blockers (with their codes) and warnings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub blockers: Vec<(BlockerCode, String)>,
    pub warnings: Vec<String>,
}

fn named(c: &CertificateObs) -> String {
    format!(
        "certificate {} ({}), NotAfter {}",
        c.thumbprint, c.subject, c.not_after
    )
}

/// Judges one server's certificates. A certificate that could not be read
/// is a warning, not a blocker (the pre-flight cannot prove it either way).
pub fn findings(obs: &CertsObs) -> Findings {
    let mut f = Findings::default();
    let certs = match &obs.exchange {
        Ok(c) => c,
        Err(e) => {
            f.warnings
                .push(format!("could not read the Exchange certificates: {e}"));
            return f;
        }
    };
    let auth = certs.auth_certificate_thumbprint.trim();
    if !auth.is_empty() {
        match certs.find(auth) {
            Some(c) if c.expired => f.blockers.push((
                BlockerCode::CertificateAuthExpired,
                format!(
                    "the Exchange Auth {} (Get-AuthConfig CurrentCertificateThumbprint) has expired: OWA and ECP stop working after the update until it is replaced (CSS-Exchange MonitorExchangeAuthCertificate.ps1 renews it)",
                    named(c)
                ),
            )),
            Some(_) => {}
            None => f.warnings.push(format!(
                "the Exchange Auth certificate {auth} (Get-AuthConfig CurrentCertificateThumbprint) is not on this server; it must be on every server (CSS-Exchange MonitorExchangeAuthCertificate)"
            )),
        }
    }
    match &obs.iis {
        Ok(iis) => {
            for b in &iis.bindings {
                match certs.find(&b.certificate_hash) {
                    Some(c) if c.expired => f.blockers.push((
                        BlockerCode::CertificateIisExpired,
                        format!(
                            "{}, bound to IIS site '{}' (https {}), has expired: setup stops on it (\"The certificate is expired.\"); replace it, reboot the server and run setup again",
                            named(c),
                            b.site(),
                            b.binding_information
                        ),
                    )),
                    Some(_) => {}
                    None => f.warnings.push(format!(
                        "certificate {} bound to IIS site '{}' (https {}) is not among the Exchange certificates; its expiry was not checked",
                        b.certificate_hash,
                        b.site(),
                        b.binding_information
                    )),
                }
            }
        }
        Err(e) => f
            .warnings
            .push(format!("could not read the IIS certificate bindings: {e}")),
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::observe::IisBindingObs;

    fn cert(thumb: &str, expired: bool) -> CertificateObs {
        CertificateObs {
            thumbprint: thumb.into(),
            subject: "CN=mail.contoso.local".into(),
            issuer: "CN=Contoso CA".into(),
            not_after: "2020-03-20T12:00:00.0000000Z".into(),
            expired,
            services: "IIS".into(),
        }
    }

    fn obs(auth: &str, certs: Vec<CertificateObs>, bound: &[&str]) -> CertsObs {
        CertsObs {
            exchange: Ok(ExchangeCertificatesObs {
                auth_certificate_thumbprint: auth.into(),
                certificates: certs,
            }),
            iis: Ok(IisBindingsObs {
                bindings: bound
                    .iter()
                    .map(|h| IisBindingObs {
                        item_x_path: "/system.applicationHost/sites/site[@name='Default Web Site' and @id='1']".into(),
                        binding_information: "*:443:".into(),
                        certificate_hash: (*h).into(),
                    })
                    .collect(),
            }),
        }
    }

    #[test]
    fn an_expired_auth_certificate_blocks_naming_it() {
        let f = findings(&obs("AA", vec![cert("AA", true)], &[]));
        assert_eq!(f.blockers.len(), 1);
        assert_eq!(f.blockers[0].0, BlockerCode::CertificateAuthExpired);
        assert!(f.blockers[0]
            .1
            .contains("AA (CN=mail.contoso.local), NotAfter 2020-03-20"));
    }

    #[test]
    fn an_expired_iis_certificate_blocks_naming_the_site() {
        let f = findings(&obs("", vec![cert("BB", true)], &["bb"]));
        assert_eq!(f.blockers[0].0, BlockerCode::CertificateIisExpired);
        assert!(f.blockers[0]
            .1
            .contains("IIS site 'Default Web Site' (https *:443:)"));
    }

    #[test]
    fn valid_or_unbound_certificates_do_not_block() {
        // An expired certificate bound nowhere is not what setup trips on.
        let f = findings(&obs(
            "AA",
            vec![cert("AA", false), cert("CC", true)],
            &["AA"],
        ));
        assert_eq!(f, Findings::default());
    }
}
