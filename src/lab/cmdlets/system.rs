//! Windows cmdlets on a lab server: snap-ins and modules, the registry and
//! file-system providers (read-only views from `registry.rs`), CIM classes
//! and services. Errors use Windows PowerShell 5.1's wording and ids.

use super::{identity_string, missing_mandatory, string_list, wildcard, Answer};
use crate::lab::host::ServerHost;
use crate::lab::model::{ServiceStatus, StartType};
use crate::lab::pwsh::bind::bind;
use crate::lab::pwsh::convert::to_ps_string;
use crate::lab::pwsh::host::{positional, switch, value};
use crate::lab::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::lab::pwsh::value::{PsObject, Value};
use crate::lab::registry::{self, RegKey, RegValue};

const ADD_PSSNAPIN: CmdletSpec = CmdletSpec {
    name: "Add-PSSnapin",
    params: &[positional("Name", 0), switch("PassThru")],
    should_process: None,
};
const IMPORT_MODULE: CmdletSpec = CmdletSpec {
    name: "Import-Module",
    params: &[
        positional("Name", 0),
        switch("Force"),
        switch("PassThru"),
        value("MinimumVersion"),
        value("Prefix"),
        switch("Global"),
    ],
    should_process: None,
};
const PATH_PARAMS: &[crate::lab::pwsh::host::ParamSpec] = &[
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
const GET_CIM: CmdletSpec = CmdletSpec {
    name: "Get-CimInstance",
    params: &[
        positional("ClassName", 0),
        value("Filter"),
        value("Namespace"),
        value("ComputerName"),
        value("Property"),
    ],
    should_process: None,
};
const GET_WMI: CmdletSpec = CmdletSpec {
    name: "Get-WmiObject",
    params: &[
        positional("Class", 0),
        value("Filter"),
        value("Namespace"),
        value("ComputerName"),
        positional("Property", 1),
    ],
    should_process: None,
};
const GET_SERVICE: CmdletSpec = CmdletSpec {
    name: "Get-Service",
    params: &[
        positional("Name", 0),
        value("DisplayName"),
        value("ComputerName"),
        value("Include"),
        value("Exclude"),
    ],
    should_process: None,
};
const SERVICE_CONTROL: &[crate::lab::pwsh::host::ParamSpec] = &[
    positional("Name", 0),
    value("DisplayName"),
    switch("Force"),
    switch("PassThru"),
    value("InputObject"),
    switch("NoWait"),
];
const START_SERVICE: CmdletSpec = CmdletSpec {
    name: "Start-Service",
    params: SERVICE_CONTROL,
    should_process: Some(ConfirmImpact::NoPrompt),
};
const STOP_SERVICE: CmdletSpec = CmdletSpec {
    name: "Stop-Service",
    params: SERVICE_CONTROL,
    should_process: Some(ConfirmImpact::NoPrompt),
};
const RESTART_SERVICE: CmdletSpec = CmdletSpec {
    name: "Restart-Service",
    params: SERVICE_CONTROL,
    should_process: Some(ConfirmImpact::NoPrompt),
};
const SET_SERVICE: CmdletSpec = CmdletSpec {
    name: "Set-Service",
    params: &[
        positional("Name", 0),
        value("StartupType"),
        value("Status"),
        value("DisplayName"),
        value("Description"),
        switch("PassThru"),
    ],
    should_process: Some(ConfirmImpact::NoPrompt),
};

/// Snap-in names that load the Exchange cmdlets.
const EXCHANGE_SNAPINS: &[&str] = &[
    "Microsoft.Exchange.Management.PowerShell.SnapIn",
    "Microsoft.Exchange.Management.PowerShell.E2010",
];
/// Modules installed on a lab server (PowerShell 3+ would also autoload them).
const MODULES: &[&str] = &[
    "ActiveDirectory",
    "FailoverClusters",
    "ServerManager",
    "ScheduledTasks",
    "Microsoft.PowerShell.Management",
    "Microsoft.PowerShell.Utility",
    "Microsoft.PowerShell.Security",
    "CimCmdlets",
    "WebAdministration",
];

pub(crate) fn dispatch(
    host: &mut ServerHost,
    lname: &str,
    args: &[Argument],
    input: &[Value],
) -> Answer {
    Some(match lname {
        "add-pssnapin" => add_pssnapin(host, args),
        "import-module" | "ipmo" => import_module(host, args),
        "get-itemproperty" | "gp" => get_item_property(host, args, input, false),
        "get-itempropertyvalue" | "gpv" => get_item_property(host, args, input, true),
        "test-path" => test_path(host, args),
        "get-item" | "gi" => get_item(host, args),
        "get-childitem" | "gci" | "dir" | "ls" => get_child_item(host, args),
        "get-content" | "gc" | "cat" | "type" => get_content(host, args),
        "get-command" | "gcm" => get_command(host, args),
        "get-ciminstance" => get_cim(host, args, &GET_CIM, "ClassName"),
        "get-wmiobject" | "gwmi" => get_cim(host, args, &GET_WMI, "Class"),
        "get-service" | "gsv" => get_service(host, args),
        "start-service" | "sasv" => control_service(host, args, input, &START_SERVICE),
        "stop-service" | "spsv" => control_service(host, args, input, &STOP_SERVICE),
        "restart-service" => control_service(host, args, input, &RESTART_SERVICE),
        "set-service" => set_service(host, args),
        _ => return None,
    })
}

fn add_pssnapin(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&ADD_PSSNAPIN, args)?;
    let names = b
        .get("Name")
        .map(string_list)
        .ok_or_else(|| missing_mandatory("Add-PSSnapin", &["Name"]))?;
    for name in names {
        if EXCHANGE_SNAPINS.iter().any(|s| wildcard(&name, s)) {
            host.exchange_snapin = true;
        } else {
            host.write_error(
                PsError::new(
                    ErrorCategory::InvalidArgument,
                    "AddPSSnapInRead,Microsoft.PowerShell.Commands.AddPSSnapinCommand",
                    format!("The Windows PowerShell snap-in '{name}' is not installed on this computer."),
                )
                .in_command("Add-PSSnapin"),
            );
        }
    }
    Ok(Vec::new())
}

fn import_module(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&IMPORT_MODULE, args)?;
    let names = b
        .get("Name")
        .map(string_list)
        .ok_or_else(|| missing_mandatory("Import-Module", &["Name"]))?;
    for name in names {
        if !MODULES.iter().any(|m| m.eq_ignore_ascii_case(&name)) {
            host.write_error(
                PsError::new(
                    ErrorCategory::ResourceUnavailable,
                    "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
                    format!(
                        "The specified module '{name}' was not loaded because no valid module file was found in any module directory."
                    ),
                )
                .in_command("Import-Module"),
            );
        }
    }
    Ok(Vec::new())
}

fn path_arg(b: &crate::lab::pwsh::host::Bound) -> Option<String> {
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
    let s = host.this();
    let (leaf, container) = if registry::is_registry_path(&path) {
        (
            false,
            resolve_keys(host, &path).is_some_and(|k| !k.is_empty()),
        )
    } else {
        (
            registry::find_file(s, &path).is_some(),
            registry::directory_exists(s, &path),
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

/// ExSetup.exe's FileVersionInfo (CAP: FileVersion = ProductVersion = `15.02.0986.005`).
fn version_info(host: &ServerHost, path: &str) -> Value {
    let b = host.this().build;
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

fn file_object(host: &ServerHost, f: &registry::LabFile) -> Value {
    let (dir, name) = f.full_name.rsplit_once('\\').unwrap_or(("", &f.full_name));
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| format!(".{e}"))
        .unwrap_or_default();
    let length = if f.is_exsetup {
        35_128
    } else {
        f.content.len() as i64
    };
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
    if f.is_exsetup {
        o = o.with("VersionInfo", version_info(host, &f.full_name));
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
    if let Some(f) = registry::find_file(host.this(), &path) {
        return Ok(vec![file_object(host, &f)]);
    }
    if registry::directory_exists(host.this(), &path) {
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
    let dir = registry::normalize_file_path(&path).to_ascii_lowercase();
    let files: Vec<Value> = registry::files(host.this())
        .iter()
        .filter(|f| {
            f.full_name
                .rsplit_once('\\')
                .is_some_and(|(d, _)| d.eq_ignore_ascii_case(&dir))
        })
        .map(|f| file_object(host, f))
        .collect();
    if files.is_empty() && !registry::directory_exists(host.this(), &path) {
        host.write_error(path_not_found(
            "Get-ChildItem",
            "GetChildItemCommand",
            &path,
        ));
    }
    Ok(files)
}

fn get_content(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_CONTENT, args)?;
    let path = path_arg(&b).ok_or_else(|| missing_mandatory("Get-Content", &["Path"]))?;
    let Some(f) = registry::find_file(host.this(), &path) else {
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
        .with("FileVersionInfo", version_info(host, &path))
        .display("ExSetup.exe")
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

fn get_cim(
    host: &mut ServerHost,
    args: &[Argument],
    spec: &CmdletSpec,
    class_param: &str,
) -> Result<Vec<Value>, PsError> {
    let b = bind(spec, args)?;
    let class = b
        .string(class_param)
        .ok_or_else(|| missing_mandatory(spec.name, &[class_param]))?;
    let filter = b
        .string("Filter")
        .unwrap_or_default()
        .replace(' ', "")
        .to_ascii_lowercase();
    let s = host.this();
    let cim = |c: &str| format!("Microsoft.Management.Infrastructure.CimInstance#root/cimv2/{c}");
    let domain = s
        .fqdn
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let obj = match class.to_ascii_lowercase().as_str() {
        "win32_operatingsystem" => PsObject::new(&cim("Win32_OperatingSystem"))
            .with("Caption", s.os_caption.clone())
            .with("Version", s.os_version.clone())
            .with(
                "BuildNumber",
                s.os_version.rsplit('.').next().unwrap_or_default(),
            )
            .with("CSName", s.name.to_ascii_uppercase())
            .with("LastBootUpTime", Value::DateTime(s.last_boot_ms))
            .with("FreePhysicalMemory", 9_437_184_i64)
            .with("TotalVisibleMemorySize", 33_554_432_i64)
            .with("OSArchitecture", "64-bit"),
        "win32_computersystem" => PsObject::new(&cim("Win32_ComputerSystem"))
            .with("Name", s.name.to_ascii_uppercase())
            .with("Domain", domain)
            .with("PartOfDomain", true)
            .with("DNSHostName", s.name.to_ascii_lowercase()),
        "win32_logicaldisk" => {
            if !filter.is_empty()
                && !filter.contains("deviceid='c:'")
                && !filter.contains("deviceid=\"c:\"")
            {
                return Ok(Vec::new());
            }
            PsObject::new(&cim("Win32_LogicalDisk"))
                .with("DeviceID", "C:")
                .with("DriveType", 3_i64)
                .with("FileSystem", "NTFS")
                .with("FreeSpace", s.system_drive_free_bytes)
                .with("Size", s.system_drive_size_bytes)
                .with("VolumeName", "")
        }
        _ => {
            return Err(PsError::new(
                ErrorCategory::InvalidArgument,
                &format!(
                    "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.{}",
                    spec.name.replace('-', "")
                ),
                "Invalid class ",
            )
            .in_command(spec.name))
        }
    };
    let name = s.name.to_ascii_uppercase();
    Ok(vec![obj.display(name).into()])
}

fn service_object(svc: &crate::lab::model::Service) -> Value {
    PsObject::new("System.ServiceProcess.ServiceController")
        .with("Name", svc.name.clone())
        .with("DisplayName", svc.display_name.clone())
        .with("ServiceName", svc.name.clone())
        .with(
            "Status",
            Value::enumv(
                "System.ServiceProcess.ServiceControllerStatus",
                &format!("{:?}", svc.status),
                svc.status.number(),
            ),
        )
        .with(
            "StartType",
            Value::enumv(
                "System.ServiceProcess.ServiceStartMode",
                &format!("{:?}", svc.start_type),
                svc.start_type.number(),
            ),
        )
        .with("MachineName", ".")
        .display(svc.name.clone())
        .into()
}

fn no_service(cmd: &str, class: &str, name: &str) -> PsError {
    PsError::new(
        ErrorCategory::ObjectNotFound,
        &format!("NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.{class}"),
        format!("Cannot find any service with service name '{name}'."),
    )
    .in_command(cmd)
}

fn get_service(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_SERVICE, args)?;
    let services = host.this().services.clone();
    let Some(names) = b.get("Name").map(string_list) else {
        let display = b.get("DisplayName").map(string_list);
        return Ok(services
            .iter()
            .filter(|s| {
                display
                    .as_ref()
                    .is_none_or(|d| d.iter().any(|p| wildcard(p, &s.display_name)))
            })
            .map(service_object)
            .collect());
    };
    let mut out = Vec::new();
    for n in names {
        let hits: Vec<Value> = services
            .iter()
            .filter(|s| wildcard(&n, &s.name))
            .map(service_object)
            .collect();
        if hits.is_empty() && !n.contains('*') {
            host.write_error(no_service("Get-Service", "GetServiceCommand", &n));
        }
        out.extend(hits);
    }
    Ok(out)
}

fn control_service(
    host: &mut ServerHost,
    args: &[Argument],
    input: &[Value],
    spec: &CmdletSpec,
) -> Result<Vec<Value>, PsError> {
    let b = bind(spec, args)?;
    let class = format!("{}Command", spec.name.replace('-', ""));
    let names: Vec<String> = match (
        b.get("Name").or_else(|| b.get("InputObject")),
        input.is_empty(),
    ) {
        (Some(v), _) => string_list(v),
        (None, false) => input.iter().map(identity_string).collect(),
        (None, true) => return Err(missing_mandatory(spec.name, &["Name"])),
    };
    let mut out = Vec::new();
    for n in names {
        let Some(i) = host
            .this()
            .services
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(&n))
        else {
            host.write_error(no_service(spec.name, &class, &n));
            continue;
        };
        let svc = &mut host.this_mut().services[i];
        if spec.name != "Stop-Service" && svc.start_type == StartType::Disabled {
            let msg = format!(
                "Service '{} ({})' cannot be started due to the following error: Cannot start service {} on computer '.'.",
                svc.display_name, svc.name, svc.name
            );
            host.write_error(
                PsError::new(
                    ErrorCategory::NotSpecified,
                    &format!("CouldNotStartService,Microsoft.PowerShell.Commands.{class}"),
                    msg,
                )
                .in_command(spec.name),
            );
            continue;
        }
        svc.status = if spec.name == "Stop-Service" {
            ServiceStatus::Stopped
        } else {
            ServiceStatus::Running
        };
        if b.switch("PassThru") {
            out.push(service_object(svc));
        }
    }
    Ok(out)
}

fn set_service(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&SET_SERVICE, args)?;
    let name = b
        .get("Name")
        .map(identity_string)
        .ok_or_else(|| missing_mandatory("Set-Service", &["Name"]))?;
    let Some(i) = host
        .this()
        .services
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(&name))
    else {
        return Err(no_service("Set-Service", "SetServiceCommand", &name).terminating());
    };
    if let Some(t) = b.string("StartupType") {
        let parsed = StartType::parse(&t).ok_or_else(|| {
            PsError::new(
                ErrorCategory::InvalidArgument,
                "CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.SetServiceCommand",
                format!(
                    "Cannot bind parameter 'StartupType'. Cannot convert value \"{t}\" to type \"System.ServiceProcess.ServiceStartMode\". \
                     Error: \"Unable to match the identifier name {t} to a valid enumerator name. Specify one of the following \
                     enumerator names and try again:\r\nBoot, System, Automatic, Manual, Disabled\""
                ),
            )
            .in_command("Set-Service")
            .terminating()
        })?;
        host.this_mut().services[i].start_type = parsed;
    }
    if let Some(st) = b.string("Status") {
        host.this_mut().services[i].status = if st.eq_ignore_ascii_case("Running") {
            ServiceStatus::Running
        } else {
            ServiceStatus::Stopped
        };
    }
    Ok(if b.switch("PassThru") {
        vec![service_object(&host.this().services[i])]
    } else {
        Vec::new()
    })
}
