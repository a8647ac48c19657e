//! The collector's side of the Jaeger agent UDP queue ([`skein_edge::udp`] binds the sockets and
//! fills it): each batch is published to Kafka like any other request.

use std::time::{Duration, Instant};

use skein_edge::udp::{drain, spans_dropped, UdpBatch, RETRY};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use tokio::sync::mpsc;

use crate::error::ExportError;
use crate::export::Exporter;
use crate::validate::Rejections;

/// The collector's side of the queue: publish each batch, `workers` at a time, retrying while
/// Kafka is unavailable or the collector is at its in-flight limit, for at most `give_up`.
pub async fn export_batches(queue: mpsc::Receiver<UdpBatch>, exporter: Exporter, workers: usize, give_up: Duration) {
    drain(queue, workers, move |item| {
        let exporter = exporter.clone();
        async move { export_one(&exporter, item, give_up).await }
    })
    .await
}

async fn export_one(exporter: &Exporter, item: UdpBatch, give_up: Duration) {
    let spans = item.batch.spans.len();
    let otlp = batch_to_otlp(item.batch, Origin::Thrift);
    let mut prepared = match exporter.prepare_otlp(item.transport, otlp, Rejections::default()) {
        Ok(prepared) => prepared,
        Err(error) => {
            tracing::warn!(transport = item.transport, %error, spans, "UDP batch dropped");
            spans_dropped("invalid", spans);
            return;
        }
    };
    let bytes = prepared.record_bytes();
    let deadline = Instant::now() + give_up;
    let mut attempt = 0;
    loop {
        let delay = RETRY.delay(attempt);
        let (result, published) = match exporter.reserve(item.transport, bytes) {
            Ok(reservation) => {
                // UDP has no headers: its spans are `tenancy.udp_tenant`'s.
                let tenant = exporter.tenancy().udp_tenant();
                (exporter.publish_prepared(item.transport, tenant, &prepared, &reservation).await.map(|_| ()), true)
            }
            Err(error) => (Err(error), false),
        };
        match result {
            Ok(()) => return,
            // Counted by reason and logged by the exporter, as on every port.
            Err(ExportError::InvalidRequest(_)) => {
                spans_dropped("invalid", spans);
                return;
            }
            Err(error) if error.retry_after().is_some() && Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                attempt += 1;
                if published {
                    prepared.refusals_counted();
                }
            }
            Err(error) => {
                tracing::warn!(transport = item.transport, %error, spans, "UDP batch dropped");
                spans_dropped("kafka_unavailable", prepared.span_count());
                return;
            }
        }
    }
}
