//! `[[lab.certificate]]`: Exchange certificates the lab's servers hold,
//! checked and turned into [`LabCertificate`]s (thumbprint, dates, where
//! bound, which servers). Only parsing: the cmdlets that show them are in
//! `cmdlets::certs`, the setup failure they cause in `setup`.

use planfile::{checked, PlanError, Source, Text};
use toml::Spanned;

use super::raw::RawLabCertificate;
use super::servers::lab_server;
use super::{LabCertificate, LabServer};
use crate::pwsh::types::parse_datetime;

/// A certificate's validity when `not_before` is not given: Exchange's
/// self-signed certificates (`New-ExchangeCertificate`) last five years.
const FIVE_YEARS_MS: i64 = 5 * 365 * 86_400_000;

pub(super) fn certificates(
    src: &Source,
    raw: &[Spanned<RawLabCertificate>],
    servers: &[(LabServer, Text)],
) -> Result<Vec<LabCertificate>, PlanError> {
    let mut out: Vec<LabCertificate> = Vec::new();
    for c in raw {
        let c = c.get_ref();
        let thumbprint = checked(src, &c.thumbprint, |t| {
            let up = t.to_ascii_uppercase();
            if up.len() == 40 && up.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(up)
            } else {
                Err(format!("thumbprint '{t}' is not 40 hexadecimal digits"))
            }
        })?;
        if out.iter().any(|o| o.thumbprint == thumbprint) {
            return Err(src.error(
                c.thumbprint.span(),
                format!("certificate {thumbprint} is declared twice"),
            ));
        }
        let date = |t: &Text| {
            checked(src, t, |v| {
                parse_datetime(v).ok_or_else(|| {
                    format!("'{v}' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
                })
            })
        };
        let not_after_ms = date(&c.not_after)?;
        let not_before_ms = match &c.not_before {
            Some(t) => date(t)?,
            None => not_after_ms - FIVE_YEARS_MS,
        };
        let (mut iis, mut auth) = (false, false);
        for b in &c.bound_to {
            checked(src, b, |v| {
                match v.to_ascii_lowercase().as_str() {
                    "iis" => iis = true,
                    "auth" => auth = true,
                    _ => return Err(format!("bound_to '{v}': expected \"iis\" or \"auth\"")),
                }
                Ok(())
            })?;
        }
        if auth && out.iter().any(|o| o.auth) {
            return Err(src.error(
                c.thumbprint.span(),
                "only one certificate can be the organisation's current Auth certificate",
            ));
        }
        let mut on = Vec::new();
        for s in c.servers.iter().flatten() {
            on.push(
                lab_server(src, servers, s, "certificate server")?
                    .name
                    .clone(),
            );
        }
        let subject = c.subject.get_ref().clone();
        out.push(LabCertificate {
            thumbprint,
            issuer: c
                .issuer
                .as_ref()
                .map_or_else(|| subject.clone(), |i| i.get_ref().clone()),
            subject,
            not_before_ms,
            not_after_ms,
            iis,
            auth,
            servers: on,
        });
    }
    Ok(out)
}
