//! The `[[notify]]` tables: where a rollout's webhook notifications go,
//! in one module for both stages (the raw TOML shape and its validation
//! into [`NotifyTarget`]), so the section has one place to change. It
//! checks values only: sending is the `notify` module's business, and the
//! secret (`secret_env`/`secret_file`) is only named here, read at the
//! command edge like the connection's password.
//!
//! A webhook URL often carries its own token (Teams and Slack put the
//! secret in the path), so a [`WebhookUrl`] never shows more than its
//! scheme and host in `Debug` or in a message.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::plan::SecretSource;
use planfile::values::{check_env_var, check_local_path};
use planfile::{checked, PlanError, Source, Text};

/// One `[[notify]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    url: Option<Text>,
    format: Option<Spanned<NotifyFormat>>,
    secret_env: Option<Text>,
    secret_file: Option<Text>,
    secret_header: Option<Text>,
    events: Option<Spanned<Vec<Spanned<NotifyEvent>>>>,
}

/// The body each message is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// One JSON object per event (docs/plan.md lists its fields).
    Json,
    /// A Microsoft Teams incoming-webhook message holding an Adaptive Card.
    Teams,
    /// A Slack incoming-webhook message (`text` and `blocks`).
    Slack,
}

/// What a rollout notifies about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyEvent {
    /// The rollout begins or resumes.
    Start,
    /// A server is finished (upgraded and back in service).
    ServerDone,
    /// A step failed or a gate refused: the rollout stops.
    Failure,
    /// Ctrl-C or SIGTERM stopped the run at a safe point.
    Interrupted,
    /// The run ended (however it ended), with the run report's summary.
    End,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::Start,
        NotifyEvent::ServerDone,
        NotifyEvent::Failure,
        NotifyEvent::Interrupted,
        NotifyEvent::End,
    ];

    /// The name in the plan and in the JSON message's `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Start => "start",
            NotifyEvent::ServerDone => "server-done",
            NotifyEvent::Failure => "failure",
            NotifyEvent::Interrupted => "interrupted",
            NotifyEvent::End => "end",
        }
    }
}

/// A webhook URL (http or https). Its `Debug` and [`WebhookUrl::shown`]
/// give the scheme and host only: the path and query may be the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The whole URL, for the one place that sends to it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `https://host:port/…`, for logs and messages.
    pub fn shown(&self) -> String {
        match reqwest::Url::parse(&self.0) {
            Ok(u) => format!(
                "{}://{}{}/…",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ),
            Err(_) => "(webhook)".to_string(),
        }
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({})", self.shown())
    }
}

/// One validated `[[notify]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    pub url: WebhookUrl,
    pub format: NotifyFormat,
    /// Where the secret header's value comes from (`None`: no header).
    pub secret: SecretSource,
    /// The header the secret is sent in (default `Authorization`).
    pub secret_header: String,
    /// The events sent to this target (default: all, in [`NotifyEvent::ALL`] order).
    pub events: Vec<NotifyEvent>,
}

/// The header a secret goes in when the plan does not name one.
pub const DEFAULT_SECRET_HEADER: &str = "Authorization";

pub(super) fn targets(
    src: &Source,
    raw: &[Spanned<RawNotify>],
) -> Result<Vec<NotifyTarget>, PlanError> {
    raw.iter().map(|n| target(src, n)).collect()
}

fn target(src: &Source, entry: &Spanned<RawNotify>) -> Result<NotifyTarget, PlanError> {
    let n = entry.get_ref();
    let Some(url) = &n.url else {
        return Err(src.error(
            entry.span(),
            "missing key 'url' in [[notify]]: the webhook to post to, e.g. \
             url = \"https://contoso.webhook.office.com/webhookb2/…\"",
        ));
    };
    let parsed = checked(src, url, check_url)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // The excerpt would show the password: hide the value.
        return Err(src.secret_error(
            url.span(),
            "url carries a user name or password; put the secret in secret_env or secret_file \
             (sent in a header) instead",
        ));
    }
    let secret = match (&n.secret_env, &n.secret_file) {
        (Some(_), Some(f)) => {
            return Err(src.error(
                f.span(),
                "give secret_env or secret_file, not both: cu-roll would not know which to use",
            ))
        }
        (Some(e), None) => SecretSource::Env(checked(src, e, |t| {
            check_env_var("secret_env", "CUROLL_WEBHOOK_TOKEN", t).map(|()| t.to_string())
        })?),
        (None, Some(f)) => {
            checked(src, f, |t| check_local_path("secret_file", t))?;
            SecretSource::File(PathBuf::from(f.get_ref()))
        }
        (None, None) => SecretSource::None,
    };
    if secret != SecretSource::None && parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(src.error(
            url.span(),
            "a secret header would travel unencrypted over http:// to another machine; \
             use an https:// URL (http:// is accepted with a secret only for 127.0.0.1, ::1 or localhost)",
        ));
    }
    let secret_header = match (&n.secret_header, &secret) {
        (Some(h), SecretSource::None) => {
            return Err(src.error(
                h.span(),
                "secret_header names the header the secret goes in, but this [[notify]] has no \
                 secret; add secret_env = \"NAME\" or secret_file = \"PATH\", or remove secret_header",
            ))
        }
        (Some(h), _) => checked(src, h, |t| check_header_name(t).map(|()| t.to_string()))?,
        (None, _) => DEFAULT_SECRET_HEADER.to_string(),
    };
    let events = match &n.events {
        None => NotifyEvent::ALL.to_vec(),
        Some(list) if list.get_ref().is_empty() => {
            return Err(src.error(
                list.span(),
                "events is empty, so this [[notify]] would never send anything; list some of \
                 \"start\", \"server-done\", \"failure\", \"interrupted\", \"end\", or remove the key \
                 (all of them)",
            ))
        }
        Some(list) => NotifyEvent::ALL
            .into_iter()
            .filter(|e| list.get_ref().iter().any(|x| x.get_ref() == e))
            .collect(),
    };
    Ok(NotifyTarget {
        url: WebhookUrl(url.get_ref().clone()),
        format: n
            .format
            .as_ref()
            .map_or(NotifyFormat::Json, |f| *f.get_ref()),
        secret,
        secret_header,
        events,
    })
}

fn check_url(text: &str) -> Result<reqwest::Url, String> {
    // Only the scheme and host are ever shown: the rest may be the secret.
    let parsed = reqwest::Url::parse(text).map_err(|e| {
        format!("url is not a URL ({e}); expected e.g. \"https://hooks.slack.com/services/…\"")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "url must start with https:// (or http://), not {}:",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("url has no host name".to_string());
    }
    Ok(parsed)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// An HTTP field name (RFC 9110 §5.1: a token), and not one cu-roll sets
/// itself.
fn check_header_name(text: &str) -> Result<(), String> {
    let token = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(format!(
            "secret_header '{text}' is not an HTTP header name; expected e.g. \"Authorization\" or \"X-Api-Key\""
        ));
    }
    if [
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "user-agent",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(text))
    {
        return Err(format!(
            "secret_header '{text}' is a header cu-roll sets itself; choose another, e.g. \"Authorization\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::{parse, PlanError};

    /// The plan tests' smallest valid plan.
    const BASE: &str = crate::plan::tests::MINIMAL;

    fn with(notify: &str) -> Result<Vec<NotifyTarget>, PlanError> {
        parse(&format!("{BASE}\n{notify}"), Path::new("p.toml")).map(|p| p.notify)
    }

    fn error(notify: &str) -> String {
        with(notify).expect_err("refused").to_string()
    }

    #[test]
    fn defaults_are_json_all_events_and_no_secret() {
        assert!(with("").unwrap().is_empty());
        let t = with("[[notify]]\nurl = \"https://hooks.example.test/services/T0/B0/secret\"\n")
            .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].format, NotifyFormat::Json);
        assert_eq!(t[0].events, NotifyEvent::ALL);
        assert_eq!(t[0].secret, SecretSource::None);
        // Neither Debug nor `shown` reveals the path, which may be the token.
        let debug = format!("{t:?}");
        assert!(!debug.contains("T0/B0"), "{debug}");
        assert_eq!(t[0].url.shown(), "https://hooks.example.test/…");
    }

    #[test]
    fn format_secret_header_and_events_are_read() {
        let t = with(
            "[[notify]]\nurl = \"http://127.0.0.1:8080/hook\"\nformat = \"teams\"\n\
             secret_env = \"HOOK_TOKEN\"\nsecret_header = \"X-Api-Key\"\n\
             events = [\"end\", \"failure\"]\n\n[[notify]]\nurl = \"https://a.test/\"\nformat = \"slack\"\n",
        )
        .unwrap();
        assert_eq!(t[0].format, NotifyFormat::Teams);
        assert_eq!(t[0].secret, SecretSource::Env("HOOK_TOKEN".into()));
        assert_eq!(t[0].secret_header, "X-Api-Key");
        // In the order events happen, whatever the plan's order.
        assert_eq!(t[0].events, [NotifyEvent::Failure, NotifyEvent::End]);
        assert_eq!(t[1].format, NotifyFormat::Slack);
        assert_eq!(t[1].secret_header, DEFAULT_SECRET_HEADER);
    }

    #[test]
    fn mistakes_are_refused_at_their_line() {
        // BASE, a blank line, [[notify]], format, then url.
        let line = BASE.lines().count() + 4;
        let e = error("[[notify]]\nformat = \"json\"\nurl = \"ftp://x.test/\"\n");
        assert!(e.starts_with(&format!("p.toml:{line}:")), "{e}");
        assert!(e.contains("must start with https://"), "{e}");
        let e = error("[[notify]]\nurl = \"https://u:pw@x.test/\"\n");
        assert!(
            e.contains("user name or password") && !e.contains("pw@"),
            "{e}"
        );
        let e = error("[[notify]]\nurl = \"http://hooks.contoso.local/x\"\nsecret_env = \"T\"\n");
        assert!(e.contains("unencrypted"), "{e}");
        let e = error("[[notify]]\nurl = \"https://x.test/\"\nsecret_header = \"X-Key\"\n");
        assert!(e.contains("has no secret"), "{e}");
        let e = error(
            "[[notify]]\nurl = \"https://x.test/\"\nsecret_env = \"T\"\nsecret_header = \"Bad Header\"\n",
        );
        assert!(e.contains("not an HTTP header name"), "{e}");
        let e = error(
            "[[notify]]\nurl = \"https://x.test/\"\nsecret_env = \"T\"\nsecret_header = \"content-type\"\n",
        );
        assert!(e.contains("sets itself"), "{e}");
        let e = error(
            "[[notify]]\nurl = \"https://x.test/\"\nsecret_env = \"T\"\nsecret_file = '/run/t'\n",
        );
        assert!(e.contains("not both"), "{e}");
        let e = error("[[notify]]\nurl = \"https://x.test/\"\nevents = []\n");
        assert!(e.contains("never send anything"), "{e}");
        let e = error("[[notify]]\nurl = \"https://x.test/\"\nevents = [\"done\"]\n");
        assert!(e.contains("server-done"), "{e}");
        let e = error("[[notify]]\nurl = \"https://x.test/\"\nformat = \"email\"\n");
        assert!(e.contains("teams") && e.contains("slack"), "{e}");
        let e = error("[[notify]]\nformat = \"slack\"\n");
        assert!(e.contains("missing key 'url'"), "{e}");
        let e = error("[[notify]]\nurl = \"https://x.test/\"\nsecret = \"abc\"\n");
        assert!(
            e.contains("unknown field") || e.contains("unknown key"),
            "{e}"
        );
    }
}
