//! The registry and file-system providers on a lab server: Get-ItemProperty,
//! Get-ItemPropertyValue, Test-Path, Get-Item, Get-ChildItem, Get-Content
//! and Get-Command for ExSetup.exe, over the read-only views in
//! `registry.rs`. Errors use Windows PowerShell 5.1's wording and ids.

use super::{missing_mandatory, string_list, wildcard, Answer};
use crate::build::ExchangeBuild;
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::convert::to_ps_string;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
use crate::registry::{self, RegKey, RegValue};

const PATH_PARAMS: &[crate::pwsh::host::ParamSpec] = &[
    positional("Path", 0),
    value("LiteralPath"),
    positional("Name", 1),
];
const GET_ITEM_PROPERTY: CmdletSpec = CmdletSpec {
    name: "Get-ItemProperty",
    params: PATH_PARAMS,
    should_process: None,
};
const GET_ITEM_PROPERTY_VALUE: CmdletSpec = CmdletSpec {
    name: "Get-ItemPropertyValue",
    params: PATH_PARAMS,
    should_process: None,
};
const TEST_PATH: CmdletSpec = CmdletSpec {
    name: "Test-Path",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        value("PathType"),
        switch("IsValid"),
    ],
    should_process: None,
};
const GET_ITEM: CmdletSpec = CmdletSpec {
    name: "Get-Item",
    params: &[positional("Path", 0), value("LiteralPath"), switch("Force")],
    should_process: None,
};
const GET_CHILD_ITEM: CmdletSpec = CmdletSpec {
    name: "Get-ChildItem",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        switch("Recurse"),
        positional("Filter", 1),
        switch("Force"),
        switch("File"),
        switch("Directory"),
    ],
    should_process: None,
};
const GET_CONTENT: CmdletSpec = CmdletSpec {
    name: "Get-Content",
    params: &[
        positional("Path", 0),
        value("LiteralPath"),
        switch("Raw"),
        value("Tail"),
        value("TotalCount"),
        value("Encoding"),
    ],
    should_process: None,
};
const GET_COMMAND: CmdletSpec = CmdletSpec {
    name: "Get-Command",
    params: &[positional("Name", 0), value("CommandType"), value("Module")],
    should_process: None,
};

pub(crate) fn dispatch(
    host: &mut ServerHost,
    lname: &str,
    args: &[Argument],
    input: &[Value],
) -> Answer {
    Some(match lname {
        "get-itemproperty" | "gp" => get_item_property(host, args, input, false),
        "get-itempropertyvalue" | "gpv" => get_item_property(host, args, input, true),
        "test-path" => test_path(host, args),
        "get-item" | "gi" => get_item(host, args),
        "get-childitem" | "gci" | "dir" | "ls" => get_child_item(host, args),
        "get-content" | "gc" | "cat" | "type" => get_content(host, args),
        "get-command" | "gcm" => get_command(host, args),
        _ => return None,
    })
}

fn path_arg(b: &crate::pwsh::host::Bound) -> Option<String> {
    b.string("LiteralPath").or_else(|| b.string("Path"))
}

fn path_not_found(cmd: &str, class: &str, path: &str) -> PsError {
    PsError::new(
        ErrorCategory::ObjectNotFound,
        &format!("PathNotFound,Microsoft.PowerShell.Commands.{class}"),
        format!("Cannot find path '{path}' because it does not exist."),
    )
    .in_command(cmd)
}

fn reg_value(v: &RegValue) -> Value {
    match v {
        RegValue::String(s) => Value::str(s.clone()),
        RegValue::DWord(d) => Value::Int(i64::from(*d)),
        RegValue::MultiString(m) => Value::Array(m.iter().map(|s| Value::str(s.clone())).collect()),
    }
}

/// The PSCustomObject Get-ItemProperty emits, with the provider's PS* properties.
fn key_object(key: &RegKey, names: Option<&[String]>) -> PsObject {
    let mut o = PsObject::new("System.Management.Automation.PSCustomObject");
    for (k, v) in &key.values {
        if names.is_none_or(|n| n.iter().any(|x| wildcard(x, k))) {
            o = o.with(k, reg_value(v));
        }
    }
    let (parent, child) = key.path.rsplit_once('\\').unwrap_or(("", &key.path));
    o.with(
        "PSPath",
        format!(
            r"Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\{}",
            key.path
        ),
    )
    .with(
        "PSParentPath",
        format!(r"Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\{parent}"),
    )
    .with("PSChildName", child)
    .with(
        "PSDrive",
        PsObject::new("System.Management.Automation.PSDriveInfo").display("HKLM"),
    )
    .with(
        "PSProvider",
        PsObject::new("System.Management.Automation.ProviderInfo")
            .display(r"Microsoft.PowerShell.Core\Registry"),
    )
}

/// A RegistryKey object (Get-Item / Get-ChildItem on the registry).
fn registry_key_object(host: &ServerHost, key: &RegKey) -> Value {
    let name = format!(r"HKEY_LOCAL_MACHINE\{}", key.path);
    let child = key.path.rsplit('\\').next().unwrap_or_default().to_string();
    PsObject::new("Microsoft.Win32.RegistryKey")
        .with("Name", name.clone())
        .with("PSChildName", child)
        .with(
            "PSPath",
            format!(r"Microsoft.PowerShell.Core\Registry::{name}"),
        )
        .with(
            "Property",
            Value::Array(
                key.values
                    .iter()
                    .map(|(k, _)| Value::str(k.clone()))
                    .collect(),
            ),
        )
        .with(
            "SubKeyCount",
            registry::subkeys(host.this(), &key.path).len() as i64,
        )
        .with("ValueCount", key.values.len() as i64)
        .display(name)
        .into()
}

/// Keys a registry path names: one key, or with a trailing `*` every subkey.
fn resolve_keys(host: &ServerHost, path: &str) -> Option<Vec<RegKey>> {
    let rel = registry::hklm_relative(path)?;
    if let Some(parent) = rel
        .strip_suffix('*')
        .filter(|p| p.is_empty() || p.ends_with('\\'))
    {
        let parent = parent.trim_end_matches('\\');
        registry::open(host.this(), parent)?;
        return Some(
            registry::subkeys(host.this(), parent)
                .iter()
                .filter_map(|k| registry::open(host.this(), k))
                .collect(),
        );
    }
    registry::open(host.this(), &rel).map(|k| vec![k])
}

fn get_item_property(
    host: &mut ServerHost,
    args: &[Argument],
    input: &[Value],
    value_only: bool,
) -> Result<Vec<Value>, PsError> {
    let (spec, cmd, class) = if value_only {
        (
            &GET_ITEM_PROPERTY_VALUE,
            "Get-ItemPropertyValue",
            "GetItemPropertyValueCommand",
        )
    } else {
        (
            &GET_ITEM_PROPERTY,
            "Get-ItemProperty",
            "GetItemPropertyCommand",
        )
    };
    let b = bind(spec, args)?;
    let paths: Vec<String> = match (path_arg(&b), input.is_empty()) {
        (Some(p), _) => string_list(&Value::str(p)),
        // Pipeline input binds by property name (PSPath).
        (None, false) => input
            .iter()
            .filter_map(|v| v.property("PSPath").map(|p| to_ps_string(&p)))
            .collect(),
        (None, true) => return Err(missing_mandatory(cmd, &["Path"])),
    };
    let names = b.get("Name").map(string_list);
    if value_only && names.is_none() {
        return Err(missing_mandatory(cmd, &["Name"]));
    }
    let mut out = Vec::new();
    for path in paths {
        let Some(keys) = resolve_keys(host, &path) else {
            host.write_error(path_not_found(cmd, class, &path));
            continue;
        };
        for key in keys {
            if let Some(names) = &names {
                let mut found = Vec::new();
                for n in names {
                    match key.values.iter().find(|(k, _)| wildcard(n, k)) {
                        Some((_, v)) => found.push(reg_value(v)),
                        None if !n.contains('*') => host.write_error(
                            PsError::new(
                                ErrorCategory::InvalidArgument,
                                &format!("System.Management.Automation.PSArgumentException,Microsoft.PowerShell.Commands.{class}"),
                                format!("Property {n} does not exist at path HKEY_LOCAL_MACHINE\\{}.", key.path),
                            )
                            .in_command(cmd),
                        ),
                        None => {}
                    }
                }
                if value_only {
                    out.extend(found);
                    continue;
                }
                if found.is_empty() {
                    continue;
                }
            }
            out.push(key_object(&key, names.as_deref()).into());
        }
    }
    Ok(out)
}

fn test_path(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&TEST_PATH, args)?;
    let path = path_arg(&b).ok_or_else(|| missing_mandatory("Test-Path", &["Path"]))?;
    let kind = b
        .string("PathType")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (leaf, container) = if registry::is_registry_path(&path) {
        (
            false,
            resolve_keys(host, &path).is_some_and(|k| !k.is_empty()),
        )
    } else {
        (
            host.world.file(host.server, &path).is_some(),
            host.world.directory_exists(host.server, &path),
        )
    };
    let found = match kind.as_str() {
        "leaf" => leaf,
        "container" => container,
        _ => leaf || container,
    };
    Ok(vec![Value::Bool(found)])
}

fn version_object(major: u16, minor: u16, build: u32, revision: u32) -> Value {
    PsObject::new("System.Version")
        .with("Major", i64::from(major))
        .with("Minor", i64::from(minor))
        .with("Build", i64::from(build))
        .with("Revision", i64::from(revision))
        .display(format!("{major}.{minor}.{build}.{revision}"))
        .into()
}

/// A binary's FileVersionInfo (CAP: FileVersion = ProductVersion =
/// `15.02.0986.005`). A file without a version resource (an `.msp`) has
/// every field null, as .NET's FileVersionInfo.GetVersionInfo gives it.
pub(crate) fn version_info(path: &str, version: Option<ExchangeBuild>) -> Value {
    let Some(b) = version else {
        return PsObject::new("System.Diagnostics.FileVersionInfo")
            .with("FileName", path)
            .with("FileVersion", Value::Null)
            .with("ProductVersion", Value::Null)
            .with("FileMajorPart", 0_i64)
            .with("FileMinorPart", 0_i64)
            .with("FileBuildPart", 0_i64)
            .with("FilePrivatePart", 0_i64)
            .with("ProductName", Value::Null)
            .with("CompanyName", Value::Null)
            .display(format!("File:             {path}"))
            .into();
    };
    let long = b.long_form();
    PsObject::new("System.Diagnostics.FileVersionInfo")
        .with("FileName", path)
        .with("FileVersion", long.clone())
        .with("ProductVersion", long)
        .with("FileMajorPart", i64::from(b.major))
        .with("FileMinorPart", i64::from(b.minor))
        .with("FileBuildPart", i64::from(b.build))
        .with("FilePrivatePart", i64::from(b.revision))
        .with("ProductMajorPart", i64::from(b.major))
        .with("ProductMinorPart", i64::from(b.minor))
        .with("ProductBuildPart", i64::from(b.build))
        .with("ProductPrivatePart", i64::from(b.revision))
        .with("ProductName", "Microsoft® Exchange")
        .with("CompanyName", "Microsoft Corporation")
        .with(
            "FileVersionRaw",
            version_object(b.major, b.minor, b.build, b.revision),
        )
        .with(
            "ProductVersionRaw",
            version_object(b.major, b.minor, b.build, b.revision),
        )
        .display(format!("File:             {path}"))
        .into()
}

pub(crate) fn file_object(f: &registry::LabFile) -> Value {
    let (dir, name) = f.full_name.rsplit_once('\\').unwrap_or(("", &f.full_name));
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| format!(".{e}"))
        .unwrap_or_default();
    let length = f
        .binary
        .as_ref()
        .map_or(f.content.len() as i64, |b| b.length);
    let mut o = PsObject::new("System.IO.FileInfo")
        .with("Name", name)
        .with("FullName", f.full_name.clone())
        .with("DirectoryName", dir)
        .with("Extension", ext)
        .with("Length", length)
        .with("Exists", true)
        .with("LastWriteTime", Value::DateTime(f.last_write_ms))
        .with("LastWriteTimeUtc", Value::DateTime(f.last_write_ms))
        .with(
            "PSPath",
            format!(r"Microsoft.PowerShell.Core\FileSystem::{}", f.full_name),
        );
    if let Some(b) = &f.binary {
        o = o.with("VersionInfo", version_info(&f.full_name, b.version));
    }
    o.display(f.full_name.clone()).into()
}

fn get_item(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_ITEM, args)?;
    let path = path_arg(&b).ok_or_else(|| missing_mandatory("Get-Item", &["Path"]))?;
    if registry::is_registry_path(&path) {
        return match resolve_keys(host, &path) {
            Some(keys) => Ok(keys.iter().map(|k| registry_key_object(host, k)).collect()),
            None => {
                host.write_error(path_not_found("Get-Item", "GetItemCommand", &path));
                Ok(Vec::new())
            }
        };
    }
    if let Some(f) = host.world.file(host.server, &path) {
        return Ok(vec![file_object(&f)]);
    }
    if host.world.directory_exists(host.server, &path) {
        let full = registry::normalize_file_path(&path);
        let name = full.rsplit('\\').next().unwrap_or_default().to_string();
        return Ok(vec![PsObject::new("System.IO.DirectoryInfo")
            .with("Name", name)
            .with("FullName", full.clone())
            .with("Exists", true)
            .display(full)
            .into()]);
    }
    host.write_error(path_not_found("Get-Item", "GetItemCommand", &path));
    Ok(Vec::new())
}

fn get_child_item(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_CHILD_ITEM, args)?;
    let path = path_arg(&b).unwrap_or_else(|| "C:\\".to_string());
    if registry::is_registry_path(&path) {
        let Some(rel) =
            registry::hklm_relative(&path).filter(|r| registry::open(host.this(), r).is_some())
        else {
            host.write_error(path_not_found(
                "Get-ChildItem",
                "GetChildItemCommand",
                &path,
            ));
            return Ok(Vec::new());
        };
        let subs = registry::subkeys(host.this(), &rel);
        return Ok(subs
            .iter()
            .filter_map(|k| registry::open(host.this(), k))
            .map(|k| registry_key_object(host, &k))
            .collect());
    }
    Ok(super::files::get_child_items(host, &path, &b))
}

fn get_content(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_CONTENT, args)?;
    let path = path_arg(&b).ok_or_else(|| missing_mandatory("Get-Content", &["Path"]))?;
    let Some(f) = host.world.file(host.server, &path) else {
        host.write_error(path_not_found("Get-Content", "GetContentCommand", &path));
        return Ok(Vec::new());
    };
    if b.switch("Raw") {
        return Ok(vec![Value::str(f.content)]);
    }
    let mut lines: Vec<Value> = f
        .content
        .lines()
        .map(|l| Value::str(l.to_string()))
        .collect();
    if let Some(n) = b
        .get("Tail")
        .and_then(|v| to_ps_string(v).parse::<usize>().ok())
    {
        lines = lines.split_off(lines.len().saturating_sub(n));
    }
    if let Some(n) = b
        .get("TotalCount")
        .and_then(|v| to_ps_string(v).parse::<usize>().ok())
    {
        lines.truncate(n);
    }
    Ok(lines)
}

fn get_command(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_COMMAND, args)?;
    let name = b
        .string("Name")
        .ok_or_else(|| missing_mandatory("Get-Command", &["Name"]))?;
    // ExSetup.exe resolves through PATH, which Exchange setup extends with `<install>\bin`.
    if name.eq_ignore_ascii_case("ExSetup.exe") || name.eq_ignore_ascii_case("ExSetup") {
        let path = format!(r"{}bin\ExSetup.exe", host.this().install_path);
        return Ok(vec![PsObject::new(
            "System.Management.Automation.ApplicationInfo",
        )
        .with("Name", "ExSetup.exe")
        .with(
            "CommandType",
            Value::enumv(
                "System.Management.Automation.CommandTypes",
                "Application",
                32,
            ),
        )
        .with("Path", path.clone())
        .with("Source", path.clone())
        .with(
            "FileVersionInfo",
            version_info(&path, Some(host.this().build)),
        )
        .display("ExSetup.exe")
        .into()]);
    }
    // An Exchange cmdlet's proxy that `Import-PSSession` made in this
    // process: a function (implicit remoting generates functions).
    let wants_function = b
        .string("CommandType")
        .is_none_or(|t| t.eq_ignore_ascii_case("Function") || t.eq_ignore_ascii_case("All"));
    if let Some((proxy, _)) = host.remoting.proxy(&name).filter(|_| wants_function) {
        return Ok(vec![PsObject::new(
            "System.Management.Automation.FunctionInfo",
        )
        .with("Name", proxy)
        .with(
            "CommandType",
            Value::enumv("System.Management.Automation.CommandTypes", "Function", 2),
        )
        .display(proxy)
        .into()]);
    }
    Err(PsError::new(
        ErrorCategory::ObjectNotFound,
        "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand",
        format!(
            "The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. \
             Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
        ),
    )
    .in_command("Get-Command"))
}
