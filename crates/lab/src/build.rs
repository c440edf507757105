//! `ExchangeBuild` as the lab reads and writes it: the four-part version a
//! real server reports, in the short form (`15.2.1748.43`) and ExSetup's
//! zero-padded ProductVersion (`15.02.1748.043`). A value type from the
//! shared crate (`crates/build`); what a build means to the lab (its CU,
//! its AD levels) is the lab's own, in `facts`.

pub use exbuild::{BuildParseError, ExchangeBuild};
