//! `cu-roll catalog [list] [--format table|json]` and `cu-roll catalog
//! update --from URL|FILE [--sha256 HEX] | --reset`: printing the catalogue
//! in force and turning the update library's results into messages. The
//! checks themselves live in `catalog::update`; this file only wires and
//! renders (a refused input is exit 2, a network or disk failure exit 1:
//! `Error::exit_code`).

use std::fmt::Write as _;
use std::path::PathBuf;

use super::output;
use crate::catalog::update::{self, ActiveCatalog, Source, UpdateError};
use crate::catalog::{Catalog, CuInfo};
use crate::cli::{CatalogArgs, CatalogCommand, CatalogFormat, CatalogUpdateArgs};
use crate::error::Error;
use crate::exit::Outcome;

pub fn run(args: &CatalogArgs) -> Result<Outcome, Error> {
    match &args.command {
        None => list(args.list.format),
        Some(CatalogCommand::List(list_args)) => list(list_args.format),
        Some(CatalogCommand::Update(update_args)) => update(update_args),
    }
}

fn list(format: CatalogFormat) -> Result<Outcome, Error> {
    let active = update::active()?;
    let text = match format {
        CatalogFormat::Table => render_table(active),
        CatalogFormat::Json => {
            let mut text = serde_json::to_string_pretty(&render_json(active))
                .expect("a JSON value always serialises");
            text.push('\n');
            text
        }
    };
    output::stdout(&text)?;
    Ok(Outcome::Done)
}

fn config_dir() -> Result<PathBuf, Error> {
    Ok(update::config_dir().ok_or(UpdateError::NoConfigDir)?)
}

fn update(args: &CatalogUpdateArgs) -> Result<Outcome, Error> {
    let dir = config_dir()?;
    if args.reset {
        match update::reset(&dir)? {
            Some(path) => eprintln!(
                "removed the stored catalogue {}; the built-in catalogue applies again",
                path.display()
            ),
            None => eprintln!(
                "no stored catalogue in {}; the built-in catalogue already applies",
                dir.display()
            ),
        }
        return Ok(Outcome::Done);
    }
    let given = args
        .from
        .as_deref()
        .ok_or_else(|| Error::Usage("catalog update needs --from URL|FILE (or --reset)".into()))?;
    let source = Source::parse(given)?;
    if source.is_plain_http() && args.sha256.is_none() {
        eprintln!(
            "warning: {} is plain HTTP and no --sha256 was given: nothing vouches that the file arrived unaltered",
            source.name()
        );
    }
    let stored = update::update(
        &source,
        args.sha256.as_deref(),
        &dir,
        Catalog::embedded(),
        args.allow_lower,
    )?;
    eprintln!(
        "stored the catalogue from {} in {} (sha256 {}): {} CUs, {} updates; it now overrides the built-in catalogue",
        source.name(),
        stored.path.display(),
        stored.sha256,
        stored.cus,
        stored.updates
    );
    if stored.added.is_empty() {
        eprintln!("new entries: none (only details changed)");
    } else {
        eprintln!("new entries: {}", stored.added.join(", "));
    }
    Ok(Outcome::Done)
}

fn origin(active: &ActiveCatalog) -> String {
    match active.override_path() {
        Some(path) => format!(
            "stored {} (overrides the built-in catalogue)",
            path.display()
        ),
        None => "built-in".to_string(),
    }
}

fn render_table(active: &ActiveCatalog) -> String {
    let catalog = active.catalog();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Catalogue: {} — format {}, for cu-roll {}",
        origin(active),
        catalog.format_version(),
        catalog.cu_roll_requirement()
    );
    for cu in catalog.cus() {
        render_cu(&mut out, cu);
    }
    out
}

fn render_cu(out: &mut String, cu: &CuInfo) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}  {}  build {}  released {}",
        cu.id,
        cu.display_name(),
        cu.build,
        cu.released
    );
    let _ = writeln!(out, "  Support: {}", cu.support);
    let os: Vec<&str> = cu.supported_os.iter().map(|o| o.display()).collect();
    let _ = writeln!(out, "  Windows Server: {}", os.join(", "));
    match cu.latest_su() {
        Some(su) => {
            let _ = writeln!(out, "  Latest verified update: {} {}", su.name, su.build);
        }
        None => {
            let _ = writeln!(out, "  Latest verified update: none");
        }
    }
    let width = cu
        .security_updates
        .iter()
        .map(|su| su.name.len())
        .max()
        .unwrap_or(0);
    for su in &cu.security_updates {
        let short = match su.kind {
            crate::catalog::UpdateKind::SecurityUpdate => "SU",
            crate::catalog::UpdateKind::HotfixUpdate => "HU",
        };
        let mark = if su.verified { "" } else { "  UNVERIFIED" };
        let _ = writeln!(
            out,
            "    {:width$}  {short}  {:<14}  {}{mark}",
            su.name,
            su.build.to_string(),
            su.released
        );
    }
}

/// The documented JSON shape (docs/catalog.md).
fn render_json(active: &ActiveCatalog) -> serde_json::Value {
    let catalog = active.catalog();
    let cus: Vec<serde_json::Value> = catalog
        .cus()
        .iter()
        .map(|cu| {
            let updates: Vec<serde_json::Value> = cu
                .security_updates
                .iter()
                .map(|su| {
                    serde_json::json!({
                        "name": su.name,
                        "kind": match su.kind {
                            crate::catalog::UpdateKind::SecurityUpdate => "SU",
                            crate::catalog::UpdateKind::HotfixUpdate => "HU",
                        },
                        "build": su.build.to_string(),
                        "released": su.released,
                        "verified": su.verified,
                    })
                })
                .collect();
            serde_json::json!({
                "id": cu.id,
                "name": cu.display_name(),
                "build": cu.build.to_string(),
                "released": cu.released,
                "support": cu.support,
                "supported_os": cu.supported_os.iter().map(|o| o.display()).collect::<Vec<_>>(),
                "latest_verified_update": cu.latest_su().map(|su| su.name.clone()),
                "updates": updates,
            })
        })
        .collect();
    serde_json::json!({
        // The version of this JSON form (not of the catalogue file: `format`).
        "schema_version": 1,
        "source": if active.override_path().is_some() { "stored" } else { "built-in" },
        "path": active.override_path().map(|p| p.display().to_string()),
        "format": catalog.format_version(),
        "cu_roll": catalog.cu_roll_requirement(),
        "cus": cus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> ActiveCatalog {
        ActiveCatalog::load(None).unwrap()
    }

    #[test]
    fn table_marks_unverified_updates_and_names_the_source() {
        let text = render_table(&embedded());
        assert!(
            text.starts_with("Catalogue: built-in — format 1, for cu-roll >=0.1\n"),
            "{text}"
        );
        assert!(text.contains(
            "2019-CU15  Exchange Server 2019 CU15  build 15.2.1748.10  released 2025-02-10\n"
        ));
        assert!(text.contains("  Latest verified update: Feb26SU 15.2.1748.43\n"));
        assert!(
            text.contains("    Jun26SU  SU  15.2.1748.46    2026-06-09  UNVERIFIED\n"),
            "{text}"
        );
        assert!(
            text.contains("    Feb26SU  SU  15.2.1748.43    2026-02-10\n"),
            "{text}"
        );
        assert_eq!(text.matches("UNVERIFIED").count(), 3);
    }

    #[test]
    fn json_lists_every_cu_and_update() {
        let json = render_json(&embedded());
        assert_eq!(json["source"], "built-in");
        assert!(json["path"].is_null());
        let cus = json["cus"].as_array().unwrap();
        assert_eq!(cus.len(), Catalog::embedded().cus().len());
        let cu15 = cus.iter().find(|c| c["id"] == "2019-CU15").unwrap();
        assert_eq!(cu15["latest_verified_update"], "Feb26SU");
        let jun = cu15["updates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "Jun26SU")
            .unwrap();
        assert_eq!(
            jun,
            &serde_json::json!({
                "name": "Jun26SU", "kind": "SU", "build": "15.2.1748.46",
                "released": "2026-06-09", "verified": false
            })
        );
        let se = cus.iter().find(|c| c["id"] == "SE-RTM").unwrap();
        assert_eq!(se["name"], "Exchange Server SE RTM");
    }
}
