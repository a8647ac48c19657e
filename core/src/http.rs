//! Serving an HTTP router in plain text with the default limits until shutdown: on shutdown it
//! stops accepting, lets the requests in progress finish, then returns. The roles' listeners go
//! through [`crate::net::ListenerGroup`] with their group's TLS and limits; this is for tools and
//! tests that have no group.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serve `router` on `listener` until `shutdown`; `what` names the listener in logs and metrics.
pub async fn serve(router: axum::Router, listener: TcpListener, what: &'static str, shutdown: CancellationToken) {
    crate::net::ListenerGroup::plain("plain").serve_http(router, listener, what, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn answers_until_shutdown_then_returns() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(
            axum::Router::new().route("/", get(|| async { "hello" })),
            listener,
            "test",
            shutdown.clone(),
        ));

        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer}");

        shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), server)
            .await
            .expect("the server returns once shutdown is cancelled")
            .unwrap();
    }
}
