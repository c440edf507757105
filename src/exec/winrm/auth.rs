//! HTTP authentication of a WinRM connection. Basic sends the account on
//! every request (HTTPS, or HTTP when the plan allows unencrypted traffic).
//! The password is only ever turned into the header here.

use super::client::{basic_header, AuthKind, Client, Credentials, Failure};
use super::http::Message;

/// Per-connection authentication state.
#[derive(Debug)]
pub enum ConnAuth {
    Basic,
}

impl ConnAuth {
    pub fn new(creds: &Credentials) -> ConnAuth {
        match creds.kind {
            AuthKind::Basic | AuthKind::Ntlm => ConnAuth::Basic,
        }
    }

    /// A new connection starts unauthenticated.
    pub fn reset(&mut self) {}
}

pub const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// Sends one envelope with the connection's authentication.
pub(crate) fn exchange(client: &mut Client, body: &[u8]) -> Result<Message, Failure> {
    let auth = basic_header(client.credentials());
    client.round_trip(
        &[
            ("Content-Type", SOAP_CONTENT_TYPE.to_string()),
            ("Authorization", auth),
        ],
        body,
    )
}
