//! The shapes cu-roll reads, checked against real servers: every property
//! its observation scripts (`exchange::observe::templates`, the pre-flight
//! scripts) read from `Get-ExchangeServer`, `Get-MailboxServer`,
//! `Get-ServerComponentState`, `Win32_OperatingSystem`, `ExSetup.exe` and
//! the registry is listed in [`READS`] with its kind, and must exist with
//! that name and kind in the `Export-Clixml` captures of real Exchange 2016
//! and 2019 servers (`tests/fixtures/real/exchange-objects`, CSS-Exchange,
//! MIT) and in the lab's output of the same cmdlet. A property a script
//! reads that is in neither [`READS`] nor [`OTHER_READS`] fails the test, so
//! the table cannot silently fall behind the scripts. Where the lab and a
//! capture disagree, the capture wins: the lab is what gets fixed.

use std::collections::BTreeSet;

use lab::pwsh::host::{Argument, CommandHost};
use lab::pwsh::value::Value;
use lab::testkit::{three_member_spec, T0};
use lab::{ServerHost, World};

use crate::clixml::{self, Node};
use crate::harness::repo;

/// An enum type: its full .NET name and every (name, number) it has.
struct EnumType {
    type_name: &'static str,
    values: &'static [(&'static str, i64)],
}

/// cmdlets.md §5 (ServiceState: Inactive 0, Active 1, Draining 3; the
/// captures hold Active = 1 and the type name).
const SERVICE_STATE: EnumType = EnumType {
    type_name: "Microsoft.Exchange.Data.ServiceState",
    values: &[("Inactive", 0), ("Active", 1), ("Draining", 3)],
};

/// cmdlets.md §4 (Set-MailboxServer docs; the captures hold Unrestricted = 0
/// and the type name).
const ACTIVATION_POLICY: EnumType = EnumType {
    type_name:
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.DatabaseCopyAutoActivationPolicyType",
    values: &[("Unrestricted", 0), ("IntrasiteOnly", 1), ("Blocked", 2)],
};

/// What a property is.
enum Kind {
    /// `<S>` / a .NET String.
    Str,
    Bool,
    /// `<I32>` / Int32.
    Int,
    /// `<DT>` / System.DateTime.
    DateTime,
    /// An enum: type name, name and number (`<Obj>` with `<ToString>` and `<I32>`).
    Enum(&'static EnumType),
    /// An enum one level below a list element: the captures come from a
    /// remote Exchange session, whose serialiser writes it as its name
    /// (`<S>`) at the depth limit, where the object itself (the snap-in,
    /// the lab) holds the enum (cmdlets.md §5, from the assembly).
    NestedEnum(&'static EnumType),
    /// A nested object of this type (its properties are further rows).
    Object(&'static str),
    /// An object of this type, or `$null` where there is none (both
    /// captures are of servers outside any DAG).
    ObjectOrNil(&'static str),
    /// A `List<T>` of this element type (further rows read `[]`).
    List(&'static str),
    /// A WMI datetime: Get-WmiObject (the captures) gives the DMTF text
    /// `yyyymmddHHMMSS.mmmmmm±UUU`, Get-CimInstance (what the product sends,
    /// and the lab) a System.DateTime (docs: "Get-CimInstance", CIM
    /// datetimes are converted to DateTime).
    WmiDateTime,
}

/// Where a row's object comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    ExchangeServer,
    MailboxServer,
    ComponentState,
    OperatingSystem,
    /// `Get-Item …\bin\ExSetup.exe` (the capture is its VersionInfo).
    ExSetup,
    /// `Get-ItemProperty …\Uninstall\*` (the capture is HealthChecker's
    /// projection of the VC++ keys: `VersionIdentifier = $software.Version`).
    Uninstall,
    /// `HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup`: no capture.
    SetupKey,
    /// `HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`: no capture.
    NdpKey,
}

impl Source {
    /// The capture file in `E19/` and `E16/`, if there is one.
    fn capture(self) -> Option<&'static str> {
        Some(match self {
            Source::ExchangeServer => "GetExchangeServer.xml",
            Source::MailboxServer => "GetMailboxServer.xml",
            Source::ComponentState => "GetServerComponentState.xml",
            Source::OperatingSystem => "OS_Win32_OperatingSystem.xml",
            Source::ExSetup => "ExSetup.xml",
            Source::Uninstall => "OS_GetVisualCRedistributableInstalledVersion.xml",
            Source::SetupKey | Source::NdpKey => return None,
        })
    }
}

/// Where a capture holds a row's property.
enum Capture {
    /// At the row's `path`.
    Same,
    /// Elsewhere (`""` = the captured object itself).
    At(&'static str),
    /// Nowhere: the capture left it out (the reason says why).
    Absent(&'static str),
}

/// One property cu-roll reads.
struct Read {
    source: Source,
    /// From the cmdlet's object; `[]` walks every list item.
    path: &'static str,
    /// Where the capture holds it.
    capture: Capture,
    kind: Kind,
    /// Who reads it.
    read_by: &'static str,
}

const fn read(source: Source, path: &'static str, kind: Kind, read_by: &'static str) -> Read {
    Read {
        source,
        path,
        capture: Capture::Same,
        kind,
        read_by,
    }
}

/// Every property the product reads from these objects.
const READS: &[Read] = &[
    // Get-ExchangeServer: no production script reads it; the lab roll test
    // reads the build the way an operator would.
    read(Source::ExchangeServer, "Name", Kind::Str, "lab_roll_tests"),
    read(
        Source::ExchangeServer,
        "AdminDisplayVersion",
        Kind::Object("Microsoft.Exchange.Data.ServerVersion"),
        "lab_roll_tests",
    ),
    read(
        Source::ExchangeServer,
        "AdminDisplayVersion.Major",
        Kind::Int,
        "lab_roll_tests",
    ),
    read(
        Source::ExchangeServer,
        "AdminDisplayVersion.Minor",
        Kind::Int,
        "lab_roll_tests",
    ),
    read(
        Source::ExchangeServer,
        "AdminDisplayVersion.Build",
        Kind::Int,
        "lab_roll_tests",
    ),
    read(
        Source::ExchangeServer,
        "AdminDisplayVersion.Revision",
        Kind::Int,
        "lab_roll_tests",
    ),
    // Get-MailboxServer
    read(
        Source::MailboxServer,
        "DatabaseCopyAutoActivationPolicy",
        Kind::Enum(&ACTIVATION_POLICY),
        "EXCHANGE_STATE",
    ),
    read(
        Source::MailboxServer,
        "DatabaseCopyActivationDisabledAndMoveNow",
        Kind::Bool,
        "EXCHANGE_STATE",
    ),
    read(
        Source::MailboxServer,
        "DatabaseAvailabilityGroup",
        Kind::ObjectOrNil("Microsoft.Exchange.Data.Directory.ADObjectId"),
        "EXCHANGE_STATE",
    ),
    // Get-ServerComponentState
    read(
        Source::ComponentState,
        "Component",
        Kind::Str,
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "State",
        Kind::Enum(&SERVICE_STATE),
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "LocalStates",
        Kind::List(REQUESTER_DETAILS),
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "LocalStates[].Requester",
        Kind::Str,
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "LocalStates[].State",
        Kind::NestedEnum(&SERVICE_STATE),
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "LocalStates[].Timestamp",
        Kind::DateTime,
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "RemoteStates",
        Kind::List(REQUESTER_DETAILS),
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "RemoteStates[].Requester",
        Kind::Str,
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "RemoteStates[].State",
        Kind::NestedEnum(&SERVICE_STATE),
        "EXCHANGE_STATE",
    ),
    read(
        Source::ComponentState,
        "RemoteStates[].Timestamp",
        Kind::DateTime,
        "EXCHANGE_STATE",
    ),
    // Win32_OperatingSystem
    read(
        Source::OperatingSystem,
        "Caption",
        Kind::Str,
        "SERVER_FACTS",
    ),
    read(
        Source::OperatingSystem,
        "Version",
        Kind::Str,
        "SERVER_FACTS",
    ),
    read(
        Source::OperatingSystem,
        "LastBootUpTime",
        Kind::WmiDateTime,
        "SERVER_FACTS, BOOT_STATE",
    ),
    // ExSetup.exe
    Read {
        source: Source::ExSetup,
        path: "VersionInfo",
        capture: Capture::At(""),
        kind: Kind::Object("System.Diagnostics.FileVersionInfo"),
        read_by: "SERVER_FACTS",
    },
    Read {
        source: Source::ExSetup,
        path: "VersionInfo.ProductVersion",
        capture: Capture::At("ProductVersion"),
        kind: Kind::Str,
        read_by: "SERVER_FACTS",
    },
    Read {
        source: Source::ExSetup,
        path: "VersionInfo.FileVersion",
        capture: Capture::At("FileVersion"),
        kind: Kind::Str,
        read_by: "media (Setup.exe's VersionInfo)",
    },
    // The registry
    read(Source::Uninstall, "DisplayName", Kind::Str, "SERVER_FACTS"),
    Read {
        source: Source::Uninstall,
        path: "Version",
        capture: Capture::At("VersionIdentifier"),
        kind: Kind::Int,
        read_by: "SERVER_FACTS",
    },
    Read {
        source: Source::Uninstall,
        path: "PSChildName",
        capture: Capture::Absent(
            "HealthChecker's projection keeps DisplayName, DisplayVersion, InstallDate, Version",
        ),
        kind: Kind::Str,
        read_by: "SERVER_FACTS",
    },
    read(
        Source::SetupKey,
        "MsiInstallPath",
        Kind::Str,
        "SERVER_FACTS",
    ),
    read(Source::NdpKey, "Release", Kind::Int, "SERVER_FACTS"),
];

const REQUESTER_DETAILS: &str =
    "Microsoft.Exchange.Data.Directory.Management.ServerComponentStatePresentationObject+RequesterDetails";

/// Properties the scripts read from objects no capture covers (AD, the
/// cluster, services, copies, queues, the health tests, the media files),
/// with whose they are. A new name in a script must go here or in [`READS`].
const OTHER_READS: &[(&str, &str)] = &[
    // Certificates: captured in E19/GetExchangeCertificate.xml (RawData
    // only, the rest in its ToString), E19/IIS_GetWebBinding.xml and
    // E19/AuthCert_GetAuthConfig.xml; checked in `certificates.rs`.
    ("Thumbprint", "Get-ExchangeCertificate (X509Certificate2)"),
    ("Subject", "Get-ExchangeCertificate (X509Certificate2)"),
    ("Issuer", "Get-ExchangeCertificate (X509Certificate2)"),
    ("NotAfter", "Get-ExchangeCertificate (X509Certificate2)"),
    ("Services", "Get-ExchangeCertificate (AllowedServices)"),
    (
        "RawData",
        "Get-ExchangeCertificate deserialised without its properties",
    ),
    ("CurrentCertificateThumbprint", "Get-AuthConfig"),
    (
        "RebootPending",
        "CCM_ClientUtilities.DetermineIfRebootPending (CSS-Exchange Get-ServerRebootPending.ps1)",
    ),
    (
        "IsHardRebootPending",
        "CCM_ClientUtilities.DetermineIfRebootPending (CSS-Exchange Get-ServerRebootPending.ps1)",
    ),
    ("ItemXPath", "Get-WebBinding"),
    ("bindingInformation", "Get-WebBinding"),
    ("certificateHash", "Get-WebBinding"),
    (
        "Name",
        "Get-ADObject organisation, ClusterGroup.OwnerNode, Get-MailboxDatabaseCopyStatus",
    ),
    ("State", "Get-ClusterNode"),
    ("Exception", "a caught ErrorRecord"),
    ("Message", "a caught ErrorRecord's Exception"),
    ("DatabaseName", "Get-MailboxDatabaseCopyStatus"),
    ("MailboxServer", "Get-MailboxDatabaseCopyStatus"),
    ("Status", "Get-MailboxDatabaseCopyStatus, Get-Service"),
    ("ActiveCopy", "Get-MailboxDatabaseCopyStatus"),
    ("ActivationSuspended", "Get-MailboxDatabaseCopyStatus"),
    ("ActivationPreference", "Get-MailboxDatabaseCopyStatus"),
    ("CopyQueueLength", "Get-MailboxDatabaseCopyStatus"),
    ("ReplayQueueLength", "Get-MailboxDatabaseCopyStatus"),
    ("ContentIndexState", "Get-MailboxDatabaseCopyStatus"),
    ("ReplayLagStatus", "Get-MailboxDatabaseCopyStatus"),
    ("Enabled", "Get-MailboxDatabaseCopyStatus ReplayLagStatus"),
    // No capture holds a DAG member's Get-MailboxDatabase: cmdlets.md §3
    // (`KeyValuePair<ADObjectId,EnhancedTimeSpan>[]`, `[EX03, 7.00:00:00]`).
    ("ReplayLagTimes", "Get-MailboxDatabase"),
    ("Key", "Get-MailboxDatabase ReplayLagTimes (an ADObjectId)"),
    (
        "Value",
        "Get-MailboxDatabase ReplayLagTimes (an EnhancedTimeSpan)",
    ),
    ("Identity", "Get-Queue"),
    ("DeliveryType", "Get-Queue"),
    ("NextHopDomain", "Get-Queue"),
    ("MessageCount", "Get-Queue"),
    ("StartType", "Get-Service"),
    ("FreeSpace", "Win32_LogicalDisk"),
    ("OwnerNode", "Get-ClusterGroup"),
    ("Role", "Test-ServiceHealth"),
    ("RequiredServicesRunning", "Test-ServiceHealth"),
    ("ServicesNotRunning", "Test-ServiceHealth"),
    ("Database", "Test-MAPIConnectivity"),
    ("Result", "Test-MAPIConnectivity, Test-ReplicationHealth"),
    ("Error", "Test-MAPIConnectivity, Test-ReplicationHealth"),
    ("Check", "Test-ReplicationHealth"),
    ("schemaNamingContext", "Get-ADRootDSE"),
    ("configurationNamingContext", "Get-ADRootDSE"),
    ("defaultNamingContext", "Get-ADRootDSE"),
    ("rangeUpper", "Get-ADObject schema attribute"),
    (
        "objectVersion",
        "Get-ADObject organisation and domain containers",
    ),
    ("SchemaMaster", "Get-ADForest"),
    ("Domain", "Get-ADDomainController"),
    ("Site", "Get-ADDomainController"),
    ("HostName", "Get-ADDomainController"),
    ("Path", "the media script's own list"),
    ("Hash", "the media script's own list, Get-FileHash"),
    ("Length", "Get-Item (media file size)"),
    ("Exists", "the media script's own result"),
    // No capture holds the role keys: the names are ExchangeDsc's
    // (Test-ExchangeSetupPartiallyCompleted, ExchangeDscHelper.psm1).
    (
        "UnpackedVersion",
        "the role keys v15\\<Role>Role (SERVER_FACTS)",
    ),
    (
        "ConfiguredVersion",
        "the role keys v15\\<Role>Role (SERVER_FACTS)",
    ),
    ("Action", "the role keys v15\\<Role>Role (SERVER_FACTS)"),
    ("Watermark", "the role keys v15\\<Role>Role (SERVER_FACTS)"),
];

// ------------------------------------------------------------ walking

/// Every value at `path` below `node` (`[]` walks list items).
fn capture_at<'a>(node: &'a Node, path: &str) -> Vec<&'a Node> {
    let mut here = vec![node];
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, walk) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for n in here {
            let Node::Obj(o) = n else { continue };
            let Some(v) = o.prop(name) else {
                panic!("capture has no property {name} (path {path})")
            };
            match (walk, v) {
                (true, Node::Obj(l)) => next.extend(l.items.iter().flatten()),
                (true, other) => panic!("{path}: {name} is not a list in the capture: {other:?}"),
                (false, v) => next.push(v),
            }
        }
        here = next;
    }
    here
}

fn lab_at(value: &Value, path: &str) -> Vec<Value> {
    let mut here = vec![value.clone()];
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, walk) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for v in here {
            let Value::Object(o) = &v else { continue };
            // Exact case: PowerShell's lookup ignores it, ConvertTo-Json does not.
            let Some(p) = o.props.get(name) else {
                panic!(
                    "lab object {:?} has no property {name} (path {path})",
                    o.type_names
                )
            };
            match (walk, p) {
                (true, Value::Array(items)) => next.extend(items.iter().cloned()),
                (true, other) => panic!("{path}: {name} is not a list in the lab: {other:?}"),
                (false, p) => next.push(p.clone()),
            }
        }
        here = next;
    }
    here
}

fn enum_has(e: &EnumType, name: &str, number: i64) -> bool {
    e.values.iter().any(|&(n, v)| n == name && v == number)
}

fn is_dmtf(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 25
        && b[..14].iter().all(u8::is_ascii_digit)
        && b[14] == b'.'
        && b[15..21].iter().all(u8::is_ascii_digit)
        && (b[21] == b'+' || b[21] == b'-')
        && b[22..].iter().all(u8::is_ascii_digit)
}

/// Why `n` is not of `kind` in a capture, if it is not.
fn capture_mismatch(kind: &Kind, n: &Node) -> Option<String> {
    let type_is =
        |t: &str| matches!(n, Node::Obj(o) if o.type_names.first().map(String::as_str) == Some(t));
    let ok = match kind {
        Kind::Str => matches!(n, Node::Str(_)),
        Kind::Bool => matches!(n, Node::Bool(_)),
        Kind::Int => matches!(n, Node::Int(_, t) if t == "I32"),
        Kind::DateTime => matches!(n, Node::DateTime(_)),
        Kind::Enum(e) => match n {
            Node::Obj(o) => {
                o.is_enum()
                    && type_is(e.type_name)
                    && matches!((&o.to_string, o.enum_value), (Some(s), Some(v)) if enum_has(e, s, v))
            }
            _ => false,
        },
        Kind::NestedEnum(e) => {
            matches!(n, Node::Str(s) if e.values.iter().any(|(name, _)| name == s))
        }
        Kind::Object(t) => type_is(t),
        Kind::ObjectOrNil(t) => matches!(n, Node::Nil) || type_is(t),
        Kind::List(t) => matches!(n, Node::Obj(o) if o.items.is_some()
            && o.type_names.first().is_some_and(|l| l.starts_with(&format!("System.Collections.Generic.List`1[[{t}, ")))),
        Kind::WmiDateTime => matches!(n, Node::Str(s) if is_dmtf(s)),
    };
    (!ok).then(|| format!("{n:?}"))
}

/// Why `v` is not of `kind` in the lab, if it is not.
fn lab_mismatch(kind: &Kind, v: &Value) -> Option<String> {
    let type_is = |t: &str| matches!(v, Value::Object(o) if o.type_names.first().map(String::as_str) == Some(t));
    let ok = match kind {
        Kind::Str => matches!(v, Value::String(_)),
        Kind::Bool => matches!(v, Value::Bool(_)),
        Kind::Int => matches!(v, Value::Int(_)),
        Kind::DateTime | Kind::WmiDateTime => matches!(v, Value::DateTime(_)),
        Kind::Enum(e) | Kind::NestedEnum(e) => {
            matches!(v, Value::Enum(x) if x.type_name == e.type_name && enum_has(e, &x.name, x.value))
        }
        Kind::Object(t) => type_is(t),
        Kind::ObjectOrNil(t) => matches!(v, Value::Null) || type_is(t),
        // The lab has no generic list type names; its lists are arrays.
        Kind::List(t) => matches!(v, Value::Array(items)
            if items.iter().all(|i| matches!(i, Value::Object(o) if o.type_names.first().map(String::as_str) == Some(*t)))),
    };
    (!ok).then(|| format!("{v:?}"))
}

// ------------------------------------------------------------ sources

fn capture_objects(version: &str, file: &str) -> Vec<Node> {
    let path = repo()
        .join("tests/fixtures/real/exchange-objects")
        .join(version)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    clixml::parse(&text)
}

fn named(name: &str, v: &str) -> Argument {
    Argument::Named {
        name: name.to_string(),
        value: Some(Value::str(v)),
    }
}

fn call(h: &mut ServerHost, cmd: &str, args: &[Argument]) -> Vec<Value> {
    h.invoke(cmd, args, vec![])
        .unwrap_or_else(|e| panic!("lab {cmd}: {}", e.message))
}

/// The lab's objects for `source`, read on EX02 of the shipped lab DAG
/// after `prepare` ran there.
fn lab_objects(w: &mut World, source: Source) -> Vec<Value> {
    let mut h = ServerHost::new(w, "EX02", T0)
        .expect("EX02")
        .as_exchange_endpoint();
    call(
        &mut h,
        "Add-PSSnapin",
        &[Argument::Positional(Value::str(
            "Microsoft.Exchange.Management.PowerShell.SnapIn",
        ))],
    );
    let reg = |h: &mut ServerHost, path: &str| call(h, "Get-ItemProperty", &[named("Path", path)]);
    match source {
        Source::ExchangeServer => call(&mut h, "Get-ExchangeServer", &[named("Identity", "EX02")]),
        Source::MailboxServer => call(&mut h, "Get-MailboxServer", &[named("Identity", "EX02")]),
        Source::ComponentState => call(
            &mut h,
            "Get-ServerComponentState",
            &[named("Identity", "EX02")],
        ),
        Source::OperatingSystem => call(
            &mut h,
            "Get-CimInstance",
            &[named("ClassName", "Win32_OperatingSystem")],
        ),
        Source::ExSetup => {
            let key = reg(&mut h, r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup");
            let Some(Value::String(install)) = key[0].property("MsiInstallPath") else {
                panic!("lab has no MsiInstallPath")
            };
            let path = format!("{}\\bin\\ExSetup.exe", install.trim_end_matches('\\'));
            call(&mut h, "Get-Item", &[named("LiteralPath", &path)])
        }
        Source::Uninstall => reg(
            &mut h,
            r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*",
        )
        .into_iter()
        // The keys the capture holds: HealthChecker keeps the VC++ ones.
        .filter(|v| {
            matches!(v.property("DisplayName"),
                Some(Value::String(d)) if d.starts_with("Microsoft Visual C++ "))
        })
        .collect(),
        Source::SetupKey => reg(&mut h, r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup"),
        Source::NdpKey => reg(
            &mut h,
            r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full",
        ),
    }
}

/// The lab DAG with EX02 in maintenance, so component states carry
/// requester entries in both stores.
fn lab_world() -> World {
    let mut w = World::from_spec(&three_member_spec(), "DAG01", T0);
    let mut h = ServerHost::new(&mut w, "EX02", T0)
        .expect("EX02")
        .as_exchange_endpoint();
    call(
        &mut h,
        "Add-PSSnapin",
        &[Argument::Positional(Value::str(
            "Microsoft.Exchange.Management.PowerShell.SnapIn",
        ))],
    );
    for (component, state) in [
        ("HubTransport", "Draining"),
        ("ServerWideOffline", "Inactive"),
    ] {
        call(
            &mut h,
            "Set-ServerComponentState",
            &[
                named("Identity", "EX02"),
                named("Component", component),
                named("State", state),
                named("Requester", "Maintenance"),
            ],
        );
    }
    w
}

// ------------------------------------------------------------ the tests

#[test]
fn every_property_read_is_in_both_captures_with_its_kind() {
    let mut problems = Vec::new();
    for version in ["E19", "E16"] {
        for r in READS {
            let Some(file) = r.source.capture() else {
                continue;
            };
            let path = match r.capture {
                Capture::Same => r.path,
                Capture::At(p) => p,
                Capture::Absent(why) => {
                    let objects = capture_objects(version, file);
                    let has = |n: &Node| matches!(n, Node::Obj(o) if o.prop(r.path).is_some());
                    if objects.iter().any(has) {
                        problems.push(format!(
                            "{version}/{file} now holds {} (the table says absent: {why})",
                            r.path
                        ));
                    }
                    continue;
                }
            };
            let objects = capture_objects(version, file);
            let found: Vec<&Node> = objects.iter().flat_map(|o| capture_at(o, path)).collect();
            if found.is_empty() {
                problems.push(format!("{version}/{file} {path}: never present"));
            }
            for n in found {
                if let Some(got) = capture_mismatch(&r.kind, n) {
                    problems.push(format!(
                        "{version}/{file} {path}: not the table's kind: {got}"
                    ));
                    break;
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_lab_carries_every_property_read_with_the_captures_kind() {
    let mut w = lab_world();
    let mut problems = Vec::new();
    for r in READS {
        let objects = lab_objects(&mut w, r.source);
        let found: Vec<Value> = objects.iter().flat_map(|o| lab_at(o, r.path)).collect();
        if found.is_empty() {
            problems.push(format!(
                "{:?} {}: never present in the lab",
                r.source, r.path
            ));
        }
        for v in &found {
            if let Some(got) = lab_mismatch(&r.kind, v) {
                problems.push(format!(
                    "{:?} {}: lab differs from the table: {got}",
                    r.source, r.path
                ));
                break;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each enum value the product can meet, set in the lab and read back with
/// the name and number of the table.
#[test]
fn the_labs_enum_numbers_are_the_real_ones() {
    let mut w = World::from_spec(&three_member_spec(), "DAG01", T0);
    let mut h = ServerHost::new(&mut w, "EX02", T0)
        .expect("EX02")
        .as_exchange_endpoint();
    call(
        &mut h,
        "Add-PSSnapin",
        &[Argument::Positional(Value::str(
            "Microsoft.Exchange.Management.PowerShell.SnapIn",
        ))],
    );
    for &(name, number) in ACTIVATION_POLICY.values {
        call(
            &mut h,
            "Set-MailboxServer",
            &[
                named("Identity", "EX02"),
                named("DatabaseCopyAutoActivationPolicy", name),
            ],
        );
        let got = call(&mut h, "Get-MailboxServer", &[named("Identity", "EX02")])[0]
            .property("DatabaseCopyAutoActivationPolicy");
        let Some(Value::Enum(e)) = got else {
            panic!("{name}: {got:?}")
        };
        assert_eq!(
            (e.type_name.as_str(), e.name.as_str(), e.value),
            (ACTIVATION_POLICY.type_name, name, number)
        );
    }
    for &(name, number) in SERVICE_STATE.values {
        call(
            &mut h,
            "Set-ServerComponentState",
            &[
                named("Identity", "EX02"),
                named("Component", "HubTransport"),
                named("State", name),
                named("Requester", "Maintenance"),
            ],
        );
        let states = call(
            &mut h,
            "Get-ServerComponentState",
            &[
                named("Identity", "EX02"),
                named("Component", "HubTransport"),
            ],
        );
        let Some(Value::Enum(e)) = states[0].property("State") else {
            panic!("{name}: {:?}", states[0])
        };
        assert_eq!(
            (e.type_name.as_str(), e.name.as_str(), e.value),
            (SERVICE_STATE.type_name, name, number)
        );
    }
}

/// The real ProductVersion parses as the build cu-roll compares, and the
/// real pending-reboot locations are the ones SERVER_FACTS looks at.
#[test]
fn real_values_parse_as_the_product_reads_them() {
    for version in ["E19", "E16"] {
        let exsetup = &capture_objects(version, "ExSetup.xml")[0];
        let Node::Str(pv) = capture_at(exsetup, "ProductVersion")[0] else {
            panic!()
        };
        let build: cu_roll::catalog::ExchangeBuild = pv.parse().expect("ProductVersion parses");
        let Node::Obj(o) = exsetup else { panic!() };
        let major = |n: &str| match o.prop(n) {
            Some(Node::Int(v, _)) => *v,
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(
            build
                .to_string()
                .split('.')
                .nth(2)
                .and_then(|b| b.parse::<i64>().ok()),
            Some(major("ProductBuildPart")),
            "{pv}"
        );
    }
    let facts = cu_roll::exchange::observe::templates::SERVER_FACTS.text;
    let pending = &capture_objects("E19", "OS_GetServerRebootPending1.xml")[0];
    let locations = capture_at(pending, "PendingRebootLocations[]");
    assert_eq!(locations.len(), 3);
    for l in locations {
        let Node::Str(l) = l else { panic!("{l:?}") };
        // `HKLM:\SYSTEM\…\Session Manager\PendingFileRenameOperations`: the
        // key is read, the last part is the value or subkey the script asks for.
        let (key, last) = l.rsplit_once('\\').expect("a registry path");
        let key = key.trim_start_matches("HKLM:\\").to_ascii_lowercase();
        let text = facts.to_ascii_lowercase();
        assert!(
            text.contains(&key) && text.contains(&last.to_ascii_lowercase()),
            "SERVER_FACTS does not look at {l}"
        );
    }
}

/// The property names the scripts read (`$x.Name`, `$_.Name`, `(…).Name`,
/// method calls left out).
fn names_read(script: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"(?:\$\w+|\)|\])((?:\.[A-Za-z_]\w*)+)(\(?)").expect("regex");
    let mut out = BTreeSet::new();
    for c in re.captures_iter(script) {
        let chain: Vec<&str> = c[1].split('.').filter(|s| !s.is_empty()).collect();
        let method = !c[2].is_empty();
        let n = chain.len() - usize::from(method);
        out.extend(chain[..n].iter().map(|s| s.to_string()));
    }
    out
}

#[test]
fn every_property_the_scripts_read_is_in_the_table() {
    use cu_roll::exchange::observe::templates as t;
    let scripts = [
        t::SERVER_FACTS.text.to_string(),
        t::EXCHANGE_STATE.text.to_string(),
        t::AD_LEVELS.text.to_string(),
        t::BOOT_STATE.text.to_string(),
        t::CLUSTER_GROUP_OWNER.text.to_string(),
        t::HEALTH_TESTS.text.to_string(),
        t::EXCHANGE_CERTIFICATES.text.to_string(),
        t::IIS_BINDINGS.text.to_string(),
        cu_roll::preflight::media::media_script_for(
            "D:\\Setup.exe",
            true,
            Some("C:\\su.msp"),
            true,
        )
        .text()
        .to_string(),
        cu_roll::preflight::adprep::SCHEMA_MASTER.text.to_string(),
    ];
    let known: BTreeSet<&str> = READS
        .iter()
        .flat_map(|r| r.path.split('.'))
        .map(|s| s.trim_end_matches("[]"))
        .chain(OTHER_READS.iter().map(|(n, _)| *n))
        .collect();
    let read: BTreeSet<String> = scripts.iter().flat_map(|s| names_read(s)).collect();
    let missing: Vec<&String> = read
        .iter()
        .filter(|n| !known.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "properties read by the scripts but in neither READS nor OTHER_READS: {missing:?}"
    );
    // And the table lists nothing the scripts no longer read (the lab roll
    // test's Get-ExchangeServer rows excepted).
    let stale: Vec<&str> = READS
        .iter()
        .filter(|r| r.read_by != "lab_roll_tests")
        .flat_map(|r| r.path.split('.'))
        .map(|s| s.trim_end_matches("[]"))
        .filter(|n| !read.contains(*n))
        .collect();
    assert!(
        stale.is_empty(),
        "READS lists properties no script reads: {stale:?}"
    );
}

#[test]
fn names_read_skips_methods_and_keeps_chains() {
    let got = names_read("$a.B.C.ToString('o') (Get-X).D.E() $_.F $env:G $org[0].H");
    let want: BTreeSet<String> = ["B", "C", "D", "F", "H"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
}
