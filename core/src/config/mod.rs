//! The one skein configuration file, a section per role plus the shared `kafka`, `elasticsearch`
//! and `log`. Each section file holds its options (the doc comment says what one means), their
//! defaults (its `impl Default`, the only place they are written) and its own checks. The same
//! structure is filled from YAML, then `SKEIN_*` environment variables, then CLI flags.
//! docs/configuration.md lists every option with its default; a test holds it to the code.

mod agent;
mod analytics;
mod auth;
mod collector;
mod elasticsearch;
mod ingester;
mod kafka;
mod limits;
mod listen;
mod listeners;
mod log;
mod query;
#[cfg(test)]
mod reference;
mod skein;
pub mod tenancy;
mod udp;

pub use agent::{AgentConfig, AgentConfigError, CollectorTlsConfig};
pub use analytics::{AnalyticsConfig, AnalyticsConfigError};
pub use auth::{AuthConfig, AuthConfigError};
pub use collector::{CollectorConfig, CollectorConfigError, Compression};
pub use elasticsearch::{ElasticsearchConfig, ElasticsearchConfigError};
pub use ingester::{IngesterConfig, IngesterConfigError};
pub use kafka::{GroupProtocol, KafkaConfig, KafkaConfigError, KafkaTlsConfig, RecordEncoding, StartFrom};
pub use limits::LimitsConfig;
pub use listen::Listen;
pub use listeners::{ClientAuth, ListenerGroupConfig, ListenersConfig, ListenersConfigError, TlsConfig};
pub use log::{LogConfig, LogFormat};
pub use query::{QueryConfig, QueryConfigError};
pub use skein::{ConfigError, SkeinConfig};
pub use tenancy::{TenancyConfig, TenancyConfigError};
pub use udp::{UdpConfig, UdpConfigError};
