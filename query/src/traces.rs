//! Whole traces as both Jaeger APIs (`/api` and `/api/v3`) answer them: the trace ids a client
//! asks for, the window a trace looked up by id is read over, and span documents grouped into
//! traces and adjusted ([`crate::adjust`]).

use std::collections::BTreeMap;

use skein_schemas::jaeger::ui::{normalize_trace_id, parse_trace_id, span_from_document, UiSpan, UiTrace};
use skein_schemas::jaeger::SpanDocument;

use crate::adjust::adjust;
use crate::error::QueryError;
use crate::params::Params;
use crate::state::QueryState;

/// A trace id parameter in the form spans are grouped by, or Jaeger's error naming it.
pub fn parse_id(id: &str) -> Result<String, QueryError> {
    parse_trace_id(id)
        .and_then(|_| normalize_trace_id(id))
        .ok_or_else(|| QueryError::BadParameter(format!("cannot parse traceID param: {id:?} is not a hex trace id")))
}

/// The window (ms) a trace looked up by id is read over: the client's `start`/`end` hints when
/// they are plausible µs (Grafana may send ms), else the last `max_span_age`.
pub fn id_window(state: &QueryState, params: &Params) -> Result<(i64, i64), QueryError> {
    let (start, end) = (params.int("start")?, params.int("end")?);
    let margin = state.trace_margin_ms();
    let plausible = |t: Option<i64>| t.filter(|t| *t > 1_000_000_000_000_000);
    let now_ms = chrono::Utc::now().timestamp_millis();
    Ok(match (plausible(start), plausible(end)) {
        (Some(s), Some(e)) => (s / 1000 - margin, e / 1000 + margin),
        (Some(s), None) => (s / 1000 - margin, now_ms + margin),
        _ => (now_ms - state.config.max_span_age_hours as i64 * 3_600_000 - margin, now_ms + margin),
    })
}

/// Group span documents into traces (in `order`, which holds ids as [`parse_id`] gives them),
/// adjusted unless `raw`. A document that cannot be shown is skipped with a warning. A trace of
/// more than `max_spans` spans (`0`: no limit) keeps its earliest ones (documents come sorted by
/// start) and says so in its warnings.
pub fn assemble(
    documents: Vec<SpanDocument>,
    order: &[String],
    raw: bool,
    max_skew_micros: i64,
    max_spans: usize,
) -> Vec<UiTrace> {
    let mut by_trace: BTreeMap<String, Vec<UiSpan>> = BTreeMap::new();
    for doc in documents {
        match span_from_document(doc) {
            Ok(span) => by_trace.entry(span.trace_id.clone()).or_default().push(span),
            Err(error) => tracing::warn!(%error, "skipping an unreadable span document"),
        }
    }
    let mut traces = Vec::new();
    for id in order {
        let Some(mut spans) = normalize_trace_id(id).and_then(|id| by_trace.remove(&id)) else { continue };
        let mut warnings = Vec::new();
        if max_spans > 0 && spans.len() > max_spans {
            warnings.push(format!(
                "trace truncated: {max_spans} of its {} spans are shown (query.max_spans_per_trace)",
                spans.len()
            ));
            spans.truncate(max_spans);
        }
        if !raw {
            warnings.extend(adjust(&mut spans, max_skew_micros));
        }
        traces.push(UiTrace::new(spans, warnings));
    }
    traces
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn span(trace: &str, span: &str) -> SpanDocument {
        serde_json::from_value(json!({"traceID": trace, "spanID": span, "startTime": 1, "duration": 1,
                                      "process": {"serviceName": "web"}}))
        .expect("a span document")
    }

    #[test]
    fn trace_ids_parse_to_their_grouping_form_and_other_text_is_a_bad_parameter() {
        assert_eq!(parse_id("00000000000000000AF7651916CD43DD").unwrap(), "0af7651916cd43dd");
        let error = parse_id("xyz").unwrap_err();
        assert_eq!(error.to_string(), "cannot parse traceID param: \"xyz\" is not a hex trace id");
    }

    #[test]
    fn traces_come_in_the_order_asked_for_whatever_form_their_ids_were_stored_in() {
        let documents =
            vec![span("00000000000000aa", "1"), span("bb", "2"), span("000000000000000000000000000000aa", "3")];
        let order = [parse_id("bb").unwrap(), parse_id("cc").unwrap(), parse_id("aa").unwrap()];
        let traces = assemble(documents, &order, true, 0, 0);
        let shape: Vec<(&str, usize)> = traces.iter().map(|t| (t.trace_id.as_str(), t.spans.len())).collect();
        assert_eq!(shape, [("00000000000000bb", 1), ("00000000000000aa", 2)], "a trace with no spans is left out");
    }

    #[test]
    fn a_trace_beyond_the_span_limit_keeps_its_earliest_spans_and_says_so() {
        let documents = vec![span("aa", "1"), span("aa", "2"), span("aa", "3"), span("bb", "4")];
        let order = [parse_id("aa").unwrap(), parse_id("bb").unwrap()];
        let traces = assemble(documents, &order, false, 0, 2);
        let ids: Vec<&str> = traces[0].spans.iter().map(|s| s.span_id.as_str()).collect();
        assert_eq!(ids, ["0000000000000001", "0000000000000002"]);
        assert_eq!(
            traces[0].warnings.as_deref(),
            Some(&["trace truncated: 2 of its 3 spans are shown (query.max_spans_per_trace)".to_string()][..])
        );
        assert_eq!(traces[1].spans.len(), 1);
        assert_eq!(traces[1].warnings, None, "a trace within the limit has no warning");
    }
}
