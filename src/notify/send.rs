//! The one HTTP call of notifications: POST a JSON body to a webhook with
//! reqwest's blocking client, within a short timeout, and say whether the
//! receiver took it (any 2xx). It never retries and never logs: the
//! worker in `super` decides both. The secret header's value is passed in
//! and sent, nothing else sees it.
//!
//! The client uses the project's TLS setup (rustls with `ring`, the
//! system's trusted roots), as the catalogue download does. The transport
//! work moves HTTP onto tokio/hyper; this function is the only place to
//! change then.

use std::time::Duration;

use crate::plan::Secret;

/// One webhook's client: built once per target, reused for each message.
pub struct Client {
    http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(timeout: Duration) -> Result<Client, String> {
        let tls = crate::tls::client_config(None, false).map_err(|e| e.to_string())?;
        let http = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(std::sync::Arc::unwrap_or_clone(tls))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            // A webhook that redirects elsewhere is not followed: the secret
            // header would go to a host the plan does not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cu-roll/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::error::chain(&e))?;
        Ok(Client { http })
    }

    /// POSTs `body`; `Ok` when the receiver answered 2xx, else why not
    /// (never containing the URL's path or the secret).
    pub fn post(
        &self,
        url: &str,
        body: &[u8],
        secret: Option<(&str, &Secret)>,
    ) -> Result<(), String> {
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some((name, value)) = secret {
            let mut v = reqwest::header::HeaderValue::from_str(value.expose())
                .map_err(|_| "the secret is not a valid header value (a control character or a line break in it?)".to_string())?;
            v.set_sensitive(true);
            request = request.header(name, v);
        }
        let response = request
            .send()
            .map_err(|e| crate::error::chain(&e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {status}"))
        }
    }
}
