//! File-system cmdlets that change or hash files on a lab server:
//! New-Item (directories and files), Remove-Item, Set-Content and
//! Get-FileHash, over the world's file API (`filestore.rs`). Errors use
//! Windows PowerShell 5.1's wording and ids.

use super::{missing_mandatory, string_list, Answer};
use crate::filestore::FileError;
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::convert::to_ps_string;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::registry::{is_registry_path, normalize_file_path};

const NEW_ITEM: CmdletSpec = CmdletSpec {
    name: "New-Item",
    params: &[
        positional("Path", 0),
        value("Name"),
        value("ItemType"),
        value("Value"),
        switch("Force"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const GET_ACL: CmdletSpec = CmdletSpec {
    name: "Get-Acl",
    params: &[positional("Path", 0), value("LiteralPath")],
    should_process: None,
};
const REMOVE_ITEM: CmdletSpec = CmdletSpec {
    name: "Remove-Item",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        switch("Force"),
        switch("Recurse"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const SET_CONTENT: CmdletSpec = CmdletSpec {
    name: "Set-Content",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        positional("Value", 1),
        value("Encoding"),
        switch("Force"),
        switch("NoNewline"),
        switch("PassThru"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};
const GET_FILE_HASH: CmdletSpec = CmdletSpec {
    name: "Get-FileHash",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        value("Algorithm"),
    ],
    should_process: None,
};

/// `-Encoding` names Set-Content accepts in 5.1 (FileSystemCmdletProviderEncoding).
const ENCODINGS: &[&str] = &[
    "Unknown",
    "String",
    "Unicode",
    "Byte",
    "BigEndianUnicode",
    "UTF8",
    "UTF7",
    "UTF32",
    "Ascii",
    "Default",
    "Oem",
    "BigEndianUTF32",
];

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "new-item" | "ni" => new_item(host, args),
        "remove-item" | "del" | "erase" | "rd" | "ri" | "rm" | "rmdir" => remove_item(host, args),
        "set-content" | "sc" => set_content(host, args),
        "get-filehash" => get_file_hash(host, args),
        "get-acl" => get_acl(host, args),
        "icacls" | "icacls.exe" => icacls(host, args),
        _ => return None,
    })
}

fn class(cmd: &str) -> String {
    format!("{}Command", cmd.replace('-', ""))
}

fn not_found(cmd: &str, id: &str, path: &str) -> PsError {
    PsError::new(
        ErrorCategory::ObjectNotFound,
        &format!("{id},Microsoft.PowerShell.Commands.{}", class(cmd)),
        format!("Cannot find path '{path}' because it does not exist."),
    )
    .in_command(cmd)
}

fn file_error(cmd: &str, e: &FileError) -> PsError {
    let (cat, id) = match e {
        FileError::DirectoryNotFound(_) => (
            ErrorCategory::ObjectNotFound,
            "GetContentWriterDirectoryNotFoundError",
        ),
        FileError::AccessDenied(_) => (
            ErrorCategory::PermissionDenied,
            "RemoveFileSystemItemUnAuthorizedAccess",
        ),
    };
    PsError::new(
        cat,
        &format!("{id},Microsoft.PowerShell.Commands.{}", class(cmd)),
        e.to_string(),
    )
    .in_command(cmd)
}

fn directory_object(full: &str) -> Value {
    let name = full.rsplit('\\').next().unwrap_or_default().to_string();
    PsObject::new("System.IO.DirectoryInfo")
        .with("Name", name)
        .with("FullName", full)
        .with("Exists", true)
        .display(full)
        .into()
}

fn refuse_registry(cmd: &str, path: &str) -> PsError {
    PsError::new(
        ErrorCategory::NotImplemented,
        &format!("NotSupported,Microsoft.PowerShell.Commands.{}", class(cmd)),
        format!("The lab does not change the registry through {cmd} ('{path}'); registry state follows the world."),
    )
    .in_command(cmd)
    .terminating()
}

/// The text a `-Value` writes: one line per element, each ending in CRLF
/// (5.1 Set-Content), or without the final newline under `-NoNewline`.
fn content_text(v: &Value, no_newline: bool) -> String {
    let lines: Vec<String> = match v {
        Value::Array(a) => a.iter().map(to_ps_string).collect(),
        Value::Null => Vec::new(),
        other => vec![to_ps_string(other)],
    };
    if no_newline {
        lines.concat()
    } else {
        lines.iter().map(|l| format!("{l}\r\n")).collect()
    }
}

/// `Get-Acl` of a folder: its `Sddl` (owner, group and access entries),
/// `Path`, `Owner` and `Group` (`acl.rs`). Files and the registry are not
/// modelled.
fn get_acl(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Get-Acl";
    let b = bind(&GET_ACL, args)?;
    let path = b
        .string("LiteralPath")
        .or_else(|| b.string("Path"))
        .ok_or_else(|| missing_mandatory(cmd, &["Path"]))?;
    let full = normalize_file_path(&path);
    let Some(sddl) = host.world.folder_sddl(host.server, &full) else {
        return Err(not_found(cmd, "GetAcl_PathNotFound_Exception", &full).terminating());
    };
    Ok(vec![PsObject::new(
        "System.Security.AccessControl.DirectorySecurity",
    )
    .with(
        "Path",
        format!("Microsoft.PowerShell.Core\\FileSystem::{full}"),
    )
    .with("Owner", "BUILTIN\\Administrators")
    .with("Group", "NT AUTHORITY\\SYSTEM")
    .with("Sddl", sddl)
    .display(full)
    .into()])
}

/// `icacls.exe <folder> …` run from PowerShell (`acl.rs` has what the lab
/// understands): its output lines, or its error as a non-terminating
/// error record.
fn icacls(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let words: Vec<String> = args
        .iter()
        .map(|a| match a {
            Argument::Positional(v) => to_ps_string(v),
            Argument::Named { name, value } => match value {
                Some(v) => format!("-{name}:{}", to_ps_string(v)),
                None => format!("-{name}"),
            },
        })
        .collect();
    match host.world.icacls(host.server, &words) {
        Ok(out) => Ok(out.lines().map(Value::str).collect()),
        Err(e) => {
            host.write_error(PsError::new(
                ErrorCategory::NotSpecified,
                "NativeCommandError",
                e,
            ));
            Ok(Vec::new())
        }
    }
}

fn new_item(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "New-Item";
    let b = bind(&NEW_ITEM, args)?;
    let base = b
        .string("Path")
        .ok_or_else(|| missing_mandatory(cmd, &["Path"]))?;
    let full = match b.string("Name") {
        Some(n) => normalize_file_path(&format!("{base}\\{n}")),
        None => normalize_file_path(&base),
    };
    if is_registry_path(&full) {
        return Err(refuse_registry(cmd, &full));
    }
    let kind = b.string("ItemType").unwrap_or_else(|| "File".to_string());
    let (i, now) = (host.server, host.now_ms);
    match kind.to_ascii_lowercase().as_str() {
        "directory" => {
            if host.world.directory_exists(i, &full) && !b.switch("Force") {
                return Err(PsError::new(
                    ErrorCategory::ResourceExists,
                    "DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand",
                    format!("An item with the specified name {full} already exists."),
                )
                .in_command(cmd));
            }
            host.world
                .create_directory(i, &full)
                .map_err(|e| file_error(cmd, &e).terminating())?;
            Ok(vec![directory_object(&full)])
        }
        "file" => {
            if host.world.file(i, &full).is_some() && !b.switch("Force") {
                return Err(PsError::new(
                    ErrorCategory::WriteError,
                    "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand",
                    format!("The file '{full}' already exists."),
                )
                .in_command(cmd));
            }
            let text = b.get("Value").map(to_ps_string).unwrap_or_default();
            host.world
                .write_file(i, &full, &text, false, now)
                .map_err(|e| file_error(cmd, &e).terminating())?;
            let f = host.world.file(i, &full);
            Ok(f.iter().map(super::provider::file_object).collect())
        }
        other => Err(PsError::new(
            ErrorCategory::InvalidArgument,
            "NotSupported,Microsoft.PowerShell.Commands.NewItemCommand",
            format!("The type is not a known type for the file system. Only \"file\" and \"directory\" can be created. ('{other}')"),
        )
        .in_command(cmd)
        .terminating()),
    }
}

fn remove_item(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Remove-Item";
    let b = bind(&REMOVE_ITEM, args)?;
    let paths = b
        .get("LiteralPath")
        .or_else(|| b.get("Path"))
        .map(string_list)
        .ok_or_else(|| missing_mandatory(cmd, &["Path"]))?;
    if b.what_if {
        return Ok(Vec::new());
    }
    for path in paths {
        if is_registry_path(&path) {
            return Err(refuse_registry(cmd, &path));
        }
        match host.world.remove_file(host.server, &path) {
            Ok(true) => {}
            Ok(false) => host.write_error(not_found(cmd, "PathNotFound", &path)),
            Err(e) => host.write_error(file_error(cmd, &e)),
        }
    }
    Ok(Vec::new())
}

fn set_content(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Set-Content";
    let b = bind(&SET_CONTENT, args)?;
    let path = b
        .string("LiteralPath")
        .or_else(|| b.string("Path"))
        .ok_or_else(|| missing_mandatory(cmd, &["Path"]))?;
    if let Some(enc) = b.string("Encoding") {
        if !ENCODINGS.iter().any(|e| e.eq_ignore_ascii_case(&enc)) {
            return Err(PsError::new(
                ErrorCategory::InvalidArgument,
                "CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.SetContentCommand",
                format!(
                    "Cannot bind parameter 'Encoding'. Cannot convert value \"{enc}\" to type \
                     \"Microsoft.PowerShell.Commands.FileSystemCmdletProviderEncoding\". Error: \"Unable to match the \
                     identifier name {enc} to a valid enumerator name. Specify one of the following enumerator names \
                     and try again:\r\n{}\"",
                    ENCODINGS.join(", ")
                ),
            )
            .in_command(cmd)
            .terminating());
        }
    }
    if is_registry_path(&path) {
        return Err(refuse_registry(cmd, &path));
    }
    let text = content_text(
        b.get("Value").unwrap_or(&Value::Null),
        b.switch("NoNewline"),
    );
    if b.what_if {
        return Ok(Vec::new());
    }
    let (i, now) = (host.server, host.now_ms);
    if let Err(e) = host.world.write_file(i, &path, &text, false, now) {
        host.write_error(file_error(cmd, &e));
        return Ok(Vec::new());
    }
    Ok(if b.switch("PassThru") {
        vec![Value::str(text)]
    } else {
        Vec::new()
    })
}

fn get_file_hash(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let cmd = "Get-FileHash";
    let b = bind(&GET_FILE_HASH, args)?;
    let paths = b
        .get("LiteralPath")
        .or_else(|| b.get("Path"))
        .map(string_list)
        .ok_or_else(|| missing_mandatory(cmd, &["Path"]))?;
    let algorithm = b
        .string("Algorithm")
        .unwrap_or_else(|| "SHA256".to_string())
        .to_ascii_uppercase();
    const ALGORITHMS: &[&str] = &[
        "SHA1",
        "SHA256",
        "SHA384",
        "SHA512",
        "MACTRIPLEDES",
        "MD5",
        "RIPEMD160",
    ];
    if !ALGORITHMS.contains(&algorithm.as_str()) {
        return Err(PsError::new(
            ErrorCategory::InvalidData,
            "ParameterArgumentValidationError,Microsoft.PowerShell.Commands.GetFileHashCommand",
            format!(
                "Cannot validate argument on parameter 'Algorithm'. The argument \"{algorithm}\" does not belong to \
                 the set \"SHA1,SHA256,SHA384,SHA512,MACTripleDES,MD5,RIPEMD160\" specified by the ValidateSet \
                 attribute. Supply an argument that is in the set and then try the command again."
            ),
        )
        .in_command(cmd)
        .terminating());
    }
    if algorithm != "SHA256" {
        return Err(PsError::new(
            ErrorCategory::NotImplemented,
            "NotSupported,Microsoft.PowerShell.Commands.GetFileHashCommand",
            format!("The lab computes SHA256 only; -Algorithm {algorithm} is not simulated."),
        )
        .in_command(cmd)
        .terminating());
    }
    let mut out = Vec::new();
    for path in paths {
        let Some(f) = host.world.file(host.server, &path) else {
            host.write_error(not_found(cmd, "FileNotFound", &path));
            continue;
        };
        let hash = host
            .world
            .file_sha256(host.server, &path)
            .unwrap_or_default();
        out.push(
            PsObject::new("Microsoft.Powershell.Utility.FileHash")
                .with("Algorithm", "SHA256")
                .with("Hash", hash)
                .with("Path", f.full_name.clone())
                .into(),
        );
    }
    Ok(out)
}
