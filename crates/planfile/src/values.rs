//! Value checkers for plan-file strings that both the product's plan and
//! the lab's `[lab]` section use: durations, NetBIOS and DNS names, local
//! Windows paths, sha256 digests, environment variable names, display names
//! and free text. Each returns the normalised value or a sentence saying
//! what was expected; the caller adds the file position. Nothing here knows
//! about TOML or a plan's sections, nor about Exchange.
//!
//! These checks are the reason a plan value can later be dropped into a
//! PowerShell single-quoted literal without surprise: names are restricted to
//! letters, digits and hyphens, and paths may not hold quotes, `$`, `` ` ``,
//! `;` or control characters.
//!
//! The duration grammar is our own rather than `humantime`'s on purpose:
//! units from the largest down, each once, and no bare numbers ("5" could
//! be seconds or minutes, and a wrong guess is a 60x mistake).

use std::time::Duration;

/// Parses `"200ms"`, `"30s"`, `"30m"`, `"3h"`, `"1h30m"`: one or more
/// `<digits><unit>` parts, units `h`, `m`, `s`, `ms`, each at most once and
/// from the largest to the smallest. Bare numbers are refused because "5"
/// could be seconds or minutes and a wrong guess is a 60× mistake.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || {
        format!(
            "'{text}' is not a duration; expected a number followed by a unit \
             (h, m, s or ms), e.g. \"30s\", \"30m\", \"3h\" or \"1h30m\""
        )
    };
    if text.is_empty() {
        return Err(expected());
    }
    // Units in the only order they may appear; a unit's rank must strictly grow.
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut rest = text;
    let mut last_rank: Option<usize> = None;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(expected());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| expected())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(expected());
        };
        if last_rank.is_some_and(|r| r >= rank) {
            return Err(format!(
                "'{text}' is not a duration: write each unit once, largest first (\"1h30m\", not \"30m1h\")"
            ));
        }
        last_rank = Some(rank);
        total_ms = number
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("'{text}' is too long a duration"))?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// A NetBIOS computer name as Exchange and Windows accept it: 1–15 ASCII
/// letters, digits and hyphens, not all digits, not starting or ending with
/// a hyphen. `what` names the value in the message ("server name").
pub fn check_netbios(what: &str, text: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "{what} '{text}' is not a valid NetBIOS name (letters, digits and hyphens, \
             at most 15 characters{why})"
        ))
    };
    if text.is_empty()
        || text.len() > 15
        || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return bad("");
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return bad("; not only digits");
    }
    if text.starts_with('-') || text.ends_with('-') {
        return bad("; no hyphen at the start or end");
    }
    Ok(())
}

/// A fully qualified DNS name: at least two labels of 1–63 letters, digits
/// and hyphens (no hyphen at either end of a label), at most 253 characters.
/// Returned lower-case, because DNS is case-insensitive and the engine
/// compares FQDNs.
pub fn check_fqdn(what: &str, text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "{what} '{text}' is not a valid DNS name ({why}); expected e.g. 'ex01.contoso.local'"
        ))
    };
    if text.is_empty() || text.len() > 253 {
        return bad("1 to 253 characters");
    }
    let labels: Vec<&str> = text.split('.').collect();
    if labels.len() < 2 {
        return bad("a fully qualified name has at least two labels separated by dots");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return bad("each label between dots has 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return bad("labels hold only letters, digits and hyphens");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label may not start or end with a hyphen");
        }
    }
    Ok(text.to_ascii_lowercase())
}

/// Characters refused anywhere in a path: each would need escaping inside a
/// PowerShell or cmd string, and no real media path needs them.
/// Characters that are code in PowerShell or in cmd.exe (setup runs from a
/// batch file: `%`, `!`, `&`, `^` and `|` are cmd metacharacters), plus the
/// typographic quotes PowerShell also treats as quotes.
fn hostile_path_char(c: char) -> bool {
    matches!(
        c,
        '\'' | '"' | '`' | '$' | ';' | '%' | '!' | '&' | '^' | '|' | '\u{2018}'..='\u{201E}'
    ) || c.is_control()
}

/// MAX_PATH (260) less the terminating NUL.
pub const MAX_WINDOWS_PATH: usize = 259;

/// An absolute local Windows path such as `D:\Setup.exe` whose file name
/// ends in `extension` (e.g. ".exe"). UNC paths are refused: over WinRM the
/// remote session cannot pass the admin's credentials on to a file server
/// (the Kerberos "double hop"), so setup would fail with access denied.
pub fn check_local_windows_path(what: &str, text: &str, extension: &str) -> Result<(), String> {
    if text.starts_with("\\\\") || text.starts_with("//") {
        return Err(format!(
            "{what} '{text}' is a UNC path; cu-roll runs setup through a remote PowerShell session (WinRM), \
             and that session cannot reach a file share with your credentials (the Kerberos double-hop \
             problem), so setup would fail with access denied. Copy the media to a local disk on each \
             server and give that path, e.g. 'D:\\Setup.exe'"
        ));
    }
    if let Some(c) = text.chars().find(|&c| hostile_path_char(c)) {
        return Err(format!(
            "{what} {text:?} contains {c:?}; quotes, backticks and the characters $ ; % ! & ^ | and control characters \
             are not allowed in paths (they would need escaping, and no real media path needs them)"
        ));
    }
    // cu-roll runs setup and the SU from a batch file written with
    // `Set-Content -Encoding ASCII` (runbook/steps/installer.rs), which turns
    // every other character into '?': refuse here, before any server is
    // touched, rather than at the setup step with the server in maintenance.
    if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "{what} '{text}' contains {c:?}; only ASCII characters are supported in media paths \
             (setup runs from a batch file written in ASCII, where {c:?} would become '?'). \
             Copy the media to a folder whose path is plain ASCII, e.g. 'D:\\Media\\Setup.exe'"
        ));
    }
    // Windows' MAX_PATH, which cmd.exe (running the batch file) observes:
    // https://learn.microsoft.com/windows/win32/fileio/maximum-file-path-limitation
    if text.len() > MAX_WINDOWS_PATH {
        return Err(format!(
            "{what} is {} characters long; Windows paths are limited to {MAX_WINDOWS_PATH} \
             characters (MAX_PATH) where setup runs",
            text.len()
        ));
    }
    let bytes = text.as_bytes();
    let absolute =
        bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
    if !absolute {
        return Err(format!(
            "{what} '{text}' is not an absolute local Windows path; expected a drive letter, ':\\' and \
             the file, e.g. 'D:\\Setup.exe' (write it in single quotes in TOML so backslashes stay as they are)"
        ));
    }
    if let Some(c) = text[2..]
        .chars()
        .find(|c| matches!(c, '<' | '>' | '|' | '?' | '*' | ':' | '/'))
    {
        return Err(format!(
            "{what} '{text}' contains {c:?}, which Windows does not allow in a path"
        ));
    }
    if !text.to_ascii_lowercase().ends_with(extension) || text.ends_with('\\') {
        return Err(format!(
            "{what} '{text}' must name the {extension} file itself, not its folder"
        ));
    }
    Ok(())
}

/// A path on the machine running cu-roll (CA file, password file,
/// powershell.exe): any form, but no control characters or quotes.
pub fn check_local_path(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("{what} is empty; expected a file path"));
    }
    if let Some(c) = text.chars().find(|&c| hostile_path_char(c)) {
        return Err(format!(
            "{what} {text:?} contains {c:?}; quotes, backticks, '$', ';' and control characters are not allowed in paths"
        ));
    }
    Ok(())
}

/// A sha256 digest: 64 hex digits, returned lower-case.
pub fn check_sha256(text: &str) -> Result<String, String> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "setup_sha256 '{text}' is not a sha256 digest; expected 64 hexadecimal digits, as \
             `Get-FileHash -Algorithm SHA256 Setup.exe` prints"
        ))
    }
}

/// An environment variable name (`CUROLL_PASSWORD`) for `password_env`.
pub fn check_env_name(text: &str) -> Result<(), String> {
    check_env_var("password_env", "CUROLL_PASSWORD", text)
}

/// An environment variable name for the plan key `key`; `example` is a
/// good one, shown in the error.
pub fn check_env_var(key: &str, example: &str, text: &str) -> Result<(), String> {
    let mut bytes = text.bytes();
    let ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key} '{text}' is not an environment variable name; expected letters, digits and \
             underscores, e.g. \"{example}\""
        ))
    }
}

/// A name used in the lab that is not a computer name (database,
/// organisation): letters, digits, spaces, hyphens, underscores and dots,
/// 1–64 characters, no space at either end (Exchange's own limit is 64).
pub fn check_display_name(what: &str, text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'.'))
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} '{text}' is not valid; expected 1 to 64 letters, digits, spaces, hyphens, \
             underscores or dots"
        ))
    }
}

/// Free text the lab echoes back (OS caption, appSettings): anything but
/// control characters.
pub fn check_plain_text(what: &str, text: &str) -> Result<(), String> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "{what} {text:?} contains the control character {c:?}"
        )),
        None => Ok(()),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(parse_duration("200ms"), Ok(ms(200)));
        assert_eq!(parse_duration("30s"), Ok(ms(30_000)));
        assert_eq!(parse_duration("30m"), Ok(ms(1_800_000)));
        assert_eq!(parse_duration("3h"), Ok(ms(10_800_000)));
        assert_eq!(parse_duration("1h30m"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("1m30s500ms"), Ok(ms(90_500)));
        assert_eq!(parse_duration("0s"), Ok(ms(0)));
    }

    #[test]
    fn durations_refused() {
        for bad in [
            "",
            "5",
            "-1m",
            "3 hours",
            "3hours",
            "1.5h",
            "30m1h",
            "1m1m",
            " 5m",
            "5m ",
            "m",
            "5d",
            "99999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration("5")
            .unwrap_err()
            .contains("expected a number followed by a unit"));
    }

    #[test]
    fn netbios_names() {
        for good in ["EX01", "ex-01", "A", "EXCHANGE-MBX-01", "1EX"] {
            assert_eq!(check_netbios("server name", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "EX01'; Remove-Item C:\\ -Recurse #",
            "EXCHANGE-MBX-001",
            "1234",
            "-EX",
            "EX-",
            "EX 01",
            "EX.01",
            "EX_01",
            "ÉX01",
        ] {
            assert!(
                check_netbios("server name", bad).is_err(),
                "{bad:?} was accepted"
            );
        }
        let msg = check_netbios("server name", "EX01;").unwrap_err();
        assert!(
            msg.contains("letters, digits and hyphens, at most 15 characters"),
            "{msg}"
        );
    }

    #[test]
    fn fqdns() {
        assert_eq!(
            check_fqdn("fqdn", "EX01.Contoso.Local"),
            Ok("ex01.contoso.local".to_string())
        );
        let long_label = "a".repeat(64);
        let too_long = format!("{}.local", ["abcdefghij"; 25].join("."));
        for bad in [
            "",
            "ex01",
            "ex01..local",
            "-ex.local",
            "ex-.local",
            "ex_01.local",
            "ex01.local.",
            &long_label,
            &too_long,
        ] {
            assert!(check_fqdn("fqdn", bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn windows_paths() {
        assert_eq!(
            check_local_windows_path("setup_path", "D:\\Setup.exe", ".exe"),
            Ok(())
        );
        assert_eq!(
            check_local_windows_path(
                "setup_path",
                "E:\\ExchangeServer2019-x64-CU15\\Setup.EXE",
                ".exe"
            ),
            Ok(())
        );
        let unc = check_local_windows_path("setup_path", "\\\\fs01\\media\\Setup.exe", ".exe")
            .unwrap_err();
        assert!(
            unc.contains("double-hop") && unc.contains("local disk"),
            "{unc}"
        );
        for bad in [
            "Setup.exe",
            "D:Setup.exe",
            "D:/Setup.exe",
            "D:\\",
            "D:\\media",
            "D:\\it's\\Setup.exe",
            "D:\\$x\\Setup.exe",
            "D:\\a;b\\Setup.exe",
            "D:\\a`b\\Setup.exe",
            "D:\\a\nb\\Setup.exe",
            "D:\\a\"b\\Setup.exe",
            "D:\\a|b\\Setup.exe",
        ] {
            assert!(
                check_local_windows_path("setup_path", bad, ".exe").is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn non_ascii_and_overlong_media_paths_are_refused() {
        for (bad, c) in [
            ("D:\\Médias\\Setup.exe", 'é'),
            ("C:\\Updates\\日本\\SU.msp", '日'),
            ("D:\\Müller\\Setup.exe", 'ü'),
        ] {
            let e = check_local_windows_path("setup_path", bad, &bad[bad.len() - 4..]).unwrap_err();
            assert!(
                e.contains(&format!("contains {c:?}")) && e.contains("only ASCII"),
                "{e}"
            );
        }
        let long = format!("D:\\{}\\Setup.exe", "a".repeat(MAX_WINDOWS_PATH));
        let e = check_local_windows_path("setup_path", &long, ".exe").unwrap_err();
        assert!(e.contains("MAX_PATH"), "{e}");
        let fits = format!("D:\\{}\\Setup.exe", "a".repeat(MAX_WINDOWS_PATH - 13));
        assert_eq!(fits.len(), MAX_WINDOWS_PATH);
        assert_eq!(
            check_local_windows_path("setup_path", &fits, ".exe"),
            Ok(())
        );
    }

    #[test]
    fn sha256_is_lowercased() {
        let upper = "AB".repeat(32);
        assert_eq!(check_sha256(&upper), Ok("ab".repeat(32)));
        assert!(check_sha256("abc").is_err());
        assert!(check_sha256(&"g".repeat(64)).is_err());
    }

    #[test]
    fn env_names_and_display_names() {
        assert_eq!(check_env_name("CUROLL_PASSWORD"), Ok(()));
        assert!(check_env_name("1X").is_err());
        assert!(check_env_name("A-B").is_err());
        assert_eq!(
            check_display_name("database name", "Mailbox Database 01"),
            Ok(())
        );
        assert!(check_display_name("database name", "DB'01").is_err());
        assert!(check_display_name("database name", " DB01").is_err());
    }
}
