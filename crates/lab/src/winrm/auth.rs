//! Who is asking: HTTP Basic and NTLM (bare or in `Negotiate`) as a WinRM
//! service with `Auth\Basic = true` answers them, the NTLM session that
//! seals bodies on HTTP, and the `AllowUnencrypted` refusals. A request that
//! passes is unsealed, handed to `soap::soap`, and its answer sealed again.
//! It must not interpret the SOAP envelope.

use base64::Engine;
use wsman::http::Message;
use wsman::ntlm;

use super::soap::soap;
use super::{Answer, Listener, Scheme};

/// What one connection has established: NTLM authenticates the
/// connection, so its session lives as long as the socket.
#[derive(Default)]
pub(super) struct Conn {
    pending: Option<ntlm::Acceptor>,
    session: Option<ntlm::Session>,
    user: Option<String>,
}

fn unauthorized() -> Answer {
    Answer::Reply(
        401,
        vec![
            ("WWW-Authenticate", "Negotiate".into()),
            ("WWW-Authenticate", "Basic realm=\"WSMAN\"".into()),
        ],
        Vec::new(),
    )
}

/// Authentication, then unsealing, the SOAP operation, and sealing.
pub(super) fn handle(state: &Listener, conn: &mut Conn, req: &Message, peer: &str) -> Answer {
    if !req.start[0].eq_ignore_ascii_case("POST") || !req.start[1].eq_ignore_ascii_case("/wsman") {
        return Answer::Reply(404, vec![], Vec::new());
    }
    let user = match authenticate(state, conn, req) {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    if req.body.is_empty() {
        // The authenticated empty POST that ends pywinrm's handshake.
        return Answer::Reply(200, vec![], Vec::new());
    }
    let sealed = req
        .header("Content-Type")
        .is_some_and(|c| c.contains(ntlm::PROTOCOL));
    let text = match unseal(state, conn, req, sealed) {
        Ok(text) => text,
        Err(answer) => return answer,
    };
    match soap(state, &text, &user, peer) {
        Answer::Reply(status, mut headers, body) => match (sealed, conn.session.as_mut()) {
            (true, Some(session)) => {
                headers.push(("Content-Type", ntlm::sealed_content_type()));
                Answer::Reply(status, headers, ntlm::wrap(session, &body))
            }
            _ => {
                headers.push(("Content-Type", "application/soap+xml;charset=UTF-8".into()));
                Answer::Reply(status, headers, body)
            }
        },
        Answer::Drop => Answer::Drop,
    }
}

/// The account the request acts as: from its `Authorization` header, or
/// from the NTLM session the connection already established. `Err` is the
/// answer to send instead (a challenge or a refusal).
fn authenticate(state: &Listener, conn: &mut Conn, req: &Message) -> Result<String, Answer> {
    let encrypted = state.options.scheme == Scheme::Https;
    let auth = req
        .header("Authorization")
        .and_then(|v| v.trim().split_once(' '));
    match auth {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("Negotiate") || scheme.eq_ignore_ascii_case("NTLM") =>
        {
            ntlm_step(state, conn, scheme, token)
        }
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("Basic") => {
            let Some(user) = basic_user(state, req) else {
                return Err(unauthorized());
            };
            if !encrypted && !state.options.allow_unencrypted {
                // AllowUnencrypted = false: Basic over HTTP is refused.
                return Err(unauthorized());
            }
            Ok(user)
        }
        _ => conn.user.clone().ok_or_else(unauthorized),
    }
}

/// One NTLM leg: a NEGOTIATE (type 1) gets a CHALLENGE back, an
/// AUTHENTICATE (type 3) completes the session and names the user.
fn ntlm_step(
    state: &Listener,
    conn: &mut Conn,
    scheme: &str,
    token: &str,
) -> Result<String, Answer> {
    let Some(raw) = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()
    else {
        return Err(unauthorized());
    };
    match raw.get(8) {
        Some(1) => {
            let (domain, _) = ntlm::split_user(&state.spec.username);
            let fqdn = state
                .spec
                .servers
                .iter()
                .find(|s| s.name == state.server)
                .map_or(String::new(), |s| s.fqdn.clone());
            let dns_domain = fqdn
                .split_once('.')
                .map_or(String::new(), |(_, d)| d.to_string());
            match ntlm::Acceptor::challenge(
                &raw,
                &state.server,
                &fqdn,
                &domain.to_uppercase(),
                &dns_domain,
            ) {
                Ok(acc) => {
                    let token =
                        base64::engine::general_purpose::STANDARD.encode(acc.challenge_message());
                    conn.pending = Some(acc);
                    Err(Answer::Reply(
                        401,
                        vec![("WWW-Authenticate", format!("{scheme} {token}"))],
                        Vec::new(),
                    ))
                }
                Err(_) => Err(unauthorized()),
            }
        }
        Some(3) => {
            let Some(acc) = conn.pending.take() else {
                return Err(unauthorized());
            };
            match acc.accept(&raw, &state.spec.username, &state.spec.password) {
                Ok((user, session)) => {
                    conn.session = Some(session);
                    conn.user = Some(user.clone());
                    Ok(user)
                }
                Err(_) => Err(unauthorized()),
            }
        }
        // SPNEGO-wrapped tokens (Kerberos) are not offered by the lab.
        _ => Err(unauthorized()),
    }
}

/// The request's envelope as text: unsealed with the connection's NTLM
/// session when it came sealed. `Err` is a 400 answer.
fn unseal(
    state: &Listener,
    conn: &mut Conn,
    req: &Message,
    sealed: bool,
) -> Result<String, Answer> {
    let encrypted = state.options.scheme == Scheme::Https;
    if sealed {
        let Some(session) = conn.session.as_mut() else {
            return Err(Answer::Reply(400, vec![], Vec::new()));
        };
        match ntlm::unwrap(session, &req.body) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(_) => Err(Answer::Reply(400, vec![], Vec::new())),
        }
    } else {
        if conn.session.is_some() && !encrypted && !state.options.allow_unencrypted {
            // MS-WSMV: with AllowUnencrypted = false an HTTP body must be sealed.
            return Err(Answer::Reply(400, vec![], Vec::new()));
        }
        Ok(String::from_utf8_lossy(&req.body).into_owned())
    }
}

/// The account of a valid `Authorization: Basic` header, if any.
fn basic_user(state: &Listener, req: &Message) -> Option<String> {
    let value = req.header("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    (user.eq_ignore_ascii_case(&state.spec.username) && password == state.spec.password)
        .then(|| user.to_string())
}
