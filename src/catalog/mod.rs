//! The Exchange build catalogue: builds → product, CU and SU names, release
//! dates, prerequisites and AD levels per CU. The data lives in
//! `data/catalog.toml`, embedded at build time.

mod build;

pub use build::{BuildParseError, ExchangeBuild};
