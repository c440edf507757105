//! TLS for WinRM over HTTPS (port 5986) and `catalog update`: the client
//! configuration built from the plan (system roots, or a pinned `ca_file`,
//! or — only when the plan says `insecure_skip_verify = true` — no checking
//! at all). rustls with the `ring` provider; nothing here opens sockets.
//! (The lab's listener makes its own server configuration.)

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path}: {detail}; ca_file must be a PEM file holding the CA certificate(s) that signed the servers' WinRM certificates")]
    CaFile { path: String, detail: String },
    #[error("no usable trusted root certificates on this machine ({0}); set ca_file in [connection] to the CA that signed the servers' certificates")]
    NoRoots(String),
    #[error("TLS configuration failed: {0}")]
    Config(String),
}

/// The largest `ca_file` read: a whole system CA bundle is about 200 KiB.
const MAX_CA_FILE: u64 = 1024 * 1024;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration for `ca_file` / system roots / skip-verify.
pub fn client_config(
    ca_file: Option<&Path>,
    insecure_skip_verify: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    if insecure_skip_verify {
        let cfg = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth();
        return Ok(Arc::new(cfg));
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let err = |detail: String| TlsError::CaFile {
                path: path.display().to_string(),
                detail,
            };
            // A regular file of bounded size: `/dev/zero` or a FIFO must not
            // read forever (or abort on allocation).
            let pem =
                planfile::file::read_regular(path, MAX_CA_FILE).map_err(|e| err(e.to_string()))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?;
            if certs.is_empty() {
                return Err(err("it holds no PEM certificate".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| err(e.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // A malformed system certificate should not stop the others.
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map_or("none found".to_string(), |e| e.to_string());
                return Err(TlsError::NoRoots(why));
            }
        }
    }
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// `insecure_skip_verify = true`: accept any certificate, still check the
/// handshake signatures so the session keys are real.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &Path) -> String {
        client_config(Some(path), false)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_device_a_directory_or_a_huge_ca_file_is_refused_before_reading() {
        if Path::new("/dev/zero").exists() {
            let e = refused(Path::new("/dev/zero"));
            assert!(
                e.contains("/dev/zero") && e.contains("not a regular file"),
                "{e}"
            );
        }
        let dir = std::env::temp_dir().join(format!("cu-roll-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(refused(&dir).contains("a directory"));
        let big = dir.join("big.pem");
        std::fs::write(&big, vec![b'#'; MAX_CA_FILE as usize + 1]).unwrap();
        assert!(refused(&big).contains("larger than 1 MiB"));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, b"not a certificate\n").unwrap();
        assert!(refused(&empty).contains("holds no PEM certificate"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
