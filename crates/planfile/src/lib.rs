//! A plan file's text, shared by the product's plan loader and the lab's
//! `[lab]` section: errors that point at `file:line:column` with an excerpt
//! (`error`), the value checks both use (`values`), bounded reading of the
//! plan and the files it names (`file`), and the two helpers that join
//! them. It knows TOML spans and strings, nothing of Exchange, cu-roll's
//! rollout or the lab: so the lab can parse its own section without
//! depending on the product.

pub mod error;
pub mod file;
pub mod values;

use std::time::Duration;

pub use error::{Location, PlanError, Source};

/// A spanned string from the plan.
pub type Text = toml::Spanned<String>;

/// Runs `check` on a spanned string, pointing any error at its value.
pub fn checked<T>(
    src: &Source,
    value: &Text,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, PlanError> {
    check(value.get_ref()).map_err(|m| src.error(value.span(), m))
}

/// A duration key, or its default when absent.
///
/// # Panics
/// When `default` is not a valid duration (a programming error).
pub fn duration(src: &Source, value: Option<&Text>, default: &str) -> Result<Duration, PlanError> {
    match value {
        Some(v) => checked(src, v, values::parse_duration),
        None => Ok(values::parse_duration(default).expect("built-in default durations parse")),
    }
}

/// A server's NetBIOS name and its FQDN, whose first label must be that
/// name; returns the FQDN lower-case.
pub fn name_and_fqdn(src: &Source, name: &Text, fqdn: &Text) -> Result<String, PlanError> {
    checked(src, name, |t| values::check_netbios("server name", t))?;
    let fqdn_value = checked(src, fqdn, |t| values::check_fqdn("fqdn", t))?;
    let short = fqdn_value.split('.').next().unwrap_or_default();
    if !short.eq_ignore_ascii_case(name.get_ref()) {
        return Err(src.error(
            fqdn.span(),
            format!(
                "fqdn '{}' does not belong to server '{}': its first label should be the server name, \
                 e.g. '{}.contoso.local' (a copy-paste slip?)",
                fqdn.get_ref(),
                name.get_ref(),
                name.get_ref().to_ascii_lowercase()
            ),
        ));
    }
    Ok(fqdn_value)
}
