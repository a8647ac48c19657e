//! Server TLS of the listener groups (`listeners.<group>.tls`), with rustls and its ring
//! provider: the group's certificate, re-read when its files change ([`certificate`]), and
//! client certificates checked against a CA when one is given (mTLS, `required` or `optional`).
//! [`crate::net`] serves connections through it.

pub mod certificate;
pub mod error;
mod pem;

use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use tokio_util::sync::CancellationToken;

use crate::config::{ClientAuth, TlsConfig};
pub use certificate::ReloadingCertificate;
pub use error::{Result, TlsError};

/// The protocols offered in ALPN: HTTP/2 (gRPC needs it) and HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The TLS of one listener group, ready to accept connections.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    certificate: Arc<ReloadingCertificate>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("certificate", &self.certificate).finish_non_exhaustive()
    }
}

/// The crypto provider every listener uses: ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerTls {
    /// Build the TLS of `group` from its options; `None` when TLS is off (no `cert_file`).
    /// Errors name the option and the file. Call [`ServerTls::watch`] to follow file changes.
    pub fn from_config(group: &'static str, tls: &TlsConfig) -> Result<Option<Self>> {
        let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
            return Ok(None);
        };
        let provider = provider();
        let certificate = Arc::new(ReloadingCertificate::load(group, cert_file, key_file, provider.clone())?);
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config { group, reason: error.to_string() })?;
        let auth = tls.effective_client_auth();
        let builder = match (&tls.client_ca_file, auth) {
            (Some(ca_file), ClientAuth::Optional | ClientAuth::Required) => {
                let option = format!("listeners.{group}.tls.client_ca_file");
                let pem = pem::read(&option, ca_file)?;
                let mut roots = RootCertStore::empty();
                for certificate in pem::certificates(&option, ca_file, &pem)? {
                    roots.add(certificate).map_err(|error| TlsError::ClientCa {
                        option: option.clone(),
                        path: ca_file.clone(),
                        reason: error.to_string(),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if auth == ClientAuth::Optional { verifier.allow_unauthenticated() } else { verifier };
                let verifier = verifier.build().map_err(|error| TlsError::ClientCa {
                    option,
                    path: ca_file.clone(),
                    reason: error.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            // The configuration's checks refuse a CA without client auth and the reverse.
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(certificate.clone());
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Some(Self { config: Arc::new(config), certificate }))
    }

    /// Follow changes of the certificate and key files every `reload_interval_ms` (0: never)
    /// until `shutdown`.
    pub fn watch(&self, tls: &TlsConfig, shutdown: &CancellationToken) {
        if tls.reload_interval_ms > 0 {
            let interval = Duration::from_millis(tls.reload_interval_ms);
            tokio::spawn(self.certificate.clone().watch(interval, shutdown.clone()));
        }
    }

    /// The acceptor that performs handshakes with these settings.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }

    /// The certificate, for checks of what is served now.
    pub fn certificate(&self) -> &Arc<ReloadingCertificate> {
        &self.certificate
    }
}
