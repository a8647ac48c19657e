//! A throw-away PKI for TLS tests, made in the test with rcgen: a CA, a server certificate for
//! `127.0.0.1` and `localhost`, a client certificate from the same CA, a second unrelated CA with
//! its own client certificate, and an expired server certificate from the first CA (so the only
//! thing wrong with it is its dates). Everything is written as PEM files into a directory the
//! test owns; [`TestPki::reissue_server_cert`] replaces the server certificate and key in place
//! for rotation tests.

use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

/// The common name of the first server certificate; [`TestPki::reissue_server_cert`] takes a new one.
pub const SERVER_COMMON_NAME: &str = "skein test server";

/// The PEM files of a test PKI. Every path is inside the directory given to [`TestPki::generate`].
pub struct TestPki {
    pub dir: PathBuf,
    /// The CA that signed the server, client and expired certificates.
    pub ca_cert: PathBuf,
    /// Valid now, for `127.0.0.1` and `localhost`, common name [`SERVER_COMMON_NAME`].
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate (extended key usage clientAuth) from `ca_cert`.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that has nothing to do with `ca_cert`: trusting it must not trust the server, and a
    /// client certificate from it must be refused by a server that checks against `ca_cert`.
    pub other_ca_cert: PathBuf,
    pub other_client_cert: PathBuf,
    pub other_client_key: PathBuf,
    /// A server certificate from `ca_cert` for the same names that expired in 2021.
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl TestPki {
    /// Generate every certificate and key and write them into `dir` (created if missing).
    pub fn generate(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("the PKI directory can be created");
        let file = |name: &str| dir.join(name);
        let (ca_params, ca_key, ca) = new_ca("skein test CA");
        let (other_params, other_key, other_ca) = new_ca("unrelated test CA");
        let pki = TestPki {
            dir: dir.to_path_buf(),
            ca_cert: file("ca.pem"),
            server_cert: file("server.pem"),
            server_key: file("server-key.pem"),
            client_cert: file("client.pem"),
            client_key: file("client-key.pem"),
            other_ca_cert: file("other-ca.pem"),
            other_client_cert: file("other-client.pem"),
            other_client_key: file("other-client-key.pem"),
            expired_cert: file("expired.pem"),
            expired_key: file("expired-key.pem"),
            ca_params,
            ca_key,
        };
        write(&pki.ca_cert, &ca.pem());
        write(&pki.other_ca_cert, &other_ca.pem());
        pki.reissue_server_cert(SERVER_COMMON_NAME);

        let ca_issuer = Issuer::from_params(&pki.ca_params, &pki.ca_key);
        let (cert, key) = leaf("skein test client", &[], ExtendedKeyUsagePurpose::ClientAuth, &ca_issuer, false);
        write_pair(&pki.client_cert, &cert, &pki.client_key, &key);
        let (cert, key) =
            leaf("skein test server", SERVER_NAMES, ExtendedKeyUsagePurpose::ServerAuth, &ca_issuer, true);
        write_pair(&pki.expired_cert, &cert, &pki.expired_key, &key);

        let other_issuer = Issuer::from_params(&other_params, &other_key);
        let (cert, key) = leaf("unrelated test client", &[], ExtendedKeyUsagePurpose::ClientAuth, &other_issuer, false);
        write_pair(&pki.other_client_cert, &cert, &pki.other_client_key, &key);
        pki
    }

    /// Issue a new server certificate (new key, subject common name `common_name`, same names and
    /// CA) and replace `server_cert` and `server_key` with it. Each file is written beside its
    /// final name and renamed over it, so a reader never sees half a file.
    pub fn reissue_server_cert(&self, common_name: &str) {
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let (cert, key) = leaf(common_name, SERVER_NAMES, ExtendedKeyUsagePurpose::ServerAuth, &issuer, false);
        write_pair(&self.server_cert, &cert, &self.server_key, &key);
    }
}

const SERVER_NAMES: &[&str] = &["127.0.0.1", "localhost"];

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn new_ca(common_name: &str) -> (CertificateParams, KeyPair, Certificate) {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2100, 1, 1);
    let key = KeyPair::generate().expect("a key pair");
    let cert = params.self_signed(&key).expect("the CA signs itself");
    (params, key, cert)
}

fn leaf(
    common_name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, &KeyPair>,
    expired: bool,
) -> (Certificate, KeyPair) {
    let mut params = CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>())
        .expect("valid subject alternative names");
    params.distinguished_name = name(common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![usage];
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    } else {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
    }
    let key = KeyPair::generate().expect("a key pair");
    let cert = params.signed_by(&key, issuer).expect("the CA signs");
    (cert, key)
}

fn write_pair(cert_path: &Path, cert: &Certificate, key_path: &Path, key: &KeyPair) {
    write(cert_path, &cert.pem());
    write(key_path, &key.serialize_pem());
}

fn write(path: &Path, contents: &str) {
    let partial = path.with_extension("pem.partial");
    std::fs::write(&partial, contents).unwrap_or_else(|error| panic!("cannot write {}: {error}", partial.display()));
    std::fs::rename(&partial, path).unwrap_or_else(|error| panic!("cannot rename to {}: {error}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_as_pem_and_reissues_the_server_certificate() {
        let dir = std::env::temp_dir().join(format!("skein-pki-{:08x}", rand::random::<u32>()));
        let pki = TestPki::generate(&dir);
        for path in [
            &pki.ca_cert,
            &pki.server_cert,
            &pki.client_cert,
            &pki.other_ca_cert,
            &pki.other_client_cert,
            &pki.expired_cert,
        ] {
            assert!(std::fs::read_to_string(path).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        }
        for path in [&pki.server_key, &pki.client_key, &pki.other_client_key, &pki.expired_key] {
            assert!(std::fs::read_to_string(path).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
        }
        let before = std::fs::read(&pki.server_cert).unwrap();
        pki.reissue_server_cert("rotated");
        assert_ne!(before, std::fs::read(&pki.server_cert).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
