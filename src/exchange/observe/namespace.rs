//! Client access through the load balancer, with a logon: authenticated
//! requests to the plan's client namespace (`[rollout] namespace`), sent
//! from the server just upgraded. Typed; judging the answers is the health
//! step's job, and nothing here changes a server.
//!
//! Why (review real-exchange.md #9): the health pages need no logon and
//! are requested on the server itself, so they cannot see the one break
//! Extended Protection causes behind a load balancer that offloads TLS:
//! EP is not supported with SSL offloading (Microsoft Learn, "Configure
//! Windows Extended Protection in Exchange Server"; CSS-Exchange
//! `ExchangeExtendedProtectionManagement` docs), and Windows
//! authentication through such a load balancer fails once the server
//! checks channel binding tokens. That the failure is an HTTP 401 is
//! UNVERIFIED (load-balancer vendors' notes, e.g. Kemp's on KB5017260,
//! say the connections "break").
//!
//! The requests: `/EWS/Exchange.asmx` (EWS: `Allow` under EP) and
//! `/mapi/emsmdb/?useMailboxOfAuthenticatedUser=true` (MAPI over HTTP:
//! `Require`), each sent as many times in a row as the plan has Mailbox
//! servers, so a load balancer spreading requests round-robin reaches the
//! upgraded server too (one with persistence may not: UNVERIFIED for any
//! given product). What a real server answers to an authenticated GET of
//! either URL beyond "not 401" is UNVERIFIED, so only a 401, or no HTTP
//! answer at all, counts against it. The logon is `[connection] user`'s,
//! from stdin (`TargetWithCredential`): no script text holds the password.
//! The namespace's certificate names the namespace, so .NET's name check is
//! left as it is.

use serde::Deserialize;

use super::super::query::one_or_many;
use super::super::Operation;
use crate::ps::Arg;

/// The authenticated paths requested through the namespace.
pub const NAMESPACE_PATHS: [&str; 2] = [
    "EWS/Exchange.asmx",
    "mapi/emsmdb/?useMailboxOfAuthenticatedUser=true",
];

/// One authenticated request's answer: `StatusCode` when it succeeded,
/// otherwise the `WebException`'s message (it carries the HTTP status,
/// e.g. "(401) Unauthorized.").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamespaceAnswerObs {
    pub url: String,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
}

impl NamespaceAnswerObs {
    /// The logon was refused: HTTP 401.
    pub fn unauthorized(&self) -> bool {
        self.status_code == Some(401) || self.error.as_deref().is_some_and(|e| e.contains("(401)"))
    }

    /// No HTTP answer at all (name not resolved, connection refused,
    /// TLS failed): the message names no `(NNN)` status.
    pub fn unanswered(&self) -> bool {
        self.status_code.is_none()
            && !self
                .error
                .as_deref()
                .is_some_and(|e| e.contains("The remote server returned an error: ("))
    }
}

/// What [`NAMESPACE_PROBE`] prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamespaceObs {
    #[serde(default, deserialize_with = "one_or_many")]
    pub answers: Vec<NamespaceAnswerObs>,
}

/// Requests each of `{{urls}}` once, in order, with `$credential` (30 s
/// each at most).
pub const NAMESPACE_PROBE: crate::exchange::Template = template!(
    TargetWithCredential,
    r#"$urls = @({{urls}})
$answers = @(foreach ($url in $urls) {
    $code = $null
    $problem = $null
    try {
        $answer = Invoke-WebRequest -Uri $url -Credential $credential -TimeoutSec 30 -UseBasicParsing
        $code = [int]$answer.StatusCode
    } catch {
        $problem = $_.Exception.Message
    }
    [pscustomobject]@{ Url = $url; StatusCode = $code; Error = $problem }
})
[pscustomobject]@{ Answers = $answers } | ConvertTo-Json -Depth 3 -Compress
"#
);

/// The URLs: each path of [`NAMESPACE_PATHS`] `rounds` times in a row.
pub fn namespace_urls(namespace: &str, rounds: usize) -> Vec<String> {
    NAMESPACE_PATHS
        .iter()
        .flat_map(|p| std::iter::repeat_n(format!("https://{namespace}/{p}"), rounds.max(1)))
        .collect()
}

/// The authenticated requests through `namespace`, `rounds` per path.
pub fn read_namespace(namespace: &str, rounds: usize) -> Operation {
    let urls = namespace_urls(namespace, rounds);
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    NAMESPACE_PROBE.render(
        "authenticated requests through the client namespace (the load balancer)",
        &[("urls", Arg::List(&refs))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Placement;

    #[test]
    fn each_path_is_asked_once_per_round_with_the_stdin_credential() {
        let op = read_namespace("mail.contoso.local", 2);
        assert_eq!(op.placement, Placement::TargetWithCredential);
        let text = op.script.text();
        assert!(text.contains("$urls = @('https://mail.contoso.local/EWS/Exchange.asmx', 'https://mail.contoso.local/EWS/Exchange.asmx', 'https://mail.contoso.local/mapi/emsmdb/?useMailboxOfAuthenticatedUser=true', 'https://mail.contoso.local/mapi/emsmdb/?useMailboxOfAuthenticatedUser=true')"), "{text}");
        assert!(text.contains("-Credential $credential"));
    }

    #[test]
    fn a_401_is_unauthorized_and_other_statuses_are_answers() {
        let a = |code: Option<u16>, e: Option<&str>| NamespaceAnswerObs {
            url: "u".into(),
            status_code: code,
            error: e.map(str::to_string),
        };
        let refused = a(
            None,
            Some("The remote server returned an error: (401) Unauthorized."),
        );
        assert!(refused.unauthorized() && !refused.unanswered());
        let other = a(
            None,
            Some("The remote server returned an error: (405) Method Not Allowed."),
        );
        assert!(!other.unauthorized() && !other.unanswered());
        let gone = a(None, Some("The remote name could not be resolved: 'mail'"));
        assert!(gone.unanswered());
        assert!(!a(Some(200), None).unanswered());
    }
}
