//! Which of the plan's servers a run rolls: `--only NAME…` / `--exclude
//! NAME…`, checked against the plan (an unknown name is an error with a
//! did-you-mean). Only the servers that *roll* are chosen here: the gates
//! and each step's peers still see the whole DAG from the plan. How a
//! resumed run carries a selection over is the command layer's business.

use super::model::Plan;

/// The servers a run rolls, by the plan's spelling of their names. Both
/// lists empty: every server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// When not empty, only these roll.
    pub only: Vec<String>,
    /// These never roll.
    pub exclude: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectionError {
    #[error("{flag} {name}: {plan} has no server '{name}'{}; its servers: {}",
        .suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default(),
        .known.join(", "))]
    Unknown {
        flag: &'static str,
        name: String,
        plan: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("--only and --exclude together leave no server to roll")]
    Nothing,
}

impl Selection {
    /// Every server of the plan.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Checks `only` and `exclude` against `plan` (case-insensitive; each
    /// name may also be a comma-separated list) and spells them as the
    /// plan does.
    pub fn resolve(
        plan: &Plan,
        only: &[String],
        exclude: &[String],
    ) -> Result<Selection, SelectionError> {
        let names = |flag: &'static str, given: &[String]| -> Result<Vec<String>, SelectionError> {
            let mut out: Vec<String> = Vec::new();
            for name in given.iter().flat_map(|g| g.split(',')).map(str::trim) {
                if name.is_empty() {
                    continue;
                }
                let server = plan.server(name).ok_or_else(|| unknown(plan, flag, name))?;
                if !out.contains(&server.name) {
                    out.push(server.name.clone());
                }
            }
            Ok(out)
        };
        let selection = Selection {
            only: names("--only", only)?,
            exclude: names("--exclude", exclude)?,
        };
        if !plan.servers.iter().any(|s| selection.includes(&s.name)) {
            return Err(SelectionError::Nothing);
        }
        Ok(selection)
    }

    pub fn is_all(&self) -> bool {
        self.only.is_empty() && self.exclude.is_empty()
    }

    /// Whether the server named `name` rolls.
    pub fn includes(&self, name: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|n| n.eq_ignore_ascii_case(name));
        (self.only.is_empty() || named(&self.only)) && !named(&self.exclude)
    }

    /// As the command line would say it: `--only EX02 EX03`, `--exclude
    /// EX01`, or `every server`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.only.is_empty() {
            parts.push(format!("--only {}", self.only.join(" ")));
        }
        if !self.exclude.is_empty() {
            parts.push(format!("--exclude {}", self.exclude.join(" ")));
        }
        if parts.is_empty() {
            "every server".to_string()
        } else {
            parts.join(" ")
        }
    }
}

fn unknown(plan: &Plan, flag: &'static str, name: &str) -> SelectionError {
    let known: Vec<String> = plan.servers.iter().map(|s| s.name.clone()).collect();
    SelectionError::Unknown {
        flag,
        name: name.to_string(),
        plan: plan.path.display().to_string(),
        suggestion: did_you_mean(name, &known).map(str::to_string),
        known,
    }
}

/// The candidate most like `word` (case-insensitive), when one is close.
pub fn did_you_mean<'c>(word: &str, candidates: &'c [String]) -> Option<&'c str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_matched_case_insensitively_and_spelled_as_the_plan_does() {
        let plan = plan();
        let s = Selection::resolve(&plan, &strings(&["ex02,EX03"]), &[]).unwrap();
        assert_eq!(s.only, ["EX02", "EX03"]);
        assert!(s.includes("ex03") && !s.includes("EX01"));
        assert_eq!(s.describe(), "--only EX02 EX03");
        let s = Selection::resolve(&plan, &[], &strings(&["ex01"])).unwrap();
        assert!(!s.includes("EX01") && s.includes("EX02"));
        assert_eq!(s.describe(), "--exclude EX01");
        assert_eq!(Selection::all().describe(), "every server");
        assert!(Selection::all().includes("EX01"));
    }

    #[test]
    fn an_unknown_name_is_refused_with_a_suggestion_and_an_empty_selection_too() {
        let plan = plan();
        let e = Selection::resolve(&plan, &strings(&["EX2"]), &[]).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("--only EX2: "), "{text}");
        assert!(text.contains("did you mean 'EX02'?"), "{text}");
        assert!(text.contains("its servers: EX01, EX02, EX03"), "{text}");
        let e = Selection::resolve(&plan, &[], &strings(&["mailbox9"])).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        assert_eq!(
            Selection::resolve(&plan, &strings(&["EX02"]), &strings(&["EX02"])),
            Err(SelectionError::Nothing)
        );
    }
}
