//! Flags every role shares: the config file and the most used overrides.

use std::path::PathBuf;

use anyhow::{Context, Result};
use skein_core::SkeinConfig;

/// `--config` plus flags that override single options (they win over the file and `SKEIN_*`).
#[derive(clap::Args, Debug, Default)]
pub struct ConfigArgs {
    /// YAML configuration file (see config/skein.example.yaml).
    #[arg(long, short = 'c', env = "SKEIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Kafka bootstrap servers (kafka.brokers).
    #[arg(long)]
    pub kafka_brokers: Option<String>,
    /// Spans topic (kafka.spans_topic).
    #[arg(long)]
    pub spans_topic: Option<String>,
    /// Elasticsearch URL (elasticsearch.url).
    #[arg(long)]
    pub es_url: Option<String>,
    /// Index prefix (elasticsearch.index_prefix).
    #[arg(long)]
    pub index_prefix: Option<String>,
    /// Log filter (log.level).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Any option as KEY=VALUE with a dotted key, e.g. `--set collector.max_request_bytes=8388608`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    pub fn load(&self) -> Result<SkeinConfig> {
        let mut overrides = Vec::new();
        let named = [
            ("kafka.brokers", &self.kafka_brokers),
            ("kafka.spans_topic", &self.spans_topic),
            ("elasticsearch.url", &self.es_url),
            ("elasticsearch.index_prefix", &self.index_prefix),
            ("log.level", &self.log_level),
        ];
        for (key, value) in named {
            if let Some(value) = value {
                overrides.push((key.to_string(), value.clone()));
            }
        }
        for pair in &self.set {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--set {pair:?} must look like KEY=VALUE, e.g. kafka.partitions=12"))?;
            overrides.push((key.trim().to_string(), value.to_string()));
        }
        SkeinConfig::load(self.config.as_deref(), &overrides).context("cannot load the configuration")
    }
}
