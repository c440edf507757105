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
    }
}
