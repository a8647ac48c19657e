//! Every format at a skein boundary, in one place: the Kafka span record, the dead-letter record,
//! the Jaeger documents and index templates in Elasticsearch, the analytics documents (dependency
//! links, latency sketches), and the conversions between them.
//! Roles only call this crate.

pub mod analytics;
pub mod dlq;
pub mod elasticsearch;
pub mod encoding;
pub mod jaeger;
pub mod kafka_record;
pub mod otlp_wire;
pub mod sketch;
pub mod span_kind;
pub mod span_limits;
pub mod span_summary;
pub mod tenant;
pub mod thrift;
pub mod zipkin;
