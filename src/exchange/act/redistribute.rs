//! What RedistributeActiveDatabases.ps1's task left behind
//! (`templates::REDISTRIBUTE_COMMAND`), typed: each database's move status
//! and the errors the script wrote, and which moves Active Manager
//! suppressed. Parsing only; the step decides what a result means.

use serde::Deserialize;

/// What the redistribution task left (`templates::REDISTRIBUTE_COMMAND`):
/// each database's move status and the errors the script wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedistributeReport {
    #[serde(default)]
    pub moves: Vec<RedistributeMove>,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// One `DatabaseMoveStatus` of RedistributeActiveDatabases.ps1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedistributeMove {
    pub database: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// `NoMoveAttempted`, `MoveSucceeded` or `MoveFailed`.
    pub status: String,
}

impl RedistributeReport {
    /// What the redistribution action printed; nothing (a task that left
    /// no file) is an empty report, text that is not the report is `None`.
    pub fn parse(stdout: &str) -> Option<RedistributeReport> {
        let text = stdout.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            return Some(RedistributeReport::default());
        }
        serde_json::from_str(text).ok()
    }

    /// The databases whose move Active Manager suppressed (moved or failed
    /// over too recently): `MoveFailed` ones a suppression error names, or
    /// every `MoveFailed` one when such an error names none. The error's
    /// exact text is UNVERIFIED; "suppress" is what
    /// `AmDbMoveMoveSuppressedBlackoutException` and the cmdlet's
    /// `-SkipMoveSuppressionChecks` have in common.
    pub fn suppressed(&self) -> Vec<String> {
        let errors: Vec<&String> = self
            .errors
            .iter()
            .filter(|e| e.to_ascii_lowercase().contains("suppress"))
            .collect();
        if errors.is_empty() {
            return Vec::new();
        }
        let failed = self
            .moves
            .iter()
            .filter(|m| m.status.eq_ignore_ascii_case("MoveFailed"));
        let named: Vec<String> = failed
            .clone()
            .filter(|m| {
                let quoted = format!("'{}'", m.database.to_ascii_lowercase());
                errors
                    .iter()
                    .any(|e| e.to_ascii_lowercase().contains(&quoted))
            })
            .map(|m| m.database.clone())
            .collect();
        if named.is_empty() {
            failed.map(|m| m.database.clone()).collect()
        } else {
            named
        }
    }

    /// One line per database, for the journal: `DB02 EX03 -> EX02 MoveSucceeded`.
    pub fn lines(&self) -> Vec<String> {
        self.moves
            .iter()
            .map(|m| {
                format!(
                    "{} {} -> {} {}",
                    m.database,
                    m.from.as_deref().unwrap_or("?"),
                    m.to.as_deref().unwrap_or("?"),
                    m.status
                )
            })
            .collect()
    }
}
