//! The plan file: TOML in, a validated `Plan` out (see `model`). Loading
//! runs in two stages, as ripgrep does with its flags: `raw` deserialises
//! the file's shape (unknown keys refused), then `validate` checks every
//! value, applies defaults and cross-checks servers and DAGs; the `[lab]`
//! section is the lab crate's (read at the command edge from the same
//! text). Every error names the file, line and column. This module reads
//! the plan and nothing else: it never contacts a server. Target ids and
//! update names are checked against the embedded catalogue, so an unknown
//! one is an error at its line.

mod installer;
mod model;
mod notify;
mod raw;
mod secret;
mod selection;
mod target;
mod validate;
mod values;
mod window;

use std::path::Path;

pub use model::*;
pub use notify::DEFAULT_SECRET_HEADER;
pub use planfile::values::parse_duration;
pub use planfile::{Location, PlanError};
pub use secret::{read_secret, Secret, SecretError};
pub use selection::{did_you_mean, Selection, SelectionError};
pub use target::{resolve_target, ResolvedTarget, TargetError};
pub use window::{parse_window_end, WindowEnd};

/// Reads and validates the plan at `path`.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    parse(&read(path)?, path)
}

/// The plan file's text (for `parse`, and for the lab crate, which reads
/// the `[lab]` section from the same text): a regular file of at most
/// 1 MiB, UTF-8 (a bad byte is reported at its line and column).
pub fn read(path: &Path) -> Result<String, PlanError> {
    planfile::file::read_plan(path)
}

/// Validates plan `text`; `path` is where it came from (used in errors and
/// kept in `Plan::path`).
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
    let src = planfile::Source { text, path };
    let file: raw::PlanFile = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    validate::validate(file, &src)
}

#[cfg(test)]
mod tests;
