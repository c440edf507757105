//! HTTP authentication of a WinRM connection. Basic sends the account on
//! every request (HTTPS, or HTTP when the plan allows unencrypted traffic).
//! NTLM authenticates the connection once (NEGOTIATE → 401 CHALLENGE →
//! AUTHENTICATE, on one socket, as HTTP.sys requires) and then, over HTTP,
//! seals every envelope (MS-WSMV 2.2.9.1.1) — what a default Windows
//! listener (AllowUnencrypted = false) demands. The password is only ever
//! turned into a header or a key here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client::{basic_header, AuthKind, Client, Failure};
use wsman::http::Message;
use wsman::ntlm;

pub const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// Sends one envelope with the connection's authentication, opening a
/// connection first when there is none (or the last one closed or sat idle
/// too long); the answer's body comes back unsealed.
pub(crate) fn exchange(client: &mut Client, body: &[u8]) -> Result<Message, Failure> {
    client.ensure_connected()?;
    match client.credentials().kind {
        AuthKind::Basic => {
            let auth = basic_header(client.credentials());
            client.round_trip(
                &[
                    ("Content-Type", SOAP_CONTENT_TYPE.to_string()),
                    ("Authorization", auth),
                ],
                body,
            )
        }
        AuthKind::Ntlm => ntlm_exchange(client, body),
    }
}

/// The token of a `WWW-Authenticate: Negotiate <token>` (or `NTLM`) header.
fn challenge_token(reply: &Message) -> Option<Vec<u8>> {
    reply.headers_named("WWW-Authenticate").find_map(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("Negotiate") || scheme.eq_ignore_ascii_case("NTLM") {
            STANDARD.decode(token.trim()).ok()
        } else {
            None
        }
    })
}

fn handshake(client: &mut Client) -> Result<(), Failure> {
    let negotiate = format!("Negotiate {}", STANDARD.encode(ntlm::negotiate()));
    let reply = client.round_trip(&[("Authorization", negotiate)], b"")?;
    let token = match (reply.status(), challenge_token(&reply)) {
        (401, Some(t)) => t,
        (401, None) => return Err(Failure::Other("the server does not offer Negotiate/NTLM authentication; enable it (winrm set winrm/config/service/auth @{Negotiate=\"true\"}) or use auth = \"basic\" over HTTPS".into())),
        (status, _) => return Err(Failure::Other(format!("unexpected HTTP {status} to the NTLM negotiate message"))),
    };
    let creds = client.credentials().clone();
    let (authenticate, session) =
        ntlm::authenticate(&token, &creds.user, creds.password.expose(), "CU-ROLL")
            .map_err(|e| Failure::Other(e.to_string()))?;
    let value = format!("Negotiate {}", STANDARD.encode(authenticate));
    let reply = client.round_trip(&[("Authorization", value)], b"")?;
    match reply.status() {
        401 => Err(Failure::Auth),
        200..=299 => {
            *client.ntlm_session() = Some(session);
            Ok(())
        }
        status => Err(Failure::Other(format!(
            "unexpected HTTP {status} to the NTLM authenticate message"
        ))),
    }
}

/// NTLM on the kept-alive connection: the handshake once per connection,
/// then every envelope under its session. A 401 to an envelope on a session
/// that had already worked means the server forgot the connection's
/// authentication (HTTP.sys can): the client negotiates again, on a new
/// connection, once; a 401 then is a refused account.
fn ntlm_exchange(client: &mut Client, body: &[u8]) -> Result<Message, Failure> {
    let reused = client.ntlm_session().is_some();
    if !reused {
        handshake(client)?;
    }
    let reply = sealed_round_trip(client, body)?;
    if reply.status() != 401 {
        return Ok(reply);
    }
    if !reused {
        return Err(Failure::Auth);
    }
    client.disconnect();
    client.ensure_connected()?;
    handshake(client)?;
    let reply = sealed_round_trip(client, body)?;
    if reply.status() == 401 {
        return Err(Failure::Auth);
    }
    Ok(reply)
}

/// One envelope under the connection's NTLM session: sealed over HTTP,
/// as is over HTTPS; a sealed answer is unsealed.
fn sealed_round_trip(client: &mut Client, body: &[u8]) -> Result<Message, Failure> {
    let seal = !client.is_tls();
    let (content_type, payload) = if seal {
        let session = client.ntlm_session().as_mut().expect("established above");
        (ntlm::sealed_content_type(), ntlm::wrap(session, body))
    } else {
        (SOAP_CONTENT_TYPE.to_string(), body.to_vec())
    };
    let mut reply = client.round_trip(&[("Content-Type", content_type)], &payload)?;
    if reply.status() == 401 {
        return Ok(reply);
    }
    let sealed_reply = reply
        .header("Content-Type")
        .is_some_and(|c| c.contains(ntlm::PROTOCOL));
    if sealed_reply {
        let Some(session) = client.ntlm_session().as_mut() else {
            return Err(Failure::Other(
                "a sealed answer arrived on a connection without an NTLM session".into(),
            ));
        };
        reply.body =
            ntlm::unwrap(session, &reply.body).map_err(|e| Failure::Other(e.to_string()))?;
    }
    Ok(reply)
}
