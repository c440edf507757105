//! The drift report: a backup compared with the same files as they are
//! now, XML-aware. For each file, the effective `appSettings` (`<add>`,
//! `<remove>` and `<clear>` applied in order, as .NET's configuration
//! system does) are compared key by key; every other element and attribute
//! change is summarised with counts and XPath-like locations. A key the
//! backup had whose value changed or that is gone now is marked
//! *reverted*: an admin's customisation the Cumulative Update overwrote.
//!
//! Pure functions over bytes; fetching is the caller's.

use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;

use super::archive::Backup;
use super::fetch::Fetched;

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

    /// The report as text, for the terminal; `plan` is the plan's path as
    /// given, quoted in the command that puts a setting back.
    pub fn to_text(&self, plan: &str) -> String {
        let mut out = format!(
            "Config drift on {} since the backup {} (taken {})\n",
            self.server, self.backup, self.backup_created
        );
        let unchanged = self
            .files
            .iter()
            .filter(|f| f.status == FileStatus::Unchanged)
            .count();
        for f in self
            .files
            .iter()
            .filter(|f| f.status != FileStatus::Unchanged)
        {
            let status = match f.status {
                FileStatus::Changed => "changed",
                FileStatus::Missing => "missing now",
                FileStatus::New => "new since the backup",
                FileStatus::Unchanged => "unchanged",
            };
            out.push_str(&format!("  {}: {status}\n", f.entry));
            if let Some(note) = &f.note {
                out.push_str(&format!("    ({note})\n"));
            }
            if !f.app_settings.is_empty() {
                out.push_str("    appSettings:\n");
            }
            for s in &f.app_settings {
                let show = |v: &Option<String>| {
                    v.as_ref()
                        .map_or_else(|| "(absent)".to_string(), |v| format!("'{v}'"))
                };
                let tag = if s.reverted {
                    "REVERTED"
                } else {
                    match s.change {
                        ChangeKind::Added => "added",
                        ChangeKind::Removed => "removed",
                        ChangeKind::Changed => "changed",
                    }
                };
                out.push_str(&format!(
                    "      {tag:<9} {}: {} -> {}\n",
                    s.key,
                    show(&s.old),
                    show(&s.new)
                ));
            }
            let o = &f.other;
            if !o.is_empty() {
                out.push_str(&format!(
                    "    other changes: {} element(s) added, {} removed, {} attribute(s) changed, {} text change(s)\n",
                    o.elements_added, o.elements_removed, o.attributes_changed, o.text_changed
                ));
                const SHOWN: usize = 20;
                for l in o.locations.iter().take(SHOWN) {
                    let sign = match l.change {
                        ChangeKind::Added => '+',
                        ChangeKind::Removed => '-',
                        ChangeKind::Changed => '~',
                    };
                    let values = match (&l.old, &l.new) {
                        (Some(a), Some(b)) => format!(": '{a}' -> '{b}'"),
                        (Some(a), None) => format!(": was '{a}'"),
                        (None, Some(b)) => format!(": '{b}'"),
                        (None, None) => String::new(),
                    };
                    out.push_str(&format!("      {sign} {}{values}\n", l.xpath));
                }
                if o.locations.len() > SHOWN {
                    out.push_str(&format!(
                        "      … and {} more (see --format json)\n",
                        o.locations.len() - SHOWN
                    ));
                }
            }
        }
        out.push_str(&format!("  {unchanged} file(s) unchanged.\n"));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        let reverted = self.reverted();
        if reverted.is_empty() {
            out.push_str("No customisation in the backup was reverted.\n");
        } else {
            let files: std::collections::BTreeSet<&str> =
                reverted.iter().map(|(f, _)| *f).collect();
            // The real key when there is only one to choose (review #17).
            let (one, key) = match reverted.as_slice() {
                [(_, setting)] => ("it", setting.key.as_str()),
                _ => ("one", "KEY"),
            };
            out.push_str(&format!(
                "Reverted since the backup: {} setting(s) in {} file(s). Re-apply {one} with \
                 `cu-roll restore-config {plan} --server {} --key {key}`.\n",
                reverted.len(),
                files.len(),
                self.server
            ));
        }
        out
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

/// Text of a config file: UTF-8 (with or without a BOM), or UTF-16 with
/// its BOM (what Notepad's "Unicode" writes).
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |rest: &[u8], le: bool| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// An element's attributes and trimmed text, keyed by its location.
#[derive(Debug, Default, PartialEq)]
struct Elem {
    attrs: Vec<(String, String)>,
    text: String,
}

#[derive(Debug, Default)]
struct Doc {
    settings: IndexMap<String, String>,
    elements: IndexMap<String, Elem>,
}

fn is_app_settings(node: roxmltree::Node) -> bool {
    node.tag_name().name().eq_ignore_ascii_case("appSettings")
}

impl Doc {
    fn parse(text: &str) -> Result<Doc, String> {
        let xml = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
        let mut doc = Doc::default();
        for node in xml.descendants().filter(|n| n.is_element()) {
            if is_app_settings(node) {
                // .NET applies <clear/>, <remove key> and <add key value> in order.
                for child in node.children().filter(|n| n.is_element()) {
                    let key = child.attribute("key").map(str::to_string);
                    match (child.tag_name().name(), key) {
                        ("add", Some(k)) => {
                            doc.settings
                                .insert(k, child.attribute("value").unwrap_or("").to_string());
                        }
                        ("remove", Some(k)) => {
                            doc.settings.shift_remove(&k);
                        }
                        ("clear", _) => doc.settings.clear(),
                        _ => {}
                    }
                }
            }
            let in_settings = node.parent_element().is_some_and(is_app_settings);
            if in_settings {
                continue;
            }
            let mut location = xpath(node);
            if doc.elements.contains_key(&location) {
                let mut n = 2;
                while doc.elements.contains_key(&format!("{location}[{n}]")) {
                    n += 1;
                }
                location = format!("{location}[{n}]");
            }
            let text: String = node
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect::<String>()
                .trim()
                .to_string();
            doc.elements.insert(
                location,
                Elem {
                    attrs: node
                        .attributes()
                        .map(|a| (a.name().to_string(), a.value().to_string()))
                        .collect(),
                    text,
                },
            );
        }
        Ok(doc)
    }
}

/// A readable location: element names from the root, each qualified by
/// the attribute that identifies it among its siblings (`key`, `name`,
/// `path`, or a `dependentAssembly`'s assembly name), else by position
/// when it has same-named siblings.
fn xpath(node: roxmltree::Node) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur.filter(|n| n.is_element()) {
        let name = n.tag_name().name();
        let id = ["key", "name", "path"]
            .iter()
            .find_map(|a| n.attribute(*a).map(|v| format!("[@{a}='{v}']")))
            .or_else(|| {
                n.children()
                    .find(|c| c.has_tag_name("assemblyIdentity"))
                    .and_then(|c| c.attribute("name"))
                    .map(|v| format!("[assemblyIdentity/@name='{v}']"))
            })
            .unwrap_or_else(|| {
                let same: Vec<_> = n
                    .parent()
                    .map(|p| {
                        p.children()
                            .filter(|c| c.is_element() && c.tag_name().name() == name)
                            .collect()
                    })
                    .unwrap_or_default();
                match same.iter().position(|c| *c == n) {
                    Some(i) if same.len() > 1 => format!("[{}]", i + 1),
                    _ => String::new(),
                }
            });
        parts.push(format!("{name}{id}"));
        cur = n.parent();
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

fn diff_settings(
    old: &IndexMap<String, String>,
    new: &IndexMap<String, String>,
) -> Vec<SettingChange> {
    let mut out = Vec::new();
    for (k, v) in old {
        match new.get(k) {
            Some(n) if n == v => {}
            Some(n) => out.push(SettingChange {
                key: k.clone(),
                change: ChangeKind::Changed,
                old: Some(v.clone()),
                new: Some(n.clone()),
                reverted: true,
            }),
            None => out.push(SettingChange {
                key: k.clone(),
                change: ChangeKind::Removed,
                old: Some(v.clone()),
                new: None,
                reverted: true,
            }),
        }
    }
    for (k, v) in new.iter().filter(|(k, _)| !old.contains_key(*k)) {
        out.push(SettingChange {
            key: k.clone(),
            change: ChangeKind::Added,
            old: None,
            new: Some(v.clone()),
            reverted: false,
        });
    }
    out
}

/// The location of `location`'s parent element (empty for the root): an
/// added or removed element is listed only when its parent exists on both
/// sides, so a whole subtree shows as its top element.
fn parent_of(location: &str) -> &str {
    // Split at the last `/` outside `[...]` qualifiers.
    let mut depth = 0;
    let mut cut = 0;
    for (i, c) in location.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '/' if depth == 0 => cut = i,
            _ => {}
        }
    }
    &location[..cut]
}

fn diff_elements(old: &IndexMap<String, Elem>, new: &IndexMap<String, Elem>) -> OtherChanges {
    let mut o = OtherChanges::default();
    for (loc, a) in old {
        let Some(b) = new.get(loc) else {
            o.elements_removed += 1;
            if new.contains_key(parent_of(loc)) || parent_of(loc).is_empty() {
                o.locations.push(Location {
                    change: ChangeKind::Removed,
                    xpath: loc.clone(),
                    old: None,
                    new: None,
                });
            }
            continue;
        };
        for (name, v) in &a.attrs {
            let at = format!("{loc}/@{name}");
            match b.attrs.iter().find(|(n, _)| n == name) {
                Some((_, w)) if w == v => {}
                Some((_, w)) => {
                    o.attributes_changed += 1;
                    o.locations.push(Location {
                        change: ChangeKind::Changed,
                        xpath: at,
                        old: Some(v.clone()),
                        new: Some(w.clone()),
                    });
                }
                None => {
                    o.attributes_changed += 1;
                    o.locations.push(Location {
                        change: ChangeKind::Removed,
                        xpath: at,
                        old: Some(v.clone()),
                        new: None,
                    });
                }
            }
        }
        for (name, w) in b
            .attrs
            .iter()
            .filter(|(n, _)| !a.attrs.iter().any(|(m, _)| m == n))
        {
            o.attributes_changed += 1;
            o.locations.push(Location {
                change: ChangeKind::Added,
                xpath: format!("{loc}/@{name}"),
                old: None,
                new: Some(w.clone()),
            });
        }
        if a.text != b.text {
            o.text_changed += 1;
            o.locations.push(Location {
                change: ChangeKind::Changed,
                xpath: format!("{loc}/text()"),
                old: Some(a.text.clone()),
                new: Some(b.text.clone()),
            });
        }
    }
    for loc in new.keys().filter(|l| !old.contains_key(*l)) {
        o.elements_added += 1;
        if old.contains_key(parent_of(loc)) || parent_of(loc).is_empty() {
            o.locations.push(Location {
                change: ChangeKind::Added,
                xpath: loc.clone(),
                old: None,
                new: None,
            });
        }
    }
    o
}

#[cfg(test)]
mod tests;
