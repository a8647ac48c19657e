//! TLS servers of the outbound-TLS tests, started by the project's scripts: a Kafka broker that
//! speaks only TLS and requires client certificates (`scripts/infra/kafka-tls.sh`), and a TLS
//! terminator requiring client certificates in front of the dev Elasticsearch
//! (`scripts/infra/es-tls-proxy.sh`). Each keeps its test PKI (PEM files made with `openssl`) in
//! its state directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A server a test needs, stopped when dropped if this guard started it (one a developer left
/// running stays).
pub struct TlsServer {
    script: PathBuf,
    started_here: bool,
    /// Directory of `ca.pem`, `client.pem`, `client.key` (and the server's own files).
    pub pki: PathBuf,
}

impl TlsServer {
    /// `scripts/infra/<name>.sh start` (idempotent), panicking with the script's output on failure.
    pub fn start(name: &str) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root");
        let script = root.join("scripts/infra").join(format!("{name}.sh"));
        let running = Command::new("bash").arg(&script).arg("status").output().expect("script runs").status.success();
        let output = Command::new("bash").arg(&script).arg("start").output().expect("script runs");
        assert!(
            output.status.success(),
            "{} start failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let pki = Command::new("bash").arg(&script).arg("pki").output().expect("script runs");
        let pki = PathBuf::from(String::from_utf8_lossy(&pki.stdout).trim());
        Self { script, started_here: !running, pki }
    }

    /// A file of the PKI, as a config value.
    pub fn file(&self, name: &str) -> Option<String> {
        Some(self.pki.join(name).to_string_lossy().into_owned())
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new("bash").arg(&self.script).arg("stop").output();
        }
    }
}

/// A CA that signed none of the servers' certificates, in `dir`: `other-ca.pem`, and
/// `other-client.pem` / `other-client.key` (a client certificate it signed).
pub fn other_ca(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let run = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other-ca.key"]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "other-ca.key",
        "-subj",
        "/CN=not the servers' CA",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-out",
        "other-ca.pem",
    ]);
    run(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other-client.key"]);
    run(&["req", "-new", "-key", "other-client.key", "-subj", "/CN=stranger", "-out", "other-client.csr"]);
    run(&[
        "x509",
        "-req",
        "-in",
        "other-client.csr",
        "-CA",
        "other-ca.pem",
        "-CAkey",
        "other-ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "other-client.pem",
    ]);
    dir.to_path_buf()
}
