//! Serving routers on TCP listeners, plain or TLS, as every HTTP and gRPC listener of skein does:
//! a [`ListenerGroup`] (`listeners.receivers`, `.query`, `.admin`) carries the group's TLS and
//! limits, and [`ListenerGroup::serve_http`] / [`ListenerGroup::serve_grpc`] serve an axum router
//! or tonic routes with them until shutdown.
//!
//! Per listener: at most `max_connections` open connections — one more is accepted and closed at
//! once and counted, rather than left unaccepted: left in the kernel's backlog it would hang the
//! client, and fill the backlog so that a good client waits behind the flood, while a closed
//! connection tells the client at once to retry later. The TLS handshake and HTTP/1 request
//! headers must arrive within `header_read_timeout_ms`; a connection that moves no byte for
//! `idle_timeout_ms` is closed; HTTP/2 takes `grpc_max_concurrent_streams` streams per
//! connection. On shutdown a listener stops accepting, asks its connections to close (HTTP/2
//! `GOAWAY`, HTTP/1 after the response in progress) and returns once they have.

mod activity;
mod connection;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ListenerGroupConfig;
use crate::tls::{ServerTls, TlsError};

/// Gauge: open connections of a listener.
pub const CONNECTIONS: &str = "skein_listener_connections";
/// Counter: connections accepted by a listener (refused ones included).
pub const CONNECTIONS_ACCEPTED: &str = "skein_listener_connections_accepted_total";
/// Counter: connections closed at once because the listener had `max_connections` open.
pub const CONNECTIONS_REFUSED: &str = "skein_listener_connections_refused_total";
/// Counter: connections closed after `idle_timeout_ms` without a byte.
pub const CONNECTIONS_IDLE_CLOSED: &str = "skein_listener_idle_connections_closed_total";
/// Counter: TLS handshakes that failed or timed out (wrong CA, no client certificate, plain HTTP
/// on a TLS port, too slow), by listener.
pub const TLS_HANDSHAKE_FAILURES: &str = "skein_tls_handshake_failures_total";

/// Describe the listener metrics (their `# HELP` lines).
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS, "open connections of a listener");
    metrics::describe_counter!(CONNECTIONS_ACCEPTED, "connections a listener accepted, refused ones included");
    metrics::describe_counter!(
        CONNECTIONS_REFUSED,
        "connections closed at once because the listener had listeners.<group>.max_connections open"
    );
    metrics::describe_counter!(
        CONNECTIONS_IDLE_CLOSED,
        "connections closed after listeners.<group>.idle_timeout_ms without a byte"
    );
    metrics::describe_counter!(
        TLS_HANDSHAKE_FAILURES,
        "TLS handshakes that failed or took longer than header_read_timeout_ms"
    );
    metrics::describe_counter!(
        crate::tls::certificate::RELOADS,
        "server certificates replaced after their files changed, by listener group"
    );
    metrics::describe_counter!(
        crate::tls::certificate::RELOAD_ERRORS,
        "changed certificate or key files that could not be used; the previous certificate is still served"
    );
}

/// A group of listeners sharing TLS and limits: `receivers`, `query` or `admin`.
#[derive(Clone)]
pub struct ListenerGroup {
    inner: Arc<Group>,
}

struct Group {
    name: &'static str,
    config: ListenerGroupConfig,
    tls: Option<ServerTls>,
    http: auto::Builder<TokioExecutor>,
}

impl ListenerGroup {
    /// The group `name` (`receivers`, `query`, `admin`) with its options: TLS is loaded now (an
    /// error names the option and the file) and its files are checked for changes until `shutdown`.
    pub fn new(
        name: &'static str,
        config: &ListenerGroupConfig,
        shutdown: &CancellationToken,
    ) -> Result<Self, TlsError> {
        describe();
        let tls = ServerTls::from_config(name, &config.tls)?;
        if let Some(tls) = &tls {
            tls.watch(&config.tls, shutdown);
        }
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1().timer(TokioTimer::new()).header_read_timeout(millis(config.header_read_timeout_ms));
        http.http2().timer(TokioTimer::new()).max_concurrent_streams(config.grpc_max_concurrent_streams);
        Ok(Self { inner: Arc::new(Group { name, config: config.clone(), tls, http }) })
    }

    /// A group with the default options and no TLS (tests, tools).
    pub fn plain(name: &'static str) -> Self {
        Self::new(name, &ListenerGroupConfig::default(), &CancellationToken::new()).expect("no TLS, nothing to load")
    }

    /// The group's name.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// True when the group's listeners speak TLS.
    pub fn is_tls(&self) -> bool {
        self.inner.tls.is_some()
    }

    /// The group's TLS, when on.
    pub fn tls(&self) -> Option<&ServerTls> {
        self.inner.tls.as_ref()
    }

    /// Serve `router` on `listener` until `shutdown`; `what` names the listener in logs and metrics.
    pub async fn serve_http(
        self,
        router: axum::Router,
        listener: TcpListener,
        what: &'static str,
        shutdown: CancellationToken,
    ) {
        self.serve(router, listener, what, shutdown).await
    }

    /// Serve tonic `routes` on `listener` until `shutdown`, as [`ListenerGroup::serve_http`].
    pub async fn serve_grpc(
        self,
        routes: tonic::service::Routes,
        listener: TcpListener,
        what: &'static str,
        shutdown: CancellationToken,
    ) {
        self.serve(routes.prepare().into_axum_router(), listener, what, shutdown).await
    }

    /// Every listener of the group comes through here: the one place a layer for the whole group
    /// goes.
    async fn serve(self, router: axum::Router, listener: TcpListener, what: &'static str, shutdown: CancellationToken) {
        let group = self.inner;
        let open = Arc::new(AtomicUsize::new(0));
        let connections = TaskTracker::new();
        let limit = group.config.max_connections;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!(%error, listener = what, "cannot accept a connection; retrying in 1 s");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            metrics::counter!(CONNECTIONS_ACCEPTED, "listener" => what).increment(1);
            if limit > 0 && open.load(Ordering::Relaxed) >= limit {
                metrics::counter!(CONNECTIONS_REFUSED, "listener" => what).increment(1);
                tracing::debug!(%peer, listener = what, limit, "connection limit reached; closing the new connection");
                drop(stream);
                continue;
            }
            let guard = connection::Open::new(open.clone(), what);
            let (group, router, shutdown) = (group.clone(), router.clone(), shutdown.clone());
            connections.spawn(async move {
                connection::serve(&group, stream, router, what, shutdown).await;
                drop(guard);
            });
        }
        drop(listener);
        connections.close();
        connections.wait().await;
    }
}

/// `Some(ms)`, or `None` for `0` (no limit).
fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn start(config: ListenerGroupConfig) -> (std::net::SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let group = ListenerGroup::new("test", &config, &shutdown).unwrap();
        let router = axum::Router::new().route("/", get(|| async { "hello" }));
        tokio::spawn(group.serve_http(router, listener, "limit test", shutdown.clone()));
        (addr, shutdown)
    }

    /// Bytes until the server closes the connection (bounded, so a server that never closes fails).
    async fn read_until_closed(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .unwrap_or_default();
        String::from_utf8_lossy(&answer).into_owned()
    }

    async fn get_root(addr: std::net::SocketAddr) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
        read_until_closed(&mut stream).await
    }

    #[tokio::test]
    async fn a_connection_over_the_limit_is_closed_at_once_and_a_freed_slot_serves_again() {
        let (addr, shutdown) = start(ListenerGroupConfig { max_connections: 2, ..Default::default() }).await;
        let mut held = Vec::new();
        for _ in 0..2 {
            held.push(TcpStream::connect(addr).await.unwrap());
        }
        // The two held connections have been accepted once a request on one of them is answered.
        held[0].write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut buffer = [0u8; 256];
        let read = held[0].read(&mut buffer).await.unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
        assert_eq!(get_root(addr).await, "", "the third connection is closed without an answer");

        drop(held.pop());
        // The server notices the closed connection soon; until then the new one may be refused too.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let answer = get_root(addr).await;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "a freed slot serves again");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_after_the_idle_timeout() {
        let config = ListenerGroupConfig { idle_timeout_ms: 200, header_read_timeout_ms: 0, ..Default::default() };
        let (addr, shutdown) = start(config).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        assert_eq!(read_until_closed(&mut silent).await, "");
        shutdown.cancel();
    }

    #[tokio::test]
    async fn headers_sent_too_slowly_end_the_connection() {
        let config = ListenerGroupConfig { header_read_timeout_ms: 200, idle_timeout_ms: 0, ..Default::default() };
        let (addr, shutdown) = start(config).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nhost: te").await.unwrap();
        let answer = read_until_closed(&mut slow).await;
        assert!(!answer.contains("200"), "{answer}");
        shutdown.cancel();
    }
}
