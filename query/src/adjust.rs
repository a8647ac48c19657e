//! Jaeger's trace adjusters, applied unless `raw=true`, in this order:
//!
//! 1. exact duplicate spans are removed (a replayed or re-sent span);
//! 2. Zipkin-style shared span ids: the server half gets a new id, the client half becomes its
//!    parent, and spans under the shared id hang off the server half;
//! 3. clock skew: a child that does not fit in its parent on another host is shifted (with its
//!    subtree) into the parent, up to `max_skew_micros`; beyond it, or when correction is off (0),
//!    the span gets a warning saying by how much it would have moved;
//! 4. spans sorted by start time (then span id).
//!
//! Each adjustment leaves a warning (on the trace, or on the span it changed).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use skein_schemas::jaeger::ui::{UiReference, UiSpan};
use skein_schemas::span_kind::{self, SpanKind};

use crate::params::go_duration;

/// Apply every adjuster; returns trace-level warnings.
pub fn adjust(spans: &mut Vec<UiSpan>, max_skew_micros: i64) -> Vec<String> {
    let mut warnings = Vec::new();
    let removed = deduplicate(spans);
    if removed > 0 {
        warnings.push(format!("{removed} duplicate span(s) removed"));
    }
    warnings.extend(unshare_span_ids(spans));
    correct_clock_skew(spans, max_skew_micros);
    spans.sort_by(|a, b| (a.start_time, &a.span_id).cmp(&(b.start_time, &b.span_id)));
    warnings
}

fn deduplicate(spans: &mut Vec<UiSpan>) -> usize {
    let before = spans.len();
    let mut seen = HashSet::new();
    spans.retain(|span| {
        let key =
            (serde_json::to_string(span).unwrap_or_default(), serde_json::to_string(&span.process).unwrap_or_default());
        seen.insert(key)
    });
    before - spans.len()
}

fn kind(span: &UiSpan) -> Option<SpanKind> {
    span.tags.iter().find(|t| t.key == "span.kind").and_then(|t| t.value.as_str()).and_then(span_kind::from_name)
}

fn unshare_span_ids(spans: &mut [UiSpan]) -> Vec<String> {
    let clients: HashSet<String> =
        spans.iter().filter(|s| kind(s) == Some(SpanKind::Client)).map(|s| s.span_id.clone()).collect();
    let mut used: HashSet<u64> = spans.iter().filter_map(|s| u64::from_str_radix(&s.span_id, 16).ok()).collect();
    let mut next = 1u64;
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut warnings = Vec::new();
    for span in spans.iter_mut() {
        if kind(span) != Some(SpanKind::Server)
            || !clients.contains(&span.span_id)
            || renamed.contains_key(&span.span_id)
        {
            continue;
        }
        while used.contains(&next) {
            next += 1;
        }
        used.insert(next);
        let old = std::mem::replace(&mut span.span_id, format!("{next:016x}"));
        span.references.retain(|r| r.ref_type != "CHILD_OF");
        span.references
            .insert(0, UiReference { ref_type: "CHILD_OF", trace_id: span.trace_id.clone(), span_id: old.clone() });
        warnings.push(format!(
            "span {old} is shared by a client and a server span; the server span is shown as {} under it",
            span.span_id
        ));
        renamed.insert(old, span.span_id.clone());
    }
    for span in spans.iter_mut() {
        for reference in &mut span.references {
            if let Some(new) = renamed.get(&reference.span_id) {
                if reference.ref_type == "CHILD_OF"
                    && *new != span.span_id
                    && !renamed.values().any(|n| *n == span.span_id)
                {
                    reference.span_id = new.clone();
                }
            }
        }
    }
    warnings
}

/// The host a span ran on, for clock-skew purposes.
fn host(span: &UiSpan) -> String {
    for key in ["host.id", "host.ip", "host.name", "ip", "hostname"] {
        if let Some(value) = span.process.tags.iter().find(|t| t.key == key).map(|t| &t.value) {
            return match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
    }
    String::new()
}

fn correct_clock_skew(spans: &mut [UiSpan], max_skew: i64) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut duplicate = false;
    for (i, span) in spans.iter().enumerate() {
        duplicate |= index.insert(span.span_id.clone(), i).is_some();
    }
    if duplicate {
        for span in spans.iter_mut() {
            span.warn("duplicate span IDs; skipping clock skew adjustment".into());
        }
        return;
    }
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span.parent_span_id().map(str::to_string) {
            Some(parent) => match index.get(&parent) {
                Some(p) => children.entry(*p).or_default().push(i),
                None => roots.push(i),
            },
            None => roots.push(i),
        }
    }
    let hosts: Vec<String> = spans.iter().map(host).collect();
    // Depth first, carrying (span, shift applied to its parent subtree).
    let mut stack: Vec<(usize, i64)> = roots.into_iter().map(|r| (r, 0)).collect();
    while let Some((i, inherited)) = stack.pop() {
        let kids = children.get(&i).cloned().unwrap_or_default();
        for child in kids {
            let mut delta = inherited;
            if hosts[child] != hosts[i] || hosts[child].is_empty() {
                let needed = skew(&spans[i], &spans[child], inherited);
                delta = inherited + needed;
                if needed != 0 {
                    if max_skew == 0 {
                        spans[child].warn(format!(
                            "clock skew adjustment disabled; not applying calculated delta of {}",
                            go_duration(needed)
                        ));
                        delta = inherited;
                    } else if needed.abs() > max_skew {
                        spans[child].warn(format!(
                            "max clock skew adjustment delta of {} exceeded; not applying calculated delta of {}",
                            go_duration(max_skew),
                            go_duration(needed)
                        ));
                        delta = inherited;
                    }
                }
            }
            if delta != 0 {
                let span = &mut spans[child];
                span.start_time = (span.start_time as i64 + delta).max(0) as u64;
                for log in &mut span.logs {
                    log.timestamp = (log.timestamp as i64 + delta).max(0) as u64;
                }
                span.warn(format!("This span's timestamps were adjusted by {}", go_duration(delta)));
            }
            stack.push((child, delta));
        }
    }
}

/// How far `child` (already shifted by `inherited`) must move to sit inside `parent`, which has
/// its final timestamps.
fn skew(parent: &UiSpan, child: &UiSpan, inherited: i64) -> i64 {
    let (p_start, p_dur) = (parent.start_time as i64, parent.duration as i64);
    let (c_start, c_dur) = (child.start_time as i64 + inherited, child.duration as i64);
    if c_dur > p_dur {
        // A child longer than its parent (async work): only make it start no earlier.
        return if c_start < p_start { p_start - c_start } else { 0 };
    }
    if c_start >= p_start && c_start + c_dur <= p_start + p_dur {
        return 0;
    }
    p_start + (p_dur - c_dur) / 2 - c_start
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skein_schemas::jaeger::ui::span_from_document;

    fn span(id: &str, parent: Option<&str>, start: u64, duration: u64, host: &str, kind: &str) -> UiSpan {
        let refs: Vec<Value> = parent
            .map(|p| json!({"refType": "CHILD_OF", "traceID": "00000000000000aa", "spanID": p}))
            .into_iter()
            .collect();
        let doc = json!({
            "traceID": "00000000000000aa", "spanID": id, "operationName": "op", "references": refs,
            "startTime": start, "duration": duration,
            "tags": [{"key": "span.kind", "type": "string", "value": kind}],
            "process": {"serviceName": host, "tags": [{"key": "host.name", "type": "string", "value": host}]}
        });
        span_from_document(serde_json::from_value(doc).unwrap()).unwrap()
    }

    #[test]
    fn duplicates_go_and_spans_come_sorted() {
        let mut spans = vec![span("2", Some("1"), 200, 10, "a", "client"), span("1", None, 100, 500, "a", "server")];
        spans.push(spans[0].clone());
        let warnings = adjust(&mut spans, 0);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].span_id, "0000000000000001");
        assert_eq!(warnings, ["1 duplicate span(s) removed"]);
    }

    #[test]
    fn skewed_child_on_another_host_is_moved_into_its_parent_within_the_limit() {
        let mut spans =
            vec![span("1", None, 1_000, 100, "a", "client"), span("2", Some("1"), 5_000, 20, "b", "server")];
        adjust(&mut spans, 10_000);
        let child = spans.iter().find(|s| s.span_id.ends_with('2')).unwrap();
        assert_eq!(child.start_time, 1_040, "centred in the parent");
        assert_eq!(child.warnings.as_ref().unwrap()[0], "This span's timestamps were adjusted by -3.96ms");
    }

    #[test]
    fn skew_correction_off_or_over_the_limit_only_warns() {
        let mut spans =
            vec![span("1", None, 1_000, 100, "a", "client"), span("2", Some("1"), 5_000, 20, "b", "server")];
        adjust(&mut spans, 0);
        assert_eq!(spans[1].start_time, 5_000);
        assert_eq!(
            spans[1].warnings.as_ref().unwrap()[0],
            "clock skew adjustment disabled; not applying calculated delta of -3.96ms"
        );
        let mut spans =
            vec![span("1", None, 1_000, 100, "a", "client"), span("2", Some("1"), 5_000, 20, "b", "server")];
        adjust(&mut spans, 1_000);
        assert!(spans[1].warnings.as_ref().unwrap()[0].starts_with("max clock skew adjustment delta of 1ms exceeded"));
    }

    #[test]
    fn shared_span_id_server_half_gets_its_own_id_under_the_client_half() {
        let mut spans = vec![
            span("5", None, 100, 50, "a", "client"),
            span("5", None, 110, 30, "b", "server"),
            span("6", Some("5"), 115, 5, "b", "server"),
        ];
        let warnings = adjust(&mut spans, 0);
        assert_eq!(warnings.len(), 1);
        let server = spans.iter().find(|s| s.process.service_name == "b" && s.duration == 30).unwrap();
        assert_eq!(server.span_id, "0000000000000001");
        assert_eq!(server.parent_span_id(), Some("0000000000000005"));
        let child = spans.iter().find(|s| s.duration == 5).unwrap();
        assert_eq!(child.parent_span_id(), Some("0000000000000001"));
    }
}
