//! The options of `skein loadgen`, and the endpoint they resolve to.

use std::path::PathBuf;

use skein_core::elasticsearch::bulk::FILTER_PATH;

use crate::error::LoadgenError;

/// Where requests go and how they are encoded.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC `TraceService/Export`.
    Grpc,
    /// OTLP/HTTP `POST /v1/traces`, protobuf body.
    HttpProtobuf,
    /// OTLP/HTTP `POST /v1/traces`, JSON body.
    HttpJson,
    /// Jaeger span documents straight to Elasticsearch `_bulk` (needs --es-prefix): the ceiling
    /// the ingester is measured against.
    EsBulk,
    /// Jaeger gRPC `CollectorService/PostSpans` (one call per service of each request: a Jaeger
    /// client or agent reports one process per batch).
    JaegerGrpc,
    /// Jaeger Thrift over HTTP `POST /api/traces` (one request per service of each request).
    JaegerThriftHttp,
    /// Jaeger agent UDP, compact Thrift (datagrams ≤ 65000 bytes; no answer, so "acked" = sent).
    JaegerUdpCompact,
    /// Jaeger agent UDP, binary Thrift.
    JaegerUdpBinary,
    /// Zipkin `POST /api/v2/spans`, JSON.
    ZipkinJson,
    /// Zipkin `POST /api/v2/spans`, proto3.
    ZipkinProto,
}

/// The options of `skein loadgen`: what to send, where, how fast, and what to measure.
#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {
    /// Target URL. Default http://127.0.0.1:4317 (gRPC), http://127.0.0.1:4318 (HTTP; `/v1/traces`
    /// is appended when the URL has no path), http://127.0.0.1:9200 (es-bulk).
    #[arg(long)]
    pub endpoint: Option<String>,
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: Protocol,
    /// Spans per second; 0 sends as fast as the collector answers (requests are pre-generated).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Spans to send in all.
    #[arg(long, default_value_t = 100_000)]
    pub total: u64,
    /// Resend a request refused with backpressure (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE) or
    /// not answered (connection refused, broken, timed out) for up to this many seconds after its
    /// first attempt, pausing 100 ms doubling to 2 s; 0 sends every request once. With it, "acked"
    /// counts every span a collector took, through its restarts.
    #[arg(long, default_value_t = 0.0)]
    pub retry_secs: f64,
    /// Stop sending new requests after this many seconds, even if --total is not reached.
    #[arg(long)]
    pub duration_secs: Option<f64>,
    /// Spans per trace: a root SERVER span and CLIENT/SERVER/INTERNAL descendants.
    #[arg(long, default_value_t = 10)]
    pub spans_per_trace: usize,
    /// Attributes per span.
    #[arg(long, default_value_t = 10)]
    pub attributes: usize,
    /// Distinct services (resources) the traces cross.
    #[arg(long, default_value_t = 5)]
    pub services: usize,
    /// Spans per request (whole traces: rounded down to a multiple of --spans-per-trace).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// gRPC connections (HTTP/2 channels) the requests are spread over.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// es-bulk: index prefix written to (`<prefix>-jaeger-span-YYYY-MM-DD`); its templates are installed first.
    #[arg(long)]
    pub es_prefix: Option<String>,
    /// Elasticsearch URL to poll for acknowledged traces (ack → searchable delay).
    #[arg(long, requires = "probe_prefix")]
    pub probe_es: Option<String>,
    /// Index prefix the ingester writes to (elasticsearch.index_prefix).
    #[arg(long)]
    pub probe_prefix: Option<String>,
    /// Probe one trace of every Nth acknowledged request.
    #[arg(long, default_value_t = 1)]
    pub probe_every: usize,
    /// Poll period of the probe, ms.
    #[arg(long, default_value_t = 20)]
    pub probe_interval_ms: u64,
    /// Give up on a probed trace after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub probe_timeout_secs: u64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Seed of the generator (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl LoadgenArgs {
    /// Refuse settings no request can be built from, before connecting anywhere.
    pub(crate) fn check(&self) -> Result<(), LoadgenError> {
        if self.batch == 0 || self.spans_per_trace == 0 || self.services == 0 || self.concurrency == 0 {
            return Err(LoadgenError::Usage(
                "--batch, --spans-per-trace, --services and --concurrency must be at least 1",
            ));
        }
        if self.protocol == Protocol::EsBulk && self.es_prefix.is_none() {
            return Err(LoadgenError::Usage(
                "--protocol es-bulk writes to a fresh index prefix: give it with --es-prefix",
            ));
        }
        Ok(())
    }

    /// The URL requests go to: --endpoint or the protocol's default port, with the protocol's
    /// path appended when the URL has none.
    pub(crate) fn endpoint(&self) -> String {
        let default = match self.protocol {
            Protocol::Grpc => "http://127.0.0.1:4317",
            Protocol::HttpProtobuf | Protocol::HttpJson => "http://127.0.0.1:4318",
            Protocol::EsBulk => "http://127.0.0.1:9200",
            Protocol::JaegerGrpc => "http://127.0.0.1:14250",
            Protocol::JaegerThriftHttp => "http://127.0.0.1:14268",
            Protocol::JaegerUdpCompact => "udp://127.0.0.1:6831",
            Protocol::JaegerUdpBinary => "udp://127.0.0.1:6832",
            Protocol::ZipkinJson | Protocol::ZipkinProto => "http://127.0.0.1:9411",
        };
        let base = self.endpoint.clone().unwrap_or_else(|| default.to_string());
        match self.protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => with_path(&base, "/v1/traces"),
            Protocol::EsBulk => {
                format!("{}/_bulk?filter_path={}", base.trim_end_matches('/'), FILTER_PATH.join(","))
            }
            Protocol::JaegerThriftHttp => with_path(&base, "/api/traces"),
            Protocol::ZipkinJson | Protocol::ZipkinProto => with_path(&base, "/api/v2/spans"),
            Protocol::Grpc | Protocol::JaegerGrpc | Protocol::JaegerUdpCompact | Protocol::JaegerUdpBinary => base,
        }
    }
}

/// `base` as given when it has a path, else with `path` appended.
fn with_path(base: &str, path: &str) -> String {
    let without_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    if without_scheme.trim_end_matches('/').contains('/') {
        base.to_string()
    } else {
        format!("{}{path}", base.trim_end_matches('/'))
    }
}

/// Arguments as the command line would give them, for tests across the crate.
#[cfg(test)]
pub(crate) fn parse(extra: &[&str]) -> LoadgenArgs {
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LoadgenArgs,
    }

    let mut argv = vec!["loadgen"];
    argv.extend_from_slice(extra);
    Wrapper::parse_from(argv).args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_get_the_traces_path() {
        assert_eq!(parse(&["--protocol", "http-json"]).endpoint(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(parse(&["--protocol", "http-protobuf", "--endpoint", "http://h:1/x"]).endpoint(), "http://h:1/x");
        assert_eq!(parse(&[]).endpoint(), "http://127.0.0.1:4317");
    }

    #[test]
    fn jaeger_zipkin_and_bulk_endpoints_get_their_paths() {
        let endpoint = |extra: &[&str]| parse(extra).endpoint();
        assert_eq!(endpoint(&["--protocol", "jaeger-thrift-http"]), "http://127.0.0.1:14268/api/traces");
        assert_eq!(
            endpoint(&["--protocol", "zipkin-proto", "--endpoint", "http://z:9411/"]),
            "http://z:9411/api/v2/spans"
        );
        assert_eq!(
            endpoint(&["--protocol", "es-bulk", "--endpoint", "http://es:9200/"]),
            "http://es:9200/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason"
        );
        assert_eq!(endpoint(&["--protocol", "jaeger-udp-binary"]), "udp://127.0.0.1:6832");
    }

    #[test]
    fn settings_without_a_possible_request_are_refused() {
        assert!(parse(&["--batch", "0"]).check().unwrap_err().to_string().contains("at least 1"));
        assert!(parse(&["--protocol", "es-bulk"]).check().unwrap_err().to_string().contains("--es-prefix"));
        assert!(parse(&["--protocol", "es-bulk", "--es-prefix", "p"]).check().is_ok());
    }
}
