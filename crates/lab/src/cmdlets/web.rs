//! `Invoke-WebRequest` against a lab server's IIS: the client-access health
//! pages `https://<server>/<vdir>/healthcheck.htm` that load balancers
//! probe. Owns which page answers what; it changes nothing.
//!
//! Sources and assumptions:
//! - The page list and "200 while the protocol is in service, 503 when its
//!   proxy component (or ServerWideOffline) is Inactive" are
//!   community-documented (the Exchange Team blog "Server Component States
//!   in Exchange 2013" and load-balancer guides that probe
//!   `/<vdir>/healthcheck.htm`): UNVERIFIED against a Microsoft reference
//!   page. The page needs no logon.
//! - W3SVC stopped (or the server rebooting): the TCP connection is
//!   refused, which .NET reports as "Unable to connect to the remote
//!   server".
//! - The lab's IIS certificate names the client namespace only (as
//!   Microsoft's certificate guidance recommends: no server names), so an
//!   `https` request to a server's own name fails .NET's name check unless
//!   the process set `[System.Net.ServicePointManager]::ServerCertificateValidationCallback`.
//!   The lab does not run the callback; it only asks that one is set.
//! - `owa-pool-stopped` (docs/lab.md "Faults"): the OWA application pool
//!   is stopped, and IIS answers 503 for an application whose pool is
//!   stopped; which pool serves which front-end page is not modelled.
//! - Error texts are .NET Framework 4.x's `WebException` messages, as
//!   Windows PowerShell 5.1 shows them.
//! - The client namespace (`[lab] load_balancer`, `crate::load_balancer`)
//!   is answered by the load balancer, whose certificate names it: it
//!   sends each request on to a Mailbox server whose health page for the
//!   protocol answers 200. Any other path than a health page needs a logon
//!   (`-Credential` or `-UseDefaultCredentials`; without: `(401)
//!   Unauthorized`); with one it answers 200, unless the load balancer
//!   offloads TLS and the server's directory checks channel binding
//!   tokens (Extended Protection): then `(401) Unauthorized` (UNVERIFIED
//!   status, see `load_balancer`). The same authenticated request to a
//!   server's own name keeps TLS to the server and succeeds.

use super::{missing_mandatory, Answer};
use crate::components::{effective_state, ServiceState};
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};

const INVOKE_WEB_REQUEST: CmdletSpec = CmdletSpec {
    name: "Invoke-WebRequest",
    params: &[
        positional("Uri", 0),
        switch("UseBasicParsing"),
        value("TimeoutSec"),
        value("Method"),
        value("Headers"),
        value("Credential"),
        switch("UseDefaultCredentials"),
        value("MaximumRedirection"),
    ],
    should_process: None,
};

/// Each health page's virtual directory and the server component whose
/// state it reports (component names as Get-ServerComponentState lists them).
pub(crate) const HEALTH_PAGES: &[(&str, &str)] = &[
    ("owa", "OwaProxy"),
    ("ecp", "EcpProxy"),
    ("ews", "EwsProxy"),
    ("mapi", "MapiProxy"),
    ("microsoft-server-activesync", "ActiveSyncProxy"),
    ("oab", "OabProxy"),
    ("autodiscover", "AutoDiscoverProxy"),
    ("rpc", "RpcProxy"),
];

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "invoke-webrequest" | "iwr" | "curl" | "wget" => invoke_web_request(host, args),
        _ => return None,
    })
}

/// A `WebException` as Invoke-WebRequest raises it (statement-terminating:
/// `try`/`catch` sees it).
fn web_error(message: impl Into<String>) -> PsError {
    PsError::new(
        ErrorCategory::InvalidOperation,
        "WebCmdletWebResponseException,Microsoft.PowerShell.Commands.InvokeWebRequestCommand",
        message,
    )
    .in_command(INVOKE_WEB_REQUEST.name)
    .terminating()
}

/// `scheme://host[:port]/path` → (scheme, host, path), lower-cased scheme.
fn split_uri(uri: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = uri.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.split(':').next().unwrap_or(authority);
    Some((
        scheme.to_ascii_lowercase(),
        host.to_string(),
        path.to_string(),
    ))
}

fn invoke_web_request(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&INVOKE_WEB_REQUEST, args)?;
    let uri = b
        .string("Uri")
        .ok_or_else(|| missing_mandatory(INVOKE_WEB_REQUEST.name, &["Uri"]))?;
    let Some((scheme, name, path)) = split_uri(&uri) else {
        return Err(web_error(
            "Invalid URI: The format of the URI could not be determined.",
        ));
    };
    let logon = b.get("Credential").is_some() || b.switch("UseDefaultCredentials");
    if host.world.load_balancer.answers(&name) {
        return through_load_balancer(host, &path, logon);
    }
    let index = if name.eq_ignore_ascii_case("localhost") {
        Some(host.server)
    } else {
        host.world.server_index(&name)
    };
    let Some(i) = index else {
        return Err(web_error(format!(
            "The remote name could not be resolved: '{name}'"
        )));
    };
    let s = &host.world.servers[i];
    if s.is_down() || !s.service_running("W3SVC") {
        return Err(web_error("Unable to connect to the remote server"));
    }
    if scheme == "https" && !host.certificate_callback {
        return Err(web_error("The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel."));
    }
    answer(host, i, &path, logon, false)
}

/// What server `i` answers for `path`: a health page as it stands, any
/// other page of a protocol 200 with a logon (401 without, or through an
/// offloading load balancer to a directory with Extended Protection:
/// `offloaded`), 404 for no protocol's page.
fn answer(
    host: &mut ServerHost,
    i: usize,
    path: &str,
    logon: bool,
    offloaded: bool,
) -> Result<Vec<Value>, PsError> {
    let fqdn = host.world.servers[i].fqdn.clone();
    let code = match protocol_page(path) {
        Some(vdir) => {
            let page = health_page_status(host, i, &format!("/{vdir}/healthcheck.htm"));
            let s = &host.world.servers[i];
            let ep = s
                .extended_protection
                .unwrap_or_else(|| super::ExtendedProtection::initial(s.build, None));
            let lb = &host.world.load_balancer;
            if page != 200 {
                page
            } else if !logon || (offloaded && lb.breaks_windows_auth(ep.token_checking(vdir))) {
                401
            } else {
                200
            }
        }
        None => health_page_status(host, i, path),
    };
    match code {
        200 => Ok(vec![response(200, "OK", &format!("200 OK<br/>{fqdn}"))]),
        401 => Err(web_error(
            "The remote server returned an error: (401) Unauthorized.",
        )),
        404 => Err(web_error(
            "The remote server returned an error: (404) Not Found.",
        )),
        code => Err(web_error(format!(
            "The remote server returned an error: ({code}) Server Unavailable."
        ))),
    }
}

/// The protocol directory of a path that is not its health page (e.g.
/// `/EWS/Exchange.asmx` → `ews`), if it is one the lab knows.
fn protocol_page(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let first = lower.trim_start_matches('/').split(['/', '?']).next()?;
    if lower.ends_with("/healthcheck.htm") {
        return None;
    }
    HEALTH_PAGES
        .iter()
        .find(|(v, _)| *v == first)
        .map(|(v, _)| *v)
}

/// A request to the client namespace: the load balancer (its certificate
/// names the namespace, so no callback is needed) sends it round-robin to
/// a Mailbox server whose health page for the protocol answers 200.
fn through_load_balancer(
    host: &mut ServerHost,
    path: &str,
    logon: bool,
) -> Result<Vec<Value>, PsError> {
    let lower = path.to_ascii_lowercase();
    let Some(vdir) = lower
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .and_then(|first| HEALTH_PAGES.iter().find(|(v, _)| *v == first))
        .map(|(v, _)| *v)
    else {
        return Err(web_error(
            "The remote server returned an error: (404) Not Found.",
        ));
    };
    let probe = format!("/{vdir}/healthcheck.htm");
    let pool: Vec<usize> = (0..host.world.servers.len())
        .filter(|&i| {
            let s = &host.world.servers[i];
            s.edge.is_none() && !s.is_down() && s.service_running("W3SVC")
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|&i| health_page_status(host, i, &probe) == 200)
        .collect();
    let Some(i) = host.world.load_balancer.pick(&pool) else {
        return Err(web_error(
            "The remote server returned an error: (503) Server Unavailable.",
        ));
    };
    answer(host, i, path, logon, true)
}

/// What `path` answers on server `i`: 200 while the page's component is
/// Active (ServerWideOffline Inactive makes every one Inactive), 503
/// otherwise or while `owa-pool-stopped` holds for `/owa`; 404 for a path
/// that is no health page.
fn health_page_status(host: &mut ServerHost, i: usize, path: &str) -> u16 {
    let lower = path.to_ascii_lowercase();
    let Some(vdir) = lower
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/healthcheck.htm"))
    else {
        return 404;
    };
    let Some((vdir, component)) = HEALTH_PAGES.iter().find(|(v, _)| *v == vdir) else {
        return 404;
    };
    let name = host.world.servers[i].name.clone();
    if *vdir == "owa" && host.world.trigger_fault("owa-pool-stopped", &name, None) {
        return 503;
    }
    match effective_state(&host.world.servers[i].components, component) {
        Some(ServiceState::Active) => 200,
        _ => 503,
    }
}

/// A `BasicHtmlWebResponseObject` with the members scripts read.
fn response(code: i64, description: &str, content: &str) -> Value {
    PsObject::new("Microsoft.PowerShell.Commands.BasicHtmlWebResponseObject")
        .with("StatusCode", code)
        .with("StatusDescription", description)
        .with("Content", content)
        .with(
            "RawContentLength",
            i64::try_from(content.len()).unwrap_or(0),
        )
        .display(content.to_string())
        .into()
}

#[cfg(test)]
mod tests {
    use super::split_uri;
    use crate::components::{ServiceState, StateStore};
    use crate::model::ServiceStatus;
    use crate::testkit::{run_ps_in, three_member_spec, T0};
    use crate::world::World;

    const RELAXED: &str =
        "[System.Net.ServicePointManager]::ServerCertificateValidationCallback = { $true }\n";

    fn page(world: &mut World, script: &str) -> (String, String) {
        let out = run_ps_in(world, "EX02", script, T0).unwrap();
        (out.stdout, out.stderr)
    }

    fn status(world: &mut World, vdir: &str) -> String {
        let script = format!(
            "{RELAXED}try {{ (Invoke-WebRequest -Uri 'https://ex02.contoso.local/{vdir}/healthcheck.htm' -UseBasicParsing).StatusCode }} catch {{ $_.Exception.Message }}"
        );
        page(world, &script).0.trim().to_string()
    }

    fn world() -> World {
        let spec = three_member_spec();
        World::from_spec(&spec, &spec.dag, T0)
    }

    #[test]
    fn every_health_page_answers_200_on_a_server_in_service() {
        let mut w = world();
        for vdir in [
            "owa",
            "ECP",
            "EWS",
            "mapi",
            "Microsoft-Server-ActiveSync",
            "OAB",
            "Autodiscover",
            "rpc",
        ] {
            assert_eq!(status(&mut w, vdir), "200", "{vdir}");
        }
        assert!(status(&mut w, "nothing").contains("(404) Not Found"));
    }

    /// The lab's certificate names the namespace only: a probe by server
    /// name fails .NET's check unless the script relaxed it.
    #[test]
    fn a_probe_by_server_name_needs_the_certificate_callback() {
        let mut w = world();
        let (out, _) = page(
            &mut w,
            "try { Invoke-WebRequest -Uri 'https://ex02.contoso.local/owa/healthcheck.htm' -UseBasicParsing } catch { $_.Exception.Message }",
        );
        assert!(
            out.contains("Could not establish trust relationship"),
            "{out}"
        );
        let (out, _) = page(
            &mut w,
            &format!("$before = [System.Net.ServicePointManager]::ServerCertificateValidationCallback\n{RELAXED}[System.Net.ServicePointManager]::ServerCertificateValidationCallback = $before\ntry {{ Invoke-WebRequest -Uri 'https://ex02.contoso.local/owa/healthcheck.htm' -UseBasicParsing }} catch {{ $_.Exception.Message }}"),
        );
        assert!(
            out.contains("Could not establish trust relationship"),
            "put back: {out}"
        );
    }

    #[test]
    fn a_page_answers_503_while_its_proxy_component_or_server_wide_offline_is_inactive() {
        let mut w = world();
        let i = w.server_index("EX02").unwrap();
        let owa = w.servers[i]
            .components
            .iter()
            .position(|c| c.component == "OwaProxy")
            .unwrap();
        w.servers[i].components[owa].set(
            "Maintenance",
            ServiceState::Inactive,
            T0,
            StateStore::Both,
        );
        assert!(status(&mut w, "owa").contains("(503) Server Unavailable"));
        assert_eq!(status(&mut w, "ecp"), "200");
        w.servers[i].components[owa].set("Maintenance", ServiceState::Active, T0, StateStore::Both);
        w.servers[i].components[0].set("Maintenance", ServiceState::Inactive, T0, StateStore::Both);
        assert!(status(&mut w, "ecp").contains("(503)"), "ServerWideOffline");
    }

    #[test]
    fn no_page_answers_while_w3svc_is_stopped() {
        let mut w = world();
        let i = w.server_index("EX02").unwrap();
        for s in &mut w.servers[i].services {
            if s.name == "W3SVC" {
                s.status = ServiceStatus::Stopped;
            }
        }
        assert_eq!(
            status(&mut w, "owa"),
            "Unable to connect to the remote server"
        );
    }

    /// Review real-exchange.md #9, lab item L10: behind a load balancer
    /// that offloads TLS, an authenticated request to a directory with
    /// Extended Protection fails; the health page through it, and the same
    /// request to the server's own name, do not.
    #[test]
    fn an_offloading_load_balancer_fails_authenticated_requests_to_ep_directories_only() {
        let mut w = world();
        w.load_balancer.tls_offloading = true;
        for s in &mut w.servers {
            s.extended_protection = Some(crate::cmdlets::ExtendedProtection::On);
        }
        let ask = |w: &mut World, url: &str, logon: bool| {
            let cred = if logon { " -UseDefaultCredentials" } else { "" };
            let script = format!(
                "{RELAXED}try {{ (Invoke-WebRequest -Uri '{url}' -UseBasicParsing{cred}).StatusCode }} catch {{ $_.Exception.Message }}"
            );
            page(w, &script).0.trim().to_string()
        };
        let ews = "https://mail.contoso.local/EWS/Exchange.asmx";
        assert!(ask(&mut w, ews, true).contains("(401) Unauthorized"));
        assert_eq!(
            ask(
                &mut w,
                "https://mail.contoso.local/EWS/healthcheck.htm",
                false
            ),
            "200"
        );
        assert_eq!(
            ask(&mut w, "https://ex02.contoso.local/EWS/Exchange.asmx", true),
            "200"
        );
        assert!(ask(&mut w, ews, false).contains("(401)"), "no logon");
        w.load_balancer.tls_offloading = false;
        assert_eq!(ask(&mut w, ews, true), "200");
        for s in &mut w.servers {
            s.extended_protection = Some(crate::cmdlets::ExtendedProtection::Off);
        }
        w.load_balancer.tls_offloading = true;
        assert_eq!(ask(&mut w, ews, true), "200", "EP off: offloading works");
    }

    #[test]
    fn uris_split_into_scheme_host_and_path() {
        assert_eq!(
            split_uri("https://ex01.contoso.local:443/owa/healthcheck.htm"),
            Some((
                "https".into(),
                "ex01.contoso.local".into(),
                "/owa/healthcheck.htm".into()
            ))
        );
        assert_eq!(
            split_uri("HTTP://ex01"),
            Some(("http".into(), "ex01".into(), "/".into()))
        );
        assert_eq!(split_uri("not a uri"), None);
    }
}
