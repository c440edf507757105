//! Client access as a load balancer sees it: each protocol's
//! `https://<server fqdn>/<vdir>/healthcheck.htm`, requested from the
//! server itself. Typed; judging the answers is the health step's job, and
//! nothing here changes a server.
//!
//! Sources: the page list and its meaning (200 while the protocol's proxy
//! component and ServerWideOffline are Active; no logon needed, so a 200
//! proves the front end is up, not that logons work) are
//! community-documented (the Exchange Team blog "Server Component States
//! in Exchange 2013", load-balancer vendors' Exchange guides, review
//! real-exchange.md #12): UNVERIFIED against a Microsoft reference page.
//!
//! Where the probe runs, and the certificate: in the WinRM shell on the
//! server (`Placement::Target`), addressed by the server's FQDN, so it tests
//! this server and not the load balancer. The IIS certificate usually
//! names the client namespace (`mail.contoso.local`) and not the server, so
//! .NET's name check would fail every request; the script sets
//! `ServicePointManager.ServerCertificateValidationCallback` to accept a
//! certificate whose only fault is the name (`RemoteCertificateNameMismatch`;
//! an untrusted chain or an expired certificate still fails), for this
//! script only: it puts the previous callback back in `finally` (a
//! long-lived PowerShell host must not keep it). `Invoke-WebRequest` in
//! Windows PowerShell 5.1 has no `-SkipCertificateCheck` (PowerShell 6+).

use serde::Deserialize;

use super::super::query::{one_or_many, query};
use super::super::reach::Reach;
use super::super::{Operation, QueryError};
use crate::plan::Server;
use crate::ps::Arg;

/// The virtual directories whose health page is probed, as their URLs
/// spell them.
pub const HEALTH_PAGE_VDIRS: [&str; 8] = [
    "owa",
    "ecp",
    "EWS",
    "mapi",
    "Microsoft-Server-ActiveSync",
    "OAB",
    "Autodiscover",
    "rpc",
];

/// One health page's answer: `StatusCode` 200 with no `Error` when it
/// answered; otherwise the `WebException`'s message (it carries the
/// status, e.g. "(503) Server Unavailable", or "Unable to connect").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthPageObs {
    pub vdir: String,
    pub url: String,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
}

impl HealthPageObs {
    /// Answered 200 OK.
    pub fn ok(&self) -> bool {
        self.status_code == Some(200)
    }
}

/// What `HEALTH_PAGES` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientAccessObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub pages: Vec<HealthPageObs>,
}

/// Requests each health page of `{{fqdn}}` once (30 s each at most).
pub const HEALTH_PAGES: crate::exchange::Template = template!(
    Target,
    r#"$fqdn = {{fqdn}}
$vdirs = @('owa', 'ecp', 'EWS', 'mapi', 'Microsoft-Server-ActiveSync', 'OAB', 'Autodiscover', 'rpc')
$previous = [System.Net.ServicePointManager]::ServerCertificateValidationCallback
[System.Net.ServicePointManager]::ServerCertificateValidationCallback = {
    param($sender, $certificate, $chain, $errors)
    $errors -eq 'None' -or $errors -eq 'RemoteCertificateNameMismatch'
}
try {
    $pages = @(foreach ($vdir in $vdirs) {
        $url = "https://$fqdn/$vdir/healthcheck.htm"
        $code = $null
        $problem = $null
        try {
            $answer = Invoke-WebRequest -Uri $url -TimeoutSec 30 -UseBasicParsing
            $code = [int]$answer.StatusCode
        } catch {
            $problem = $_.Exception.Message
        }
        [pscustomobject]@{ Vdir = $vdir; Url = $url; StatusCode = $code; Error = $problem }
    })
} finally {
    [System.Net.ServicePointManager]::ServerCertificateValidationCallback = $previous
}
[pscustomobject]@{ Pages = $pages } | ConvertTo-Json -Depth 3 -Compress
"#
);

/// Requests `server`'s health pages on `server` itself.
pub fn read_health_pages(fqdn: &str) -> Operation {
    HEALTH_PAGES.render(
        "client-access health pages (/<vdir>/healthcheck.htm)",
        &[("fqdn", Arg::Str(fqdn))],
    )
}

pub fn health_pages(reach: &Reach<'_>, server: &Server) -> Result<ClientAccessObs, QueryError> {
    query(reach, server, &read_health_pages(&server.fqdn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_probes_every_listed_vdir() {
        let text = read_health_pages("ex01.contoso.local")
            .script
            .text()
            .to_string();
        let list = HEALTH_PAGE_VDIRS
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(text.contains(&list), "{text}");
        assert!(text.contains("$fqdn = 'ex01.contoso.local'"));
    }

    #[test]
    fn a_failed_page_keeps_its_error() {
        let o: ClientAccessObs = serde_json::from_str(
            r#"{"Pages":{"Vdir":"owa","Url":"https://ex01/owa/healthcheck.htm","StatusCode":null,"Error":"The remote server returned an error: (503) Server Unavailable."}}"#,
        )
        .unwrap();
        assert_eq!(o.pages.len(), 1);
        assert!(!o.pages[0].ok());
        assert!(o.pages[0].error.as_deref().unwrap().contains("503"));
    }
}
