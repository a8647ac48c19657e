//! Request bodies shared by the HTTP receivers: the in-flight reservation taken before a body is
//! read, the size limit, and `Content-Encoding`.

use std::io::Read;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use futures::StreamExt;

use crate::error::ExportError;
use crate::export::Exporter;
use crate::publisher::InFlight;
use crate::receivers::answer::http_status;

/// How much more a body without `Content-Length` (chunked) reserves each time it outgrows its
/// reservation: small enough that a trickled body holds little it has not sent, large enough
/// that a normal one grows a few times at most.
pub const RESERVATION_STEP: usize = 256 * 1024;

/// Why a body was not read, as an HTTP status, a message naming the option or the fix, and for
/// retryable refusals (in-flight limit, Kafka down) the delay.
#[derive(Debug)]
pub struct BodyRefusal {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl BodyRefusal {
    fn new(status: StatusCode, message: String) -> Self {
        Self { status, message, retry_after: None }
    }
}

impl BodyRefusal {
    /// The plain-text answer of the Jaeger and Zipkin ports.
    pub fn into_plain_response(self) -> axum::response::Response {
        let mut response = crate::receivers::answer::refusal(self.status, self.message, self.retry_after);
        close_connection(&mut response);
        response
    }
}

/// Say the connection closes after this answer: a body refused before it was read whole is left
/// unread, so the connection cannot carry another request, and a client must not reuse it.
pub fn close_connection(response: &mut axum::response::Response) {
    response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
}

impl From<ExportError> for BodyRefusal {
    fn from(error: ExportError) -> Self {
        Self { status: http_status(&error), retry_after: error.retry_after(), message: error.to_string() }
    }
}

/// A request body read whole, with the in-flight room it holds.
pub struct ReadBody {
    /// After decompression.
    pub bytes: Bytes,
    pub reservation: InFlight,
}

/// [`read_reserved`] with room from `exporter`, as every HTTP receiver reads its body.
pub async fn read_for_export(
    exporter: &Exporter,
    transport: &'static str,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<ReadBody, BodyRefusal> {
    read_reserved(&|bytes| exporter.reserve(transport, bytes), transport, headers, body, limit).await
}

/// Read a body of at most `limit` bytes (before and after decompression), holding in-flight room
/// for it before any of it is read: all of a declared `Content-Length` at once (a length over
/// `limit` is refused without reading), or [`RESERVATION_STEP`] at a time as a chunked body
/// streams in. A body over `limit` stops being read there (413); no room → 429 / 503.
/// `reserve` takes room (the exporter's [`crate::export::Exporter::reserve`]).
pub async fn read_reserved(
    reserve: &(dyn Fn(usize) -> Result<InFlight, ExportError> + Sync),
    transport: &'static str,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<ReadBody, BodyRefusal> {
    let too_large = || BodyRefusal::from(ExportError::BodyTooLarge { limit });
    let declared = declared_length(headers)?;
    if declared.is_some_and(|length| length > limit) {
        crate::telemetry::request(transport, "too_large");
        return Err(too_large());
    }
    let first = declared.unwrap_or(RESERVATION_STEP.min(limit));
    let mut reservation = reserve(first)?;
    // The declared length is reserved, so allocating it is allowed; a chunked body grows.
    let mut raw = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            crate::telemetry::request(transport, "malformed");
            BodyRefusal::new(StatusCode::BAD_REQUEST, format!("request body could not be read: {error}"))
        })?;
        let length = raw.len() + chunk.len();
        if length > limit {
            crate::telemetry::request(transport, "too_large");
            return Err(too_large());
        }
        if declared.is_some_and(|declared| length > declared) {
            crate::telemetry::request(transport, "malformed");
            return Err(BodyRefusal::new(
                StatusCode::BAD_REQUEST,
                format!("request body is longer than its Content-Length ({})", declared.unwrap_or(0)),
            ));
        }
        if length > reservation.bytes() {
            let more = (length - reservation.bytes()).max(RESERVATION_STEP).min(limit - reservation.bytes());
            reservation.absorb(reserve(more)?);
        }
        raw.extend_from_slice(&chunk);
    }
    let raw = Bytes::from(raw);
    let bytes = decompress(headers, raw, limit).map_err(|error| match error {
        DecompressError::TooLarge => too_large(),
        DecompressError::Unsupported(message) => BodyRefusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
        DecompressError::Corrupt(message) => BodyRefusal::new(StatusCode::BAD_REQUEST, message),
    })?;
    if bytes.len() > reservation.bytes() {
        // Decompressed bytes are held too (the compressed ones until decoding starts).
        reservation.absorb(reserve(bytes.len())?);
    }
    Ok(ReadBody { bytes, reservation })
}

/// `Content-Length`, when the request declares one.
fn declared_length(headers: &HeaderMap) -> Result<Option<usize>, BodyRefusal> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else { return Ok(None) };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(|length| Some(usize::try_from(length).unwrap_or(usize::MAX)))
        .ok_or_else(|| BodyRefusal::new(StatusCode::BAD_REQUEST, format!("invalid Content-Length {value:?}")))
}

/// The media type of `Content-Type`, lower case, without parameters (empty when absent).
pub fn media_type(headers: &HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

pub enum DecompressError {
    TooLarge,
    Unsupported(String),
    Corrupt(String),
}

pub fn decompress(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Bytes, DecompressError> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(raw),
        "gzip" => {
            let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
            let mut decoder = flate2::read::GzDecoder::new(raw.as_ref()).take(limit as u64 + 1);
            decoder
                .read_to_end(&mut out)
                .map_err(|error| DecompressError::Corrupt(format!("body is not valid gzip: {error}")))?;
            if out.len() > limit {
                return Err(DecompressError::TooLarge);
            }
            Ok(Bytes::from(out))
        }
        other => {
            Err(DecompressError::Unsupported(format!("unsupported Content-Encoding {other:?}: send gzip or identity")))
        }
    }
}

/// Headers from literal pairs, for the receivers' tests.
#[cfg(test)]
pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, axum::http::HeaderValue::from_static(value));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::InFlightBound;

    fn bound(bytes: usize) -> InFlightBound {
        InFlightBound::new(bytes, Duration::from_secs(1))
    }

    async fn read_with(
        bound: &InFlightBound,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<ReadBody, BodyRefusal> {
        read_reserved(&|bytes| bound.try_reserve(bytes).map_err(ExportError::from), "test", headers, body, limit).await
    }

    /// A body of `chunks` of `size` bytes, streamed as a chunked body is.
    fn streamed(chunks: usize, size: usize, read: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Body {
        let stream = futures::stream::iter(0..chunks).map(move |_| {
            read.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, std::io::Error>(Bytes::from(vec![1u8; size]))
        });
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_declared_length_is_reserved_before_the_body_is_read() {
        let room = bound(1_000);
        let headers = headers(&[("content-length", "800")]);
        let read = std::sync::Arc::default();
        let body = read_with(&room, &headers, streamed(8, 100, std::sync::Arc::clone(&read)), 4_000).await.unwrap();
        assert_eq!((body.bytes.len(), body.reservation.bytes(), room.available()), (800, 800, 200));
        // A second body of the same declared length finds no room, and is not read at all.
        let unread = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let refused = read_with(&room, &headers, streamed(8, 100, unread.clone()), 4_000).await.err().unwrap();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.retry_after.is_some());
        assert_eq!(unread.load(std::sync::atomic::Ordering::Relaxed), 0, "nothing read before the refusal");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_unread() {
        let headers = headers(&[("content-length", "1099511627776")]);
        let unread = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let refused = read_with(&bound(10_000), &headers, streamed(1, 10, unread.clone()), 4_000).await.err().unwrap();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refused.message.contains("collector.max_request_bytes"), "{}", refused.message);
        assert_eq!(unread.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_chunked_body_grows_its_reservation_and_stops_at_the_limit() {
        let room = bound(100 * RESERVATION_STEP);
        let read = std::sync::Arc::default();
        let chunk = RESERVATION_STEP / 4;
        let body = read_with(&room, &HeaderMap::new(), streamed(10, chunk, read), 8 * RESERVATION_STEP).await.unwrap();
        assert_eq!(body.bytes.len(), 10 * chunk);
        assert!(body.reservation.bytes() >= 10 * chunk && body.reservation.bytes() <= 10 * chunk + RESERVATION_STEP);

        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let limit = 2 * RESERVATION_STEP;
        let refused =
            read_with(&room, &HeaderMap::new(), streamed(1_000, chunk, read.clone()), limit).await.err().unwrap();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(read.load(std::sync::atomic::Ordering::Relaxed) <= limit + chunk, "stopped reading at the limit");
    }

    #[tokio::test]
    async fn a_chunked_body_is_refused_when_the_budget_runs_out_as_it_streams() {
        let room = bound(RESERVATION_STEP + 10);
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let chunk = RESERVATION_STEP / 2;
        let refused =
            read_with(&room, &HeaderMap::new(), streamed(100, chunk, read.clone()), 100 * chunk).await.err().unwrap();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(read.load(std::sync::atomic::Ordering::Relaxed) <= 3 * chunk);
        assert_eq!(room.available(), RESERVATION_STEP + 10, "room given back");
    }

    #[test]
    fn gzip_bomb_is_refused_as_too_large() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 100_000]).unwrap();
        let compressed = Bytes::from(encoder.finish().unwrap());
        let result = decompress(&headers(&[("content-encoding", "gzip")]), compressed, 10_000);
        assert!(matches!(result, Err(DecompressError::TooLarge)));
    }

    #[test]
    fn corrupt_gzip_and_unknown_encoding_are_named() {
        let corrupt = decompress(&headers(&[("content-encoding", "gzip")]), Bytes::from_static(b"nope"), 100);
        assert!(matches!(corrupt, Err(DecompressError::Corrupt(m)) if m.contains("gzip")));
        let unknown = decompress(&headers(&[("content-encoding", "br")]), Bytes::from_static(b"x"), 100);
        assert!(matches!(unknown, Err(DecompressError::Unsupported(m)) if m.contains("br")));
    }
}
