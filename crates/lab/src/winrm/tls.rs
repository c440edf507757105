//! The HTTPS listener's certificate: a CA and a server certificate made with
//! rcgen for each `lab serve` run, the CA written to the state directory so a
//! client can pin it, and the rustls server configuration. It must not
//! touch HTTP or WS-Management: the listener only receives a configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ServeError, CA_FILE};
use crate::LabSpec;

/// A CA and a server certificate (127.0.0.1, localhost and every lab
/// FQDN) made for this run; the CA is written to the state directory.
pub(super) fn https_setup(
    spec: &LabSpec,
    state_dir: &Path,
) -> Result<(Arc<rustls::ServerConfig>, PathBuf), ServeError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let cert_err = |e: rcgen::Error| ServeError::Certificate(e.to_string());
    let ca_key = KeyPair::generate().map_err(cert_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cu-roll lab CA");
    let ca = ca_params.self_signed(&ca_key).map_err(cert_err)?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(spec.servers.iter().map(|s| s.fqdn.clone()));
    let key = KeyPair::generate().map_err(cert_err)?;
    let mut params = CertificateParams::new(names).map_err(cert_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "cu-roll lab WinRM");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    std::fs::create_dir_all(state_dir).map_err(|source| ServeError::Write {
        path: state_dir.to_path_buf(),
        source,
    })?;
    let path = state_dir.join(CA_FILE);
    std::fs::write(&path, ca.pem()).map_err(|source| ServeError::Write {
        path: path.clone(),
        source,
    })?;
    let chain = format!("{}{}", cert.pem(), ca.pem());
    Ok((server_config(&chain, &key.serialize_pem())?, path))
}

/// The listener's TLS configuration from PEM text of its certificate and key.
fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |e: &dyn std::fmt::Display| ServeError::Tls(e.to_string());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| err(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| err(&e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err(&e))?;
    Ok(Arc::new(cfg))
}
