//! Exchange setup's command line as the lab reads it: the switches of an
//! upgrade (`/Mode:Upgrade` and the licence switch the media build takes)
//! and of a `/Prepare*` run, and the console's complaint when they are
//! wrong. Parsing only; `setup.rs` starts the run.

use super::model::AdPrepScope;
use crate::build::ExchangeBuild;

/// A setup switch: `/name[:value]` or `-name[:value]`, name lower-cased.
fn switch(arg: &str) -> Option<(String, String)> {
    let body = arg.strip_prefix('/').or_else(|| arg.strip_prefix('-'))?;
    let (n, v) = body.split_once(':').unwrap_or((body, ""));
    Some((n.to_ascii_lowercase(), v.to_string()))
}

/// The licence terms on a command line for media of build `media`: `Ok`
/// when accepted, else the console's complaint. From the September 2021 CUs
/// the plain switch is gone, before them the `_DiagnosticData*` ones do not
/// exist (`facts::DIAGNOSTIC_DATA_SWITCH_FROM`); both console wordings
/// are UNVERIFIED.
fn licence_check(
    media: &ExchangeBuild,
    plain: bool,
    diagnostic: Option<&str>,
) -> Result<(), String> {
    let new_media = crate::facts::takes_diagnostic_data_switch(media);
    match (new_media, plain, diagnostic) {
        (true, _, Some(_)) | (false, true, None) => Ok(()),
        (false, _, Some(arg)) => Err(format!(
            "The following command-line parameter is not valid: '{arg}'."
        )),
        (true, true, None) => Err(
            "The /IAcceptExchangeServerLicenseTerms switch is no longer valid. To accept the license terms, use \
             /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF."
                .to_string(),
        ),
        (true, false, None) => Err(
            "To run Exchange Server setup unattended, you must accept the license terms with \
             /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF."
                .to_string(),
        ),
        (false, false, None) => Err(
            "To run Exchange Server setup unattended, you must accept the license terms with /IAcceptExchangeServerLicenseTerms."
                .to_string(),
        ),
    }
}

/// Whether `name` (a lower-cased switch name) is a licence switch: `Some(true)`
/// for the plain one, `Some(false)` for a `_DiagnosticData*` one.
fn licence_switch(name: &str) -> Option<bool> {
    match name {
        "iacceptexchangeserverlicenseterms" => Some(true),
        "iacceptexchangeserverlicenseterms_diagnosticdataon"
        | "iacceptexchangeserverlicenseterms_diagnosticdataoff" => Some(false),
        _ => None,
    }
}

/// Setup's command line for media of build `media`: a problem the console
/// reports before anything runs.
pub(crate) fn setup_command_line_error(media: &ExchangeBuild, args: &[String]) -> Option<String> {
    let mut mode = None;
    let mut plain = false;
    let mut diagnostic = None;
    for a in args {
        let Some((name, value)) = switch(a) else {
            return Some(format!(
                "The following command-line parameter is not valid: '{a}'."
            ));
        };
        match (name.as_str(), licence_switch(&name)) {
            (_, Some(true)) => plain = true,
            (_, Some(false)) => diagnostic = Some(a.as_str()),
            ("mode" | "m", _) => mode = Some(value.to_ascii_lowercase()),
            // Only 2019 CU14+ (and SE) setup has them (Microsoft Learn, "Use
            // unattended mode in Exchange Server"); older setup's wording
            // for them is UNVERIFIED (the unknown-switch text below).
            ("donotenableep" | "donotenableep_feews", _)
                if !(media.major == 15 && media.minor == 2 && media.build >= 1544) =>
            {
                return Some(format!(
                    "The following command-line parameter is not valid: '{a}'."
                ))
            }
            (
                "domaincontroller"
                | "dc"
                | "enableerrorreporting"
                | "donotenableep"
                | "donotenableep_feews"
                | "sourcedir"
                | "updatesdir"
                | "customerfeedbackenabled",
                _,
            ) => {}
            _ => {
                return Some(format!(
                    "The following command-line parameter is not valid: '{a}'."
                ))
            }
        }
    }
    if let Err(message) = licence_check(media, plain, diagnostic) {
        return Some(message);
    }
    match mode.as_deref() {
        Some("upgrade") => None,
        Some(other) => Some(format!(
            "The mode '{other}' is not valid for this server: Exchange is already installed; use /Mode:Upgrade."
        )),
        None => Some(
            "Exchange Server is already installed on this computer; to install a Cumulative Update use /Mode:Upgrade."
                .to_string(),
        ),
    }
}

/// A `/Prepare*` command line for media of build `media`: `None` when it
/// asks for no preparation, else the scope or the console's complaint.
/// Setup prepares one thing per run; the licence switch is needed as for
/// an upgrade (exchange-facts.md §4).
pub(crate) fn prepare_request(
    media: &ExchangeBuild,
    args: &[String],
) -> Option<Result<AdPrepScope, String>> {
    let mut scopes = Vec::new();
    let mut plain = false;
    let mut diagnostic = None;
    let mut other = None;
    for a in args {
        let Some((name, _)) = switch(a) else {
            other.get_or_insert_with(|| a.clone());
            continue;
        };
        match (name.as_str(), licence_switch(&name)) {
            (_, Some(true)) => plain = true,
            (_, Some(false)) => diagnostic = Some(a.as_str()),
            ("prepareschema" | "ps", _) => scopes.push(AdPrepScope::Schema),
            ("preparead" | "p", _) => scopes.push(AdPrepScope::Ad),
            ("preparealldomains" | "pad" | "preparedomain" | "pd", _) => {
                scopes.push(AdPrepScope::Domain);
            }
            ("organizationname" | "on" | "domaincontroller" | "dc", _) => {}
            _ => {
                other.get_or_insert_with(|| a.clone());
            }
        }
    }
    let first = *scopes.first()?;
    Some(if let Some(a) = other {
        Err(format!(
            "The following command-line parameter is not valid: '{a}'."
        ))
    } else if scopes.len() > 1 {
        // UNVERIFIED wording: setup runs one preparation per invocation.
        Err("Only one of /PrepareSchema, /PrepareAD, /PrepareAllDomains or /PrepareDomain can be given per setup run.".to_string())
    } else {
        licence_check(media, plain, diagnostic).map(|()| first)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CU15: ExchangeBuild = ExchangeBuild::new(15, 2, 1748, 10);
    const CU10: ExchangeBuild = ExchangeBuild::new(15, 2, 922, 7);

    fn args(line: &str) -> Vec<String> {
        super::super::batch::arguments(line)
    }

    /// Media before the September 2021 CUs take only the plain switch,
    /// media from them on only the `_DiagnosticData*` ones.
    #[test]
    fn the_licence_switch_depends_on_the_media_build() {
        let plain = args("/Mode:Upgrade /IAcceptExchangeServerLicenseTerms");
        let off = args("/Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF");
        assert_eq!(setup_command_line_error(&CU10, &plain), None);
        assert_eq!(setup_command_line_error(&CU15, &off), None);
        let old_media = setup_command_line_error(&CU10, &off).unwrap();
        assert!(
            old_media.contains("not valid: '/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF'"),
            "{old_media}"
        );
        let new_media = setup_command_line_error(&CU15, &plain).unwrap();
        assert!(new_media.contains("no longer valid"), "{new_media}");
        assert_eq!(
            prepare_request(
                &CU10,
                &args("/PrepareAD /IAcceptExchangeServerLicenseTerms")
            ),
            Some(Ok(AdPrepScope::Ad))
        );
        assert!(prepare_request(
            &CU15,
            &args("/PrepareAD /IAcceptExchangeServerLicenseTerms")
        )
        .unwrap()
        .is_err());
    }

    #[test]
    fn prepare_switches_and_their_short_forms() {
        let lic = "/IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF";
        for (switch, scope) in [
            ("/PrepareSchema", AdPrepScope::Schema),
            ("/ps", AdPrepScope::Schema),
            ("/PrepareAD", AdPrepScope::Ad),
            ("/p", AdPrepScope::Ad),
            ("/PrepareAllDomains", AdPrepScope::Domain),
            ("/PrepareDomain:contoso.local", AdPrepScope::Domain),
        ] {
            assert_eq!(
                prepare_request(&CU15, &args(&format!("{switch} {lic}"))),
                Some(Ok(scope)),
                "{switch}"
            );
        }
        assert_eq!(
            prepare_request(&CU15, &args(&format!("/Mode:Upgrade {lic}"))),
            None
        );
    }

    #[test]
    fn a_prepare_run_needs_the_licence_switch_and_one_action() {
        let no_licence = prepare_request(&CU15, &args("/PrepareAD"))
            .unwrap()
            .unwrap_err();
        assert!(
            no_licence.contains("accept the license terms"),
            "{no_licence}"
        );
        let two = prepare_request(
            &CU15,
            &args("/PrepareSchema /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataON"),
        )
        .unwrap()
        .unwrap_err();
        assert!(two.contains("Only one"), "{two}");
        let mode = prepare_request(
            &CU15,
            &args("/PrepareAD /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataON"),
        )
        .unwrap()
        .unwrap_err();
        assert!(mode.contains("not valid: '/Mode:Upgrade'"), "{mode}");
    }
}
