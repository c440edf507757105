//! The plan file: TOML in, a validated `Plan` out (see `model`). Loading
//! runs in two stages, as ripgrep does with its flags: `raw` deserialises
//! the file's shape (unknown keys refused), then `validate` checks every
//! value, applies defaults and cross-checks servers, DAGs and the `[lab]`
//! section. Every error names the file, line and column. This module reads
//! the plan and nothing else: it never contacts a server. Target ids and
//! update names are checked against the embedded catalogue, so an unknown
//! one is an error at its line.

mod error;
mod lab;
mod model;
mod raw;
mod target;
mod validate;
mod values;

use std::path::Path;

pub use error::{Location, PlanError};
pub use lab::{FAULT_KINDS, ROLLOUT_STEP_IDS};
pub use model::*;
pub use target::{resolve_target, ResolvedTarget, TargetError};
pub use values::parse_duration;

/// Reads and validates the plan at `path`.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates plan `text`; `path` is where it came from (used in errors and
/// kept in `Plan::path`).
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
    let src = error::Source { text, path };
    let file: raw::PlanFile = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    validate::validate(file, &src)
}

#[cfg(test)]
mod tests;
