//! Which backup `drift` and `restore-config` compare with: the one given
//! (`--backup FILE`), else the backup the rollout took of the server
//! before its CU (the journal's `config-backed-up`), else the newest
//! backup. A backup taken after the CU (a later `cu-roll backup`) holds
//! the CU's own values, so comparing with it would hide what the CU
//! reverted (review #12): it is never preferred over the rollout's, and a
//! newer one is named in a warning. Pure: finding the candidates (journal,
//! backups directory) is the caller's.

use std::path::{Path, PathBuf};

/// Where the compared backup came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineSource {
    /// `--backup FILE`.
    Given,
    /// The backup the rollout took before the server's CU.
    Rollout,
    /// No rollout backup is known: the newest in the backups directory.
    Newest,
}

/// The backup to compare with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub zip: PathBuf,
    pub source: BaselineSource,
    /// A backup newer than the rollout's (taken after the CU, probably),
    /// which was not used.
    pub newer_ignored: Option<PathBuf>,
}

/// Chooses among `given`, the rollout's backup and the newest backup of
/// the server (backup names sort by their UTC time).
pub fn choose(
    given: Option<&Path>,
    rollout: Option<PathBuf>,
    newest: Option<PathBuf>,
) -> Option<Baseline> {
    if let Some(zip) = given {
        return Some(Baseline {
            zip: zip.to_path_buf(),
            source: BaselineSource::Given,
            newer_ignored: None,
        });
    }
    match (rollout, newest) {
        (Some(zip), newest) => {
            let newer_ignored = newest.filter(|n| n.file_name() > zip.file_name());
            Some(Baseline {
                zip,
                source: BaselineSource::Rollout,
                newer_ignored,
            })
        }
        (None, Some(zip)) => Some(Baseline {
            zip,
            source: BaselineSource::Newest,
            newer_ignored: None,
        }),
        (None, None) => None,
    }
}

impl Baseline {
    /// Which backup, and why, in one sentence (the text report's second
    /// line and the JSON's `baseline`).
    pub fn describe(&self) -> String {
        let why = match self.source {
            BaselineSource::Given => "given with --backup".to_string(),
            BaselineSource::Rollout => {
                "the backup the rollout took before this server's CU (journaled by backup-config)"
                    .to_string()
            }
            BaselineSource::Newest => {
                "the newest backup: no rollout backup is journaled for this server, so if it was taken after the CU it hides what the CU reverted (--backup FILE chooses another)".to_string()
            }
        };
        match &self.newer_ignored {
            Some(newer) => format!(
                "{why}; the newer backup {} (taken after it, perhaps after the CU) is not used",
                newer.display()
            ),
            None => why,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn the_rollout_backup_wins_over_a_newer_one_which_is_named() {
        let b = choose(
            None,
            Some(p("st/backups/EX02-20261207T041000Z.zip")),
            Some(p("st/backups/EX02-20261207T041722Z.zip")),
        )
        .unwrap();
        assert_eq!(b.zip, p("st/backups/EX02-20261207T041000Z.zip"));
        assert_eq!(b.source, BaselineSource::Rollout);
        assert!(
            b.describe()
                .contains("the newer backup st/backups/EX02-20261207T041722Z.zip"),
            "{}",
            b.describe()
        );
        // The rollout's backup is the newest: nothing ignored.
        let same = choose(None, Some(p("b/EX02-1.zip")), Some(p("b/EX02-1.zip"))).unwrap();
        assert_eq!(same.newer_ignored, None);
    }

    #[test]
    fn given_wins_and_the_newest_is_the_fallback() {
        let given = choose(Some(Path::new("x.zip")), Some(p("r.zip")), None).unwrap();
        assert_eq!(
            (given.zip, given.source),
            (p("x.zip"), BaselineSource::Given)
        );
        let newest = choose(None, None, Some(p("n.zip"))).unwrap();
        assert_eq!(newest.source, BaselineSource::Newest);
        assert!(newest.describe().starts_with("the newest backup"));
        assert_eq!(choose(None, None, None), None);
    }
}
