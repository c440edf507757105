//! Windows cmdlets on a lab server: snap-ins and modules, CIM classes and
//! services (the registry and file providers are in `provider.rs`).
//! Errors use Windows PowerShell 5.1's wording and ids.

use super::{identity_string, missing_mandatory, string_list, wildcard, Answer};
use crate::host::ServerHost;
use crate::model::{ServiceStatus, StartType};
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ConfirmImpact, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

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
        value("ModuleInfo"),
        switch("DisableNameChecking"),
    ],
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
const INVOKE_CIM_METHOD: CmdletSpec = CmdletSpec {
    name: "Invoke-CimMethod",
    params: &[
        positional("ClassName", 0),
        value("MethodName"),
        value("Name"),
        value("Namespace"),
        value("Arguments"),
        value("ComputerName"),
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
const SERVICE_CONTROL: &[crate::pwsh::host::ParamSpec] = &[
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
        "get-ciminstance" => get_cim(host, args, &GET_CIM, "ClassName"),
        "get-wmiobject" | "gwmi" => get_cim(host, args, &GET_WMI, "Class"),
        "invoke-cimmethod" => invoke_cim_method(host, args),
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
    // `-ModuleInfo` takes a module already loaded (what Import-PSSession
    // returns): `-Global` makes its commands visible to the whole process.
    // The lab's proxies are visible process-wide anyway (remoting.rs), so
    // there is nothing more to do than check what was passed.
    if let Some(info) = b.get("ModuleInfo") {
        let is_module = |v: &Value| matches!(v, Value::Object(o) if o.type_names.iter().any(|t| t.ends_with("PSModuleInfo")));
        let ok = match info {
            Value::Array(items) => !items.is_empty() && items.iter().all(is_module),
            v => is_module(v),
        };
        if !ok {
            return Err(PsError::new(
                ErrorCategory::InvalidArgument,
                "ParameterArgumentTransformationError,Microsoft.PowerShell.Commands.ImportModuleCommand",
                "Cannot process argument transformation on parameter 'ModuleInfo'. Cannot convert the value to type \"System.Management.Automation.PSModuleInfo\".",
            )
            .in_command("Import-Module")
            .terminating());
        }
        return Ok(Vec::new());
    }
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
            let asks = |d: &str| {
                filter.contains(&format!("deviceid='{d}'"))
                    || filter.contains(&format!("deviceid=\"{d}\""))
            };
            // Exchange on a drive of its own (`install_drive_free_gb`).
            if let Some(free) = s.install_drive_free_bytes.filter(|_| asks("d:")) {
                let disk = PsObject::new(&cim("Win32_LogicalDisk"))
                    .with("DeviceID", "D:")
                    .with("DriveType", 3_i64)
                    .with("FileSystem", "NTFS")
                    .with("FreeSpace", free)
                    .with("Size", (free + 50 * (1 << 30)).max(200 * (1 << 30)))
                    .with("VolumeName", "Exchange");
                return Ok(vec![disk.display(s.name.to_ascii_uppercase()).into()]);
            }
            if !filter.is_empty() && !asks("c:") {
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

/// `Invoke-CimMethod` for the one method the lab has: the Configuration
/// Manager client's `CCM_ClientUtilities.DetermineIfRebootPending` in
/// `root\ccm\ClientSDK` (what CSS-Exchange `Shared/Get-ServerRebootPending.ps1`
/// calls, `-Name` being `-MethodName`'s alias). It answers
/// `RebootPending`, `IsHardRebootPending` and `ReturnValue` (Microsoft
/// Learn, "DetermineIfRebootPending method in class
/// CCM_ClientUtilities"). Without a CCM client the namespace does not
/// exist: WMI's "Invalid namespace" (0x8004100E), a non-terminating error.
fn invoke_cim_method(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&INVOKE_CIM_METHOD, args)?;
    let namespace = b.string("Namespace").unwrap_or_else(|| "root/cimv2".into());
    let class = b.string("ClassName").unwrap_or_default();
    let method = b.string("MethodName").or_else(|| b.string("Name"));
    let ccm = namespace
        .replace('/', "\\")
        .eq_ignore_ascii_case(r"root\ccm\ClientSDK");
    let s = host.this();
    if ccm && !s.ccm_client {
        host.write_error(
            PsError::new(
                ErrorCategory::ObjectNotFound, // MetadataError on Windows; the lab has no such category
                "HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand",
                "Invalid namespace ",
            )
            .in_command("Invoke-CimMethod"),
        );
        return Ok(Vec::new());
    }
    let known = ccm
        && class.eq_ignore_ascii_case("CCM_ClientUtilities")
        && method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("DetermineIfRebootPending"));
    if !known {
        return Err(PsError::new(
            ErrorCategory::NotImplemented,
            "NotImplemented,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand",
            format!(
                "The lab answers Invoke-CimMethod for root\\ccm\\ClientSDK CCM_ClientUtilities DetermineIfRebootPending only, not {namespace} {class} {}.",
                method.unwrap_or_default()
            ),
        )
        .in_command("Invoke-CimMethod"));
    }
    let pending = s.pending_reboot == Some(crate::spec::PendingReboot::Ccm);
    Ok(vec![PsObject::new(
        "Microsoft.Management.Infrastructure.CimMethodResult",
    )
    .with("DisableHideTime", Value::Null)
    .with("InGracePeriod", false)
    .with("IsHardRebootPending", false)
    .with("NotifyUI", false)
    .with("RebootDeadline", Value::Null)
    .with("RebootPending", pending)
    .with("ReturnValue", 0_i64)
    .into()])
}

fn service_object(svc: &crate::model::Service) -> Value {
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
        let was_running = svc.status == ServiceStatus::Running;
        if is_slow_transport_start(spec.name, &n, was_running) {
            start_transport(host, i, spec.name);
            if host.killed {
                return Ok(out);
            }
            if b.switch("PassThru") {
                out.push(service_object(&host.this().services[i]));
            }
            continue;
        }
        let svc = &mut host.this_mut().services[i];
        svc.status = if spec.name == "Stop-Service" {
            ServiceStatus::Stopped
        } else {
            ServiceStatus::Running
        };
        let started = !was_running && svc.status == ServiceStatus::Running;
        if b.switch("PassThru") {
            out.push(service_object(svc));
        }
        if svc.status == ServiceStatus::Running
            && n.eq_ignore_ascii_case("MSExchangeFrontEndTransport")
        {
            frontend_started(host);
        }
        // The Replication service started: its copies resynchronise.
        if started && n.eq_ignore_ascii_case("MSExchangeRepl") {
            let me = host.server;
            host.world.replication_started(me);
        }
    }
    Ok(out)
}

/// `Restart-Service` of transport, or `Start-Service` of a stopped one:
/// the command waits until the service runs again, which takes minutes on
/// a real server (review real-exchange.md #4, lab item L4; ExchangeDsc's
/// TransportMaintenance.psm1 waits up to 5 minutes for the bootloader).
fn is_slow_transport_start(cmdlet: &str, name: &str, was_running: bool) -> bool {
    name.eq_ignore_ascii_case("MSExchangeTransport")
        && (cmdlet == "Restart-Service" || (cmdlet == "Start-Service" && !was_running))
}

/// Starts (or restarts) transport, taking `transport_restart` of the
/// script's time; its bootloader is then not ready for `transport_startup`.
/// Killed meanwhile (the caller's deadline passed): a restart is left
/// Stopped (the stop had happened, the start had not), a start still
/// completes (the Service Control Manager goes on without the client);
/// both are UNVERIFIED simplifications of a real kill's timing.
fn start_transport(host: &mut ServerHost, i: usize, cmdlet: &str) {
    let wait = host.world.timings.transport_restart_ms;
    let finished = host.spend(wait);
    let ready = host.now_ms + host.world.timings.transport_startup_ms;
    let server = host.this_mut();
    if !finished && cmdlet == "Restart-Service" {
        server.services[i].status = ServiceStatus::Stopped;
        server.transport_ready_ms = None;
        return;
    }
    server.services[i].status = ServiceStatus::Running;
    server.transport_ready_ms = Some(ready);
    submission_suspended_at_start(host);
}

/// MSExchangeFrontEndTransport (re)started: it keeps whether
/// ServerWideOffline was Active then (`Server::frontend_started_offline`).
fn frontend_started(host: &mut ServerHost) {
    let s = host.this_mut();
    s.frontend_started_offline =
        crate::components::effective_state(&s.components, "ServerWideOffline")
            .is_some_and(|st| st != crate::components::ServiceState::Active);
}

/// The `submission-suspended` fault (docs/lab.md "Faults"): transport
/// started with HubTransport Active (the restart that ends maintenance)
/// comes back with its Submission queue Suspended, which stays so until
/// `Resume-Queue`. ExchangeDsc checks for exactly this after transport is
/// back (TransportMaintenance.psm1 `Set-TransportActive` calls
/// `Enable-SubmissionQueue`, which resumes a Suspended Submission queue);
/// what leaves it Suspended on a real server is UNVERIFIED.
fn submission_suspended_at_start(host: &mut ServerHost) {
    let s = host.this();
    let hub_active = crate::components::effective_state(&s.components, "HubTransport")
        .is_none_or(|st| st == crate::components::ServiceState::Active);
    let name = s.name.clone();
    if !hub_active
        || !host
            .world
            .trigger_fault("submission-suspended", &name, None)
    {
        return;
    }
    for q in &mut host.this_mut().queues {
        if q.kind == crate::model::QueueKind::Submission {
            q.suspended = true;
        }
    }
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
