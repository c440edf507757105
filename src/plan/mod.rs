//! The plan file: TOML in, a validated `Plan` out (see `model`).

mod model;

pub use model::*;
