//! Jaeger agent UDP: one `Agent.emitBatch` Thrift message per datagram, compact protocol on 6831
//! and binary on 6832. UDP cannot push back, so decoded batches go into a bounded queue; when it is
//! full the datagram is dropped and counted (`skein_udp_datagrams_total{outcome="queue_full"}`).
//! The same sockets and queue feed the collector (→ Kafka) and the agent (→ collectors over gRPC);
//! each drains the queue with [`drain`] and its own handler.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skein_core::config::Listen;
use skein_core::retry::Backoff;
use skein_schemas::jaeger::model::Batch;
use skein_schemas::jaeger::thrift::{decode_agent_message, AgentMessage};
use skein_schemas::thrift::Protocol;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// A decoded datagram waiting to be sent on.
#[derive(Debug)]
pub struct UdpBatch {
    pub transport: &'static str,
    pub batch: Batch,
}

/// The metrics label of a protocol's datagrams.
pub fn transport(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Compact => "jaeger_udp_compact",
        Protocol::Binary => "jaeger_udp_binary",
    }
}

fn datagram(transport: &'static str, outcome: &'static str) {
    metrics::counter!("skein_udp_datagrams_total", "transport" => transport, "outcome" => outcome).increment(1);
}

/// Spans that arrived over UDP but were not sent on.
pub fn spans_dropped(reason: &'static str, count: usize) {
    metrics::counter!("skein_udp_spans_dropped_total", "reason" => reason).increment(count as u64);
}

/// Bind a UDP socket with a larger receive buffer (bursts of datagrams otherwise overflow the
/// kernel's default buffer, which drops them without any count of ours).
pub fn bind(addr: SocketAddr, receive_buffer_bytes: usize) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    if let Err(error) = socket.set_recv_buffer_size(receive_buffer_bytes) {
        tracing::warn!(%addr, %error, "cannot set the UDP receive buffer size; using the system default");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The agent ports' sockets: bound for each protocol whose address is set (`off` skips it).
pub struct UdpSockets(Vec<(Protocol, UdpSocket)>);

impl UdpSockets {
    /// Bind `compact` and `binary`; a failure names the protocol and address.
    pub fn bind(
        compact: Listen,
        binary: Listen,
        receive_buffer_bytes: usize,
    ) -> Result<Self, (Protocol, SocketAddr, std::io::Error)> {
        let mut sockets = Vec::new();
        for (listen, protocol) in [(compact, Protocol::Compact), (binary, Protocol::Binary)] {
            if let Some(addr) = listen.0 {
                let socket = bind(addr, receive_buffer_bytes).map_err(|error| (protocol, addr, error))?;
                sockets.push((protocol, socket));
            }
        }
        Ok(Self(sockets))
    }

    /// Where the socket of `protocol` listens, when bound.
    pub fn local_addr(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.0.iter().find(|(p, _)| *p == protocol).map(|(_, s)| s.local_addr().expect("bound socket has an address"))
    }

    /// True when both protocols are turned off.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Serve every socket into `queue` until `shutdown`.
    pub fn spawn_into(
        self,
        tasks: &mut tokio::task::JoinSet<()>,
        max_packet_bytes: usize,
        queue: &mpsc::Sender<UdpBatch>,
        shutdown: &CancellationToken,
    ) {
        for (protocol, socket) in self.0 {
            tasks.spawn(serve(socket, protocol, max_packet_bytes, queue.clone(), shutdown.clone()));
        }
    }
}

/// Read datagrams until `shutdown`, decoding each and queueing its batch.
pub async fn serve(
    socket: UdpSocket,
    protocol: Protocol,
    max_packet_bytes: usize,
    queue: mpsc::Sender<UdpBatch>,
    shutdown: CancellationToken,
) {
    let transport = transport(protocol);
    // Larger than any UDP payload, so the kernel never truncates silently.
    let mut buffer = vec![0u8; 65_536];
    let mut last_warning: Option<Instant> = None;
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (length, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                tracing::warn!(transport, %error, "UDP receive failed");
                continue;
            }
        };
        if length > max_packet_bytes {
            datagram(transport, "too_large");
            warn_now_and_then(
                &mut last_warning,
                || tracing::warn!(transport, %peer, length, max_packet_bytes, "datagram above the UDP size limit dropped (udp.max_packet_bytes)"),
            );
            continue;
        }
        match decode_agent_message(&buffer[..length], protocol) {
            Ok(AgentMessage::Batch(batch)) => {
                let spans = batch.spans.len();
                match queue.try_send(UdpBatch { transport, batch }) {
                    Ok(()) => datagram(transport, "ok"),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        datagram(transport, "queue_full");
                        spans_dropped("queue_full", spans);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            Ok(AgentMessage::ZipkinBatch) => {
                datagram(transport, "unsupported");
                warn_now_and_then(
                    &mut last_warning,
                    || tracing::warn!(transport, %peer, "emitZipkinBatch is not supported; send Jaeger emitBatch or Zipkin v2 over HTTP"),
                );
            }
            Err(error) => {
                datagram(transport, "malformed");
                warn_now_and_then(
                    &mut last_warning,
                    || tracing::warn!(transport, %peer, length, %error, "malformed datagram dropped (is the client using the other port's Thrift protocol?)"),
                );
            }
        }
    }
}

/// Log at most one warning per 10 s per socket: a misconfigured client sends thousands.
fn warn_now_and_then(last: &mut Option<Instant>, log: impl FnOnce()) {
    if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
        *last = Some(Instant::now());
        log();
    }
}

/// How a batch that cannot be sent yet is retried (collector and agent alike).
pub const RETRY: Backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(2) };

/// Take batches off `queue`, `workers` at a time, each handled by `handle`; returns once the
/// queue is closed (the receivers stopped) and every batch taken was handled.
pub async fn drain<F, Fut>(mut queue: mpsc::Receiver<UdpBatch>, workers: usize, handle: F)
where
    F: Fn(UdpBatch) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(workers));
    while let Some(item) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let handled = handle(item);
        tokio::spawn(async move {
            handled.await;
            drop(slot);
        });
    }
    let _ = slots.acquire_many(workers as u32).await;
}
