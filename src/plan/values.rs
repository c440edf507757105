//! Value checkers for the product's own plan strings: the target (a build
//! or a catalogue id) and the security update choice. The checks shared
//! with the lab's section (names, paths, durations…) are in `planfile`.

use crate::catalog::ExchangeBuild;
use crate::plan::model::{SecurityUpdateChoice, TargetSpec};

/// `<digits>` without a leading zero, as in `CU15`.
fn cu_number(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 3
        && !text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit())
}

/// The target: an exact build (`15.2.1748.10`) or a catalogue id
/// (`2016-CU23`, `2019-CU15`, `SE-RTM`, `SE-CU1`), case-insensitive and
/// returned upper-case. Whether the catalogue knows the id is checked later.
pub fn parse_target(text: &str) -> Result<TargetSpec, String> {
    if text.contains('.') {
        return text
            .parse::<ExchangeBuild>()
            .map(TargetSpec::Build)
            .map_err(|e| format!("target: {e}"));
    }
    let id = text.to_ascii_uppercase();
    let valid = match id.split_once('-') {
        Some(("2016" | "2019" | "SE", rest)) if rest.starts_with("CU") => cu_number(&rest[2..]),
        Some(("SE", "RTM")) => true,
        _ => false,
    };
    if valid {
        Ok(TargetSpec::CuId(id))
    } else {
        Err(format!(
            "target '{text}' is neither a CU id nor a build; expected e.g. \"2019-CU15\", \"2016-CU23\", \
             \"SE-RTM\", \"SE-CU1\" or an exact build such as \"15.2.1748.10\""
        ))
    }
}

/// `"latest"`, `"none"`, or an SU/HU name such as `Feb26SU`, `Apr25HU` or
/// `Aug23SUv2` (month abbreviation, two-digit year, SU or HU, optional `v<n>`).
pub fn parse_security_update(text: &str) -> Result<SecurityUpdateChoice, String> {
    match text {
        "latest" => return Ok(SecurityUpdateChoice::Latest),
        "none" => return Ok(SecurityUpdateChoice::None),
        _ => {}
    }
    let b = text.as_bytes();
    let month = b.len() >= 7
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_lowercase()
        && b[2].is_ascii_lowercase()
        && b[3].is_ascii_digit()
        && b[4].is_ascii_digit();
    let kind = month && (&b[5..7] == b"SU" || &b[5..7] == b"HU");
    let version = match &b.get(7..).unwrap_or_default() {
        [] => true,
        [b'v', d] => d.is_ascii_digit(),
        _ => false,
    };
    if kind && version {
        Ok(SecurityUpdateChoice::Named(text.to_string()))
    } else {
        Err(format!(
            "security_update '{text}' is not valid; expected \"latest\", \"none\" or an update name \
             such as \"Feb26SU\", \"Apr25HU\" or \"Aug23SUv2\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("2019-CU15"),
            Ok(TargetSpec::CuId("2019-CU15".into()))
        );
        assert_eq!(
            parse_target("se-rtm"),
            Ok(TargetSpec::CuId("SE-RTM".into()))
        );
        assert_eq!(
            parse_target("SE-CU1"),
            Ok(TargetSpec::CuId("SE-CU1".into()))
        );
        assert_eq!(
            parse_target("2016-CU23"),
            Ok(TargetSpec::CuId("2016-CU23".into()))
        );
        assert_eq!(
            parse_target("15.2.1748.10"),
            Ok(TargetSpec::Build(ExchangeBuild::new(15, 2, 1748, 10)))
        );
        for bad in [
            "",
            "2019",
            "2019-CU",
            "2019-CU015",
            "2013-CU23",
            "SE-SP1",
            "CU15",
            "15.2.1748",
            "2019-CU15 ",
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn security_updates() {
        assert_eq!(
            parse_security_update("latest"),
            Ok(SecurityUpdateChoice::Latest)
        );
        assert_eq!(
            parse_security_update("none"),
            Ok(SecurityUpdateChoice::None)
        );
        for good in ["Feb26SU", "Apr25HU", "Aug23SUv2"] {
            assert_eq!(
                parse_security_update(good),
                Ok(SecurityUpdateChoice::Named(good.into()))
            );
        }
        for bad in [
            "",
            "Latest",
            "feb26SU",
            "FEB26SU",
            "Feb2026SU",
            "Feb26",
            "Feb26SUv",
            "Feb26SUv10",
            "Feb26IU",
        ] {
            assert!(parse_security_update(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
