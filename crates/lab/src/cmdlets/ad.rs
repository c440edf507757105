//! ActiveDirectory cmdlets, enough to read the Exchange AD levels:
//! Get-ADRootDSE and Get-ADObject (by DN, or one-level LDAP search) over
//! the schema version attribute, the organisation container and the
//! Microsoft Exchange System Objects container (exchange-facts.md §3);
//! Get-ADForest and Get-ADDomainController for where the schema master is
//! (its domain and site: where `/PrepareSchema` and `/PrepareAD` must run).

use super::{string_list, Answer};
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

const GET_ROOT_DSE: CmdletSpec = CmdletSpec {
    name: "Get-ADRootDSE",
    params: &[value("Server"), value("Properties"), value("Credential")],
    should_process: None,
};
const GET_AD_OBJECT: CmdletSpec = CmdletSpec {
    name: "Get-ADObject",
    params: &[
        positional("Identity", 0),
        value("Properties"),
        value("SearchBase"),
        value("SearchScope"),
        value("LDAPFilter"),
        value("Filter"),
        value("Server"),
        value("Credential"),
        value("ResultSetSize"),
    ],
    should_process: None,
};

const GET_AD_FOREST: CmdletSpec = CmdletSpec {
    name: "Get-ADForest",
    params: &[
        positional("Identity", 0),
        value("Server"),
        value("Credential"),
    ],
    should_process: None,
};
const GET_AD_DOMAIN_CONTROLLER: CmdletSpec = CmdletSpec {
    name: "Get-ADDomainController",
    params: &[
        positional("Identity", 0),
        value("Server"),
        value("Credential"),
        value("Filter"),
    ],
    should_process: None,
};

/// The lab forest's only site: the name a new forest's first site gets.
const LAB_SITE: &str = "Default-First-Site-Name";

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-adrootdse" => root_dse(host, args),
        "get-adobject" => get_ad_object(host, args),
        "get-adforest" => get_ad_forest(host, args),
        "get-addomaincontroller" => get_ad_domain_controller(host, args),
        _ => return None,
    })
}

struct AdEntry {
    dn: String,
    class: &'static str,
    attrs: Vec<(&'static str, Value)>,
}

fn entries(host: &ServerHost) -> Vec<AdEntry> {
    let ad = &host.world.ad;
    let config = format!("CN=Configuration,{}", ad.domain_dn);
    let exchange = format!("CN=Microsoft Exchange,CN=Services,{config}");
    vec![
        AdEntry {
            dn: format!("CN=ms-Exch-Schema-Version-Pt,CN=Schema,{config}"),
            class: "attributeSchema",
            attrs: vec![("rangeUpper", Value::Int(i64::from(ad.schema_range_upper)))],
        },
        AdEntry {
            dn: exchange.clone(),
            class: "msExchConfigurationContainer",
            attrs: vec![],
        },
        AdEntry {
            dn: format!("CN={},{exchange}", ad.organization),
            class: "msExchOrganizationContainer",
            attrs: vec![(
                "objectVersion",
                Value::Int(i64::from(ad.org_object_version)),
            )],
        },
        AdEntry {
            dn: format!("CN=Microsoft Exchange System Objects,{}", ad.domain_dn),
            class: "msExchSystemObjectsContainer",
            attrs: vec![(
                "objectVersion",
                Value::Int(i64::from(ad.domain_object_version)),
            )],
        },
    ]
}

fn root_dse(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    bind(&GET_ROOT_DSE, args)?;
    let dn = host.world.ad.domain_dn.clone();
    let dns = dn.replace("DC=", "").replace(',', ".");
    Ok(vec![PsObject::new(
        "Microsoft.ActiveDirectory.Management.ADRootDSE",
    )
    .with(
        "configurationNamingContext",
        format!("CN=Configuration,{dn}"),
    )
    .with("defaultNamingContext", dn.clone())
    .with("rootDomainNamingContext", dn.clone())
    .with(
        "schemaNamingContext",
        format!("CN=Schema,CN=Configuration,{dn}"),
    )
    .with("dnsHostName", format!("dc01.{dns}"))
    .with(
        "namingContexts",
        Value::Array(vec![
            Value::str(dn.clone()),
            Value::str(format!("CN=Configuration,{dn}")),
        ]),
    )
    .into()])
}

fn object(e: &AdEntry, props: &[String]) -> Value {
    let name =
        e.dn.split(',')
            .next()
            .unwrap_or_default()
            .trim_start_matches("CN=")
            .to_string();
    let mut o = PsObject::new("Microsoft.ActiveDirectory.Management.ADObject")
        .with("DistinguishedName", e.dn.clone())
        .with("Name", name)
        .with("ObjectClass", e.class)
        .with("ObjectGUID", "6f7a1c52-93b0-4a8e-9d2e-1f3c5b7a9e01");
    for (k, v) in &e.attrs {
        if props.iter().any(|p| p == "*" || p.eq_ignore_ascii_case(k)) {
            o = o.with(k, v.clone());
        }
    }
    o.display(e.dn.clone()).into()
}

/// `(attr=value)` — the only LDAP filter shape the lab needs.
fn ldap_match(filter: &str, e: &AdEntry) -> Option<bool> {
    let inner = filter.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (attr, val) = inner.split_once('=')?;
    Some(match attr.trim().to_ascii_lowercase().as_str() {
        "objectclass" => val.trim() == "*" || val.trim().eq_ignore_ascii_case(e.class),
        _ => false,
    })
}

fn get_ad_object(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_AD_OBJECT, args)?;
    let props = b.get("Properties").map(string_list).unwrap_or_default();
    let all = entries(host);
    if let Some(id) = b.string("Identity") {
        return match all.iter().find(|e| e.dn.eq_ignore_ascii_case(&id)) {
            Some(e) => Ok(vec![object(e, &props)]),
            None => Err(PsError::new(
                ErrorCategory::ObjectNotFound,
                "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,Microsoft.ActiveDirectory.Management.Commands.GetADObject",
                format!("Cannot find an object with identity: '{id}' under: '{}'.", host.world.ad.domain_dn),
            )
            .in_command("Get-ADObject")
            .terminating()),
        };
    }
    let Some(filter) = b.string("LDAPFilter") else {
        return Err(super::missing_mandatory("Get-ADObject", &["Filter"]));
    };
    let base = b
        .string("SearchBase")
        .unwrap_or_else(|| host.world.ad.domain_dn.clone());
    let scope = b
        .string("SearchScope")
        .unwrap_or_else(|| "Subtree".to_string())
        .to_ascii_lowercase();
    let mut out = Vec::new();
    for e in &all {
        let under =
            e.dn.to_ascii_lowercase()
                .ends_with(&format!(",{}", base.to_ascii_lowercase()));
        let depth_ok = match scope.as_str() {
            "base" | "0" => e.dn.eq_ignore_ascii_case(&base),
            "onelevel" | "1" => under && !e.dn[..e.dn.len() - base.len() - 1].contains(",CN="),
            _ => under || e.dn.eq_ignore_ascii_case(&base),
        };
        if depth_ok && ldap_match(&filter, e).ok_or_else(|| bad_filter(&filter))? {
            out.push(object(e, &props));
        }
    }
    Ok(out)
}

fn bad_filter(filter: &str) -> PsError {
    PsError::new(
        ErrorCategory::InvalidArgument,
        "ActiveDirectoryCmdlet:System.ArgumentException,Microsoft.ActiveDirectory.Management.Commands.GetADObject",
        format!("The search filter cannot be recognized: {filter}"),
    )
    .in_command("Get-ADObject")
    .terminating()
}

/// The forest's DNS name (`contoso.local`) and its one DC, which holds
/// every FSMO role (a single-DC lab forest).
fn forest_names(host: &ServerHost) -> (String, String) {
    let dns = host.world.ad.domain_dn.replace("DC=", "").replace(',', ".");
    let dc = format!("dc01.{dns}");
    (dns, dc)
}

fn get_ad_forest(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    bind(&GET_AD_FOREST, args)?;
    let (dns, dc) = forest_names(host);
    Ok(vec![PsObject::new(
        "Microsoft.ActiveDirectory.Management.ADForest",
    )
    .with("Name", dns.clone())
    .with("RootDomain", dns.clone())
    .with("Domains", Value::Array(vec![Value::str(dns.clone())]))
    .with("Sites", Value::Array(vec![Value::str(LAB_SITE)]))
    .with("SchemaMaster", dc.clone())
    .with("DomainNamingMaster", dc)
    .with("ForestMode", "Windows2016Forest")
    .display(dns)
    .into()])
}

fn get_ad_domain_controller(
    host: &mut ServerHost,
    args: &[Argument],
) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_AD_DOMAIN_CONTROLLER, args)?;
    let (dns, dc) = forest_names(host);
    let short = dc.split('.').next().unwrap_or_default().to_string();
    if let Some(id) = b.string("Identity") {
        if !id.eq_ignore_ascii_case(&dc) && !id.eq_ignore_ascii_case(&short) {
            return Err(PsError::new(
                ErrorCategory::ObjectNotFound,
                "ActiveDirectoryServer:0,Microsoft.ActiveDirectory.Management.Commands.GetADDomainController",
                format!("Cannot find an object with identity: '{id}' under: '{}'.", host.world.ad.domain_dn),
            )
            .in_command("Get-ADDomainController")
            .terminating());
        }
    }
    Ok(vec![PsObject::new(
        "Microsoft.ActiveDirectory.Management.ADDomainController",
    )
    .with("Name", short.to_ascii_uppercase())
    .with("HostName", dc.clone())
    .with("Domain", dns.clone())
    .with("Forest", dns)
    .with("Site", LAB_SITE)
    .with("IsGlobalCatalog", true)
    .with(
        "OperationMasterRoles",
        Value::Array(
            [
                "SchemaMaster",
                "DomainNamingMaster",
                "PDCEmulator",
                "RIDMaster",
                "InfrastructureMaster",
            ]
            .into_iter()
            .map(Value::str)
            .collect(),
        ),
    )
    .display(dc)
    .into()])
}
