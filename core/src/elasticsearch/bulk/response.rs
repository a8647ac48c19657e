//! What a `_bulk` answer means: for the whole request (its HTTP status) and for each action
//! (durable, worth retrying, or never accepted). An answer that does not account for every action
//! is an error, never a success: treating it as written would lose documents.

use serde_json::Value;

/// The parts of a `_bulk` answer the classification reads; send it as the request's
/// `filter_path` so Elasticsearch leaves out the rest.
pub const FILTER_PATH: &[&str] = &["errors", "items.*.status", "items.*.error.type", "items.*.error.reason"];

/// The fate of one bulk action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Durable,
    /// Retry later: overload (429), node trouble (5xx), timeouts.
    Transient(String),
    /// Elasticsearch will never accept this action (mapping conflict, malformed value).
    Permanent(String),
    /// Elasticsearch denies the write until an operator acts: 401/403 (credentials, privileges),
    /// an index block (`cluster_block_exception`, whatever its status: a full disk's read-only
    /// block answers 429) or a missing index that may not be created (404
    /// `index_not_found_exception`: auto-creation off). Not the document's fault, so it is never
    /// parked as undeliverable: it is retried, loudly, until the cause is fixed. The reason ends
    /// with what to do.
    Denied(String),
    /// A versioned write found the document at a higher version (409): a newer writer owns it.
    /// Retrying cannot change that; the caller decides what losing its turn means.
    Conflict(String),
}

/// Why a `_bulk` answer cannot be read item by item; the whole request is to be sent again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("unreadable bulk response: {0}")]
    Unreadable(String),
    #[error("bulk response has no boolean `errors` field, so nothing in it can be trusted as written")]
    NoErrorsFlag,
    #[error("bulk response reports errors but has no items array")]
    NoItems,
    #[error("bulk response has {found} items for {expected} actions")]
    ItemCount { found: usize, expected: usize },
}

/// Whether a whole `_bulk` request refused with `status` is worth sending again as it is.
pub fn request_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// What a whole `_bulk` request refused for good with `status` says: Elasticsearch's own reason
/// (`error.type: error.reason`, or the answer's text) and what to do about it.
pub fn request_refusal(status: u16, body: &str) -> String {
    let reason = serde_json::from_str::<Value>(body).ok().and_then(|answer| match answer.get("error")? {
        Value::String(text) => Some(text.clone()),
        error => {
            let kind = error.get("type").and_then(Value::as_str).unwrap_or("unknown");
            let reason = error.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
            Some(format!("{kind}: {reason}"))
        }
    });
    let reason = reason.unwrap_or_else(|| match body.trim() {
        "" => "no reason given".to_string(),
        text => text.chars().take(REASON_CHARS).collect(),
    });
    let what_to_do = match status {
        400 => "elasticsearch cannot read the request: check that elasticsearch.url leads to Elasticsearch itself (no path, no proxy changing the body); otherwise report it as a skein bug",
        401 => "check elasticsearch.username and password",
        403 => "grant the user the privileges to write skein's indices",
        404 | 405 => "check elasticsearch.url: it does not lead to Elasticsearch's _bulk endpoint",
        413 => "raise the body limit (Elasticsearch's http.max_content_length or the proxy's), or lower ingester.bulk_max_docs and bulk_max_bytes",
        _ => "check elasticsearch.url, the proxy in the way and the credentials",
    };
    format!("HTTP {status}: {reason} ({what_to_do})")
}

/// How much of an answer that is not Elasticsearch's JSON goes into a reason.
const REASON_CHARS: usize = 300;

/// Per-action outcomes of the body of a 2xx `_bulk` answer to `expected` actions, in request
/// order. `errors: false` without items (filter_path leaves them out when all succeeded) means
/// every action is durable.
pub fn item_outcomes(body: &[u8], expected: usize) -> Result<Vec<ItemOutcome>, ResponseError> {
    let body: Value = serde_json::from_slice(body).map_err(|error| ResponseError::Unreadable(error.to_string()))?;
    let errors = body.get("errors").and_then(Value::as_bool).ok_or(ResponseError::NoErrorsFlag)?;
    let items = match body.get("items") {
        None if !errors => return Ok(vec![ItemOutcome::Durable; expected]),
        items => items.and_then(Value::as_array).ok_or(ResponseError::NoItems)?,
    };
    if items.len() != expected {
        return Err(ResponseError::ItemCount { found: items.len(), expected });
    }
    Ok(items.iter().map(item_outcome).collect())
}

/// One item: `{"<action>": {"status": …, "error": {"type": …, "reason": …}}}`.
fn item_outcome(item: &Value) -> ItemOutcome {
    let (action, result) = match item.as_object().and_then(|o| o.iter().next()) {
        Some((action, result)) => (action.as_str(), result),
        None => ("", &Value::Null),
    };
    let status = result.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
    let reason = || {
        let error = result.get("error");
        let kind = error.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("unknown");
        let reason = error.and_then(|e| e.get("reason")).and_then(Value::as_str).unwrap_or("no reason given");
        format!("elasticsearch refused the document with HTTP {status}: {kind}: {reason}")
    };
    let kind = result.get("error").and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("");
    match status {
        200..=299 => ItemOutcome::Durable,
        // Deleting a document that is already gone leaves the index as asked.
        404 if action == "delete" => ItemOutcome::Durable,
        _ if kind == "cluster_block_exception" => ItemOutcome::Denied(format!(
            "{} (clear the index block; a full disk's read-only block goes once disk space is freed)",
            reason()
        )),
        404 if kind == "index_not_found_exception" && reason().contains("require_alias") => {
            ItemOutcome::Denied(format!("{} (the write alias is missing: run `skein indices rollover init`)", reason()))
        }
        404 if kind == "index_not_found_exception" => ItemOutcome::Denied(format!(
            "{} (create the index or let Elasticsearch create it: allow skein's indices in action.auto_create_index)",
            reason()
        )),
        401 => ItemOutcome::Denied(format!("{} (check elasticsearch.username and password)", reason())),
        403 => ItemOutcome::Denied(format!("{} (grant the user the privileges to write these indices)", reason())),
        409 => ItemOutcome::Conflict(reason()),
        // An item is worth retrying for the same reasons a whole request is.
        status if request_is_retryable(status) => ItemOutcome::Transient(reason()),
        _ => ItemOutcome::Permanent(reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_write_alias_is_denied_and_says_to_run_rollover_init() {
        // Elasticsearch's answer to `require_alias` when the alias is gone.
        let body = br#"{"errors":true,"items":[
          {"index":{"_index":"p-jaeger-span-write","_id":"a","status":404,"error":{"type":"index_not_found_exception","reason":"[require_alias] request flag is [true] and [p-jaeger-span-write] is not an alias","index":"p-jaeger-span-write"}}}
        ]}"#;
        let outcomes = item_outcomes(body, 1).unwrap();
        assert!(
            matches!(&outcomes[0], ItemOutcome::Denied(m) if m.contains("skein indices rollover init")),
            "{outcomes:?}"
        );
    }

    #[test]
    fn a_denied_write_is_neither_durable_nor_permanently_refused() {
        let body = br#"{"errors":true,"items":[
              {"index":{"status":403,"error":{"type":"cluster_block_exception","reason":"index [jaeger-span-2024-01-01] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block]"}}},
              {"index":{"status":401,"error":{"type":"security_exception","reason":"missing authentication credentials"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 2).unwrap();
        assert!(
            matches!(&outcomes[0], ItemOutcome::Denied(m) if m.contains("cluster_block_exception")),
            "{outcomes:?}"
        );
        assert!(matches!(&outcomes[1], ItemOutcome::Denied(m) if m.contains("security_exception")), "{outcomes:?}");
    }

    #[test]
    fn handles_partial_error_response() {
        let body = br#"{"took":3,"errors":true,"items":[
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"a","status":201,"result":"created"}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"b","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"c","status":400,"error":{"type":"document_parsing_exception","reason":"[1:20] failed to parse field [startTime] of type [long]"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"d","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 4).unwrap();
        assert_eq!(outcomes[0], ItemOutcome::Durable);
        assert!(matches!(&outcomes[1], ItemOutcome::Transient(m) if m.contains("es_rejected_execution_exception")));
        assert!(
            matches!(&outcomes[2], ItemOutcome::Permanent(m) if m.contains("document_parsing_exception") && m.contains("startTime"))
        );
        assert!(matches!(&outcomes[3], ItemOutcome::Transient(_)));
    }

    #[test]
    fn opensearch_item_errors_are_classified_like_elasticsearchs() {
        // OpenSearch 3.8.0's answers (docs/opensearch.md): a mapping conflict is named
        // `mapper_parsing_exception` there, the rest as in Elasticsearch.
        let body = br#"{"errors":true,"items":[
              {"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [operationName] of type [long] in document with id 'a'. Preview of field's value: 'checkout'"}}},
              {"index":{"status":201}},
              {"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[b]: version conflict, current version [8589934592] is higher than the one provided [4294967296]"}}},
              {"index":{"status":403,"error":{"type":"cluster_block_exception","reason":"index [zz-probe] blocked by: [FORBIDDEN/8/index write (api)];"}}},
              {"index":{"status":429,"error":{"type":"rejected_execution_exception","reason":"rejected execution of coordinating operation"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 5).unwrap();
        assert!(
            matches!(&outcomes[0], ItemOutcome::Permanent(m) if m.contains("mapper_parsing_exception") && m.contains("operationName")),
            "{outcomes:?}"
        );
        assert_eq!(outcomes[1], ItemOutcome::Durable);
        assert!(matches!(&outcomes[2], ItemOutcome::Conflict(_)), "{outcomes:?}");
        assert!(matches!(&outcomes[3], ItemOutcome::Denied(m) if m.contains("index write")), "{outcomes:?}");
        assert!(matches!(&outcomes[4], ItemOutcome::Transient(_)), "{outcomes:?}");
    }

    #[test]
    fn a_version_conflict_is_its_own_outcome() {
        let body = br#"{"errors":true,"items":[
              {"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[a]: version conflict, current version [8589934592] is higher than the one provided [4294967296]"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 1).unwrap();
        assert!(matches!(&outcomes[0], ItemOutcome::Conflict(m) if m.contains("version_conflict")), "{outcomes:?}");
    }

    #[test]
    fn short_items_array_is_an_error() {
        let body = br#"{"errors":true,"items":[{"index":{"status":201}}]}"#;
        assert_eq!(item_outcomes(body, 2), Err(ResponseError::ItemCount { found: 1, expected: 2 }));
        let body = br#"{"errors":false,"items":[]}"#;
        assert_eq!(item_outcomes(body, 1), Err(ResponseError::ItemCount { found: 0, expected: 1 }));
    }

    #[test]
    fn long_items_array_is_an_error() {
        let body = br#"{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":201}}]}"#;
        assert_eq!(item_outcomes(body, 1), Err(ResponseError::ItemCount { found: 2, expected: 1 }));
    }

    #[test]
    fn missing_items_with_errors_is_an_error() {
        assert_eq!(item_outcomes(br#"{"errors":true}"#, 1), Err(ResponseError::NoItems));
        assert_eq!(item_outcomes(br#"{"errors":true,"items":{"index":{}}}"#, 1), Err(ResponseError::NoItems));
    }

    #[test]
    fn missing_errors_flag_is_an_error() {
        let body = br#"{"items":[{"index":{"status":201}}]}"#;
        assert_eq!(item_outcomes(body, 1), Err(ResponseError::NoErrorsFlag));
        assert_eq!(item_outcomes(br#"{"error":"x"}"#, 1), Err(ResponseError::NoErrorsFlag));
        assert_eq!(item_outcomes(br#"{"errors":"false"}"#, 1), Err(ResponseError::NoErrorsFlag));
    }

    #[test]
    fn unreadable_body_is_an_error() {
        assert!(matches!(item_outcomes(b"<html>bad gateway</html>", 1), Err(ResponseError::Unreadable(_))));
    }

    #[test]
    fn no_errors_without_items_is_all_durable() {
        assert_eq!(item_outcomes(br#"{"errors":false}"#, 3).unwrap(), vec![ItemOutcome::Durable; 3]);
    }

    #[test]
    fn deleting_an_absent_document_is_durable() {
        let body = br#"{"errors":true,"items":[
              {"delete":{"_index":"skein-analytics-state","_id":"g:t:0:5","status":404,"result":"not_found"}},
              {"delete":{"_index":"skein-analytics-state","_id":"g:t:0:9","status":200,"result":"deleted"}},
              {"index":{"_index":"skein-analytics-state","_id":"g:t:0:12","status":404,"error":{"type":"index_not_found_exception","reason":"no such index [skein-analytics-state]"}}},
              {"delete":{"_index":"skein-analytics-state","_id":"g:t:0:14","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 4).unwrap();
        assert_eq!(outcomes[0], ItemOutcome::Durable);
        assert_eq!(outcomes[1], ItemOutcome::Durable);
        assert!(matches!(&outcomes[2], ItemOutcome::Denied(m) if m.contains("index_not_found_exception")));
        assert!(matches!(&outcomes[3], ItemOutcome::Transient(_)));
    }

    #[test]
    fn a_missing_index_that_may_not_be_created_is_denied_not_refused_for_good() {
        let body = br#"{"errors":true,"items":[
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"a","status":404,"error":{"type":"index_not_found_exception","reason":"no such index [jaeger-span-2024-01-01] and [action.auto_create_index] ([.watches]) doesn't match"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"b","status":404,"error":{"type":"document_missing_exception","reason":"[b]: document missing"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 2).unwrap();
        assert!(
            matches!(&outcomes[0], ItemOutcome::Denied(m) if m.contains("index_not_found_exception") && m.contains("action.auto_create_index")),
            "{outcomes:?}"
        );
        assert!(matches!(&outcomes[1], ItemOutcome::Permanent(_)), "other 404s are the document's: {outcomes:?}");
    }

    #[test]
    fn an_index_block_is_denied_whatever_its_status() {
        // What Elasticsearch answers once a full disk set the flood-stage block: 429, yet retrying
        // alone never helps.
        let body = br#"{"errors":true,"items":[
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"a","status":429,"error":{"type":"cluster_block_exception","reason":"index [jaeger-span-2024-01-01] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];"}}},
              {"index":{"_index":"jaeger-span-2024-01-01","_id":"b","status":403,"error":{"type":"cluster_block_exception","reason":"index [jaeger-span-2024-01-01] blocked by: [FORBIDDEN/8/index write (api)];"}}}
            ]}"#;
        let outcomes = item_outcomes(body, 2).unwrap();
        for outcome in &outcomes {
            assert!(matches!(outcome, ItemOutcome::Denied(m) if m.contains("clear the index block")), "{outcomes:?}");
        }
    }

    #[test]
    fn a_whole_request_refusal_names_elasticsearchs_reason_and_what_to_do() {
        let no_handler = request_refusal(400, r#"{"error":"no handler found for uri [/a/b/_bulk] and method [POST]"}"#);
        assert!(no_handler.starts_with("HTTP 400: no handler found for uri [/a/b/_bulk]"), "{no_handler}");
        assert!(no_handler.contains("elasticsearch.url"), "{no_handler}");
        let parse = request_refusal(
            400,
            r#"{"error":{"root_cause":[],"type":"x_content_parse_exception","reason":"[1:8] Unrecognized token 'garbage'"},"status":400}"#,
        );
        assert!(parse.starts_with("HTTP 400: x_content_parse_exception: [1:8] Unrecognized token"), "{parse}");
        let too_large = request_refusal(413, "<html><body>413 Request Entity Too Large</body></html>");
        assert!(
            too_large.contains("413 Request Entity Too Large") && too_large.contains("bulk_max_docs"),
            "{too_large}"
        );
        assert_eq!(request_refusal(404, "").split(" (").next(), Some("HTTP 404: no reason given"));
    }

    #[test]
    fn item_without_status_is_refused() {
        let outcomes = item_outcomes(br#"{"errors":true,"items":[{"index":{}}, 7]}"#, 2).unwrap();
        assert!(matches!(&outcomes[0], ItemOutcome::Permanent(m) if m.contains("HTTP 0")));
        assert!(matches!(&outcomes[1], ItemOutcome::Permanent(_)));
    }

    #[test]
    fn whole_request_retry_follows_status() {
        assert!(request_is_retryable(429));
        assert!(request_is_retryable(408));
        assert!(request_is_retryable(503));
        assert!(!request_is_retryable(400));
        assert!(!request_is_retryable(413));
    }
}
