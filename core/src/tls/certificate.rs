//! The server certificate of a listener group, re-read when its files change: every
//! `reload_interval_ms` the certificate and key files are read again; new contents that make a
//! usable certificate replace the old one for the connections that follow, and new contents that
//! do not (half-written, a key that does not fit) are logged and counted while the old
//! certificate stays in use, so a bad rotation never takes a listener down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::error::{Result, TlsError};
use super::pem;

/// Counter: server certificates replaced after their files changed, by listener group.
pub const RELOADS: &str = "skein_tls_certificate_reloads_total";
/// Counter: changed certificate or key files that could not be used (the old certificate stays), by group.
pub const RELOAD_ERRORS: &str = "skein_tls_certificate_reload_errors_total";

/// The certificate and key files of a group, and the certificate they made last.
#[derive(Debug)]
pub struct ReloadingCertificate {
    group: &'static str,
    cert_option: String,
    cert_file: PathBuf,
    key_option: String,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The file contents last tried, used or not: unchanged files are not parsed again, and a bad
    /// file is reported once rather than at every check.
    seen: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl ReloadingCertificate {
    /// Read the certificate chain and key of `group` (options `listeners.<group>.tls.cert_file`
    /// and `key_file`); an error names the option, the file and what is wrong.
    pub fn load(group: &'static str, cert_file: &Path, key_file: &Path, provider: Arc<CryptoProvider>) -> Result<Self> {
        let cert_option = format!("listeners.{group}.tls.cert_file");
        let key_option = format!("listeners.{group}.tls.key_file");
        let cert_pem = pem::read(&cert_option, cert_file)?;
        let key_pem = pem::read(&key_option, key_file)?;
        let this = Self {
            group,
            cert_option,
            cert_file: cert_file.to_path_buf(),
            key_option,
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(Self::certified_key_of(
                &provider,
                (group, cert_file, key_file),
                &cert_pem,
                &key_pem,
            )?)),
            provider,
            seen: Mutex::new((cert_pem, key_pem)),
        };
        Ok(this)
    }

    fn certified_key_of(
        provider: &CryptoProvider,
        (group, cert_file, key_file): (&'static str, &Path, &Path),
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<CertifiedKey> {
        let cert_option = format!("listeners.{group}.tls.cert_file");
        let key_option = format!("listeners.{group}.tls.key_file");
        let chain = pem::certificates(&cert_option, cert_file, cert_pem)?;
        let key = pem::private_key(&key_option, key_file, key_pem)?;
        CertifiedKey::from_der(chain, key, provider).map_err(|error| TlsError::KeyMismatch {
            cert_option,
            cert: cert_file.to_path_buf(),
            key_option,
            key: key_file.to_path_buf(),
            reason: error.to_string(),
        })
    }

    /// Read the files again: `Ok(true)` when they changed and the new certificate is now served,
    /// `Ok(false)` when nothing changed (or the change was already reported), the error when they
    /// changed into something unusable; the certificate served then stays as it was.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let cert_pem = pem::read(&self.cert_option, &self.cert_file)?;
        let key_pem = pem::read(&self.key_option, &self.key_file)?;
        {
            let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if seen.0 == cert_pem && seen.1 == key_pem {
                return Ok(false);
            }
            *seen = (cert_pem.clone(), key_pem.clone());
        }
        let key =
            Self::certified_key_of(&self.provider, (self.group, &self.cert_file, &self.key_file), &cert_pem, &key_pem)?;
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(key);
        Ok(true)
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Check the files every `interval` until `shutdown`, logging and counting each outcome.
    pub async fn watch(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is now, and the files were just read
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let this = self.clone();
            // File reads block; keep them off the runtime's I/O threads.
            let outcome = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
            match outcome {
                Ok(Ok(true)) => {
                    metrics::counter!(RELOADS, "group" => self.group).increment(1);
                    tracing::info!(group = self.group, cert_file = %self.cert_file.display(), "TLS certificate reloaded");
                }
                Ok(Ok(false)) => {}
                Ok(Err(error)) => {
                    metrics::counter!(RELOAD_ERRORS, "group" => self.group).increment(1);
                    tracing::error!(group = self.group, %error, "cannot reload the TLS certificate; still serving the previous one");
                }
                Err(error) => tracing::error!(%error, "TLS certificate check panicked"),
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn issue(files: &Files, name: &str) -> Vec<u8> {
        let issued = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        std::fs::write(&files.cert, issued.cert.pem()).unwrap();
        std::fs::write(&files.key, issued.signing_key.serialize_pem()).unwrap();
        issued.cert.der().to_vec()
    }

    fn files() -> Files {
        let dir = std::env::temp_dir().join(format!("skein-tls-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { cert: dir.join("cert.pem"), key: dir.join("key.pem"), dir }
    }

    fn load(files: &Files) -> Result<ReloadingCertificate> {
        ReloadingCertificate::load(
            "receivers",
            &files.cert,
            &files.key,
            Arc::new(rustls::crypto::ring::default_provider()),
        )
    }

    fn served(certificate: &ReloadingCertificate) -> Vec<u8> {
        certificate.current().cert[0].to_vec()
    }

    #[test]
    fn new_files_replace_the_certificate_and_unchanged_ones_do_not() {
        let files = files();
        let first = issue(&files, "first.example");
        let certificate = load(&files).unwrap();
        assert_eq!(served(&certificate), first);
        assert!(!certificate.reload_if_changed().unwrap(), "nothing changed");
        let second = issue(&files, "second.example");
        assert!(certificate.reload_if_changed().unwrap());
        assert_eq!(served(&certificate), second);
    }

    #[test]
    fn a_bad_new_file_keeps_the_previous_certificate() {
        let files = files();
        let first = issue(&files, "first.example");
        let certificate = load(&files).unwrap();

        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n").unwrap();
        let error = certificate.reload_if_changed().unwrap_err();
        assert!(error.to_string().contains("listeners.receivers.tls.cert_file"), "{error}");
        assert_eq!(served(&certificate), first, "still the previous certificate");
        assert!(!certificate.reload_if_changed().unwrap(), "the same bad file is reported once");

        // A certificate whose key is not the one in key_file (a rotation half done).
        let key = std::fs::read(&files.key).unwrap();
        issue(&files, "other.example");
        std::fs::write(&files.key, key).unwrap();
        let error = certificate.reload_if_changed().unwrap_err();
        assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error}");
        assert_eq!(served(&certificate), first);
    }

    #[test]
    fn start_up_errors_name_the_option_and_the_file() {
        let files = files();
        let error = load(&files).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("cannot read listeners.receivers.tls.cert_file {}", files.cert.display())),
            "{error}"
        );
        issue(&files, "a.example");
        std::fs::write(&files.key, "no key here\n").unwrap();
        let error = load(&files).unwrap_err().to_string();
        assert!(
            error.contains(&format!("listeners.receivers.tls.key_file {} holds no private key", files.key.display())),
            "{error}"
        );
        std::fs::write(&files.cert, "").unwrap();
        let error = load(&files).unwrap_err().to_string();
        assert!(error.contains("holds no PEM certificate"), "{error}");
    }
}
