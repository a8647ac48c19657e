//! Why a listener group's TLS cannot be set up: each error names the option and the file.

use std::path::PathBuf;

/// A TLS setting that cannot be used; the message says which option, which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {option} {}: {source} (check the path and that skein may read it)", path.display())]
    Read {
        option: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{option} {} holds no PEM certificate (expected a -----BEGIN CERTIFICATE----- block)", path.display())]
    NoCertificate { option: String, path: PathBuf },
    #[error("{option} {} is not PEM: {reason} (expected -----BEGIN CERTIFICATE----- or PRIVATE KEY blocks)", path.display())]
    NotPem { option: String, path: PathBuf, reason: String },
    #[error(
        "{option} {} holds no private key (expected a -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY block)",
        path.display()
    )]
    NoKey { option: String, path: PathBuf },
    #[error(
        "the key in {key_option} {} does not fit the certificate in {cert_option} {}: {reason} (give the key the certificate was issued for)",
        key.display(), cert.display()
    )]
    KeyMismatch { cert_option: String, cert: PathBuf, key_option: String, key: PathBuf, reason: String },
    #[error("{option} {} cannot be used to check client certificates: {reason}", path.display())]
    ClientCa { option: String, path: PathBuf, reason: String },
    #[error("cannot build the TLS settings of listeners.{group}: {reason}")]
    Config { group: &'static str, reason: String },
}

/// `type Result` of the TLS module.
pub type Result<T> = std::result::Result<T, TlsError>;
