//! The file-system commands a backup needs on a lab server, over the
//! files `registry.rs` lists: Get-ChildItem on a folder (with `-Recurse`,
//! `-Filter`, `-File`, `-Directory`), and the byte access
//! behind `[System.IO.File]::ReadAllBytes` / `WriteAllBytes`. Registry
//! paths stay with `provider.rs`; outputs and errors follow Windows
//! PowerShell 5.1 (FileInfo/DirectoryInfo objects, the
//! `Microsoft.Powershell.Utility.FileHash` object, upper-case hex).

use super::wildcard;
use crate::host::ServerHost;
use crate::pwsh::host::{Bound, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::registry;

/// The folders that exist on the server: every ancestor of a modelled file.
fn directories(host: &ServerHost) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for f in host.world.files(host.server) {
        let mut p = f.full_name.as_str();
        while let Some((parent, _)) = p.rsplit_once('\\') {
            if parent.len() <= 2 {
                break;
            }
            if !dirs.iter().any(|d| d.eq_ignore_ascii_case(parent)) {
                dirs.push(parent.to_string());
            }
            p = parent;
        }
    }
    dirs.sort_by_key(|d| d.to_ascii_lowercase());
    dirs
}

fn directory_object(full: &str) -> Value {
    let (parent, name) = full.rsplit_once('\\').unwrap_or(("", full));
    PsObject::new("System.IO.DirectoryInfo")
        .with("Name", name)
        .with("FullName", full)
        .with("Parent", parent)
        .with("Exists", true)
        .with(
            "PSPath",
            format!(r"Microsoft.PowerShell.Core\FileSystem::{full}"),
        )
        .with("PSIsContainer", true)
        .display(name)
        .into()
}

/// Get-ChildItem on a file-system folder. As the FileSystem provider
/// does, each folder lists its subfolders then its files (by name), and
/// `-Recurse` then descends into each subfolder in turn; `-Filter` matches
/// names only.
pub(crate) fn get_child_items(host: &mut ServerHost, path: &str, b: &Bound) -> Vec<Value> {
    let root = registry::normalize_file_path(path);
    if !host.world.directory_exists(host.server, &root) {
        // A file path lists the file itself.
        if let Some(f) = host.world.file(host.server, &root) {
            return vec![super::provider::file_object(&f)];
        }
        host.write_error(
            PsError::new(
                ErrorCategory::ObjectNotFound,
                "PathNotFound,Microsoft.PowerShell.Commands.GetChildItemCommand",
                format!("Cannot find path '{path}' because it does not exist."),
            )
            .in_command("Get-ChildItem"),
        );
        return Vec::new();
    }
    let filter = b.string("Filter");
    let (only_files, only_dirs) = (b.switch("File"), b.switch("Directory"));
    let matches = |name: &str| filter.as_deref().is_none_or(|f| wildcard(f, name));
    let dirs = directories(host);
    let mut files = host.world.files(host.server);
    files.sort_by_key(|f| f.full_name.to_ascii_lowercase());
    let mut out = Vec::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        let children = |full: &str| {
            full.rsplit_once('\\')
                .is_some_and(|(parent, _)| parent.eq_ignore_ascii_case(&dir))
        };
        let subdirs: Vec<&String> = dirs.iter().filter(|d| children(d)).collect();
        if !only_files {
            for d in &subdirs {
                if matches(d.rsplit('\\').next().unwrap_or_default()) {
                    out.push(directory_object(d));
                }
            }
        }
        if !only_dirs {
            for f in files.iter().filter(|f| children(&f.full_name)) {
                if matches(f.full_name.rsplit('\\').next().unwrap_or_default()) {
                    out.push(super::provider::file_object(f));
                }
            }
        }
        if b.switch("Recurse") {
            pending.extend(subdirs.into_iter().rev().cloned());
        }
    }
    out
}

/// `[System.IO.File]::ReadAllBytes` on this server.
pub(crate) fn read_bytes(host: &ServerHost, path: &str) -> Result<Vec<u8>, String> {
    match host.world.file(host.server, path) {
        Some(f) => Ok(f.content.into_bytes()),
        None if host.world.directory_exists(host.server, path) => {
            Err(format!("Access to the path '{path}' is denied."))
        }
        None => Err(format!("Could not find file '{path}'.")),
    }
}

/// `[System.IO.File]::WriteAllBytes` on this server: the lab keeps text
/// files only, so the bytes must be UTF-8.
pub(crate) fn write_bytes(host: &mut ServerHost, path: &str, bytes: &[u8]) -> Result<(), String> {
    let full = registry::normalize_file_path(path);
    let parent = full.rsplit_once('\\').map_or("", |(p, _)| p);
    if !host.world.directory_exists(host.server, parent) {
        return Err(format!("Could not find a part of the path '{path}'."));
    }
    let existing = host.world.file(host.server, &full);
    if existing.as_ref().is_some_and(|f| f.binary.is_some()) {
        return Err(format!(
            "The process cannot access the file '{path}' because it is being used by another process."
        ));
    }
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| format!("The lab stores text files only; '{path}' would not be UTF-8."))?;
    let name = existing.map_or(full, |f| f.full_name);
    let index = host.server;
    let now = host.now_ms;
    // Config files are world state a CU rewrites; anything else goes to
    // the general file store.
    if host
        .this()
        .config_files
        .iter()
        .any(|c| c.full_name.eq_ignore_ascii_case(&name))
    {
        host.world.write_config_file(index, &name, text);
        Ok(())
    } else {
        host.world
            .write_file(index, &name, &text, false, now)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use crate::pwsh::ScriptOutput;
    use crate::{ServerHost, World};

    const IP: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\";

    fn world() -> World {
        World::from_spec(
            &crate::testkit::three_member_spec(),
            "DAG01",
            1_770_000_000_000,
        )
    }

    fn run(world: &mut World, script: &str) -> ScriptOutput {
        let mut host = ServerHost::new(world, "EX02", 1_770_000_000_000).unwrap();
        crate::pwsh::run(script, &mut host)
    }

    #[test]
    fn get_child_item_recurses_filters_and_keeps_files_only() {
        let mut w = world();
        let out = run(
            &mut w,
            &format!(
                "(Get-ChildItem -LiteralPath '{IP}FrontEnd\\HttpProxy' -Recurse -Filter 'web.config' -File).FullName"
            ),
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 9, "{}", out.stdout);
        assert!(lines[0].ends_with(r"HttpProxy\autodiscover\web.config"));
        let dirs = run(
            &mut w,
            &format!("(Get-ChildItem -Path '{IP}ClientAccess' -Directory).Name"),
        );
        assert!(
            dirs.stdout.lines().any(|l| l == "exchweb"),
            "{}",
            dirs.stdout
        );
        assert!(!dirs.stdout.contains("SharedWebConfig"));
        let missing = run(&mut w, r"Get-ChildItem -Path 'C:\Nowhere' -Recurse");
        assert!(missing
            .stderr
            .contains("Cannot find path 'C:\\Nowhere' because it does not exist."));
    }

    #[test]
    fn get_file_hash_prints_upper_case_sha256_as_5_1_does() {
        let mut w = world();
        let path = format!(r"{IP}Bin\EdgeTransport.exe.config");
        let out = run(
            &mut w,
            &format!("Get-FileHash -LiteralPath '{path}' | ConvertTo-Json -Compress"),
        );
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["Algorithm"], "SHA256");
        let hash = v["Hash"].as_str().unwrap();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, hash.to_ascii_uppercase());
        assert_eq!(v["Path"], path.as_str());
        let bad = run(
            &mut w,
            &format!("Get-FileHash -Path '{path}' -Algorithm 'SHA-256'"),
        );
        assert!(
            bad.stderr.contains("does not belong to the set"),
            "{}",
            bad.stderr
        );
        let gone = run(&mut w, r"Get-FileHash -Path 'C:\gone.config'");
        assert!(gone.stderr.contains("Cannot find path 'C:\\gone.config'"));
    }

    #[test]
    fn bytes_round_trip_through_base64_and_write_all_bytes() {
        let mut w = world();
        let path = format!(r"{IP}ClientAccess\Owa\web.config");
        let out = run(
            &mut w,
            &format!(
                "$b = [System.IO.File]::ReadAllBytes('{path}')\n\
                 [System.IO.File]::WriteAllBytes('{path}.bak', [Convert]::FromBase64String([Convert]::ToBase64String($b)))\n\
                 (Get-FileHash -LiteralPath '{path}').Hash -eq (Get-FileHash -LiteralPath '{path}.bak').Hash\n\
                 [Convert]::ToBase64String($b, 0, 5)"
            ),
        );
        assert_eq!(out.stdout, "True\r\nPD94bWw=\r\n", "{}", out.stderr);
        let missing = run(&mut w, r"[System.IO.File]::ReadAllBytes('C:\x\y.config')");
        assert!(missing.stderr.contains(
            "Exception calling \"ReadAllBytes\" with \"1\" argument(s): \"Could not find file 'C:\\x\\y.config'.\""
        ), "{}", missing.stderr);
        let range = run(&mut w, "[Convert]::ToBase64String(@(1,2,3), 2, 5)");
        assert!(
            range.stderr.contains("Offset and length"),
            "{}",
            range.stderr
        );
        let nowhere = run(
            &mut w,
            r"[System.IO.File]::WriteAllBytes('C:\Nowhere\a.txt', @(65))",
        );
        assert!(nowhere.stderr.contains("Could not find a part of the path"));
    }

    #[test]
    fn setup_reverting_customisations_rewrites_the_owa_web_config() {
        let mut w = world();
        let read = |w: &mut World| {
            run(
                w,
                &format!(r"Get-Content -Raw -Path '{IP}ClientAccess\Owa\web.config'"),
            )
            .stdout
        };
        assert!(read(&mut w).contains("BackEndProxyTimeout"));
        w.now_ms += 60_000;
        w.revert_customisations("EX02");
        assert!(!read(&mut w).contains("BackEndProxyTimeout"));
        let when = run(
            &mut w,
            &format!(
                r"(Get-Item -LiteralPath '{IP}Bin\EdgeTransport.exe.config').LastWriteTimeUtc.ToString('o')"
            ),
        );
        assert!(
            when.stdout.starts_with("2026-02-02T02:41:00"),
            "{}",
            when.stdout
        );
    }
}
