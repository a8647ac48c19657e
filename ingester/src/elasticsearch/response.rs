//! What a `_bulk` answer means for each document: durable, worth retrying, or never indexable.

use serde_json::Value;

/// The fate of one bulk item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    Durable,
    /// Retry later: overload (429), node trouble (5xx), timeouts.
    Transient(String),
    /// Elasticsearch will never accept this document (mapping conflict, malformed value).
    Permanent(String),
}

/// Classify an item's HTTP status.
pub fn classify(status: u16, reason: impl FnOnce() -> String) -> ItemOutcome {
    match status {
        200..=299 => ItemOutcome::Durable,
        408 | 429 | 500..=599 => ItemOutcome::Transient(reason()),
        _ => ItemOutcome::Permanent(reason()),
    }
}

/// Whether a whole `_bulk` request refused with `status` should be retried.
pub fn request_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// Per-item outcomes of a `_bulk` response body, in request order.
pub fn item_outcomes(body: &Value, expected: usize) -> Result<Vec<ItemOutcome>, String> {
    let items = body.get("items").and_then(Value::as_array).ok_or("bulk response has no items array")?;
    if items.len() != expected {
        return Err(format!("bulk response has {} items for {expected} documents", items.len()));
    }
    let outcomes = items
        .iter()
        .map(|item| {
            let action = item.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null);
            let status = action.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            classify(status, || {
                let error = action.get("error");
                let kind = error.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("unknown");
                let reason = error.and_then(|e| e.get("reason")).and_then(Value::as_str).unwrap_or("no reason given");
                format!("elasticsearch refused the document with HTTP {status}: {kind}: {reason}")
            })
        })
        .collect();
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_partial_error_response() {
        let body: Value = serde_json::from_str(
            r#"{"took":3,"errors":true,"items":[
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"a","status":201,"result":"created"}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"b","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"c","status":400,"error":{"type":"document_parsing_exception","reason":"[1:20] failed to parse field [startTime] of type [long]"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"d","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
            ]}"#,
        )
        .unwrap();
        let outcomes = item_outcomes(&body, 4).unwrap();
        assert_eq!(outcomes[0], ItemOutcome::Durable);
        assert!(matches!(&outcomes[1], ItemOutcome::Transient(m) if m.contains("es_rejected_execution_exception")));
        assert!(
            matches!(&outcomes[2], ItemOutcome::Permanent(m) if m.contains("document_parsing_exception") && m.contains("startTime"))
        );
        assert!(matches!(&outcomes[3], ItemOutcome::Transient(_)));
    }

    #[test]
    fn item_count_mismatch_is_an_error() {
        let body: Value = serde_json::from_str(r#"{"errors":false,"items":[]}"#).unwrap();
        assert!(item_outcomes(&body, 1).is_err());
        assert!(item_outcomes(&serde_json::json!({"error":"x"}), 1).is_err());
    }

    #[test]
    fn whole_request_retry_follows_status() {
        assert!(request_is_retryable(429));
        assert!(request_is_retryable(503));
        assert!(!request_is_retryable(400));
    }
}
