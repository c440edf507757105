//! Diffs two read config files for the drift report: `appSettings` key by
//! key (a key the backup had that changed or is gone is *reverted*), and
//! every other element's attributes and text, with locations. No parsing,
//! no rendering.

use indexmap::IndexMap;

use super::xml::Elem;
use super::{ChangeKind, Location, OtherChanges, SettingChange};

pub(super) fn diff_settings(
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

pub(super) fn diff_elements(
    old: &IndexMap<String, Elem>,
    new: &IndexMap<String, Elem>,
) -> OtherChanges {
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
