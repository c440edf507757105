//! Setup and an expired certificate bound to IIS: the lab's upgrade stops
//! as CSS-Exchange's SetupLogReviewer `Test-ExpiredCertificate` reads it
//! (`Setup/SetupLogReviewer/Checks/FindContext/Test-ExpiredCertificate.ps1`,
//! MIT, commit f88378b1e). This module only decides that the run fails and
//! writes the lines; `setup` applies the failed run's effects.
//!
//! The two lines are rebuilt from that check's patterns and its Pester test
//! (`Setup/Tests/SetupLogReviewer.Tests.ps1`, "Certificate has expired":
//! the `for site '…'` part carries the certificate's subject, the dates are
//! `M/d/yyyy h:mm:ss tt`); the captured log itself
//! (`Setup/Tests/KnownIssues/ExchangeSetup_Certificate_Expired.log`) is not
//! in the stored snapshot. UNVERIFIED: the lines around them, and that the
//! run fails after the file copy (services left Disabled) rather than in
//! the prerequisite analysis.

use crate::model::SetupFailure;
use crate::pwsh::datetime::format_general;
use crate::world::World;

impl World {
    /// `Some(failure)` when server `i` holds an expired certificate bound
    /// to IIS (checked when the upgrade proper begins).
    pub(crate) fn expired_iis_certificate(&self, i: usize) -> Option<SetupFailure> {
        let name = &self.servers[i].name;
        let c = self
            .certificates
            .iter()
            .find(|c| c.iis && c.on(name) && c.not_after_ms < self.now_ms)?;
        Some(SetupFailure::ExpiredCertificate {
            issuer: c.issuer.clone(),
            subject: c.subject.clone(),
            not_before_ms: c.not_before_ms,
            not_after_ms: c.not_after_ms,
        })
    }
}

/// The setup-log lines of that failure.
pub(crate) fn expired_certificate_lines(
    issuer: &str,
    subject: &str,
    not_before_ms: i64,
    not_after_ms: i64,
) -> [String; 2] {
    [
        format!(
            "Installing certificate signed by '{issuer}' for site '{subject}'.  Certificate is valid from {} until {}",
            format_general(not_before_ms),
            format_general(not_after_ms)
        ),
        "[ERROR] The certificate is expired.".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use crate::setup_rules::tests::{setup_in, AS_LAB_ADMIN};
    use crate::spec::LabCertificate;
    use regex::Regex;

    fn cert(not_after: &str, iis: bool) -> LabCertificate {
        let at = |t: &str| crate::pwsh::types::parse_datetime(t).unwrap();
        LabCertificate {
            thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
            subject: "CN=mail.contoso.local, OU=IT, O=Contoso, C=DE".into(),
            issuer: "CN=Contoso Issuing CA".into(),
            not_before_ms: at("2019-03-20T12:00:00Z"),
            not_after_ms: at(not_after),
            iis,
            auth: false,
            servers: vec!["EX02".into()],
        }
    }

    fn setup_with(c: LabCertificate) -> (String, String) {
        let mut spec = crate::testkit::three_member_spec();
        spec.certificates = vec![c];
        setup_in(&spec, AS_LAB_ADMIN)
    }

    /// The patterns of CSS-Exchange's `Test-ExpiredCertificate.ps1` find
    /// what the lab logs, and read back what its Pester test expects of the
    /// captured log ("Certificate expired on: 3/20/2020 12:00:00 PM.").
    #[test]
    fn setup_with_an_expired_iis_certificate_fails_as_setup_log_reviewer_reads_it() {
        let (exit, log) = setup_with(cert("2020-03-20T12:00:00Z", true));
        assert_eq!(exit, "1", "{log}");
        assert!(
            Regex::new(r"\[ERROR\] The certificate is expired.")
                .unwrap()
                .is_match(&log),
            "{log}"
        );
        let info = Regex::new(r"Installing certificate signed by '(.*)' for site '(.*)'.  Certificate is valid from (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w) until (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w)").unwrap();
        let c = info.captures(&log).unwrap_or_else(|| panic!("{log}"));
        assert_eq!(&c[2], "CN=mail.contoso.local, OU=IT, O=Contoso, C=DE");
        assert_eq!(&c[4], "3/20/2020 12:00:00 PM");
        assert!(log.contains(crate::setup::SETUP_DIDNT_COMPLETE), "{log}");
    }

    #[test]
    fn a_valid_or_unbound_certificate_does_not_stop_setup() {
        for c in [cert("2099-01-01", true), cert("2020-03-20", false)] {
            let (exit, log) = setup_with(c);
            assert_eq!(exit, "0", "{log}");
            assert!(!log.contains("The certificate is expired."), "{log}");
        }
    }
}
