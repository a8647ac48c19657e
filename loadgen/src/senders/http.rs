//! The HTTP client the HTTP senders share, and how a refused HTTP request is counted.

use std::sync::Arc;
use std::time::Duration;

use super::Outcome;
use crate::error::LoadgenError;

/// A client posting bodies to one URL, keeping a connection per request in flight.
#[derive(Clone)]
pub(crate) struct HttpClient {
    pub(super) client: reqwest::Client,
    pub(super) url: Arc<str>,
}

impl HttpClient {
    pub(super) fn new(concurrency: usize, url: &str) -> Result<Self, LoadgenError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(LoadgenError::HttpClient)?;
        Ok(Self { client, url: url.into() })
    }

    /// POST `body` to the URL as `content_type`.
    pub(super) async fn post(
        &self,
        content_type: &'static str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Result<reqwest::Response> {
        self.client.post(self.url.as_ref()).header("content-type", content_type).body(body).send().await
    }
}

/// A status outside 2xx: 429 and 503 are the receiver's backpressure, anything else an error
/// shown with the answer's body.
pub(super) fn refusal(status: u16, body: &[u8]) -> Outcome {
    match status {
        429 => Outcome::TooManyRequests,
        503 => Outcome::Unavailable,
        other => Outcome::Other(format!("HTTP {other}: {}", String::from_utf8_lossy(body))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backpressure_statuses_are_counted_apart_from_errors() {
        assert!(matches!(refusal(429, b""), Outcome::TooManyRequests));
        assert!(matches!(refusal(503, b""), Outcome::Unavailable));
        assert!(matches!(refusal(400, b"bad span"), Outcome::Other(message) if message == "HTTP 400: bad span"));
    }
}
