//! Reads a config file for the drift report: its text (UTF-8 or UTF-16
//! by BOM), its effective `appSettings` (`<add>`, `<remove>`, `<clear>` in
//! order, as .NET applies them) and every other element keyed by a readable
//! XPath-like location. Parsing only; comparing is `compare`'s.

use indexmap::IndexMap;

/// Text of a config file: UTF-8 (with or without a BOM), or UTF-16 with
/// its BOM (what Notepad's "Unicode" writes).
pub(super) fn decode(bytes: &[u8]) -> String {
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
pub(super) struct Elem {
    pub(super) attrs: Vec<(String, String)>,
    pub(super) text: String,
}

#[derive(Debug, Default)]
pub(super) struct Doc {
    pub(super) settings: IndexMap<String, String>,
    pub(super) elements: IndexMap<String, Elem>,
}

fn is_app_settings(node: roxmltree::Node) -> bool {
    node.tag_name().name().eq_ignore_ascii_case("appSettings")
}

impl Doc {
    pub(super) fn parse(text: &str) -> Result<Doc, String> {
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
