//! The marks the terminal board draws (done, failed, skipped, the spinner,
//! the overall bar) in Unicode, or in ASCII where the console may not show
//! Unicode: a legacy Windows console (conhost with a raster font shows `?`
//! for braille and check marks: review #25), a non-UTF-8 locale, or
//! `CU_ROLL_ASCII=1`. Decides from the environment only; drawing is
//! `progress`'s.

/// One set of marks.
#[derive(Debug, PartialEq, Eq)]
pub struct Glyphs {
    pub done: &'static str,
    pub failed: &'static str,
    pub skipped: &'static str,
    /// Spinner frames, the last shown when it stops (indicatif `tick_chars`).
    pub spinner: &'static str,
    /// Filled then empty (indicatif `progress_chars`).
    pub bar: &'static str,
}

pub const UNICODE: Glyphs = Glyphs {
    done: "✓",
    failed: "✗",
    skipped: "–",
    spinner: "⠁⠂⠄⡀⢀⠠⠐⠈ ",
    bar: "█░",
};

pub const ASCII: Glyphs = Glyphs {
    done: "+",
    failed: "x",
    skipped: "-",
    spinner: "|/-\\ ",
    bar: "#-",
};

/// Forces ASCII when set to anything but empty or `0`.
pub const ASCII_ENV: &str = "CU_ROLL_ASCII";

/// The marks for this process's console.
pub fn for_console() -> &'static Glyphs {
    if unicode_ok(cfg!(windows), |k| std::env::var(k).ok()) {
        &UNICODE
    } else {
        &ASCII
    }
}

/// Whether the console can be trusted with Unicode. Windows: only in a
/// terminal known to render it (Windows Terminal sets `WT_SESSION`, VS Code
/// and others `TERM_PROGRAM`, ConEmu `ConEmuANSI=ON`); the classic console
/// host may use a raster font. Elsewhere: the locale (`LC_ALL`, else
/// `LC_CTYPE`, else `LANG`) names UTF-8.
pub fn unicode_ok(windows: bool, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if set(ASCII_ENV).is_some_and(|v| v != "0") {
        return false;
    }
    if windows {
        return set("WT_SESSION").is_some()
            || set("TERM_PROGRAM").is_some()
            || set("ConEmuANSI").is_some_and(|v| v.eq_ignore_ascii_case("ON"));
    }
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| set(k))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_utf8_locale_gets_unicode_and_c_or_none_gets_ascii() {
        assert!(unicode_ok(false, env(&[("LANG", "en_US.UTF-8")])));
        assert!(unicode_ok(
            false,
            env(&[("LC_ALL", "C.utf8"), ("LANG", "C")])
        ));
        assert!(!unicode_ok(
            false,
            env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])
        ));
        assert!(!unicode_ok(false, env(&[])));
    }

    #[test]
    fn windows_gets_unicode_only_in_a_terminal_known_to_draw_it() {
        assert!(!unicode_ok(true, env(&[("LANG", "en_US.UTF-8")])));
        assert!(unicode_ok(true, env(&[("WT_SESSION", "1b2c")])));
        assert!(unicode_ok(true, env(&[("ConEmuANSI", "ON")])));
        assert!(!unicode_ok(true, env(&[("ConEmuANSI", "OFF")])));
    }

    #[test]
    fn cu_roll_ascii_forces_ascii_and_every_ascii_mark_is_ascii() {
        assert!(!unicode_ok(
            false,
            env(&[("LANG", "en_US.UTF-8"), (ASCII_ENV, "1")])
        ));
        assert!(unicode_ok(
            false,
            env(&[("LANG", "en_US.UTF-8"), (ASCII_ENV, "0")])
        ));
        let a = &ASCII;
        for s in [a.done, a.failed, a.skipped, a.spinner, a.bar] {
            assert!(s.is_ascii(), "{s}");
        }
        // indicatif: at least two frames and two bar characters.
        assert!(a.spinner.chars().count() >= 2 && a.bar.chars().count() >= 2);
        assert_eq!(UNICODE.bar.chars().count(), ASCII.bar.chars().count());
    }
}
