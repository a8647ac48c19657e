//! One accepted connection: the TLS handshake (bounded by the header-read timeout), then HTTP/1
//! or HTTP/2 until the client closes, the connection idles out, or shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::activity::{Activity, Tracked};
use super::{millis, Group, CONNECTIONS, CONNECTIONS_IDLE_CLOSED, TLS_HANDSHAKE_FAILURES};

/// An open connection, counted while it lives.
pub(super) struct Open {
    open: Arc<AtomicUsize>,
    what: &'static str,
}

impl Open {
    pub(super) fn new(open: Arc<AtomicUsize>, what: &'static str) -> Self {
        let now = open.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(CONNECTIONS, "listener" => what).set(now as f64);
        Self { open, what }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let now = self.open.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!(CONNECTIONS, "listener" => self.what).set(now as f64);
    }
}

/// Serve `stream` with `router` under `group`'s settings.
pub(super) async fn serve(
    group: &Group,
    stream: TcpStream,
    router: axum::Router,
    what: &'static str,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let stream = Tracked::new(stream, activity.clone());
    let Some(tls) = &group.tls else {
        return drive(group, stream, activity, router, what, shutdown).await;
    };
    let handshake = tls.acceptor().accept(stream);
    let handshake = match millis(group.config.header_read_timeout_ms) {
        Some(timeout) => tokio::select! {
            _ = shutdown.cancelled() => return,
            done = tokio::time::timeout(timeout, handshake) => done,
        },
        None => tokio::select! {
            _ = shutdown.cancelled() => return,
            done = handshake => Ok(done),
        },
    };
    match handshake {
        Ok(Ok(stream)) => drive(group, stream, activity, router, what, shutdown).await,
        Ok(Err(error)) => {
            // Debug only: a scanner or a flood would otherwise fill the log; the metric counts them.
            metrics::counter!(TLS_HANDSHAKE_FAILURES, "listener" => what).increment(1);
            tracing::debug!(%error, listener = what, "TLS handshake failed");
        }
        Err(_) => {
            metrics::counter!(TLS_HANDSHAKE_FAILURES, "listener" => what).increment(1);
            tracing::debug!(listener = what, "TLS handshake took longer than the header-read timeout");
        }
    }
}

/// HTTP over `io` until the client closes it, it idles out, or shutdown (then gracefully).
async fn drive<I>(
    group: &Group,
    io: I,
    activity: Activity,
    router: axum::Router,
    what: &'static str,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let idle_timeout = millis(group.config.idle_timeout_ms);
    let connection = group.http.serve_connection(TokioIo::new(io), TowerToHyperService::new(router));
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                tracing::debug!(%error, listener = what, "connection ended with an error");
            }
            return;
        }
        _ = shutdown.cancelled() => {}
        _ = activity.idle(idle_timeout) => {
            metrics::counter!(CONNECTIONS_IDLE_CLOSED, "listener" => what).increment(1);
        }
    }
    // Finish what is in progress (HTTP/2 GOAWAY, HTTP/1 after the current response); a client
    // that then goes silent is dropped after the idle timeout all the same.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.idle(idle_timeout) => {}
    }
}
