//! `[lab.ad]` checked: the forest's Exchange AD levels, the organisation
//! and domain names, and the domain controllers with their replication
//! delay (`crate::directory`). Refuses what the lab could not model; decides
//! nothing else.

use planfile::values::{check_display_name, check_fqdn};
use planfile::{checked, duration, PlanError, Source};

use super::raw::RawLabAd;
use super::LabAd;

/// The checked `[lab.ad]`, with its defaults.
pub(super) fn ad(src: &Source, raw: &RawLabAd) -> Result<LabAd, PlanError> {
    let organization = match &raw.organization {
        Some(o) => checked(src, o, |t| {
            check_display_name("organization", t).map(|()| t.to_string())
        })?,
        None => "Contoso".to_string(),
    };
    let domain_dn = match &raw.domain_dn {
        Some(d) => checked(src, d, check_domain_dn)?,
        None => "DC=contoso,DC=local".to_string(),
    };
    let mut domain_controllers = Vec::new();
    for dc in raw.domain_controllers.iter().flatten() {
        let fqdn = checked(src, dc, |t| check_fqdn("domain controller", t))?;
        if domain_controllers.contains(&fqdn) {
            return Err(src.error(
                dc.span(),
                format!("domain controller '{fqdn}' is listed twice"),
            ));
        }
        domain_controllers.push(fqdn);
    }
    let mut unreachable_domain_controllers = Vec::new();
    for dc in raw.unreachable_domain_controllers.iter().flatten() {
        let fqdn = checked(src, dc, |t| check_fqdn("domain controller", t))?;
        if !domain_controllers.contains(&fqdn) {
            return Err(src.error(
                dc.span(),
                format!("unreachable domain controller '{fqdn}' is not one of [lab.ad] domain_controllers"),
            ));
        }
        unreachable_domain_controllers.push(fqdn);
    }
    if !domain_controllers.is_empty()
        && unreachable_domain_controllers.len() == domain_controllers.len()
    {
        return Err(src.error(
            raw.unreachable_domain_controllers
                .as_ref()
                .and_then(|v| v.first())
                .map_or(0..0, |t| t.span()),
            "every domain controller is unreachable: keep at least one that answers".to_string(),
        ));
    }
    Ok(LabAd {
        schema_range_upper: raw.schema_range_upper.unwrap_or(17003),
        org_object_version: raw.org_object_version.unwrap_or(16763),
        domain_object_version: raw.domain_object_version.unwrap_or(13243),
        organization,
        domain_dn,
        domain_controllers,
        replication_delay: duration(src, raw.replication_delay.as_ref(), "15s")?,
        unreachable_domain_controllers,
    })
}

/// `DC=contoso,DC=local`: the domain's naming context, each part a DNS label.
fn check_domain_dn(text: &str) -> Result<String, String> {
    let labels: Option<Vec<&str>> = text
        .split(',')
        .map(|part| {
            part.trim()
                .strip_prefix("DC=")
                .or_else(|| part.trim().strip_prefix("dc="))
        })
        .collect();
    let dns = labels.map(|l| l.join("."));
    match dns.as_deref().map(|d| check_fqdn("domain_dn", d)) {
        Some(Ok(_)) => Ok(text.to_string()),
        _ => Err(format!(
            "domain_dn '{text}' is not a domain naming context; expected e.g. \"DC=contoso,DC=local\""
        )),
    }
}
