//! The servers of a run: the three-node Kafka of `scripts/infra/kafka-cluster.sh` and an
//! Elasticsearch of its own (`scripts/infra/elasticsearch.sh` with another state dir and ports),
//! so that stopping it never disturbs the shared dev one. Both are stopped when the run ends.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

pub const BOOTSTRAP: &str = "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094";
pub const ES_PORT: u16 = 19200;
pub const ES_TRANSPORT_PORT: u16 = 19300;

pub fn es_url() -> String {
    format!("http://127.0.0.1:{ES_PORT}")
}

pub struct Servers {
    scripts: PathBuf,
    /// `$SKEIN_STATE_DIR/chaos`: the chaos Elasticsearch's state dir.
    es_state: PathBuf,
    /// Leave both running at the end (SKEIN_CHAOS_KEEP=1), to look at what a run left.
    keep: bool,
    started: bool,
}

impl Servers {
    pub fn new(repo: &Path) -> Self {
        let state = std::env::var_os("SKEIN_STATE_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join(".skein"));
        Self {
            scripts: repo.join("scripts/infra"),
            es_state: state.join("chaos"),
            keep: std::env::var("SKEIN_CHAOS_KEEP").is_ok_and(|v| v == "1"),
            started: false,
        }
    }

    fn script(&self, name: &str, args: &[&str]) -> Command {
        let mut command = Command::new("bash");
        command.arg(self.scripts.join(name)).args(args);
        command
    }

    fn es(&self, action: &str) -> Command {
        let mut command = self.script("elasticsearch.sh", &[action]);
        command
            .env("SKEIN_STATE_DIR", &self.es_state)
            .env("SKEIN_ES_PORT", ES_PORT.to_string())
            .env("SKEIN_ES_TRANSPORT_PORT", ES_TRANSPORT_PORT.to_string());
        command
    }

    /// A fresh Kafka cluster (state deleted) and the chaos Elasticsearch, started in parallel.
    pub async fn start(&mut self) -> Result<()> {
        self.started = true;
        run(self.script("kafka-cluster.sh", &["reset"]), "kafka-cluster.sh reset").await?;
        let kafka = tokio::spawn(run(self.script("kafka-cluster.sh", &["start"]), "kafka-cluster.sh start"));
        let es = tokio::spawn(run(self.es("start"), "elasticsearch.sh start (chaos)"));
        let (kafka, es) = (kafka.await?, es.await?);
        kafka?;
        es
    }

    pub async fn kill_broker(&self, node: u8) -> Result<()> {
        run(self.script("kafka-cluster.sh", &["kill-node", &node.to_string()]), "kafka-cluster.sh kill-node").await
    }

    pub async fn start_broker(&self, node: u8) -> Result<()> {
        run(self.script("kafka-cluster.sh", &["start-node", &node.to_string()]), "kafka-cluster.sh start-node").await
    }

    pub async fn stop_es(&self) -> Result<()> {
        run(self.es("stop"), "elasticsearch.sh stop (chaos)").await
    }

    pub async fn start_es(&self) -> Result<()> {
        run(self.es("start"), "elasticsearch.sh start (chaos)").await
    }

    /// Stop both (unless kept); errors are only reported, the run's verdict stands.
    pub fn stop(&mut self) {
        if !self.started || self.keep {
            if self.keep {
                eprintln!("[chaos] SKEIN_CHAOS_KEEP=1: the cluster and the chaos Elasticsearch keep running");
            }
            return;
        }
        self.started = false;
        for (mut command, what) in [(self.script("kafka-cluster.sh", &["stop"]), "cluster"), (self.es("stop"), "es")] {
            match command.output() {
                Ok(output) if output.status.success() => {}
                Ok(output) => eprintln!("[chaos] stopping {what} failed: {}", String::from_utf8_lossy(&output.stderr)),
                Err(error) => eprintln!("[chaos] stopping {what} failed: {error}"),
            }
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run a script to its end (off the runtime's thread); fail with its output when it fails.
async fn run(mut command: Command, what: &'static str) -> Result<()> {
    let output = tokio::task::spawn_blocking(move || command.output()).await?.with_context(|| format!("run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
