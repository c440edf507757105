//! Pre-flight checks and the version report.

pub mod model;
