//! The `[rollout]` section: the target CU, the security update, the
//! installer account, checked against the catalogue in force. It must not
//! read other sections except what the installer account needs from
//! `[connection]`.

use toml::Spanned;

use crate::plan::model::*;
use crate::plan::raw::*;
use crate::plan::values::*;
use planfile::values::*;
use planfile::{checked, PlanError, Source};

pub(super) fn rollout(src: &Source, r: &RawRollout) -> Result<Rollout, PlanError> {
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
        extended_protection: r.extended_protection.as_ref().map(|e| match e.get_ref() {
            RawExtendedProtection::Enable => ExtendedProtection::Enable,
            RawExtendedProtection::Skip => ExtendedProtection::Skip,
            RawExtendedProtection::SkipEwsFrontend => ExtendedProtection::SkipEwsFrontend,
        }),
        tls_offloading: r.tls_offloading,
        namespace: r
            .namespace
            .as_ref()
            .map(|v| checked(src, v, |t| planfile::values::check_fqdn("namespace", t)))
            .transpose()?,
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
                "target '{id}' is not in the catalogue; known: {}. A CU newer than this catalogue needs a newer one: `cu-roll catalog update` installs it (docs/catalog.md)",
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
