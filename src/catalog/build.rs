//! `ExchangeBuild`, the four-part build number, from the shared value crate
//! (`crates/build`): re-exported so the catalogue names it as its own.

pub use exbuild::{BuildParseError, ExchangeBuild};
