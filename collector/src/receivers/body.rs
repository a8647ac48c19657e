//! Request bodies shared by the HTTP receivers: size limit and `Content-Encoding`.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};

/// Read a whole body up to `limit` bytes after decompression; a refusal comes as the HTTP status
/// and a message naming the option or the fix.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than {limit} bytes (collector.max_request_bytes); send fewer spans per request"
            ),
        )
    };
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    decompress(headers, raw, limit).map_err(|error| match error {
        DecompressError::TooLarge => too_large(),
        DecompressError::Unsupported(message) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
        DecompressError::Corrupt(message) => (StatusCode::BAD_REQUEST, message),
    })
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
