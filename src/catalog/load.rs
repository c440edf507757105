//! Loading the catalogue: parsing `data/catalog.toml` (shape in `raw`),
//! the file-level checks (format, cu-roll compatibility, unique ids), the
//! validated [`Catalog`] and the copy embedded at build time. It must not
//! decide anything about a server (that is `identify` and `rules`).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use super::model::{CuInfo, Product};
use super::raw::{validate_cu, RawCatalog};

/// The catalogue shipped inside the binary.
const EMBEDDED: &str = include_str!("../../data/catalog.toml");

/// Layout versions of `data/catalog.toml` this build understands.
pub const SUPPORTED_FORMAT: u32 = 1;

/// Why a catalogue file was refused. Every variant names the line (1-based)
/// so whoever edits the file can find the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalogue line {line}, column {column}: {message}")]
    Toml {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("catalogue format {found} is not supported by this cu-roll (it reads format {supported}); update cu-roll or use a catalogue for format {supported}")]
    Format { found: u32, supported: u32 },
    #[error("catalogue requires cu-roll {requirement} but this is cu-roll {version}; update cu-roll or keep the embedded catalogue")]
    Compatibility {
        requirement: String,
        version: String,
    },
    #[error("catalogue line {line}: cu_roll = \"{requirement}\" is not a Cargo version requirement ({reason}); write comparators such as \">=0.1\" or \">=0.1, <2\"")]
    Requirement {
        line: usize,
        requirement: String,
        reason: String,
    },
    #[error("catalogue line {line}: id \"{id}\" is already used on line {first_line}; every CU id must be unique (case-insensitive)")]
    DuplicateId {
        id: String,
        line: usize,
        first_line: usize,
    },
    #[error("catalogue line {line}, CU {cu}: {message}")]
    Invalid {
        line: usize,
        cu: String,
        message: String,
    },
}

/// The validated catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    format: u32,
    cu_roll: String,
    current_to: Option<String>,
    cus: Vec<CuInfo>,
}

impl Catalog {
    /// The catalogue embedded from `data/catalog.toml`, parsed on first use.
    ///
    /// # Panics
    /// Only if the embedded file is broken, which the unit test
    /// `embedded_catalogue_parses` rules out for every build that passes CI.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_toml(EMBEDDED)
                .unwrap_or_else(|e| panic!("the embedded data/catalog.toml is broken: {e}"))
        })
    }

    /// The catalogue every command uses: the one stored by `cu-roll catalog
    /// update` in the configuration directory when there is one (see
    /// [`super::update::config_dir`]), else [`Catalog::embedded`]. Loaded
    /// once per process. A stored file that does not load (or is older
    /// than the embedded data) is an error naming it, never a silent
    /// fallback.
    pub fn active() -> Result<&'static Catalog, super::update::UpdateError> {
        super::update::active().map(|a| a.catalog())
    }

    /// Parses and validates a catalogue file (see the rules in
    /// `data/catalog.toml`'s header).
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            CatalogError::Toml {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let line_of = |span: Range<usize>| line_col(text, span.start).0;

        if *raw.format.get_ref() != SUPPORTED_FORMAT {
            return Err(CatalogError::Format {
                found: *raw.format.get_ref(),
                supported: SUPPORTED_FORMAT,
            });
        }
        let requirement = raw.cu_roll.get_ref().clone();
        let ours = env!("CARGO_PKG_VERSION");
        match requirement_matches(&requirement, ours) {
            Ok(true) => {}
            Ok(false) => {
                return Err(CatalogError::Compatibility {
                    requirement,
                    version: ours.to_string(),
                })
            }
            Err(reason) => {
                return Err(CatalogError::Requirement {
                    line: line_of(raw.cu_roll.span()),
                    requirement,
                    reason,
                })
            }
        }

        let current_to = match raw.current_to {
            Some(date) => {
                super::raw::check_date(date.get_ref()).map_err(|message| {
                    CatalogError::Invalid {
                        line: line_of(date.span()),
                        cu: "current_to".to_string(),
                        message,
                    }
                })?;
                Some(date.into_inner())
            }
            None => None,
        };
        let mut first_line_of_id: HashMap<String, usize> = HashMap::new();
        let mut cus = Vec::with_capacity(raw.cu.len());
        for raw_cu in raw.cu {
            let line = line_of(raw_cu.id.span());
            let key = raw_cu.id.get_ref().to_ascii_lowercase();
            if let Some(&first_line) = first_line_of_id.get(&key) {
                return Err(CatalogError::DuplicateId {
                    id: raw_cu.id.into_inner(),
                    line,
                    first_line,
                });
            }
            first_line_of_id.insert(key, line);
            cus.push(validate_cu(raw_cu, &line_of)?);
        }
        Ok(Catalog {
            format: SUPPORTED_FORMAT,
            cu_roll: requirement,
            current_to,
            cus,
        })
    }

    /// Layout version of the loaded file.
    pub fn format_version(&self) -> u32 {
        self.format
    }

    /// The file's `cu_roll` requirement, e.g. `>=0.1`.
    pub fn cu_roll_requirement(&self) -> &str {
        &self.cu_roll
    }

    /// The date (`YYYY-MM-DD`) the catalogue is current to, when the file
    /// says: builds released after it are unknown to it.
    pub fn current_to(&self) -> Option<&str> {
        self.current_to.as_deref()
    }

    /// Every CU, in file order.
    pub fn cus(&self) -> &[CuInfo] {
        &self.cus
    }

    /// The CU with this id, case-insensitive (`2019-cu15`).
    pub fn cu_by_id(&self, id: &str) -> Option<&CuInfo> {
        let id = id.trim();
        self.cus.iter().find(|cu| cu.id.eq_ignore_ascii_case(id))
    }

    /// The newest CU the catalogue lists for a product.
    pub fn latest_cu(&self, product: Product) -> Option<&CuInfo> {
        self.cus
            .iter()
            .filter(|cu| cu.product == product)
            .max_by_key(|cu| cu.build)
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Does this cu-roll (`version`, Cargo's `CARGO_PKG_VERSION`) satisfy
/// `requirement`, a Cargo-style semver requirement such as `>=0.1, <2`?
/// Parsed with the `semver` crate, so the file may use every form Cargo
/// accepts (`^0.3`, `~0.3.1`, `>=0.1, <2`); a bare `0.3` means `^0.3`, as in
/// Cargo.toml.
fn requirement_matches(requirement: &str, version: &str) -> Result<bool, String> {
    let ours = semver::Version::parse(version)
        .map_err(|e| format!("this cu-roll's own version \"{version}\" is not semver: {e}"))?;
    if requirement.trim().is_empty() {
        return Err("it is empty".to_string());
    }
    let req = semver::VersionReq::parse(requirement).map_err(|e| e.to_string())?;
    Ok(req.matches(&ours))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format = 1
cu_roll = ">=0.1"

[[cu]]
id = "2019-CU15"
product = "Exchange2019"
cu = "CU15"
build = "15.2.1748.10"
released = "2025-02-10"
support = "ESU"
supported_os = ["WS2019"]
enables_extended_protection = true
sources = []
ad = { schema_range_upper = 17003, org_object_version = 16763, domain_object_version = 13243 }
updates = [
  { name = "Apr25HU", kind = "HU", build = "15.2.1748.24", released = "2025-04-18" },
]
[cu.prerequisites]
dotnet_min_release = 528040
dotnet_recommended = [{ os = "WS2019", release = 528040 }]
vcredist_2012_min = 184610406
vcredist_2013_min = 201367256
ucma = true
url_rewrite = true
"#;

    fn second_cu(id: &str, build: &str) -> String {
        let cu = MINIMAL.split_once("[[cu]]").unwrap().1;
        format!(
            "{MINIMAL}\n[[cu]]{}",
            cu.replacen("\"2019-CU15\"", &format!("\"{id}\""), 1)
                .replacen("15.2.1748.10", build, 1)
        )
    }

    #[test]
    fn embedded_catalogue_parses() {
        let catalog = Catalog::from_toml(EMBEDDED).expect("data/catalog.toml must parse");
        assert_eq!(catalog.cus().len(), 63);
        assert_eq!(catalog.current_to(), Some("2026-05-29"));
        assert_eq!(catalog.format_version(), 1);
        assert_eq!(catalog.cu_roll_requirement(), ">=0.1");
        assert!(std::ptr::eq(Catalog::embedded(), Catalog::embedded()));
    }

    #[test]
    fn minimal_file_parses() {
        let catalog = Catalog::from_toml(MINIMAL).unwrap();
        let cu = catalog.cu_by_id("2019-cu15").unwrap();
        assert_eq!(
            cu.security_updates[0].kind,
            crate::catalog::UpdateKind::HotfixUpdate
        );
        assert!(cu.security_updates[0].verified);
    }

    #[test]
    fn rejects_duplicate_id_case_insensitively() {
        let text = second_cu("2019-cu15", "15.2.1748.10");
        match Catalog::from_toml(&text) {
            Err(CatalogError::DuplicateId {
                id,
                line,
                first_line,
            }) => {
                assert_eq!(id, "2019-cu15");
                assert_eq!(first_line, 6);
                assert!(line > first_line);
            }
            other => panic!("expected DuplicateId, got {other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_build_with_its_line() {
        let text = MINIMAL.replace("build = \"15.2.1748.10\"", "build = \"15.2.1748\"");
        let err = Catalog::from_toml(&text).unwrap_err();
        match &err {
            CatalogError::Toml { line, message, .. } => {
                assert_eq!(*line, 9);
                assert!(message.contains("not an Exchange build"), "{message}");
            }
            other => panic!("expected Toml error, got {other:?}"),
        }
        assert!(err.to_string().starts_with("catalogue line 9"));
    }

    #[test]
    fn rejects_builds_out_of_order_and_foreign_builds() {
        let text = MINIMAL.replace("15.2.1748.24", "15.2.1748.9");
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid { line: 17, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("not newer than CU15"), "{err}");

        let text = MINIMAL.replace("15.2.1748.24", "15.2.1544.24");
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(
            err.to_string().contains("does not belong to this CU"),
            "{err}"
        );
    }

    #[test]
    fn rejects_duplicate_su_name() {
        let text = MINIMAL.replace(
            "released = \"2025-04-18\" },",
            "released = \"2025-04-18\" },\n  { name = \"apr25hu\", kind = \"HU\", build = \"15.2.1748.26\", released = \"2025-05-29\" },",
        );
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn rejects_product_that_does_not_match_build() {
        let text = MINIMAL.replace("product = \"Exchange2019\"", "product = \"ExchangeSE\"");
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(
            err.to_string()
                .contains("is not an Exchange Server SE build"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_keys_bad_dates_and_kinds() {
        let err = Catalog::from_toml(
            &MINIMAL.replace("support = \"ESU\"", "support = \"ESU\"\ncolour = 1"),
        )
        .unwrap_err();
        assert!(
            matches!(err, CatalogError::Toml { line: 12, .. }),
            "{err:?}"
        );
        let err = Catalog::from_toml(&MINIMAL.replace("2025-04-18", "18/04/2025")).unwrap_err();
        assert!(err.to_string().contains("not YYYY-MM-DD"), "{err}");
        let err =
            Catalog::from_toml(&MINIMAL.replace("kind = \"HU\"", "kind = \"SU\"")).unwrap_err();
        assert!(err.to_string().contains("name says otherwise"), "{err}");
    }

    #[test]
    fn checks_format_and_compatibility() {
        let err = Catalog::from_toml(&MINIMAL.replace("format = 1", "format = 2")).unwrap_err();
        assert_eq!(
            err,
            CatalogError::Format {
                found: 2,
                supported: 1
            }
        );
        let err = Catalog::from_toml(&MINIMAL.replace(">=0.1", ">=99.0")).unwrap_err();
        assert!(matches!(err, CatalogError::Compatibility { .. }), "{err:?}");
        let err = Catalog::from_toml(&MINIMAL.replace(">=0.1", "=>0.1")).unwrap_err();
        assert!(
            matches!(err, CatalogError::Requirement { line: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn requirement_is_cargo_semver() {
        assert_eq!(requirement_matches(">=0.1", "0.1.0"), Ok(true));
        assert_eq!(requirement_matches(">=0.1, <2", "1.4.2"), Ok(true));
        assert_eq!(requirement_matches(">=0.1, <2", "2.0.0"), Ok(false));
        assert_eq!(requirement_matches("=0.1.3", "0.1.3"), Ok(true));
        assert_eq!(requirement_matches(">=9", "0.1.0"), Ok(false));
        // Cargo's forms beyond plain comparators: caret (also the bare
        // form) and tilde.
        assert_eq!(requirement_matches("0.1", "0.1.7"), Ok(true));
        assert_eq!(requirement_matches("^0.1", "0.2.0"), Ok(false));
        assert_eq!(requirement_matches("~0.1.2", "0.1.9"), Ok(true));
        assert!(requirement_matches(">=a", "0.1.0").is_err());
        assert!(requirement_matches("=>0.1", "0.1.0").is_err());
        assert_eq!(
            requirement_matches("  ", "0.1.0"),
            Err("it is empty".into())
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
