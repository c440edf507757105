//! Reading what Windows PowerShell 5.1's `ConvertTo-Json` prints: no output
//! at all for no objects, a bare object for one, dates as `/Date(ms)/`.

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("the server printed nothing where JSON was expected")]
    Empty,
    #[error("the server's output is not the JSON expected: {source}; output began: {excerpt}")]
    Malformed {
        source: serde_json::Error,
        excerpt: String,
    },
}

/// Parses a script's stdout as JSON into `T`. Leading/trailing whitespace
/// and a UTF-8 BOM are ignored; empty output is `JsonError::Empty`.
pub fn parse_json<T: DeserializeOwned>(stdout: &str) -> Result<T, JsonError> {
    let text = stdout.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(JsonError::Empty);
    }
    serde_json::from_str(text).map_err(|source| JsonError::Malformed {
        source,
        excerpt: text.chars().take(120).collect(),
    })
}

/// `/Date(1632850321807)/` (as parsed from `"\/Date(…)\/"`) → milliseconds.
pub fn parse_ms_date(s: &str) -> Option<i64> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    // 5.1 never writes an offset for UTC values, but tolerate `+0000`.
    let digits = inner
        .split(['+', '-'])
        .next()
        .filter(|d| !d.is_empty())
        .unwrap_or(inner);
    if let Some(neg) = inner.strip_prefix('-') {
        return neg.parse::<i64>().ok().map(|v| -v);
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ms_dates() {
        assert_eq!(
            parse_ms_date("/Date(1632850321807)/"),
            Some(1_632_850_321_807)
        );
        assert_eq!(parse_ms_date("2021-09-28"), None);
    }

    #[test]
    fn empty_output_is_its_own_error() {
        assert!(matches!(
            parse_json::<serde_json::Value>("  \r\n"),
            Err(JsonError::Empty)
        ));
    }

    #[test]
    fn bom_is_ignored() {
        let v: serde_json::Value = parse_json("\u{feff}{\"a\":1}").unwrap();
        assert_eq!(v["a"], 1);
    }
}
