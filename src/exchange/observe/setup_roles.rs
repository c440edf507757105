//! Whether Exchange setup finished, read from the role keys as ExchangeDsc
//! reads them (`Test-ExchangeSetupPartiallyCompleted`,
//! dsccommunity/ExchangeDsc `source/Modules/ExchangeDscHelper/ExchangeDscHelper.psm1`,
//! formerly `source/Modules/xExchangeHelper/xExchangeHelper.psm1`): under
//! `HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\<Role>Role`, a key with an
//! `UnpackedVersion` and no `ConfiguredVersion`, or with any `Action` or
//! `Watermark` value, means setup started and did not finish. The build
//! cannot tell: a build-to-build upgrade copies the new `ExSetup.exe`
//! before it configures the roles, and every re-run after such a failure
//! logs `The locally installed version is <new build>` (CSS-Exchange
//! `Setup/Tests` captures, e.g. `ExchangeSetup_FIPS_AccessDenied.log`).
//! Parsing and judging only; `SERVER_FACTS` reads the values.

use serde::Deserialize;

/// One role key's setup values, as `SERVER_FACTS` prints them (a key that
/// does not exist is not printed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleKeyObs {
    /// `MailboxRole`, `CafeRole`…
    pub role: String,
    #[serde(default)]
    pub unpacked_version: Option<String>,
    #[serde(default)]
    pub configured_version: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub watermark: Option<String>,
}

impl RoleKeyObs {
    /// Why this key says setup did not finish, in ExchangeDsc's order; empty
    /// when it does not (or has no `UnpackedVersion`, which ExchangeDsc skips).
    pub fn incomplete_reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.unpacked_version.is_none() {
            return out;
        }
        if self.configured_version.is_none() {
            out.push(format!(
                "{} has UnpackedVersion {} and no ConfiguredVersion",
                self.role,
                self.unpacked_version.as_deref().unwrap_or_default()
            ));
        }
        if let Some(a) = &self.action {
            out.push(format!("{} Action is '{a}'", self.role));
        }
        if let Some(w) = &self.watermark {
            out.push(format!("{} Watermark is '{w}'", self.role));
        }
        out
    }
}

/// Every reason the role keys give that setup is incomplete; empty = every
/// role setup touched is configured.
pub fn incomplete_reasons(roles: &[RoleKeyObs]) -> Vec<String> {
    roles
        .iter()
        .flat_map(RoleKeyObs::incomplete_reasons)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(json: &str) -> RoleKeyObs {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_configured_role_is_complete() {
        let k = key(
            r#"{"Role":"MailboxRole","UnpackedVersion":"15.2.1748.10","ConfiguredVersion":"15.2.1748.10","Action":null,"Watermark":null}"#,
        );
        assert!(k.incomplete_reasons().is_empty());
        // ExchangeDsc looks no further at a key without UnpackedVersion.
        let bare = key(r#"{"Role":"CafeRole","Watermark":"x"}"#);
        assert!(bare.incomplete_reasons().is_empty());
    }

    #[test]
    fn watermark_action_or_missing_configured_version_is_incomplete() {
        let k = key(
            r#"{"Role":"MailboxRole","UnpackedVersion":"15.2.1748.10","ConfiguredVersion":null,"Action":"BuildToBuildUpgrade","Watermark":"BridgeheadRoleSetterComponent___115c"}"#,
        );
        assert_eq!(
            incomplete_reasons(&[k]),
            [
                "MailboxRole has UnpackedVersion 15.2.1748.10 and no ConfiguredVersion",
                "MailboxRole Action is 'BuildToBuildUpgrade'",
                "MailboxRole Watermark is 'BridgeheadRoleSetterComponent___115c'"
            ]
        );
    }
}
