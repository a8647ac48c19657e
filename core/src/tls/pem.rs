//! Reading the PEM files a listener group's TLS options name.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::error::{Result, TlsError};

/// The bytes of `path`, which `option` names.
pub(crate) fn read(option: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| TlsError::Read { option: option.into(), path: path.into(), source })
}

/// Every certificate in `pem`, in file order; at least one.
pub(crate) fn certificates(option: &str, path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, pem::Error>>()
        .map_err(|error| TlsError::NotPem { option: option.into(), path: path.into(), reason: error.to_string() })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { option: option.into(), path: path.into() });
    }
    Ok(certificates)
}

/// The first private key in `pem`.
pub(crate) fn private_key(option: &str, path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoKey { option: option.into(), path: path.into() },
        other => TlsError::NotPem { option: option.into(), path: path.into(), reason: other.to_string() },
    })
}
