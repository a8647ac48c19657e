//! The collector role: OTLP, Jaeger and Zipkin receivers → validation → one Kafka record per trace,
//! answering each client only after Kafka acknowledged every record of its request; and remote
//! sampling strategies for SDKs and agents.
//!
//! Path of a span: a receiver decodes ([`receivers::otlp`] as is; [`receivers::jaeger`] and
//! [`receivers::zipkin`] convert to OTLP through `skein_schemas`) → [`export::Exporter`] validates
//! ([`validate`]) and groups by trace ([`skein_schemas::kafka_record`]) → [`publisher::KafkaPublisher`]
//! sends to the spans topic. The UDP sockets and the sampling answers are [`skein_edge`]'s, shared
//! with the agent.

pub mod error;
pub mod export;
pub mod publisher;
pub mod rate_limit;
pub mod receivers;
pub mod refusal_log;
pub mod telemetry;
pub mod validate;

use std::net::SocketAddr;
use std::time::Duration;

use skein_core::auth::{AuthLayer, Authenticator};
use skein_core::net::ListenerGroup;
use skein_core::retry::Backoff;
use skein_core::role::{Preparation, RoleStart, RunningRole};
use skein_core::SkeinConfig;
use skein_edge::sampling::{self, StrategyStore};
use skein_edge::udp::UdpSockets;
use skein_schemas::encoding::RecordEncoding;
use skein_schemas::thrift::Protocol;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use error::CollectorError;
use export::Exporter;
use publisher::KafkaPublisher;
use receivers::jaeger::{grpc as jaeger_grpc, thrift_http, udp};
use receivers::otlp::{grpc as otlp_grpc, http};
use receivers::zipkin;

/// Addresses the collector is listening on (useful when ports were 0); `None` when turned off.
#[derive(Debug, Clone, Copy)]
pub struct CollectorAddresses {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub jaeger_grpc: Option<SocketAddr>,
    pub jaeger_thrift_http: Option<SocketAddr>,
    pub jaeger_compact_udp: Option<SocketAddr>,
    pub jaeger_binary_udp: Option<SocketAddr>,
    pub zipkin: Option<SocketAddr>,
    pub sampling_http: Option<SocketAddr>,
}

/// How often topic creation is retried while Kafka is unreachable.
const TOPICS_RETRY: Backoff = Backoff { initial: Duration::from_secs(2), max: Duration::from_secs(2) };

/// Start the collector: bind its ports, serve until `shutdown`, and create the topics meanwhile
/// (`/readyz` waits for them). Its join waits until the servers drained and the producer flushed.
pub async fn start(
    config: &SkeinConfig,
    shutdown: CancellationToken,
) -> Result<RunningRole<CollectorAddresses>, CollectorError> {
    let collector = &config.collector;
    if config.kafka.encoding != RecordEncoding::Skein {
        return Err(CollectorError::ForeignEncoding(config.kafka.encoding.as_str()));
    }
    if config.tenancy.enabled && config.tenancy.udp_tenant.is_none() {
        let udp = [
            (collector.jaeger_compact_udp_listen, "collector.jaeger_compact_udp_listen"),
            (collector.jaeger_binary_udp_listen, "collector.jaeger_binary_udp_listen"),
        ];
        if let Some((_, option)) = udp.iter().find(|(listen, _)| listen.0.is_some()) {
            return Err(CollectorError::UdpWithoutTenant { option });
        }
    }
    telemetry::describe();
    let admin = ListenerGroup::new("admin", &config.listeners.admin, &shutdown)?;
    // Every receiver's TLS and limits, and its authentication.
    let receivers = ListenerGroup::new("receivers", &config.listeners.receivers, &shutdown)?;
    let admin_auth = Authenticator::watching("admin", &config.listeners.admin.auth, &shutdown)?;
    let auth = AuthLayer::new(Authenticator::watching("receivers", &config.listeners.receivers.auth, &shutdown)?);
    let role = RoleStart::serve_admin_with_auth(
        "collector",
        collector.admin_listen,
        admin,
        &["kafka_topics"],
        admin_auth,
        &shutdown,
    )
    .await
    .map_err(|source| CollectorError::Bind {
        what: "admin endpoints",
        addr: collector.admin_listen,
        option: "collector.admin_listen",
        source,
    })?;

    let publisher = KafkaPublisher::new(&config.kafka, collector)?;
    let time_limits =
        validate::SpanTimeLimits { max_age_ms: collector.max_span_age_ms, max_future_ms: collector.max_span_future_ms };
    let exporter = Exporter::new(publisher.clone(), collector.max_record_bytes, time_limits)
        .with_tenancy(&config.tenancy)
        .with_limits(collector.limits.span_limits(), collector.limits.max_spans_per_request);
    let strategies = StrategyStore::load(collector.sampling_strategies_file.as_deref())?;
    let max_request = collector.max_request_bytes;

    let grpc_listener = bind(collector.otlp_grpc_listen, "OTLP/gRPC", "collector.otlp_grpc_listen").await?;
    let http_listener = bind(collector.otlp_http_listen, "OTLP/HTTP", "collector.otlp_http_listen").await?;
    let jaeger_grpc_listener =
        bind_optional(collector.jaeger_grpc_listen, "Jaeger gRPC", "collector.jaeger_grpc_listen").await?;
    let thrift_listener =
        bind_optional(collector.jaeger_thrift_http_listen, "Jaeger Thrift HTTP", "collector.jaeger_thrift_http_listen")
            .await?;
    let zipkin_listener = bind_optional(collector.zipkin_listen, "Zipkin", "collector.zipkin_listen").await?;
    let sampling_listener =
        bind_optional(collector.sampling_http_listen, "sampling HTTP", "collector.sampling_http_listen").await?;
    let udp_sockets = UdpSockets::bind(
        collector.jaeger_compact_udp_listen,
        collector.jaeger_binary_udp_listen,
        collector.udp.socket_buffer_bytes,
    )
    .map_err(|(protocol, addr, source)| CollectorError::Bind {
        what: "Jaeger agent UDP",
        addr,
        option: match protocol {
            Protocol::Compact => "collector.jaeger_compact_udp_listen",
            Protocol::Binary => "collector.jaeger_binary_udp_listen",
        },
        source,
    })?;
    let local = |l: &Option<tokio::net::TcpListener>| l.as_ref().map(|l| l.local_addr().expect("bound"));
    let addresses = CollectorAddresses {
        otlp_grpc: grpc_listener.local_addr().expect("bound listener has an address"),
        otlp_http: http_listener.local_addr().expect("bound listener has an address"),
        jaeger_grpc: local(&jaeger_grpc_listener),
        jaeger_thrift_http: local(&thrift_listener),
        jaeger_compact_udp: udp_sockets.local_addr(Protocol::Compact),
        jaeger_binary_udp: udp_sockets.local_addr(Protocol::Binary),
        zipkin: local(&zipkin_listener),
        sampling_http: local(&sampling_listener),
    };

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(publisher.clone().watch_health(shutdown.clone()));
    if let (Some(path), interval) = (&collector.sampling_strategies_file, collector.sampling_reload_interval_ms) {
        if interval > 0 {
            tasks.spawn(strategies.clone().watch(path.clone(), Duration::from_millis(interval), shutdown.clone()));
        }
    }

    // gRPC services are axum routes underneath: the same layer checks their credentials.
    let authenticated = |routes: Routes| Routes::from(routes.into_axum_router().layer(auth.clone()));
    let grpc_routes = authenticated(Routes::new(otlp_grpc::trace_service(exporter.clone(), max_request)));
    tasks.spawn(receivers.clone().serve_grpc(grpc_routes, grpc_listener, "OTLP/gRPC", shutdown.clone()));
    if let Some(listener) = jaeger_grpc_listener {
        let routes = Routes::new(jaeger_grpc::collector_service(exporter.clone(), max_request))
            .add_service(sampling::grpc::service(strategies.clone()));
        tasks.spawn(receivers.clone().serve_grpc(authenticated(routes), listener, "Jaeger gRPC", shutdown.clone()));
    }

    let router = http::router(exporter.clone(), max_request).layer(auth.clone());
    tasks.spawn(receivers.clone().serve_http(router, http_listener, "OTLP/HTTP", shutdown.clone()));
    if let Some(listener) = thrift_listener {
        let router =
            thrift_http::router(exporter.clone(), max_request).merge(sampling::http::api_route(strategies.clone()));
        let router = router.layer(auth.clone());
        tasks.spawn(receivers.clone().serve_http(router, listener, "Jaeger Thrift HTTP", shutdown.clone()));
    }
    if let Some(listener) = zipkin_listener {
        let router = zipkin::router(exporter.clone(), max_request).layer(auth.clone());
        tasks.spawn(receivers.clone().serve_http(router, listener, "Zipkin", shutdown.clone()));
    }
    if let Some(listener) = sampling_listener {
        let router = sampling::http::router(strategies.clone()).layer(auth.clone());
        tasks.spawn(receivers.clone().serve_http(router, listener, "sampling HTTP", shutdown.clone()));
    }
    if !udp_sockets.is_empty() {
        let (queue, batches) = tokio::sync::mpsc::channel(collector.udp.queue_batches);
        udp_sockets.spawn_into(&mut tasks, collector.udp.max_packet_bytes, &queue, &shutdown);
        drop(queue);
        let give_up = Duration::from_millis(collector.produce_timeout_ms.max(1_000) * 3);
        tasks.spawn(udp::export_batches(batches, exporter.clone(), collector.udp.workers, give_up));
    }

    tracing::info!(?addresses, admin = %collector.admin_listen, "collector listening");
    let topics = Preparation::retrying(TOPICS_RETRY).create_topics(&config.kafka).then_ready("kafka_topics");
    let work = async move {
        while tasks.join_next().await.is_some() {}
        // Servers have drained their requests; give librdkafka a moment for anything queued.
        publisher.flush(Duration::from_secs(5));
        tracing::info!("collector stopped");
    };
    Ok(role.spawn_alongside(topics, work).listening_on(addresses))
}

/// Listen on `addr`; a failure names the receiver and the option that sets its address.
async fn bind(
    addr: std::net::SocketAddr,
    what: &'static str,
    option: &'static str,
) -> Result<tokio::net::TcpListener, CollectorError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| CollectorError::Bind { what, addr, option, source })
}

async fn bind_optional(
    listen: skein_core::config::Listen,
    what: &'static str,
    option: &'static str,
) -> Result<Option<tokio::net::TcpListener>, CollectorError> {
    match listen.0 {
        Some(addr) => bind(addr, what, option).await.map(Some),
        None => Ok(None),
    }
}
