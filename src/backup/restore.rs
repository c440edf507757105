//! Putting back ONE `appSettings` value the backup had (`cu-roll
//! restore-config PLAN --server NAME --key KEY`). Never silent: `plan_restore`
//! computes the exact new file locally, changing only that one `value`
//! attribute (or adding one `<add>` line) so the rest of the file keeps
//! its bytes, and returns what would change; `apply_restore` then sends a
//! script that writes it only if the file still has the hash it had when
//! the change was computed, keeping a copy of the old file beside it.

use base64::Engine;
use serde::Deserialize;

use super::fetch::{fetch_configs, FetchOptions};
use super::{archive, drift, sha256_hex, BackupError};
use crate::exec::Executor;
use crate::plan::Server;
use crate::ps::{parse_json, Arg, Script};

/// Writes the new content if the file is unchanged since it was read; the
/// old file is kept as `<file><suffix>`. `Get-FileHash` compares as a
/// string, and `-ne` on strings is case-insensitive in PowerShell, so the
/// lower-case hash cu-roll keeps matches the upper-case one it prints.
const RESTORE: &str = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$path = {{path}}
$hash = (Get-FileHash -LiteralPath $path -Algorithm 'SHA256').Hash
if ($hash -ne {{expected}}) {
    throw "$path changed since cu-roll read it (its sha256 is now $hash); nothing was written. Run restore-config again to see the change anew."
}
$copy = $path + {{suffix}}
[System.IO.File]::WriteAllBytes($copy, [System.IO.File]::ReadAllBytes($path))
[System.IO.File]::WriteAllBytes($path, [Convert]::FromBase64String({{content}}))
ConvertTo-Json -InputObject ([pscustomobject]@{ Copy = $copy; Sha256 = (Get-FileHash -LiteralPath $path -Algorithm 'SHA256').Hash }) -Compress
"#;

/// The script writing `new_content` to `file` when its sha256 is still
/// `expected_sha256`, keeping the old file as `<file><suffix>`.
pub fn restore_app_setting_script(
    file: &str,
    expected_sha256: &str,
    suffix: &str,
    new_content: &[u8],
) -> Script {
    let content = base64::engine::general_purpose::STANDARD.encode(new_content);
    Script::render(
        "restoring an appSettings value",
        RESTORE,
        &[
            ("path", Arg::Str(file)),
            ("expected", Arg::Str(expected_sha256)),
            ("suffix", Arg::Str(suffix)),
            ("content", Arg::Str(&content)),
        ],
    )
}

/// What `apply_restore` would do, for the admin to read first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    pub server: String,
    /// The full path on the server.
    pub file: String,
    /// Relative to the install path.
    pub entry: String,
    pub key: String,
    /// The value now (`None`: the key is absent).
    pub current: Option<String>,
    /// The value the backup had, which will be written.
    pub restored: String,
    /// The file's sha256 when the change was computed (lower-case).
    pub current_sha256: String,
    /// The file's sha256 after the change.
    pub new_sha256: String,
    /// The lines that change, `-` old and `+` new.
    pub preview: String,
    /// When the new value takes effect.
    pub takes_effect: String,
    pub script: Script,
}

impl RestorePlan {
    /// The change, as shown before applying it.
    pub fn describe(&self) -> String {
        format!(
            "On {} in {}: appSettings '{}' {} -> '{}'\n{}\n{}\n",
            self.server,
            self.file,
            self.key,
            self.current
                .as_ref()
                .map_or_else(|| "(absent)".to_string(), |v| format!("'{v}'")),
            self.restored,
            self.preview,
            self.takes_effect
        )
    }
}

/// What the server said after writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    pub file: String,
    /// The copy of the file as it was before.
    pub copy: String,
    pub sha256: String,
}

/// Finds `key` in the backup `backup_zip`, compares it with the file on
/// `server` now and computes the restored file. `file` (an entry such as
/// `ClientAccess/Owa/web.config`, or a full path) picks one file when the
/// key was reverted in several.
pub fn plan_restore(
    exec: &dyn Executor,
    server: &Server,
    backup_zip: &std::path::Path,
    key: &str,
    file: Option<&str>,
    options: &FetchOptions,
) -> Result<RestorePlan, BackupError> {
    refuse_application_host(file)?;
    let backup = archive::read_archive(backup_zip)?;
    let now = fetch_configs(exec, server, options)?;
    let report = drift::drift_between(&backup, &now, backup_zip);
    let (fd, change) = reverted_setting(&report, server, backup_zip, key, file)?;
    let restored = change.old.clone().unwrap_or_default();
    let current = now
        .files
        .iter()
        .find(|f| f.meta.relative.eq_ignore_ascii_case(&fd.entry))
        .ok_or_else(|| {
            BackupError::Restore(format!(
                "{} is not on {} any more; restore the whole file from the backup by hand (docs/backup.md)",
                fd.path, server.name
            ))
        })?;
    let (new_bytes, preview) = set_app_setting(&current.bytes, key, &restored).map_err(|why| {
        BackupError::Restore(format!(
            "cannot change {} safely: {why}; edit it by hand",
            fd.path
        ))
    })?;
    let current_sha256 = sha256_hex(&current.bytes);
    let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let suffix = format!(".cu-roll-{stamp}.bak");
    let takes_effect = takes_effect(&fd.entry);
    Ok(RestorePlan {
        server: server.name.clone(),
        file: fd.path.clone(),
        entry: fd.entry.clone(),
        key: key.to_string(),
        current: change.new.clone(),
        restored,
        new_sha256: sha256_hex(&new_bytes),
        script: restore_app_setting_script(&fd.path, &current_sha256, &suffix, &new_bytes),
        current_sha256,
        preview,
        takes_effect,
    })
}

/// IIS's applicationHost.config is backed up and compared, never restored
/// by cu-roll: it holds every site, binding, application pool and module
/// of the server, setup registers Exchange's modules and (2019 CU14+)
/// Extended Protection there, and IIS applies a change to it at once to
/// every site — a value from before the CU could undo what the CU set
/// (that setup rewrites parts of it is UNVERIFIED). The admin compares
/// the backup's copy (`cu-roll drift`) and edits by hand.
fn refuse_application_host(file: Option<&str>) -> Result<(), BackupError> {
    let names_it = file.is_some_and(|f| {
        f.replace('\\', "/")
            .to_ascii_lowercase()
            .ends_with("applicationhost.config")
    });
    if names_it {
        return Err(BackupError::Restore(format!(
            "{} is backed up and compared, never restored by cu-roll: it holds every IIS site, binding and module, and the CU may have changed it on purpose; compare it with the backup's copy (`cu-roll drift PLAN`) and edit it by hand (docs/backup.md)",
            super::fetch::APPLICATION_HOST_ENTRY
        )));
    }
    Ok(())
}

/// The one reverted setting `key` of the drift `report`, in the file
/// `file` when given: an error when there is none, or several to choose
/// from.
fn reverted_setting<'r>(
    report: &'r drift::DriftReport,
    server: &Server,
    backup_zip: &std::path::Path,
    key: &str,
    file: Option<&str>,
) -> Result<(&'r drift::FileDrift, &'r drift::SettingChange), BackupError> {
    let wanted = |entry: &str, path: &str| {
        file.is_none_or(|f| {
            let f = f.replace('\\', "/");
            entry.eq_ignore_ascii_case(&f) || path.replace('\\', "/").eq_ignore_ascii_case(&f)
        })
    };
    let hits: Vec<(&drift::FileDrift, &drift::SettingChange)> = report
        .files
        .iter()
        .filter(|f| wanted(&f.entry, &f.path))
        .flat_map(|f| f.app_settings.iter().map(move |s| (f, s)))
        .filter(|(_, s)| s.reverted && s.key == key)
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => {
            Err(BackupError::Restore(format!(
                "appSettings key '{key}' was not reverted on {}{} since the backup {}: nothing to restore \
                 (`cu-roll drift PLAN` lists what was)",
                server.name,
                file.map(|f| format!(" in {f}")).unwrap_or_default(),
                backup_zip.display()
            )))
        }
        many => {
            let files: Vec<&str> = many.iter().map(|(f, _)| f.entry.as_str()).collect();
            Err(BackupError::Restore(format!(
                "appSettings key '{key}' was reverted in {} files on {} ({}); name one with --file",
                many.len(),
                server.name,
                files.join(", ")
            )))
        }
    }
}

/// What makes the restored value take effect, for the file `entry`.
fn takes_effect(entry: &str) -> String {
    if entry.to_ascii_lowercase().ends_with(".exe.config") {
        let service = entry
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".exe.config");
        format!(
            "The service reads its .exe.config at start: restart it ({}) for the value to take effect.",
            if service.eq_ignore_ascii_case("EdgeTransport") {
                "MSExchangeTransport"
            } else {
                service
            }
        )
    } else {
        "IIS notices the changed web.config and restarts that application by itself.".to_string()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Written {
    copy: String,
    sha256: String,
}

/// Sends the plan's script and checks the file now has the planned hash.
pub fn apply_restore(
    exec: &dyn Executor,
    server: &Server,
    plan: &RestorePlan,
) -> Result<RestoreOutcome, BackupError> {
    let out = exec.run_ps(server, plan.script.text())?;
    if !out.success() {
        return Err(BackupError::Script {
            what: plan.script.purpose,
            server: server.name.clone(),
            exit_code: out.exit_code,
            detail: crate::exchange::first_error_line(&out.stderr),
        });
    }
    let w: Written = parse_json(&out.stdout).map_err(|e| BackupError::BadOutput {
        what: plan.script.purpose,
        server: server.name.clone(),
        detail: e.to_string(),
    })?;
    if !w.sha256.eq_ignore_ascii_case(&plan.new_sha256) {
        return Err(BackupError::Restore(format!(
            "{} on {} hashes to {} after writing, not the planned {}; the old file is kept as {}",
            plan.file, server.name, w.sha256, plan.new_sha256, w.copy
        )));
    }
    Ok(RestoreOutcome {
        file: plan.file.clone(),
        copy: w.copy,
        sha256: w.sha256.to_ascii_lowercase(),
    })
}

fn xml_attr(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The line of `text` holding byte `at`.
fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[start..end].trim_end_matches('\r')
}

/// `bytes` with `key`'s value set to `value` in the `appSettings` that
/// decides it, changing nothing else; and the preview of the change.
/// Refuses what it cannot do without guessing: UTF-16 files, no
/// `appSettings` element, a self-closing one, a key removed by `<remove>`.
pub(crate) fn set_app_setting(
    bytes: &[u8],
    key: &str,
    value: &str,
) -> Result<(Vec<u8>, String), String> {
    let (bom, body) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (&bytes[..3], rest),
        None => (&bytes[..0], bytes),
    };
    let text = std::str::from_utf8(body).map_err(|_| "the file is not UTF-8".to_string())?;
    let doc =
        roxmltree::Document::parse(text).map_err(|e| format!("it is not well-formed XML ({e})"))?;
    let sections: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name().eq_ignore_ascii_case("appSettings"))
        .collect();
    let Some(section) = sections.first() else {
        return Err("it has no appSettings section".into());
    };
    if sections.len() > 1 {
        return Err("it has more than one appSettings section".into());
    }
    let children: Vec<roxmltree::Node> = section.children().filter(|n| n.is_element()).collect();
    if children
        .iter()
        .any(|c| c.tag_name().name() == "remove" && c.attribute("key") == Some(key))
    {
        return Err(format!(
            "a <remove key=\"{key}\"> in it would need editing too"
        ));
    }
    let last_add = children
        .iter()
        .rev()
        .find(|c| c.tag_name().name() == "add" && c.attribute("key") == Some(key));
    let mut out = String::with_capacity(text.len() + 64);
    let preview = match last_add {
        Some(node) => replace_value(text, *node, value, &mut out)?,
        None => insert_add(text, *section, &children, key, value, &mut out)?,
    };
    // The edit must mean exactly what was asked: parse it back.
    let check = drift::diff_file("", "", Some(body), Some(out.as_bytes()));
    let expected_only_key = check.app_settings.len() == 1
        && check.app_settings[0].key == key
        && check.app_settings[0].new.as_deref() == Some(value)
        && check.other.is_empty();
    if !expected_only_key {
        return Err("the edited file would not read back as exactly that one change".into());
    }
    let mut bytes_out = bom.to_vec();
    bytes_out.extend_from_slice(out.as_bytes());
    Ok((bytes_out, preview))
}

/// Replaces (or adds) the `value` attribute of `node`, the key's last
/// `<add>`, writing the edited `text` into `out`; returns the preview.
fn replace_value(
    text: &str,
    node: roxmltree::Node,
    value: &str,
    out: &mut String,
) -> Result<String, String> {
    let old_line = line_at(text, node.range().start).to_string();
    match node.attributes().find(|a| a.name() == "value") {
        Some(attr) => {
            let r = attr.range_value();
            out.push_str(&text[..r.start]);
            out.push_str(&xml_attr(value));
            out.push_str(&text[r.end..]);
        }
        None => {
            // `<add key="K" />`: add the attribute after the key.
            let r = node
                .attributes()
                .find(|a| a.name() == "key")
                .map(|a| a.range())
                .ok_or("its <add> has no key attribute")?;
            out.push_str(&text[..r.end]);
            out.push_str(&format!(" value=\"{}\"", xml_attr(value)));
            out.push_str(&text[r.end..]);
        }
    }
    let new_line = line_at(out, node.range().start).to_string();
    Ok(format!("- {}\n+ {}", old_line.trim(), new_line.trim()))
}

/// Adds `<add key value />` as the last child of `section` (whose element
/// children are `children`), writing the edited `text` into `out`; returns
/// the preview.
fn insert_add(
    text: &str,
    section: roxmltree::Node,
    children: &[roxmltree::Node],
    key: &str,
    value: &str,
    out: &mut String,
) -> Result<String, String> {
    let range = section.range();
    let element = &text[range.clone()];
    if element.trim_end().ends_with("/>") {
        return Err("its appSettings element is empty and self-closing".into());
    }
    let close = range.start
        + element
            .rfind("</")
            .ok_or("its appSettings element has no closing tag")?;
    // Indent like the last child, on its own line before the closing tag.
    let indent = children
        .last()
        .map(|c| {
            let l = line_at(text, c.range().start);
            l[..l.len() - l.trim_start().len()].to_string()
        })
        .unwrap_or_else(|| "    ".to_string());
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let line_start = text[..close].rfind('\n').map_or(0, |i| i + 1);
    let own_line = text[line_start..close].trim().is_empty();
    let insert_at = if own_line { line_start } else { close };
    let added = format!(
        "<add key=\"{}\" value=\"{}\" />",
        xml_attr(key),
        xml_attr(value)
    );
    out.push_str(&text[..insert_at]);
    if own_line {
        out.push_str(&format!("{indent}{added}{newline}"));
    } else {
        out.push_str(&added);
    }
    out.push_str(&text[insert_at..]);
    Ok(format!("+ {added}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <appSettings>\r\n    <add key=\"owa.ClientLogging\" value=\"true\" />\r\n    <add key=\"LogonTimeout\" value=\"480\" />\r\n  </appSettings>\r\n</configuration>\r\n";

    #[test]
    fn a_changed_value_is_replaced_in_place() {
        let (out, preview) = set_app_setting(FILE.as_bytes(), "LogonTimeout", "720").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            FILE.replace("value=\"480\"", "value=\"720\"")
        );
        assert_eq!(
            preview,
            "- <add key=\"LogonTimeout\" value=\"480\" />\n+ <add key=\"LogonTimeout\" value=\"720\" />"
        );
    }

    #[test]
    fn a_lost_key_is_added_on_its_own_line_with_the_same_indent() {
        let (out, preview) =
            set_app_setting(FILE.as_bytes(), "BackEndProxyTimeout", "00:05:00").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(
            "    <add key=\"LogonTimeout\" value=\"480\" />\r\n    <add key=\"BackEndProxyTimeout\" value=\"00:05:00\" />\r\n  </appSettings>"
        ), "{text}");
        assert_eq!(
            preview,
            "+ <add key=\"BackEndProxyTimeout\" value=\"00:05:00\" />"
        );
    }

    #[test]
    fn values_are_escaped_and_a_bom_is_kept() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(FILE.as_bytes());
        let (out, _) = set_app_setting(&bytes, "LogonTimeout", "a\"b<&").unwrap();
        assert!(out.starts_with(&[0xEF, 0xBB, 0xBF]));
        assert!(String::from_utf8_lossy(&out).contains("value=\"a&quot;b&lt;&amp;\""));
    }

    #[test]
    fn what_cannot_be_done_safely_is_refused() {
        assert!(set_app_setting(b"<configuration/>", "K", "V")
            .unwrap_err()
            .contains("no appSettings"));
        assert!(
            set_app_setting(b"<configuration><appSettings/></configuration>", "K", "V")
                .unwrap_err()
                .contains("self-closing")
        );
        assert!(set_app_setting(
            b"<configuration><appSettings><remove key=\"K\"/></appSettings></configuration>",
            "K",
            "V"
        )
        .unwrap_err()
        .contains("<remove"));
    }

    #[test]
    fn the_script_checks_the_hash_before_writing() {
        let s = restore_app_setting_script(r"C:\V15\web.config", "ab12", ".cu-roll-x.bak", b"<c/>");
        let t = s.text();
        let check = t.find("if ($hash -ne 'ab12')").unwrap();
        let write = t.find("WriteAllBytes($path").unwrap();
        assert!(check < write);
        assert!(t.contains("FromBase64String('PGMvPg==')"));
    }
}
