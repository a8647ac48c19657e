//! The collector role: OTLP receivers → validation → one Kafka record per trace, answering each
//! client only after Kafka acknowledged every record of its request.
//!
//! Path of a span: [`receivers::otlp`] decodes → [`export::Exporter`] validates
//! ([`validate`]) and groups by trace ([`skein_schemas::kafka_record`]) → [`publisher::KafkaPublisher`]
//! sends to the spans topic.

pub mod error;
pub mod export;
pub mod publisher;
pub mod receivers;
pub mod telemetry;
pub mod validate;

use std::net::SocketAddr;
use std::time::Duration;

use skein_core::telemetry::{serve_admin, Readiness};
use skein_core::SkeinConfig;
use tokio_util::sync::CancellationToken;

pub use error::CollectorError;
use export::Exporter;
use publisher::KafkaPublisher;
use receivers::otlp::{grpc::OtlpGrpcReceiver, http};

/// Addresses the collector is listening on (useful when ports were 0).
#[derive(Debug, Clone, Copy)]
pub struct CollectorAddresses {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
}

/// A started collector.
pub struct RunningCollector {
    pub addresses: CollectorAddresses,
    pub readiness: Readiness,
    task: tokio::task::JoinHandle<()>,
}

impl RunningCollector {
    /// Wait until the collector has stopped (after the shutdown token was cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// Start the collector: bind its ports, create topics, serve until `shutdown`.
pub async fn start(config: &SkeinConfig, shutdown: CancellationToken) -> Result<RunningCollector, CollectorError> {
    let collector = &config.collector;
    let readiness = Readiness::default();
    readiness.register("kafka_topics");
    serve_admin(collector.admin_listen, readiness.clone(), shutdown.clone()).await.map_err(|source| {
        CollectorError::Bind {
            what: "admin endpoints",
            addr: collector.admin_listen,
            option: "collector.admin_listen",
            source,
        }
    })?;

    let publisher = KafkaPublisher::new(&config.kafka, collector)?;
    let exporter = Exporter::new(publisher.clone(), collector.max_record_bytes);

    let grpc_listener = bind(collector.otlp_grpc_listen, "OTLP/gRPC", "collector.otlp_grpc_listen").await?;
    let http_listener = bind(collector.otlp_http_listen, "OTLP/HTTP", "collector.otlp_http_listen").await?;
    let addresses = CollectorAddresses {
        otlp_grpc: grpc_listener.local_addr().expect("bound listener has an address"),
        otlp_http: http_listener.local_addr().expect("bound listener has an address"),
    };

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(publisher.clone().watch_health(shutdown.clone()));
    tasks.spawn(ensure_topics_until_done(config.clone(), readiness.clone(), shutdown.clone()));

    let grpc_service = OtlpGrpcReceiver::service(exporter.clone(), collector.max_request_bytes);
    let grpc_shutdown = shutdown.clone();
    tasks.spawn(async move {
        let incoming = tokio_stream_from(grpc_listener);
        let served = tonic::transport::Server::builder()
            .add_service(grpc_service)
            .serve_with_incoming_shutdown(incoming, grpc_shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "OTLP/gRPC server stopped");
        }
    });

    let http_router = http::router(exporter, collector.max_request_bytes);
    let http_shutdown = shutdown.clone();
    tasks.spawn(async move {
        let served =
            axum::serve(http_listener, http_router).with_graceful_shutdown(http_shutdown.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::error!(%error, "OTLP/HTTP server stopped");
        }
    });

    tracing::info!(otlp_grpc = %addresses.otlp_grpc, otlp_http = %addresses.otlp_http, admin = %collector.admin_listen, "collector listening");
    let task = tokio::spawn(async move {
        while tasks.join_next().await.is_some() {}
        // Servers have drained their requests; give librdkafka a moment for anything queued.
        publisher.flush(Duration::from_secs(5));
        tracing::info!("collector stopped");
    });
    Ok(RunningCollector { addresses, readiness, task })
}

/// Listen on `addr`; a failure names the receiver and the option that sets its address.
async fn bind(
    addr: std::net::SocketAddr,
    what: &'static str,
    option: &'static str,
) -> Result<tokio::net::TcpListener, CollectorError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| CollectorError::Bind { what, addr, option, source })
}

/// Accepted TCP connections as the stream tonic serves.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((accepted, listener))
    })
}

/// Create the topics, retrying while Kafka is unreachable; the collector is ready once done.
async fn ensure_topics_until_done(config: SkeinConfig, readiness: Readiness, shutdown: CancellationToken) {
    if !config.kafka.create_topics {
        readiness.set("kafka_topics", true);
        return;
    }
    loop {
        match skein_core::kafka::ensure_topics(&config.kafka).await {
            Ok(()) => {
                readiness.set("kafka_topics", true);
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot create topics yet; retrying in 2s"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
