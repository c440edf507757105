//! Which licence switch a setup media build takes. The
//! `/IAcceptExchangeServerLicenseTerms_DiagnosticDataON|OFF` switches came
//! with the September 2021 CUs, Exchange 2016 CU22 and 2019 CU11 (Microsoft
//! Learn, "Diagnostic Data collected for Exchange Server"; "Upgrade Exchange
//! to the latest Cumulative Update": "The previous
//! /IAcceptExchangeServerLicenseTerms switch will not work starting with
//! the September 2021 Cumulative Updates"); older media know only the plain
//! `/IAcceptExchangeServerLicenseTerms` (the CSS-Exchange capture
//! `ExchangeSetup_DomainPrepRequired.log`, media 15.2.922.7 = 2019 CU10,
//! logs it; Install-Exchange15 chooses by setup version the same way).
//! A pure rule over a build; nothing here reads a server.

use super::build::ExchangeBuild;

/// The first media builds that take the `_DiagnosticData*` switches:
/// Exchange 2016 CU22 (15.1.2375.7) and Exchange 2019 CU11 (15.2.986.5).
/// Exchange SE (15.2.2562+) is above the 2019 line.
const DIAGNOSTIC_DATA_FROM: [ExchangeBuild; 2] = [
    ExchangeBuild::new(15, 1, 2375, 7),
    ExchangeBuild::new(15, 2, 986, 5),
];

/// Whether setup media of `media`'s build takes
/// `/IAcceptExchangeServerLicenseTerms_DiagnosticDataON|OFF` (and no
/// longer the plain switch). Compared by CU line (`major.minor.build`).
pub fn takes_diagnostic_data_switch(media: ExchangeBuild) -> bool {
    DIAGNOSTIC_DATA_FROM.iter().any(|from| {
        media.major == from.major && media.minor == from.minor && media.build >= from.build
    })
}

/// Whether setup media of `media`'s build takes `/DoNotEnableEP` and
/// `/DoNotEnableEP_FEEWS`, and turns Extended Protection on by default
/// without them: Exchange 2019 CU14 (15.2.1544.4) and later, SE included
/// (Microsoft Learn, "Use unattended mode in Exchange Server", switch
/// table: "Can be used to skip enabling Extended Protection … Exchange
/// Server 2019 CU14 (or later)"; Install-Exchange15.ps1 ignores both
/// switches below CU14 with a warning).
pub fn takes_extended_protection_switches(media: ExchangeBuild) -> bool {
    media.major == 15 && media.minor == 2 && media.build >= 1544
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_september_2021_cus_are_the_line() {
        let b = |s: &str| s.parse::<ExchangeBuild>().unwrap();
        assert!(!takes_diagnostic_data_switch(b("15.2.922.7")), "2019 CU10");
        assert!(takes_diagnostic_data_switch(b("15.2.986.5")), "2019 CU11");
        assert!(takes_diagnostic_data_switch(b("15.2.1748.10")), "2019 CU15");
        assert!(takes_diagnostic_data_switch(b("15.2.2562.17")), "SE RTM");
        assert!(!takes_diagnostic_data_switch(b("15.1.2308.8")), "2016 CU21");
        assert!(takes_diagnostic_data_switch(b("15.1.2375.7")), "2016 CU22");
        assert!(takes_diagnostic_data_switch(b("15.1.2507.6")), "2016 CU23");
        assert!(!takes_diagnostic_data_switch(b("15.0.1497.2")), "2013");
        assert!(
            !takes_extended_protection_switches(b("15.2.1258.12")),
            "2019 CU13"
        );
        assert!(
            takes_extended_protection_switches(b("15.2.1544.4")),
            "2019 CU14"
        );
        assert!(
            takes_extended_protection_switches(b("15.2.2562.17")),
            "SE RTM"
        );
        assert!(
            !takes_extended_protection_switches(b("15.1.2507.6")),
            "2016 CU23"
        );
    }
}
