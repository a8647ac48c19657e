//! Jaeger agent UDP (`emitBatch`, compact or binary Thrift): one datagram per service of each
//! request, split until each fits in 65000 bytes. Nothing answers, so a sent request is acked.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use skein_schemas::jaeger::model::Batch;
use skein_schemas::jaeger::model_from_otlp::batches_from_otlp;
use skein_schemas::jaeger::thrift::encode_agent_message;
use skein_schemas::thrift::Protocol as ThriftProtocol;
use tokio::net::UdpSocket;

use super::{Outcome, Payload};
use crate::error::LoadgenError;

/// The largest datagram sent: the default of the collector's `collector.udp.max_packet_bytes`.
const MAX_DATAGRAM_BYTES: usize = 65_000;

pub(super) fn encode(request: &ExportTraceServiceRequest, protocol: ThriftProtocol) -> (Payload, usize) {
    let datagrams = datagrams(batches_from_otlp(request), protocol, MAX_DATAGRAM_BYTES);
    let bytes = datagrams.iter().map(Vec::len).sum();
    (Payload::Datagrams(datagrams), bytes)
}

/// Agent datagrams no larger than `max_bytes`: each batch halved until it fits (a single span
/// too large for one is sent anyway, for the receiver to count).
fn datagrams(batches: Vec<Batch>, protocol: ThriftProtocol, max_bytes: usize) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    let mut pending = batches;
    while let Some(batch) = pending.pop() {
        let bytes = encode_agent_message(&batch, protocol);
        if bytes.len() <= max_bytes || batch.spans.len() <= 1 {
            datagrams.push(bytes);
            continue;
        }
        let mut first = batch;
        let second = Batch { process: first.process.clone(), spans: first.spans.split_off(first.spans.len() / 2) };
        pending.push(first);
        pending.push(second);
    }
    datagrams
}

#[derive(Clone)]
pub(crate) struct UdpSender {
    socket: Arc<UdpSocket>,
}

impl UdpSender {
    /// A socket connected to `udp://host:port` (or `host:port`).
    pub(super) async fn connect(endpoint: &str) -> Result<Self, LoadgenError> {
        let target = endpoint.trim_start_matches("udp://");
        let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(LoadgenError::UdpSocket)?;
        socket
            .connect(target)
            .await
            .map_err(|source| LoadgenError::UdpTarget { endpoint: endpoint.to_string(), source })?;
        Ok(Self { socket: Arc::new(socket) })
    }

    pub(super) async fn send(&self, datagrams: Vec<Vec<u8>>) -> Outcome {
        for datagram in datagrams {
            if let Err(error) = self.socket.send(&datagram).await {
                return Outcome::Other(format!("UDP send failed: {error}"));
            }
        }
        Outcome::Acked { rejected: 0 }
    }
}

#[cfg(test)]
mod tests {
    use skein_schemas::jaeger::model::{Process, Span, Tag};
    use skein_schemas::jaeger::thrift::{decode_agent_message, AgentMessage};

    use super::*;

    fn batch(spans: usize) -> Batch {
        let span = |i: usize| Span {
            trace_id: [1; 16],
            span_id: (i as u64 + 1).to_be_bytes(),
            parent_span_id: [0; 8],
            operation_name: format!("operation-{i}"),
            references: Vec::new(),
            flags: 1,
            start_time_unix_nano: 1_000,
            duration_nanos: 10,
            tags: vec![Tag::string("padding", "x".repeat(200))],
            logs: Vec::new(),
            process: None,
        };
        Batch {
            process: Process { service_name: "cart".into(), tags: Vec::new() },
            spans: (0..spans).map(span).collect(),
        }
    }

    fn decoded(datagram: &[u8]) -> Batch {
        match decode_agent_message(datagram, ThriftProtocol::Compact).unwrap() {
            AgentMessage::Batch(batch) => batch,
            AgentMessage::ZipkinBatch => panic!("an emitBatch call was sent"),
        }
    }

    #[test]
    fn batches_are_split_until_every_datagram_fits_and_no_span_is_lost() {
        let datagrams = datagrams(vec![batch(40)], ThriftProtocol::Compact, 2_000);
        assert!(datagrams.len() > 1);
        assert!(datagrams.iter().all(|d| d.len() <= 2_000));
        let mut names: Vec<String> =
            datagrams.iter().flat_map(|d| decoded(d).spans).map(|span| span.operation_name).collect();
        names.sort();
        let mut expected: Vec<String> = (0..40).map(|i| format!("operation-{i}")).collect();
        expected.sort();
        assert_eq!(names, expected);
        assert!(datagrams.iter().all(|d| decoded(d).process.service_name == "cart"));
    }

    #[test]
    fn a_batch_that_fits_is_one_datagram_and_a_lone_oversized_span_is_sent_as_is() {
        assert_eq!(datagrams(vec![batch(3)], ThriftProtocol::Compact, 65_000).len(), 1);
        let lone = datagrams(vec![batch(1)], ThriftProtocol::Compact, 10);
        assert_eq!(lone.len(), 1);
        assert!(lone[0].len() > 10);
    }
}
