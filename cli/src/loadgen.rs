//! `skein loadgen`: sends realistic OTLP traces to a collector (gRPC, HTTP protobuf or HTTP JSON)
//! and prints what it achieved: spans sent and acknowledged, refusals by kind, throughput and
//! request latency. Two extra targets serve the benchmark (`scripts/bench.sh`):
//!
//! - `--protocol es-bulk` converts the same traces into Jaeger span documents (with the ingester's
//!   own conversion) and sends them straight to Elasticsearch `_bulk`: the ceiling the ingester is
//!   compared with;
//! - `--probe-es URL --probe-prefix P` samples acknowledged traces and polls Elasticsearch until
//!   each is searchable, measuring the delay from the collector's ack to searchability.
//!
//! With `--rate 0` every request is generated (and encoded, for HTTP) before the clock starts, so
//! the generator is not what is measured.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::api_v2::{Batch as JaegerBatch, PostSpansRequest, PostSpansResponse, POST_SPANS_PATH};
use skein_schemas::jaeger::{format_trace_id, span_documents, TraceIdFormat};
use skein_schemas::thrift::Protocol as ThriftProtocol;
use skein_schemas::zipkin::proto::{ListOfSpans, ProtoSpan};
use tokio::sync::{mpsc, Semaphore};
use tonic::transport::Channel;

use crate::wire_formats;

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

pub async fn run(args: LoadgenArgs) -> Result<()> {
    if args.batch == 0 || args.spans_per_trace == 0 || args.services == 0 || args.concurrency == 0 {
        bail!("--batch, --spans-per-trace, --services and --concurrency must be at least 1");
    }
    if args.protocol == Protocol::EsBulk && args.es_prefix.is_none() {
        bail!("--protocol es-bulk writes to a fresh index prefix: give it with --es-prefix");
    }
    let endpoint = endpoint(&args);
    let seed = args.seed.unwrap_or_else(rand::random);
    let workload = Arc::new(Workload::new(&args, seed));
    let plan = Plan::new(&args);
    let sender = Sender::connect(&args, &endpoint).await?;
    let probing = args.probe_es.is_some();

    // Pre-generate when the rate is unlimited, on every core, before the clock starts.
    let generation_started = Instant::now();
    let pregenerated = if args.rate == 0 {
        Some(pregenerate(&workload, &plan, args.protocol, probing, args.probe_every, seed))
    } else {
        None
    };
    let generation_secs = generation_started.elapsed().as_secs_f64();

    let (probe_tx, probe_task) = match (&args.probe_es, &args.probe_prefix) {
        (Some(url), Some(prefix)) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let prober = Prober {
                client: reqwest::Client::new(),
                search_url: format!("{}/{}/_search", url.trim_end_matches('/'), IndexNames::new(prefix).span_pattern()),
                interval: Duration::from_millis(args.probe_interval_ms.max(1)),
                timeout: Duration::from_secs(args.probe_timeout_secs),
            };
            (Some(tx), Some(tokio::spawn(prober.run(rx))))
        }
        _ => (None, None),
    };

    let mut stats = Stats::new();
    let semaphore = Arc::new(Semaphore::new(args.concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut generator = Generator::new(workload.clone(), seed ^ 0x5eed);
    let mut pregenerated = pregenerated.map(Vec::into_iter);
    let deadline = args.duration_secs.map(Duration::from_secs_f64);
    let cpu_before = process_cpu_ticks();
    let started = Instant::now();
    let mut sent_spans = 0u64;
    for index in 0..plan.requests.len() {
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if args.rate > 0 {
            let due = started + Duration::from_secs_f64(sent_spans as f64 / args.rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let prepared = match pregenerated.as_mut() {
            Some(iter) => iter.next().expect("one prepared request per planned request"),
            None => prepare(
                &mut generator,
                plan.requests[index],
                args.protocol,
                probing && index.is_multiple_of(args.probe_every.max(1)),
            ),
        };
        sent_spans += prepared.spans as u64;
        stats.sent_bytes += prepared.bytes as u64;
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore is never closed");
        let sender = sender.clone();
        let probe_tx = probe_tx.clone();
        tasks.spawn(async move {
            let outcome = sender.send(prepared.payload).await;
            drop(permit);
            if let (Some(tx), Some(trace), Outcome::Acked { .. }) = (&probe_tx, prepared.probe, &outcome.result) {
                let _ = tx.send(Probe { trace_id: trace.0, spans: trace.1, acked: outcome.finished });
            }
            (prepared.spans, outcome)
        });
        while let Some(done) = tasks.try_join_next() {
            stats.add(done.context("send task panicked")?);
        }
    }
    while let Some(done) = tasks.join_next().await {
        stats.add(done.context("send task panicked")?);
    }
    let elapsed = started.elapsed();
    let cpu_ticks = process_cpu_ticks().zip(cpu_before).map(|(after, before)| after - before);
    drop(probe_tx);
    let probe = match probe_task {
        Some(task) => Some(task.await.context("probe task panicked")?),
        None => None,
    };

    let timing = Timing { elapsed, generation_secs, cpu_ticks };
    let summary = Summary::new(&args, &endpoint, &plan, &stats, timing, probe);
    println!("{}", summary.render());
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_string_pretty(&summary).expect("summary serializes");
        std::fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn endpoint(args: &LoadgenArgs) -> String {
    let default = match args.protocol {
        Protocol::Grpc => "http://127.0.0.1:4317",
        Protocol::HttpProtobuf | Protocol::HttpJson => "http://127.0.0.1:4318",
        Protocol::EsBulk => "http://127.0.0.1:9200",
        Protocol::JaegerGrpc => "http://127.0.0.1:14250",
        Protocol::JaegerThriftHttp => "http://127.0.0.1:14268",
        Protocol::JaegerUdpCompact => "udp://127.0.0.1:6831",
        Protocol::JaegerUdpBinary => "udp://127.0.0.1:6832",
        Protocol::ZipkinJson | Protocol::ZipkinProto => "http://127.0.0.1:9411",
    };
    let with_path = |base: &str, path: &str| {
        let without_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
        if without_scheme.trim_end_matches('/').contains('/') {
            base.to_string()
        } else {
            format!("{}{path}", base.trim_end_matches('/'))
        }
    };
    let base = args.endpoint.clone().unwrap_or_else(|| default.to_string());
    match args.protocol {
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            let without_scheme = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest);
            if without_scheme.trim_end_matches('/').contains('/') {
                base
            } else {
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
        }
        Protocol::EsBulk => {
            format!("{}/_bulk?filter_path=errors,items.*.status,items.*.error.type", base.trim_end_matches('/'))
        }
        Protocol::JaegerThriftHttp => with_path(&base, "/api/traces"),
        Protocol::ZipkinJson | Protocol::ZipkinProto => with_path(&base, "/api/v2/spans"),
        Protocol::Grpc | Protocol::JaegerGrpc | Protocol::JaegerUdpCompact | Protocol::JaegerUdpBinary => base,
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: how many spans each request carries.

struct Plan {
    /// Spans of each request, in order.
    requests: Vec<usize>,
    traces_per_request: usize,
}

impl Plan {
    fn new(args: &LoadgenArgs) -> Self {
        let traces_per_request = (args.batch / args.spans_per_trace).max(1);
        let per_request = (traces_per_request * args.spans_per_trace) as u64;
        let mut requests = Vec::with_capacity((args.total / per_request + 1) as usize);
        let mut left = args.total;
        while left > 0 {
            let spans = left.min(per_request);
            requests.push(spans as usize);
            left -= spans;
        }
        Self { requests, traces_per_request }
    }
}

/// One request ready to send.
struct Prepared {
    payload: Payload,
    spans: usize,
    /// Encoded size of the request body.
    bytes: usize,
    /// A trace of this request to poll for: (Jaeger trace id, spans of it in this request).
    probe: Option<(String, usize)>,
}

enum Payload {
    Grpc(ExportTraceServiceRequest),
    Body(reqwest::Body),
    /// Several HTTP bodies sent one after the other (Thrift: one per service).
    Bodies(Vec<Vec<u8>>),
    JaegerGrpc(Vec<PostSpansRequest>),
    Datagrams(Vec<Vec<u8>>),
}

fn prepare(generator: &mut Generator, spans: usize, protocol: Protocol, probe: bool) -> Prepared {
    let (request, traces) = generator.request(spans);
    let probe = if probe { traces.choose(&mut generator.rng).cloned() } else { None };
    let (payload, bytes) = match protocol {
        Protocol::Grpc => {
            let bytes = request.encoded_len();
            (Payload::Grpc(request), bytes)
        }
        Protocol::HttpProtobuf => body(request.encode_to_vec()),
        Protocol::HttpJson => body(serde_json::to_vec(&request).expect("OTLP requests serialize")),
        Protocol::EsBulk => body(bulk_body(request, &generator.workload.es_names)),
        Protocol::JaegerGrpc => {
            let requests: Vec<PostSpansRequest> = wire_formats::jaeger_batches(&request)
                .iter()
                .map(|batch| PostSpansRequest { batch: Some(JaegerBatch::from_model(batch)) })
                .collect();
            let bytes = requests.iter().map(|r| r.encoded_len()).sum();
            (Payload::JaegerGrpc(requests), bytes)
        }
        Protocol::JaegerThriftHttp => {
            let bodies: Vec<Vec<u8>> = wire_formats::jaeger_batches(&request)
                .iter()
                .map(|batch| skein_schemas::jaeger::thrift::encode_batch(batch, ThriftProtocol::Binary))
                .collect();
            let bytes = bodies.iter().map(Vec::len).sum();
            (Payload::Bodies(bodies), bytes)
        }
        Protocol::JaegerUdpCompact | Protocol::JaegerUdpBinary => {
            let thrift =
                if protocol == Protocol::JaegerUdpCompact { ThriftProtocol::Compact } else { ThriftProtocol::Binary };
            let datagrams = wire_formats::udp_datagrams(wire_formats::jaeger_batches(&request), thrift, 65_000);
            let bytes = datagrams.iter().map(Vec::len).sum();
            (Payload::Datagrams(datagrams), bytes)
        }
        Protocol::ZipkinJson => body(wire_formats::zipkin_json(&wire_formats::zipkin_spans(&request))),
        Protocol::ZipkinProto => {
            let spans = wire_formats::zipkin_spans(&request);
            let list = ListOfSpans { spans: spans.iter().map(ProtoSpan::from).collect() };
            body(list.encode_to_vec())
        }
    };
    Prepared { payload, spans, bytes, probe }
}

fn body(bytes: Vec<u8>) -> (Payload, usize) {
    let len = bytes.len();
    (Payload::Body(bytes.into()), len)
}

/// The `_bulk` body the ingester would send for these spans (span documents only; the ingester's
/// service documents are deduplicated to a handful per day).
fn bulk_body(request: ExportTraceServiceRequest, names: &IndexNames) -> Vec<u8> {
    let data = TracesData { resource_spans: request.resource_spans };
    let mut body = Vec::new();
    for span in span_documents(&data, TraceIdFormat::Short) {
        let action = serde_json::json!({ "index": { "_index": names.span_index(span.start_time_micros), "_id": span.document_id } });
        body.extend_from_slice(action.to_string().as_bytes());
        body.push(b'\n');
        body.extend_from_slice(&span.body);
        body.push(b'\n');
    }
    body
}

fn pregenerate(
    workload: &Arc<Workload>,
    plan: &Plan,
    protocol: Protocol,
    probing: bool,
    probe_every: usize,
    seed: u64,
) -> Vec<Prepared> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(plan.requests.len().max(1));
    let chunk = plan.requests.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .requests
            .chunks(chunk)
            .enumerate()
            .map(|(part, sizes)| {
                let workload = workload.clone();
                scope.spawn(move || {
                    let mut generator =
                        Generator::new(workload, seed ^ (part as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    sizes
                        .iter()
                        .enumerate()
                        .map(|(i, spans)| {
                            let probe = probing && (part * chunk + i).is_multiple_of(probe_every.max(1));
                            prepare(&mut generator, *spans, protocol, probe)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("generator thread panicked")).collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Sending.

#[derive(Clone)]
enum Sender {
    Grpc(Arc<Vec<TraceServiceClient<Channel>>>, Arc<std::sync::atomic::AtomicUsize>),
    Http { client: reqwest::Client, url: Arc<str>, content_type: &'static str, json: bool },
    EsBulk { client: reqwest::Client, url: Arc<str> },
    JaegerGrpc(tonic::client::Grpc<Channel>),
    Udp(Arc<tokio::net::UdpSocket>),
}

struct SendOutcome {
    result: Outcome,
    latency: Duration,
    finished: Instant,
}

enum Outcome {
    /// Accepted; `rejected` spans were refused in a partial success (or bulk items that failed).
    Acked {
        rejected: u64,
    },
    TooManyRequests,
    Unavailable,
    Other(String),
}

impl Sender {
    async fn connect(args: &LoadgenArgs, endpoint: &str) -> Result<Self> {
        let http = || {
            reqwest::Client::builder()
                .pool_max_idle_per_host(args.concurrency)
                .timeout(Duration::from_secs(60))
                .build()
                .context("cannot build the HTTP client")
        };
        Ok(match args.protocol {
            Protocol::Grpc => {
                let mut clients = Vec::new();
                for _ in 0..args.connections.max(1) {
                    let channel = Channel::from_shared(endpoint.to_string())
                        .with_context(|| format!("--endpoint {endpoint:?} is not a valid URL"))?
                        .connect()
                        .await
                        .with_context(|| format!("cannot connect to the collector at {endpoint}"))?;
                    clients.push(TraceServiceClient::new(channel).max_decoding_message_size(16 * 1024 * 1024));
                }
                Sender::Grpc(Arc::new(clients), Arc::default())
            }
            Protocol::HttpProtobuf => Sender::Http {
                client: http()?,
                url: endpoint.into(),
                content_type: "application/x-protobuf",
                json: false,
            },
            Protocol::HttpJson => {
                Sender::Http { client: http()?, url: endpoint.into(), content_type: "application/json", json: true }
            }
            Protocol::JaegerThriftHttp => Sender::Http {
                client: http()?,
                url: endpoint.into(),
                content_type: "application/x-thrift",
                json: false,
            },
            Protocol::ZipkinJson => {
                Sender::Http { client: http()?, url: endpoint.into(), content_type: "application/json", json: true }
            }
            Protocol::ZipkinProto => Sender::Http {
                client: http()?,
                url: endpoint.into(),
                content_type: "application/x-protobuf",
                json: false,
            },
            Protocol::JaegerGrpc => {
                let channel = Channel::from_shared(endpoint.to_string())
                    .with_context(|| format!("--endpoint {endpoint:?} is not a valid URL"))?
                    .connect()
                    .await
                    .with_context(|| format!("cannot connect to the collector at {endpoint}"))?;
                Sender::JaegerGrpc(tonic::client::Grpc::new(channel))
            }
            Protocol::JaegerUdpCompact | Protocol::JaegerUdpBinary => {
                let target = endpoint.trim_start_matches("udp://");
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.context("cannot open a UDP socket")?;
                socket.connect(target).await.with_context(|| format!("--endpoint {endpoint:?} is not host:port"))?;
                Sender::Udp(Arc::new(socket))
            }
            Protocol::EsBulk => {
                let client = http()?;
                let base = endpoint.split("/_bulk").next().unwrap_or(endpoint);
                let prefix = args.es_prefix.as_deref().unwrap_or_default();
                for (name, body) in IndexNames::new(prefix).templates(1, 0) {
                    let response = client
                        .put(format!("{base}/_index_template/{name}"))
                        .json(&body)
                        .send()
                        .await
                        .with_context(|| format!("cannot reach Elasticsearch at {base}"))?;
                    if !response.status().is_success() {
                        bail!("Elasticsearch refused template {name}: {}", response.text().await.unwrap_or_default());
                    }
                }
                Sender::EsBulk { client, url: endpoint.into() }
            }
        })
    }

    async fn send(&self, payload: Payload) -> SendOutcome {
        let started = Instant::now();
        let result = match (self, payload) {
            (Sender::Grpc(clients, next), Payload::Grpc(request)) => {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % clients.len();
                let mut client = clients[index].clone();
                match client.export(request).await {
                    Ok(response) => Outcome::Acked { rejected: rejected_spans(Some(response.into_inner())) },
                    Err(status) => match status.code() {
                        tonic::Code::ResourceExhausted => Outcome::TooManyRequests,
                        tonic::Code::Unavailable => Outcome::Unavailable,
                        code => Outcome::Other(format!("gRPC {code:?}: {}", status.message())),
                    },
                }
            }
            (Sender::Http { client, url, content_type, json }, Payload::Body(body)) => {
                let sent = client.post(url.as_ref()).header("content-type", *content_type).body(body).send().await;
                match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.bytes().await.unwrap_or_default();
                        match status {
                            200..=299 if *json => Outcome::Acked { rejected: json_rejected_spans(&body) },
                            200..=299 => Outcome::Acked {
                                rejected: rejected_spans(ExportTraceServiceResponse::decode(body.as_ref()).ok()),
                            },
                            429 => Outcome::TooManyRequests,
                            503 => Outcome::Unavailable,
                            other => Outcome::Other(format!("HTTP {other}: {}", String::from_utf8_lossy(&body))),
                        }
                    }
                    Err(error) => Outcome::Other(format!("HTTP request failed: {error}")),
                }
            }
            (Sender::EsBulk { client, url }, Payload::Body(body)) => {
                let sent =
                    client.post(url.as_ref()).header("content-type", "application/x-ndjson").body(body).send().await;
                match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.bytes().await.unwrap_or_default();
                        match status {
                            200..=299 => bulk_outcome(&body),
                            429 => Outcome::TooManyRequests,
                            503 => Outcome::Unavailable,
                            other => Outcome::Other(format!("HTTP {other}: {}", String::from_utf8_lossy(&body))),
                        }
                    }
                    Err(error) => Outcome::Other(format!("bulk request failed: {error}")),
                }
            }
            (Sender::Http { client, url, content_type, .. }, Payload::Bodies(bodies)) => {
                let mut outcome = Outcome::Acked { rejected: 0 };
                for body in bodies {
                    let sent = client.post(url.as_ref()).header("content-type", *content_type).body(body).send().await;
                    outcome = match sent {
                        Ok(response) if response.status().is_success() => continue,
                        Ok(response) if response.status().as_u16() == 429 => Outcome::TooManyRequests,
                        Ok(response) if response.status().as_u16() == 503 => Outcome::Unavailable,
                        Ok(response) => Outcome::Other(format!(
                            "HTTP {}: {}",
                            response.status(),
                            response.text().await.unwrap_or_default()
                        )),
                        Err(error) => Outcome::Other(format!("HTTP request failed: {error}")),
                    };
                    break;
                }
                outcome
            }
            (Sender::JaegerGrpc(client), Payload::JaegerGrpc(requests)) => {
                let mut client = client.clone();
                let call = async {
                    for request in requests {
                        client.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                        client
                            .unary::<_, PostSpansResponse, _>(
                                tonic::Request::new(request),
                                http::uri::PathAndQuery::from_static(POST_SPANS_PATH),
                                tonic_prost::ProstCodec::default(),
                            )
                            .await?;
                    }
                    Ok::<_, tonic::Status>(())
                };
                match call.await {
                    Ok(_) => Outcome::Acked { rejected: 0 },
                    Err(status) => match status.code() {
                        tonic::Code::ResourceExhausted => Outcome::TooManyRequests,
                        tonic::Code::Unavailable => Outcome::Unavailable,
                        code => Outcome::Other(format!("gRPC {code:?}: {}", status.message())),
                    },
                }
            }
            (Sender::Udp(socket), Payload::Datagrams(datagrams)) => {
                let mut outcome = Outcome::Acked { rejected: 0 };
                for datagram in datagrams {
                    if let Err(error) = socket.send(&datagram).await {
                        outcome = Outcome::Other(format!("UDP send failed: {error}"));
                        break;
                    }
                }
                outcome
            }
            _ => unreachable!("payloads are prepared for their sender"),
        };
        SendOutcome { result, latency: started.elapsed(), finished: Instant::now() }
    }
}

fn rejected_spans(response: Option<ExportTraceServiceResponse>) -> u64 {
    response.and_then(|r| r.partial_success).map_or(0, |p| p.rejected_spans.max(0) as u64)
}

fn json_rejected_spans(body: &[u8]) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match &value["partialSuccess"]["rejectedSpans"] {
        serde_json::Value::String(text) => text.parse().unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    }
}

fn bulk_outcome(body: &[u8]) -> Outcome {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return Outcome::Other(format!("unreadable bulk response: {error}")),
    };
    if value["errors"] == serde_json::Value::Bool(false) {
        return Outcome::Acked { rejected: 0 };
    }
    let failed = value["items"]
        .as_array()
        .map_or(0, |items| items.iter().filter(|item| item["index"]["status"].as_u64().unwrap_or(500) >= 300).count());
    Outcome::Acked { rejected: failed as u64 }
}

// ---------------------------------------------------------------------------------------------
// Statistics and summary.

struct Stats {
    requests: u64,
    acked_requests: u64,
    sent_spans: u64,
    sent_bytes: u64,
    acked_spans: u64,
    rejected_spans: u64,
    too_many_requests: u64,
    unavailable: u64,
    other: u64,
    first_error: Option<String>,
    latency_us: hdrhistogram::Histogram<u64>,
}

impl Stats {
    fn new() -> Self {
        Self {
            requests: 0,
            acked_requests: 0,
            sent_spans: 0,
            sent_bytes: 0,
            acked_spans: 0,
            rejected_spans: 0,
            too_many_requests: 0,
            unavailable: 0,
            other: 0,
            first_error: None,
            latency_us: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }

    fn add(&mut self, (spans, outcome): (usize, SendOutcome)) {
        self.requests += 1;
        self.sent_spans += spans as u64;
        self.latency_us.saturating_record(outcome.latency.as_micros() as u64);
        match outcome.result {
            Outcome::Acked { rejected } => {
                self.acked_requests += 1;
                self.acked_spans += spans as u64 - rejected.min(spans as u64);
                self.rejected_spans += rejected;
            }
            Outcome::TooManyRequests => self.too_many_requests += 1,
            Outcome::Unavailable => self.unavailable += 1,
            Outcome::Other(message) => {
                self.other += 1;
                self.first_error.get_or_insert(message);
            }
        }
    }
}

/// How long the timed phase took and what it cost this process.
struct Timing {
    elapsed: Duration,
    generation_secs: f64,
    cpu_ticks: Option<u64>,
}

#[derive(Serialize)]
struct Summary {
    protocol: String,
    endpoint: String,
    spans_per_request: usize,
    spans_per_trace: usize,
    attributes: usize,
    services: usize,
    concurrency: usize,
    rate_limit: u64,
    requests: u64,
    acked_requests: u64,
    sent_spans: u64,
    bytes_per_span: f64,
    acked_spans: u64,
    rejected_spans: u64,
    failed_429: u64,
    failed_503: u64,
    failed_other: u64,
    first_error: Option<String>,
    elapsed_secs: f64,
    spans_per_sec: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
    generation_secs: f64,
    /// CPU time of this process while the clock ran, in clock ticks of `/proc/self/stat`
    /// (`getconf CLK_TCK`, usually 100 per second); absent off Linux.
    cpu_ticks: Option<u64>,
    probe: Option<ProbeSummary>,
}

impl Summary {
    fn new(
        args: &LoadgenArgs,
        endpoint: &str,
        plan: &Plan,
        stats: &Stats,
        timing: Timing,
        probe: Option<ProbeSummary>,
    ) -> Self {
        let Timing { elapsed, generation_secs, cpu_ticks } = timing;
        let ms = |us: u64| us as f64 / 1000.0;
        let secs = elapsed.as_secs_f64().max(1e-9);
        Self {
            protocol: format!("{:?}", args.protocol),
            endpoint: endpoint.to_string(),
            spans_per_request: plan.traces_per_request * args.spans_per_trace,
            spans_per_trace: args.spans_per_trace,
            attributes: args.attributes,
            services: args.services,
            concurrency: args.concurrency,
            rate_limit: args.rate,
            requests: stats.requests,
            acked_requests: stats.acked_requests,
            sent_spans: stats.sent_spans,
            bytes_per_span: stats.sent_bytes as f64 / stats.sent_spans.max(1) as f64,
            acked_spans: stats.acked_spans,
            rejected_spans: stats.rejected_spans,
            failed_429: stats.too_many_requests,
            failed_503: stats.unavailable,
            failed_other: stats.other,
            first_error: stats.first_error.clone(),
            elapsed_secs: secs,
            spans_per_sec: stats.acked_spans as f64 / secs,
            latency_p50_ms: ms(stats.latency_us.value_at_quantile(0.5)),
            latency_p99_ms: ms(stats.latency_us.value_at_quantile(0.99)),
            latency_max_ms: ms(stats.latency_us.max()),
            generation_secs,
            cpu_ticks,
            probe,
        }
    }

    fn render(&self) -> String {
        let mut lines = vec![
            format!("loadgen {} → {}", self.protocol, self.endpoint),
            format!(
                "  workload     {} spans/request, {} spans/trace, {} attributes/span, {} services, concurrency {}, rate {}",
                self.spans_per_request,
                self.spans_per_trace,
                self.attributes,
                self.services,
                self.concurrency,
                if self.rate_limit == 0 { "unlimited".to_string() } else { format!("{}/s", self.rate_limit) }
            ),
            format!(
                "  sent         {} spans in {} requests ({:.0} bytes per span encoded)",
                self.sent_spans, self.requests, self.bytes_per_span
            ),
            format!(
                "  acked        {} requests, {} spans ({} spans rejected inside acked requests)",
                self.acked_requests, self.acked_spans, self.rejected_spans
            ),
            format!("  failed       429: {}  503: {}  other: {}", self.failed_429, self.failed_503, self.failed_other),
        ];
        if let Some(error) = &self.first_error {
            lines.push(format!("  first error  {error}"));
        }
        lines.push(format!(
            "  elapsed      {:.2} s (generation before the clock: {:.2} s)",
            self.elapsed_secs, self.generation_secs
        ));
        lines.push(format!("  throughput   {:.0} acked spans/s", self.spans_per_sec));
        lines.push(format!(
            "  latency      p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (per request)",
            self.latency_p50_ms, self.latency_p99_ms, self.latency_max_ms
        ));
        if let Some(probe) = &self.probe {
            lines.push(format!(
                "  searchable   {} of {} probed traces; ack → searchable p50 {:.0} ms  p90 {:.0} ms  p99 {:.0} ms  max {:.0} ms; {} timed out",
                probe.found, probe.probed, probe.p50_ms, probe.p90_ms, probe.p99_ms, probe.max_ms, probe.timed_out
            ));
        }
        lines.join("\n")
    }
}

/// utime + stime of this process from `/proc/self/stat` (Linux), in clock ticks.
fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; fields after it start with the state (field 3).
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

// ---------------------------------------------------------------------------------------------
// Probing Elasticsearch for acknowledged traces.

struct Probe {
    trace_id: String,
    spans: usize,
    acked: Instant,
}

struct Prober {
    client: reqwest::Client,
    search_url: String,
    interval: Duration,
    timeout: Duration,
}

#[derive(Serialize)]
struct ProbeSummary {
    probed: u64,
    found: u64,
    timed_out: u64,
    query_errors: u64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Prober {
    /// Poll every `interval` with one search for every pending trace until the channel is closed
    /// and nothing is pending; a trace counts as searchable once all its spans are.
    async fn run(self, mut incoming: mpsc::UnboundedReceiver<Probe>) -> ProbeSummary {
        let mut pending: HashMap<String, (Instant, usize)> = HashMap::new();
        let mut delays = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000, 3).expect("valid bounds");
        let (mut probed, mut timed_out, mut query_errors) = (0u64, 0u64, 0u64);
        let mut open = true;
        loop {
            while open {
                match incoming.try_recv() {
                    Ok(probe) => {
                        probed += 1;
                        pending.insert(probe.trace_id, (probe.acked, probe.spans));
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            if !open && pending.is_empty() {
                break;
            }
            if !pending.is_empty() {
                match self.search(&pending).await {
                    Ok(counts) => {
                        let now = Instant::now();
                        for (trace_id, count) in counts {
                            if let Some((acked, spans)) = pending.get(&trace_id) {
                                if count >= *spans as u64 {
                                    delays.saturating_record(now.duration_since(*acked).as_millis() as u64);
                                    pending.remove(&trace_id);
                                }
                            }
                        }
                    }
                    Err(error) => {
                        query_errors += 1;
                        if query_errors == 1 {
                            eprintln!("probe search failed (will keep trying): {error:#}");
                        }
                    }
                }
                let before = pending.len();
                pending.retain(|_, (acked, _)| acked.elapsed() < self.timeout);
                timed_out += (before - pending.len()) as u64;
            }
            tokio::time::sleep(self.interval).await;
        }
        ProbeSummary {
            probed,
            found: delays.len(),
            timed_out,
            query_errors,
            p50_ms: delays.value_at_quantile(0.5) as f64,
            p90_ms: delays.value_at_quantile(0.9) as f64,
            p99_ms: delays.value_at_quantile(0.99) as f64,
            max_ms: delays.max() as f64,
        }
    }

    /// Spans found per trace id among `pending`.
    async fn search(&self, pending: &HashMap<String, (Instant, usize)>) -> Result<Vec<(String, u64)>> {
        let ids: Vec<&String> = pending.keys().collect();
        let query = serde_json::json!({
            "size": 0,
            "query": { "terms": { "traceID": ids } },
            "aggs": { "traces": { "terms": { "field": "traceID", "size": ids.len() } } }
        });
        let response = self.client.post(&self.search_url).json(&query).send().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() {
            bail!("HTTP {status}: {body}");
        }
        let buckets = body["aggregations"]["traces"]["buckets"].as_array().cloned().unwrap_or_default();
        Ok(buckets
            .into_iter()
            .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// The workload: services with their resources, and realistic traces.

const SERVICE_NAMES: &[&str] = &[
    "frontend",
    "checkout",
    "cart",
    "payment",
    "inventory",
    "shipping",
    "accounts",
    "search",
    "recommendation",
    "notification",
    "pricing",
    "fraud-detection",
];

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/orders/{orderId}"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/cart/{userId}/items"),
    ("PUT", "/api/v1/cart/{userId}/items/{itemId}"),
    ("GET", "/api/v1/products/{productId}"),
    ("GET", "/api/v2/search"),
    ("POST", "/api/v1/payments/{paymentId}/capture"),
    ("GET", "/api/v1/users/{userId}/profile"),
    ("DELETE", "/api/v1/sessions/{sessionId}"),
    ("GET", "/healthz"),
];

const TABLES: &[&str] =
    &["orders", "order_items", "customers", "products", "inventory_levels", "payments", "shipments"];
const COLUMNS: &[&str] = &[
    "id",
    "customer_id",
    "status",
    "created_at",
    "updated_at",
    "total_amount_cents",
    "currency",
    "sku",
    "quantity",
    "warehouse_id",
    "shipping_address_id",
    "discount_code",
];
const INTERNAL_OPERATIONS: &[&str] = &[
    "compute-price",
    "validate-cart",
    "serialize-response",
    "load-user-session",
    "apply-discounts",
    "check-feature-flags",
    "render-template",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
];
const WORDS: &[&str] = &[
    "request",
    "customer",
    "timeout",
    "retrying",
    "upstream",
    "cache",
    "warm",
    "partition",
    "checkout",
    "basket",
    "token",
    "expired",
    "refreshed",
    "quota",
    "degraded",
    "fallback",
    "primary",
    "replica",
    "shard",
    "lookup",
    "batch",
];
const ERRORS: &[(&str, &str)] = &[
    ("java.net.SocketTimeoutException", "Read timed out after 2000 ms"),
    ("io.grpc.StatusRuntimeException", "UNAVAILABLE: upstream connect error or disconnect/reset before headers"),
    ("org.postgresql.util.PSQLException", "ERROR: could not serialize access due to concurrent update"),
    ("java.lang.IllegalStateException", "cart is empty"),
];

/// Everything shared by all generators: the services and their resources.
struct Workload {
    services: Vec<ServiceInfo>,
    spans_per_trace: usize,
    attributes: usize,
    es_names: IndexNames,
}

struct ServiceInfo {
    name: String,
    resource: Resource,
    routes: Vec<(&'static str, &'static str)>,
    table: &'static str,
    db_system: &'static str,
}

impl Workload {
    fn new(args: &LoadgenArgs, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let services = (0..args.services)
            .map(|i| {
                let name = SERVICE_NAMES.get(i).map_or_else(|| format!("service-{i}"), |n| n.to_string());
                let language = ["java", "go", "rust", "python", "nodejs"][i % 5];
                let pod = format!("{name}-{:08x}-{:05x}", rng.random::<u32>(), rng.random::<u32>() & 0xfffff);
                let resource = Resource {
                    attributes: vec![
                        string("service.name", &name),
                        string("service.namespace", "shop"),
                        string("service.version", &format!("1.{}.{}", i % 7, rng.random_range(0..30))),
                        string("service.instance.id", &hex(&rng.random::<[u8; 16]>())),
                        string("host.name", &pod),
                        string("host.arch", "amd64"),
                        string("os.type", "linux"),
                        int("process.pid", rng.random_range(1..65_535)),
                        string("telemetry.sdk.name", "opentelemetry"),
                        string("telemetry.sdk.language", language),
                        string("telemetry.sdk.version", "1.38.0"),
                        string("deployment.environment.name", "bench"),
                        string("k8s.namespace.name", "shop"),
                        string("k8s.pod.name", &pod),
                    ],
                    ..Default::default()
                };
                let routes = (0..4).map(|k| ROUTES[(i * 3 + k) % ROUTES.len()]).collect();
                ServiceInfo {
                    name,
                    resource,
                    routes,
                    table: TABLES[i % TABLES.len()],
                    db_system: ["postgresql", "redis", "mysql", "postgresql"][i % 4],
                }
            })
            .collect();
        Self {
            services,
            spans_per_trace: args.spans_per_trace,
            attributes: args.attributes,
            es_names: IndexNames::new(args.es_prefix.as_deref().unwrap_or_default()),
        }
    }
}

/// Instrumentation scopes, one per kind of span.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    HttpServer,
    HttpClient,
    Database,
    Internal,
}

impl Flavor {
    const ALL: [Flavor; 4] = [Flavor::HttpServer, Flavor::HttpClient, Flavor::Database, Flavor::Internal];

    fn index(self) -> usize {
        self as usize
    }

    fn scope(self) -> InstrumentationScope {
        let (name, version) = match self {
            Flavor::HttpServer => ("io.opentelemetry.http-server", "2.9.0"),
            Flavor::HttpClient => ("io.opentelemetry.http-client", "2.9.0"),
            Flavor::Database => ("io.opentelemetry.jdbc", "2.9.0-alpha"),
            Flavor::Internal => ("shop.app", "1.0.0"),
        };
        InstrumentationScope { name: name.into(), version: version.into(), ..Default::default() }
    }
}

/// A span of the trace being built, as later spans need it.
struct Node {
    span_id: [u8; 8],
    service: usize,
    start: u64,
    end: u64,
    /// SERVER and INTERNAL spans can have children; CLIENT spans only their SERVER callee.
    can_parent: bool,
}

struct Generator {
    workload: Arc<Workload>,
    rng: SmallRng,
}

impl Generator {
    fn new(workload: Arc<Workload>, seed: u64) -> Self {
        Self { workload, rng: SmallRng::seed_from_u64(seed) }
    }

    /// A request of `spans` spans as whole traces (the last one cut short if needed), with the
    /// Jaeger id and span count of each trace.
    fn request(&mut self, spans: usize) -> (ExportTraceServiceRequest, Vec<(String, usize)>) {
        let services = self.workload.services.len();
        let mut groups: Vec<Vec<Span>> = vec![Vec::new(); services * Flavor::ALL.len()];
        let mut traces = Vec::new();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
        let mut left = spans;
        while left > 0 {
            let count = left.min(self.workload.spans_per_trace);
            let trace_id = self.trace(count, now, &mut groups);
            traces.push((format_trace_id(&trace_id), count));
            left -= count;
        }
        let mut resource_spans = Vec::new();
        for (service, info) in self.workload.services.iter().enumerate() {
            let scope_spans: Vec<ScopeSpans> = Flavor::ALL
                .iter()
                .filter_map(|flavor| {
                    let spans = std::mem::take(&mut groups[service * Flavor::ALL.len() + flavor.index()]);
                    (!spans.is_empty()).then(|| ScopeSpans {
                        scope: Some(flavor.scope()),
                        spans,
                        schema_url: String::new(),
                    })
                })
                .collect();
            if !scope_spans.is_empty() {
                resource_spans.push(ResourceSpans {
                    resource: Some(info.resource.clone()),
                    scope_spans,
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                });
            }
        }
        (ExportTraceServiceRequest { resource_spans }, traces)
    }

    /// One trace of `count` spans, appended to `groups` (by service and flavor); returns its id.
    fn trace(&mut self, count: usize, now: u64, groups: &mut [Vec<Span>]) -> [u8; 16] {
        let mut trace_id: [u8; 16] = self.rng.random();
        trace_id[0] |= 0x10; // never all zero, and always 32 hex characters in Jaeger
        let services = self.workload.services.len();
        let root_service = if self.rng.random_bool(0.6) { 0 } else { self.rng.random_range(0..services) };
        let duration = self.rng.random_range(5_000_000..1_500_000_000u64);
        let start = now - duration - self.rng.random_range(0..500_000_000u64);
        let (method, route) = *self.workload.services[root_service].routes.choose(&mut self.rng).expect("routes");
        let mut nodes: Vec<Node> = Vec::with_capacity(count);
        let root =
            self.span(trace_id, None, root_service, Flavor::HttpServer, start, start + duration, Some((method, route)));
        nodes.push(Node {
            span_id: id8(&root.span_id),
            service: root_service,
            start,
            end: start + duration,
            can_parent: true,
        });
        groups[root_service * Flavor::ALL.len()].push(root);

        while nodes.len() < count {
            let parents: Vec<usize> = (0..nodes.len()).filter(|i| nodes[*i].can_parent).collect();
            let parent = *parents.choose(&mut self.rng).expect("the root can always be a parent");
            let (p_start, p_end, p_service, p_id) =
                (nodes[parent].start, nodes[parent].end, nodes[parent].service, nodes[parent].span_id);
            let start = p_start + self.rng.random_range(0..=(p_end - p_start) / 2);
            let end = start + self.rng.random_range(1_000..=(p_end - start).max(1_001));
            let roll = self.rng.random_range(0..100);
            if roll < 40 && nodes.len() + 2 <= count {
                // An HTTP call to another service: CLIENT here, SERVER there.
                let callee =
                    if services > 1 { (p_service + self.rng.random_range(1..services)) % services } else { p_service };
                let (method, route) = *self.workload.services[callee].routes.choose(&mut self.rng).expect("routes");
                let client =
                    self.span(trace_id, Some(p_id), p_service, Flavor::HttpClient, start, end, Some((method, route)));
                let client_id = id8(&client.span_id);
                nodes.push(Node { span_id: client_id, service: p_service, start, end, can_parent: false });
                groups[p_service * Flavor::ALL.len() + Flavor::HttpClient.index()].push(client);
                let latency = (end - start) / 10;
                let (s_start, s_end) = (start + latency / 2, end - latency / 2);
                let server = self.span(
                    trace_id,
                    Some(client_id),
                    callee,
                    Flavor::HttpServer,
                    s_start,
                    s_end,
                    Some((method, route)),
                );
                nodes.push(Node {
                    span_id: id8(&server.span_id),
                    service: callee,
                    start: s_start,
                    end: s_end,
                    can_parent: true,
                });
                groups[callee * Flavor::ALL.len()].push(server);
            } else {
                let flavor = if roll < 70 { Flavor::Database } else { Flavor::Internal };
                let span = self.span(trace_id, Some(p_id), p_service, flavor, start, end, None);
                let can_parent = flavor == Flavor::Internal;
                nodes.push(Node { span_id: id8(&span.span_id), service: p_service, start, end, can_parent });
                groups[p_service * Flavor::ALL.len() + flavor.index()].push(span);
            }
        }
        trace_id
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        trace_id: [u8; 16],
        parent: Option<[u8; 8]>,
        service: usize,
        flavor: Flavor,
        start: u64,
        end: u64,
        http: Option<(&'static str, &'static str)>,
    ) -> Span {
        let mut span_id: [u8; 8] = self.rng.random();
        span_id[0] |= 0x01;
        let error = self.rng.random_bool(0.03);
        let workload = self.workload.clone();
        let info = &workload.services[service];
        let (name, kind, mut attributes) = match flavor {
            Flavor::HttpServer => {
                let (method, route) = http.expect("HTTP spans have a route");
                (
                    format!("{method} {route}"),
                    SpanKind::Server,
                    self.http_server_attributes(service, method, route, error),
                )
            }
            Flavor::HttpClient => {
                let (method, route) = http.expect("HTTP spans have a route");
                (format!("{method} {route}"), SpanKind::Client, self.http_client_attributes(method, route, error))
            }
            Flavor::Database => {
                let operation = ["SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"][self.rng.random_range(0..5)];
                let (table, system) = (info.table, info.db_system);
                (format!("{operation} shop.{table}"), SpanKind::Client, self.db_attributes(system, operation, table))
            }
            Flavor::Internal => {
                let operation = *INTERNAL_OPERATIONS.choose(&mut self.rng).expect("operations");
                (operation.to_string(), SpanKind::Internal, self.internal_attributes(&info.name, operation))
            }
        };
        self.fill_attributes(&mut attributes);
        let mut events = Vec::new();
        if self.rng.random_bool(0.25) {
            for _ in 0..self.rng.random_range(1..=2) {
                events.push(self.event(start, end));
            }
        }
        let status = if error {
            let (kind, message) = *ERRORS.choose(&mut self.rng).expect("errors");
            events.push(Event {
                time_unix_nano: end,
                name: "exception".into(),
                attributes: vec![
                    string("exception.type", kind),
                    string("exception.message", message),
                    string("exception.stacktrace", &self.stacktrace(kind, message)),
                ],
                dropped_attributes_count: 0,
            });
            Some(Status { code: StatusCode::Error as i32, message: message.to_string() })
        } else {
            None
        };
        Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            name,
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            events,
            status,
            flags: 1,
            ..Default::default()
        }
    }

    fn http_server_attributes(&mut self, service: usize, method: &str, route: &str, error: bool) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let path = fill_route(rng, route);
        let status = if error { 500 } else { *[200, 200, 200, 200, 201, 204, 404].choose(rng).expect("codes") };
        let mut attributes = vec![
            string("http.request.method", method),
            string("http.route", route),
            string("url.path", &path),
            string("url.scheme", "https"),
            int("http.response.status_code", status),
            string("server.address", &format!("{}.shop.svc.cluster.local", self.workload.services[service].name)),
            int("server.port", 8080),
            string(
                "client.address",
                &format!("10.{}.{}.{}", rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()),
            ),
            string("user_agent.original", USER_AGENTS.choose(rng).expect("agents")),
            string("network.protocol.version", if rng.random_bool(0.5) { "1.1" } else { "2" }),
        ];
        if route.contains("search") {
            attributes.insert(
                3,
                string(
                    "url.query",
                    &format!("q={}&page={}", words(rng, 1, 4).replace(' ', "+"), rng.random_range(1..20)),
                ),
            );
        }
        attributes
    }

    fn http_client_attributes(&mut self, method: &str, route: &str, error: bool) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let service = SERVICE_NAMES.choose(rng).expect("services");
        let status = if error { 503 } else { 200 };
        vec![
            string("http.request.method", method),
            string("url.full", &format!("https://{service}.shop.svc.cluster.local:8080{}", fill_route(rng, route))),
            string("server.address", &format!("{service}.shop.svc.cluster.local")),
            int("server.port", 8080),
            int("http.response.status_code", status),
            string(
                "network.peer.address",
                &format!("10.{}.{}.{}", rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()),
            ),
            int("http.request.resend_count", if error { 1 } else { 0 }),
            string("network.protocol.name", "http"),
        ]
    }

    fn db_attributes(&mut self, system: &str, operation: &str, table: &str) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let statement = sql(rng, operation, table);
        let port = match system {
            "redis" => 6379,
            "mysql" => 3306,
            _ => 5432,
        };
        vec![
            string("db.system.name", system),
            string("db.namespace", "shop"),
            string("db.operation.name", operation),
            string("db.collection.name", table),
            string("db.query.text", &statement),
            string("server.address", &format!("{system}-primary.db.svc.cluster.local")),
            int("server.port", port),
            int("db.response.returned_rows", rng.random_range(0..500)),
        ]
    }

    fn internal_attributes(&mut self, service: &str, operation: &str) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let function = operation.replace('-', "_");
        vec![
            string("code.function.name", &format!("shop::{}::{function}", service.replace('-', "_"))),
            string("code.file.path", &format!("/app/src/{}/{function}.rs", service.replace('-', "_"))),
            int("code.line.number", rng.random_range(10..900)),
            string("thread.name", "tokio-runtime-worker"),
            int("thread.id", rng.random_range(1..64)),
            boolean("app.cache.hit", rng.random_bool(0.7)),
            int("app.items.count", rng.random_range(0..40)),
            double("app.discount.ratio", (rng.random_range(0..1000) as f64) / 1000.0),
        ]
    }

    /// Generic application attributes, appended (or cut) to reach `--attributes`.
    fn fill_attributes(&mut self, attributes: &mut Vec<KeyValue>) {
        let target = self.workload.attributes;
        let mut extra = 0;
        while attributes.len() < target {
            let rng = &mut self.rng;
            let attribute = match extra {
                0 => string("app.tenant.id", &format!("tenant-{:04}", rng.random_range(0..300))),
                1 => string("app.request.id", &hex(&rng.random::<[u8; 16]>())),
                2 => string("app.user.id", &format!("user-{}", rng.random_range(0..1_000_000))),
                3 => boolean("app.feature_flag.new_checkout", rng.random_bool(0.2)),
                4 => string("app.region", ["eu-west-1", "us-east-1", "ap-southeast-2"].choose(rng).expect("regions")),
                5 => string("app.build.sha", &hex(&rng.random::<[u8; 20]>())),
                6 => int("app.payload.bytes", rng.random_range(0..200_000)),
                7 => string("app.note", &words(rng, 2, 40)),
                n => string(&format!("app.attr.{n}"), &words(rng, 1, 3)),
            };
            attributes.push(attribute);
            extra += 1;
        }
        attributes.truncate(target);
    }

    fn event(&mut self, start: u64, end: u64) -> Event {
        let rng = &mut self.rng;
        let time = rng.random_range(start..=end);
        let (name, attributes) = match rng.random_range(0..3) {
            0 => ("cache.miss", vec![string("cache.key", &format!("user:{}:profile", rng.random_range(0..100_000)))]),
            1 => {
                ("retry", vec![int("retry.attempt", rng.random_range(1..4)), string("retry.reason", &words(rng, 2, 8))])
            }
            _ => ("message.received", vec![int("messaging.message.body.size", rng.random_range(10..64_000))]),
        };
        Event { time_unix_nano: time, name: name.into(), attributes, dropped_attributes_count: 0 }
    }

    fn stacktrace(&mut self, kind: &str, message: &str) -> String {
        let mut trace = format!("{kind}: {message}");
        for _ in 0..self.rng.random_range(3..25) {
            let class = ["OrderService", "CartRepository", "PaymentClient", "HttpHandler", "RetryPolicy"]
                .choose(&mut self.rng)
                .expect("classes");
            let method =
                ["handle", "execute", "call", "lambda$process$3", "apply"].choose(&mut self.rng).expect("methods");
            trace.push_str(&format!(
                "\n\tat com.example.shop.{class}.{method}({class}.java:{})",
                self.rng.random_range(20..800)
            ));
        }
        trace
    }
}

fn sql(rng: &mut SmallRng, operation: &str, table: &str) -> String {
    let amount = rng.random_range(2..COLUMNS.len());
    let columns: Vec<&str> = COLUMNS.choose_multiple(rng, amount).copied().collect();
    match operation {
        "INSERT" => format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            (1..=columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        ),
        "UPDATE" => format!("UPDATE {table} SET {} = $1, updated_at = now() WHERE id = $2", columns[0]),
        _ => {
            let mut text = format!("SELECT {} FROM {table} t WHERE t.{} = $1", columns.join(", t."), columns[0]);
            if rng.random_bool(0.5) {
                text.push_str(" AND t.created_at > $2 ORDER BY t.created_at DESC");
            }
            if rng.random_bool(0.3) {
                text.push_str(&format!(" LIMIT {}", rng.random_range(1..200)));
            }
            text
        }
    }
}

fn fill_route(rng: &mut SmallRng, route: &str) -> String {
    route
        .split('/')
        .map(
            |part| {
                if part.starts_with('{') {
                    rng.random_range(1..10_000_000u32).to_string()
                } else {
                    part.to_string()
                }
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn words(rng: &mut SmallRng, min: usize, max: usize) -> String {
    let count = rng.random_range(min..=max);
    (0..count).map(|_| *WORDS.choose(rng).expect("words")).collect::<Vec<_>>().join(" ")
}

fn id8(bytes: &[u8]) -> [u8; 8] {
    bytes.try_into().expect("span ids are 8 bytes")
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 0xf) as usize] as char);
    }
    text
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_string()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

fn boolean(key: &str, value: bool) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(value))
}

fn double(key: &str, value: f64) -> KeyValue {
    attribute(key, any_value::Value::DoubleValue(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LoadgenArgs,
    }

    fn args(extra: &[&str]) -> LoadgenArgs {
        let mut argv = vec!["loadgen"];
        argv.extend_from_slice(extra);
        Wrapper::parse_from(argv).args
    }

    fn spans_of(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
    }

    #[test]
    fn requests_hold_whole_realistic_traces() {
        let args = args(&["--total", "95", "--batch", "50", "--spans-per-trace", "10", "--attributes", "12"]);
        let plan = Plan::new(&args);
        assert_eq!(plan.requests, vec![50, 45], "whole traces per request, exact total");
        let mut generator = Generator::new(Arc::new(Workload::new(&args, 7)), 8);
        let (request, traces) = generator.request(45);
        let spans = spans_of(&request);
        assert_eq!(spans.len(), 45);
        assert_eq!(traces.len(), 5);
        assert_eq!(traces.iter().map(|t| t.1).collect::<Vec<_>>(), vec![10, 10, 10, 10, 5]);
        for span in &spans {
            assert_eq!(span.attributes.len(), 12);
            assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
            assert_eq!(span.trace_id.len(), 16);
            assert_eq!(span.span_id.len(), 8);
        }
        let roots: Vec<_> = spans.iter().filter(|s| s.parent_span_id.is_empty()).collect();
        assert_eq!(roots.len(), 5, "one root per trace");
        assert!(roots.iter().all(|s| s.kind == SpanKind::Server as i32));
        let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
        assert!(spans.iter().filter(|s| !s.parent_span_id.is_empty()).all(|s| ids.contains(&s.parent_span_id)));
        for resource in &request.resource_spans {
            let names: Vec<_> = resource.resource.as_ref().unwrap().attributes.iter().map(|a| a.key.as_str()).collect();
            assert!(names.contains(&"service.name") && names.contains(&"host.name"));
        }
    }

    #[test]
    fn bulk_body_pairs_actions_with_jaeger_documents() {
        let args = args(&["--es-prefix", "b1", "--spans-per-trace", "4"]);
        let mut generator = Generator::new(Arc::new(Workload::new(&args, 1)), 2);
        let (request, _) = generator.request(8);
        let body = String::from_utf8(bulk_body(request, &IndexNames::new("b1"))).unwrap();
        let lines: Vec<_> = body.lines().collect();
        assert_eq!(lines.len(), 16);
        assert!(lines[0].contains("\"_index\":\"b1-jaeger-span-"));
        assert!(lines[1].contains("\"traceID\""));
    }

    #[test]
    fn http_endpoints_get_the_traces_path() {
        assert_eq!(endpoint(&args(&["--protocol", "http-json"])), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(endpoint(&args(&["--protocol", "http-protobuf", "--endpoint", "http://h:1/x"])), "http://h:1/x");
        assert_eq!(endpoint(&args(&[])), "http://127.0.0.1:4317");
    }

    #[test]
    fn json_partial_success_is_read() {
        assert_eq!(json_rejected_spans(br#"{"partialSuccess":{"rejectedSpans":"3"}}"#), 3);
        assert_eq!(json_rejected_spans(b"{}"), 0);
    }
}
