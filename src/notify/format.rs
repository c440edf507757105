//! A [`Message`] as the body a webhook expects: cu-roll's own JSON object,
//! a Microsoft Teams message or a Slack message. Pure functions; the text
//! of a message is data (server names, errors read from servers), so it is
//! only ever placed in JSON strings, never in markup of our own.
//!
//! Shapes, from the services' documentation:
//! - Teams: "Create an Incoming Webhook" and "Send Adaptive Cards using an
//!   Incoming Webhook" (learn.microsoft.com/microsoftteams/platform/
//!   webhooks-and-connectors/how-to/add-incoming-webhook): a `message`
//!   whose one attachment has `contentType`
//!   `application/vnd.microsoft.card.adaptive` and an Adaptive Card as its
//!   `content`. The same body is what a Teams Workflows "when a Teams
//!   webhook request is received" flow accepts, which replaces the retired
//!   Office 365 connectors.
//! - Slack: "Sending messages using incoming webhooks"
//!   (api.slack.com/messaging/webhooks): a JSON object with `text` (also
//!   the notification's fallback) and optional Block Kit `blocks`.

use serde_json::{json, Value};

use super::message::Message;
use crate::plan::{NotifyEvent, NotifyFormat};

/// The request body for `format`.
pub fn body(format: NotifyFormat, m: &Message) -> Value {
    match format {
        NotifyFormat::Json => serde_json::to_value(m).unwrap_or_else(|_| json!({})),
        NotifyFormat::Teams => teams(m),
        NotifyFormat::Slack => slack(m),
    }
}

/// A short title: `cu-roll: EX02 done (plans/prod.toml)`.
fn title(m: &Message) -> String {
    let what = match m.event {
        NotifyEvent::Start => "rollout started".to_string(),
        NotifyEvent::ServerDone => format!("{} done", m.server.as_deref().unwrap_or("server")),
        NotifyEvent::Failure => "rollout FAILED".to_string(),
        NotifyEvent::Interrupted => "rollout interrupted".to_string(),
        NotifyEvent::End => match m.outcome.as_deref() {
            Some("done") => "rollout finished".to_string(),
            _ => "rollout stopped".to_string(),
        },
    };
    format!("cu-roll: {what} ({})", m.plan)
}

/// Label/value pairs shown under the message: the run, the server and
/// step, and at the end each server's result.
fn facts(m: &Message) -> Vec<(String, String)> {
    let mut out = vec![("Target".to_string(), m.target.clone())];
    if let Some(s) = &m.server {
        out.push(("Server".into(), s.clone()));
    }
    if let Some(s) = &m.step {
        out.push(("Step".into(), s.clone()));
    }
    if let Some(summary) = &m.summary {
        for s in &summary.servers {
            out.push((s.name.clone(), s.result.clone()));
        }
        if let Some(r) = &summary.report {
            out.push(("Run report".into(), r.clone()));
        }
    }
    out.push(("Run".into(), m.run_id.clone()));
    out
}

fn teams(m: &Message) -> Value {
    let attention = matches!(m.event, NotifyEvent::Failure | NotifyEvent::Interrupted)
        || (m.event == NotifyEvent::End && m.outcome.as_deref() != Some("done"));
    let card = json!({
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": title(m),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": true,
                "color": if attention { "Attention" } else { "Default" },
            },
            { "type": "TextBlock", "text": m.message, "wrap": true },
            {
                "type": "FactSet",
                "facts": facts(m)
                    .into_iter()
                    .map(|(title, value)| json!({ "title": title, "value": value }))
                    .collect::<Vec<_>>(),
            },
        ],
    });
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters; they are
/// escaped as its documentation asks ("Escaping text").
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(m: &Message) -> Value {
    let fields: Vec<Value> = facts(m)
        .into_iter()
        .map(|(k, v)| {
            json!({ "type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(&k), slack_escape(&v)) })
        })
        .collect();
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*", slack_escape(&title(m))) } }),
        json!({ "type": "section", "text": { "type": "plain_text", "text": m.message } }),
    ];
    // A section holds at most 10 fields (Block Kit reference).
    for chunk in fields.chunks(10) {
        blocks.push(json!({ "type": "section", "fields": chunk }));
    }
    json!({
        "text": format!("{}: {}", title(m), m.message),
        "blocks": blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::message::RunContext;

    fn ctx() -> RunContext {
        RunContext {
            run_id: "r1".into(),
            plan: "plans/prod.toml".into(),
            target: "Exchange Server 2019 CU15 Feb26SU".into(),
        }
    }

    fn failure() -> Message {
        let mut m = ctx().message(
            NotifyEvent::Failure,
            "EX03 setup failed: <b>exit 1</b> & more".into(),
        );
        m.server = Some("EX03".into());
        m.step = Some("setup".into());
        m
    }

    #[test]
    fn json_has_the_documented_fields_and_leaves_out_absent_ones() {
        let v = body(NotifyFormat::Json, &failure());
        assert_eq!(v["event"], "failure");
        assert_eq!(v["run_id"], "r1");
        assert_eq!(v["server"], "EX03");
        assert_eq!(v["step"], "setup");
        assert_eq!(v["schema_version"], 1);
        assert!(v["message"]
            .as_str()
            .unwrap()
            .starts_with("EX03 setup failed"));
        assert!(v.get("summary").is_none(), "{v}");
        assert!(v.get("dag").is_none(), "{v}");
    }

    #[test]
    fn teams_is_a_message_with_one_adaptive_card() {
        let v = body(NotifyFormat::Teams, &failure());
        assert_eq!(v["type"], "message");
        let a = &v["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        let blocks = a["content"]["body"].as_array().unwrap();
        assert_eq!(blocks[0]["color"], "Attention");
        assert_eq!(blocks[1]["text"], "EX03 setup failed: <b>exit 1</b> & more");
        assert_eq!(blocks[2]["facts"][1]["value"], "EX03");
    }

    #[test]
    fn slack_has_fallback_text_and_escaped_blocks() {
        let v = body(NotifyFormat::Slack, &failure());
        let text = v["text"].as_str().unwrap();
        assert!(text.contains("rollout FAILED"), "{text}");
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
        // plain_text is shown as is; mrkdwn needs &, <, > escaped.
        assert_eq!(
            blocks[1]["text"]["text"],
            "EX03 setup failed: <b>exit 1</b> & more"
        );
        let fields = blocks[2]["fields"].as_array().unwrap();
        assert_eq!(fields[1]["text"], "*Server*\nEX03");
        assert!(v.to_string().contains("plans/prod.toml"));
    }
}
