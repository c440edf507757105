//! The drift report: a backup compared with the same files as they are
//! now, XML-aware. For each file, the effective `appSettings` (`<add>`,
//! `<remove>` and `<clear>` applied in order, as .NET's configuration
//! system does) are compared key by key; every other element and attribute
//! change is summarised with counts and XPath-like locations. A key the
//! backup had whose value changed or that is gone now is marked
//! *reverted*: an admin's customisation the Cumulative Update overwrote.
//!
//! Pure functions over bytes; fetching is the caller's. This file holds
//! the model and the per-file comparison; `xml` reads a config file into
//! its effective settings and elements, `compare` diffs two of them, and
//! `text` renders the report for a person.

use std::path::Path;

use serde::Serialize;

use super::archive::Backup;
use super::fetch::Fetched;
use compare::{diff_elements, diff_settings};
use xml::{decode, Doc};

/// How a file compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Unchanged,
    Changed,
    /// In the backup, not on the server now.
    Missing,
    /// On the server now, not in the backup.
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One `appSettings` key that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub key: String,
    pub change: ChangeKind,
    /// The value in the backup.
    pub old: Option<String>,
    /// The value now.
    pub new: Option<String>,
    /// The backup had this key and its value is changed or gone now.
    pub reverted: bool,
}

/// One element or attribute change outside `appSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub change: ChangeKind,
    /// e.g. `/configuration/system.web/httpRuntime/@maxRequestLength`.
    pub xpath: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// Everything that changed outside `appSettings`, summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OtherChanges {
    pub elements_added: usize,
    pub elements_removed: usize,
    pub attributes_changed: usize,
    pub text_changed: usize,
    /// Where: for an added or removed subtree only its top element.
    pub locations: Vec<Location>,
}

impl OtherChanges {
    pub fn is_empty(&self) -> bool {
        self.elements_added + self.elements_removed + self.attributes_changed + self.text_changed
            == 0
    }
}

/// One file's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDrift {
    /// The full path on the server.
    pub path: String,
    /// Relative to the install path (the zip entry name).
    pub entry: String,
    pub status: FileStatus,
    pub app_settings: Vec<SettingChange>,
    pub other: OtherChanges,
    /// Set when a side is not well-formed XML (compared as bytes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The drift of one server against one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    pub server: String,
    /// The backup zip compared against.
    pub backup: String,
    /// When the backup was taken.
    pub backup_created: String,
    /// Why this backup was compared with (`baseline::Baseline::describe`);
    /// empty when the caller gave no reason.
    pub baseline: String,
    pub files: Vec<FileDrift>,
    /// Warnings from fetching the files now.
    pub warnings: Vec<String>,
}

impl DriftReport {
    /// Every reverted setting with its file's entry name.
    pub fn reverted(&self) -> Vec<(&str, &SettingChange)> {
        self.files
            .iter()
            .flat_map(|f| {
                f.app_settings
                    .iter()
                    .filter(|s| s.reverted)
                    .map(move |s| (f.entry.as_str(), s))
            })
            .collect()
    }
}

/// Compares a verified backup with the files fetched now.
pub(crate) fn drift_between(backup: &Backup, now: &Fetched, zip: &Path) -> DriftReport {
    let mut files = Vec::new();
    for (meta, old) in &backup.files {
        let current = now
            .files
            .iter()
            .find(|f| f.meta.relative.eq_ignore_ascii_case(&meta.entry));
        files.push(diff_file(
            &meta.path,
            &meta.entry,
            Some(old),
            current.map(|c| c.bytes.as_slice()),
        ));
    }
    for f in &now.files {
        let known = backup
            .files
            .iter()
            .any(|(m, _)| m.entry.eq_ignore_ascii_case(&f.meta.relative));
        if !known {
            files.push(diff_file(
                &f.meta.path,
                &f.meta.relative,
                None,
                Some(&f.bytes),
            ));
        }
    }
    DriftReport {
        server: backup.manifest.server.clone(),
        backup: zip.display().to_string(),
        backup_created: backup.manifest.created.clone(),
        baseline: String::new(),
        files,
        warnings: now.warnings.clone(),
    }
}

/// One file's drift: `old` from the backup, `new` as it is now (`None`
/// when absent on that side).
pub fn diff_file(path: &str, entry: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> FileDrift {
    let mut drift = FileDrift {
        path: path.to_string(),
        entry: entry.to_string(),
        status: match (old, new) {
            (Some(a), Some(b)) if a == b => FileStatus::Unchanged,
            (Some(_), Some(_)) => FileStatus::Changed,
            (Some(_), None) => FileStatus::Missing,
            (None, _) => FileStatus::New,
        },
        app_settings: Vec::new(),
        other: OtherChanges::default(),
        note: None,
    };
    if drift.status == FileStatus::Unchanged {
        return drift;
    }
    let old_text = old.map(decode);
    let new_text = new.map(decode);
    let parse = |t: &Option<String>| -> Result<Option<Doc>, String> {
        t.as_deref().map(Doc::parse).transpose()
    };
    match (parse(&old_text), parse(&new_text)) {
        (Ok(a), Ok(b)) => {
            let empty = Doc::default();
            let (a, b) = (a.as_ref().unwrap_or(&empty), b.as_ref().unwrap_or(&empty));
            drift.app_settings = diff_settings(&a.settings, &b.settings);
            drift.other = diff_elements(&a.elements, &b.elements);
        }
        (Err(e), _) | (_, Err(e)) => {
            drift.note = Some(format!("not well-formed XML, compared as bytes only: {e}"));
        }
    }
    drift
}

pub mod baseline;
mod compare;
mod text;
mod xml;

#[cfg(test)]
mod tests;
