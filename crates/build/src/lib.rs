//! `ExchangeBuild`: the four-part version Exchange reports (major, minor,
//! build, revision). Not semver: `15.2.1748.10` < `15.2.1748.43` because the
//! revision carries the Security Update. Accepts both the short form
//! (`15.2.1748.43`) and ExSetup's zero-padded ProductVersion (`15.02.1748.043`).
//!
//! A value type only, shared by the product's catalogue and the lab so the
//! two parse and print a build the same way (they had each written it).
//! What a build *means* (which CU, which prerequisites) is decided apart:
//! by the product's catalogue, and separately by the lab's own tables, so
//! the lab still agrees with the product on nothing it decides.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeBuild {
    pub major: u16,
    pub minor: u16,
    pub build: u32,
    pub revision: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an Exchange build: expected four dot-separated numbers such as 15.2.1748.10")]
pub struct BuildParseError(pub String);

impl ExchangeBuild {
    pub const fn new(major: u16, minor: u16, build: u32, revision: u32) -> Self {
        ExchangeBuild {
            major,
            minor,
            build,
            revision,
        }
    }

    /// The zero-padded form `ExSetup.exe` reports as ProductVersion, e.g. `15.02.1748.043`.
    pub fn long_form(&self) -> String {
        format!(
            "{}.{:02}.{:04}.{:03}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

impl fmt::Display for ExchangeBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

impl FromStr for ExchangeBuild {
    type Err = BuildParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || BuildParseError(s.to_string());
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.len() != 4
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err());
        }
        Ok(ExchangeBuild {
            major: parts[0].parse().map_err(|_| err())?,
            minor: parts[1].parse().map_err(|_| err())?,
            build: parts[2].parse().map_err(|_| err())?,
            revision: parts[3].parse().map_err(|_| err())?,
        })
    }
}

impl Serialize for ExchangeBuild {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExchangeBuild {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_orders_numerically_not_lexically() {
        let a: ExchangeBuild = "15.2.1748.10".parse().unwrap();
        let b: ExchangeBuild = "15.2.1748.9".parse().unwrap();
        assert!(a > b);
    }

    #[test]
    fn long_form_round_trips() {
        let b: ExchangeBuild = "15.02.0986.005".parse().unwrap();
        assert_eq!(b.to_string(), "15.2.986.5");
        assert_eq!(b.long_form(), "15.02.0986.005");
    }

    #[test]
    fn rejects_three_parts() {
        assert!("15.2.1748".parse::<ExchangeBuild>().is_err());
    }
}
