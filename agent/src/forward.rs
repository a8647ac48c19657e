//! Forwarding to collectors over Jaeger gRPC: spans with `CollectorService/PostSpans`, sampling
//! questions with `SamplingManager/GetSamplingStrategy`.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use skein_core::config::AgentConfig;
use skein_edge::sampling::StrategySource;
use skein_edge::udp::{self, spans_dropped, UdpBatch};
use skein_schemas::jaeger::api_v2::{
    Batch, PostSpansRequest, PostSpansResponse, SamplingStrategyParameters, SamplingStrategyResponse,
    GET_SAMPLING_STRATEGY_PATH, POST_SPANS_PATH,
};
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::Code;

use crate::AgentError;

/// A connection (lazily made, re-made when lost) to the collectors.
#[derive(Clone)]
pub struct Forwarder {
    channel: Channel,
    timeout: Duration,
    /// `agent.tenant`, as a header value, sent under both tenant headers: the configured one
    /// (`tenancy.header`) and Jaeger's `x-tenant`, which a collector accepts whatever its own
    /// `tenancy.header` is.
    tenant: Option<(String, tonic::metadata::MetadataValue<tonic::metadata::Ascii>)>,
}

impl Forwarder {
    pub fn new(config: &AgentConfig, tenant_header: &str) -> Result<Self, AgentError> {
        let timeout = Duration::from_millis(config.forward_timeout_ms);
        let endpoint = Endpoint::from_shared(config.collector_endpoint.clone())
            .map_err(|error| AgentError::Endpoint {
                endpoint: config.collector_endpoint.clone(),
                reason: error.to_string(),
            })?
            .connect_timeout(timeout)
            .timeout(timeout)
            .tcp_nodelay(true);
        let endpoint = if config.collector_endpoint.starts_with("https://") {
            endpoint.tls_config(tls_config(config)?).map_err(|error| AgentError::CollectorTls {
                endpoint: config.collector_endpoint.clone(),
                reason: skein_core::errors::with_causes(&error),
            })?
        } else {
            endpoint
        };
        // A validated tenant name is always a valid header value.
        let tenant = config
            .tenant
            .as_deref()
            .and_then(|name| name.parse().ok())
            .map(|value| (tenant_header.to_ascii_lowercase(), value));
        Ok(Self { channel: endpoint.connect_lazy(), timeout, tenant })
    }

    async fn unary<Req, Resp>(&self, path: &'static str, request: Req) -> Result<Resp, tonic::Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        // The causes say why a connection failed: refused, or a certificate the other side rejected.
        client.ready().await.map_err(|error| {
            tonic::Status::unavailable(format!("collector unreachable: {}", skein_core::errors::with_causes(&error)))
        })?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let mut request = tonic::Request::new(request);
        request.set_timeout(self.timeout);
        if let Some((header, value)) = &self.tenant {
            let metadata = request.metadata_mut();
            if let Ok(name) = tonic::metadata::MetadataKey::from_bytes(header.as_bytes()) {
                metadata.insert(name, value.clone());
            }
            metadata.insert(skein_core::config::tenancy::JAEGER_TENANT_HEADER, value.clone());
        }
        client
            .unary(request, PathAndQuery::from_static(path), codec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(with_transport_causes)
    }

    /// Forward queued batches, `workers` at a time; each is retried while collectors are
    /// unreachable or overloaded, for at most `give_up`, then dropped and counted.
    pub async fn forward_batches(self, queue: mpsc::Receiver<UdpBatch>, workers: usize, give_up: Duration) {
        udp::drain(queue, workers, move |item| {
            let this = self.clone();
            async move { this.forward_one(item, give_up).await }
        })
        .await
    }

    async fn forward_one(&self, item: UdpBatch, give_up: Duration) {
        let spans = item.batch.spans.len();
        let request = PostSpansRequest { batch: Some(Batch::from_model(&item.batch)) };
        let deadline = Instant::now() + give_up;
        let mut attempt = 0;
        loop {
            let delay = udp::RETRY.delay(attempt);
            match self.unary::<_, PostSpansResponse>(POST_SPANS_PATH, request.clone()).await {
                Ok(_) => {
                    metrics::counter!("skein_agent_spans_forwarded_total").increment(spans as u64);
                    return;
                }
                Err(status) if retryable(status.code()) && Instant::now() + delay < deadline => {
                    tracing::debug!(code = ?status.code(), message = status.message(), "collector refused a batch; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), spans, "batch dropped");
                    spans_dropped(if retryable(status.code()) { "collector_unavailable" } else { "refused" }, spans);
                    return;
                }
            }
        }
    }

    /// The sampling source the agent's HTTP endpoint asks.
    pub fn sampling_source(&self) -> CollectorSampling {
        CollectorSampling(self.clone())
    }
}

/// The status with the causes of its transport error in its message: over TLS 1.3 a collector
/// refuses a client certificate after the handshake, and only the cause names its alert.
fn with_transport_causes(status: tonic::Status) -> tonic::Status {
    match std::error::Error::source(&status) {
        Some(source) => {
            let message = format!("{}: {}", status.message(), skein_core::errors::with_causes(source));
            tonic::Status::new(status.code(), message)
        }
        None => status,
    }
}

/// rustls settings for an `https://` endpoint: the CA (or the Mozilla roots), the client
/// certificate, the name to check.
fn tls_config(config: &AgentConfig) -> Result<ClientTlsConfig, AgentError> {
    let tls = &config.collector_tls;
    let read = |option: &'static str, path: &String| {
        std::fs::read(path).map_err(|source| AgentError::TlsFile { option, path: path.clone(), source })
    };
    // gRPC is HTTP/2 whatever ALPN says: TLS terminators that do not negotiate it (stunnel, some
    // load balancers) still work.
    let mut settings = ClientTlsConfig::new().assume_http2(true);
    settings = match &tls.ca_file {
        Some(path) => settings.ca_certificate(Certificate::from_pem(read("ca_file", path)?)),
        None => settings.with_webpki_roots(),
    };
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        settings = settings.identity(Identity::from_pem(read("cert_file", cert)?, read("key_file", key)?));
    }
    if let Some(name) = &tls.server_name {
        settings = settings.domain_name(name.clone());
    }
    Ok(settings)
}

fn retryable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded | Code::Aborted)
}

/// Sampling strategies asked from the collectors.
#[derive(Clone)]
pub struct CollectorSampling(Forwarder);

impl StrategySource for CollectorSampling {
    fn strategy(&self, service: String) -> BoxFuture<'static, Result<SamplingStrategyResponse, String>> {
        let forwarder = self.0.clone();
        Box::pin(async move {
            forwarder
                .unary::<_, SamplingStrategyResponse>(
                    GET_SAMPLING_STRATEGY_PATH,
                    SamplingStrategyParameters { service_name: service },
                )
                .await
                .map_err(|status| format!("{:?}: {}", status.code(), status.message()))
        })
    }
}
