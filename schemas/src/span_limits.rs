//! OpenTelemetry's span limits (the SDK's `SpanLimits`, the same names and meaning), applied by
//! the collector to every span it receives: attributes, events and links beyond their count are
//! dropped and added to the span's `dropped_*_count`, string values longer than the length limit
//! are cut at a UTF-8 boundary.
//!
//! Spans received as OTLP protobuf are checked at the wire level ([`within_wire`]), and only a
//! span over a limit is rewritten ([`limit_wire`]): field by field, copying what stays, so the
//! rewrite never decodes a span with a million attributes into a million structs and its output
//! is never larger than its input. Spans converted from Jaeger or Zipkin are limited as structs
//! ([`limit_span`]).

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::otlp_wire::{put_varint, Field, Fields, WireRequest, LEN, VARINT};

/// The limits, as `collector.limits` configures them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    pub span_attribute_count_limit: usize,
    /// Characters (Unicode scalar values) kept of a string value, and of each string in an array.
    pub attribute_value_length_limit: usize,
    pub span_event_count_limit: usize,
    pub span_link_count_limit: usize,
    pub event_attribute_count_limit: usize,
    pub link_attribute_count_limit: usize,
}

impl SpanLimits {
    /// No limit at all.
    pub const NONE: SpanLimits = SpanLimits {
        span_attribute_count_limit: usize::MAX,
        attribute_value_length_limit: usize::MAX,
        span_event_count_limit: usize::MAX,
        span_link_count_limit: usize::MAX,
        event_attribute_count_limit: usize::MAX,
        link_attribute_count_limit: usize::MAX,
    };
}

/// What limiting removed, for the collector's metrics: each field counts the items a limit of that
/// name dropped (values cut, for `attribute_value_length_limit`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limited {
    /// Spans that were over a limit.
    pub spans: usize,
    pub span_attributes: usize,
    pub truncated_values: usize,
    pub events: usize,
    pub links: usize,
    pub event_attributes: usize,
    pub link_attributes: usize,
}

impl Limited {
    /// `(option name, count)` for every limit, in the order of [`SpanLimits`].
    pub fn by_limit(&self) -> [(&'static str, usize); 6] {
        [
            ("span_attribute_count_limit", self.span_attributes),
            ("attribute_value_length_limit", self.truncated_values),
            ("span_event_count_limit", self.events),
            ("span_link_count_limit", self.links),
            ("event_attribute_count_limit", self.event_attributes),
            ("link_attribute_count_limit", self.link_attributes),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }
}

// Field numbers of the messages limiting looks into (opentelemetry/proto/trace/v1/trace.proto,
// common/v1/common.proto).
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_DROPPED_ATTRIBUTES: u32 = 10;
const SPAN_EVENTS: u32 = 11;
const SPAN_DROPPED_EVENTS: u32 = 12;
const SPAN_LINKS: u32 = 13;
const SPAN_DROPPED_LINKS: u32 = 14;
const EVENT_ATTRIBUTES: u32 = 3;
const EVENT_DROPPED_ATTRIBUTES: u32 = 4;
const LINK_ATTRIBUTES: u32 = 4;
const LINK_DROPPED_ATTRIBUTES: u32 = 5;
const KEY_VALUE_VALUE: u32 = 2;
const ANY_STRING: u32 = 1;
const ANY_ARRAY: u32 = 5;
const ANY_KVLIST: u32 = 6;
const LIST_VALUES: u32 = 1;

/// Limit every span of a request read at the wire level: spans within the limits stay the bytes
/// they arrived as, the others are rewritten.
pub fn limit_wire_request(request: &mut WireRequest<'_>, limits: &SpanLimits) -> Limited {
    let mut limited = Limited::default();
    for span in request.resources.iter_mut().flat_map(|r| &mut r.scopes).flat_map(|s| &mut s.spans) {
        if !within_wire(&span.bytes, limits) {
            span.bytes = Cow::Owned(limit_wire(&span.bytes, limits, &mut limited));
        }
    }
    limited
}

/// Limit every span of a request held as structs.
pub fn limit_request(request: &mut ExportTraceServiceRequest, limits: &SpanLimits) -> Limited {
    let mut limited = Limited::default();
    for span in request.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        limit_span(span, limits, &mut limited);
    }
    limited
}

/// Whether a span, as validated bytes (see [`crate::otlp_wire`]), is within every limit: the fast
/// path, one look at the span's own fields; nested values are only read when their size could
/// hold a string over the length limit.
pub fn within_wire(span: &[u8], limits: &SpanLimits) -> bool {
    // Every field takes at least two bytes and a string is no longer than the span holding it:
    // a span this small cannot be over any limit (with the defaults, any span under 2000 bytes).
    let smallest_count = [
        limits.span_attribute_count_limit,
        limits.span_event_count_limit,
        limits.span_link_count_limit,
        limits.event_attribute_count_limit,
        limits.link_attribute_count_limit,
    ]
    .into_iter()
    .min()
    .unwrap_or(usize::MAX);
    if span.len() <= limits.attribute_value_length_limit && span.len() / 2 <= smallest_count {
        return true;
    }
    let (mut attributes, mut events, mut links) = (0usize, 0usize, 0usize);
    let mut fields = Fields::new(span, "Span");
    while let Ok(Some(field)) = fields.next_field() {
        match field.number {
            SPAN_ATTRIBUTES => {
                attributes += 1;
                if attributes > limits.span_attribute_count_limit || has_long_string(&field, limits) {
                    return false;
                }
            }
            SPAN_EVENTS => {
                events += 1;
                if events > limits.span_event_count_limit
                    || !nested_within(field.payload, EVENT_ATTRIBUTES, limits.event_attribute_count_limit, limits)
                {
                    return false;
                }
            }
            SPAN_LINKS => {
                links += 1;
                if links > limits.span_link_count_limit
                    || !nested_within(field.payload, LINK_ATTRIBUTES, limits.link_attribute_count_limit, limits)
                {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// An event or link within its attribute count and the length limit.
fn nested_within(message: &[u8], attributes_field: u32, count_limit: usize, limits: &SpanLimits) -> bool {
    // Every field takes at least two bytes: a message this small cannot be over either limit.
    if message.len() <= limits.attribute_value_length_limit && message.len() / 2 <= count_limit {
        return true;
    }
    let mut count = 0usize;
    let mut fields = Fields::new(message, "Span.Event");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == attributes_field {
            count += 1;
            if count > count_limit || has_long_string(&field, limits) {
                return false;
            }
        }
    }
    true
}

/// A `KeyValue` field holding a string (or a string in an array or list) over the length limit.
fn has_long_string(key_value: &Field<'_>, limits: &SpanLimits) -> bool {
    let limit = limits.attribute_value_length_limit;
    // A string of more than `limit` characters has more than `limit` bytes.
    key_value.payload.len() > limit && key_value_has_long_string(key_value.payload, limit)
}

fn key_value_has_long_string(key_value: &[u8], limit: usize) -> bool {
    let mut fields = Fields::new(key_value, "KeyValue");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == KEY_VALUE_VALUE && field.wire_type == LEN && any_has_long_string(field.payload, limit) {
            return true;
        }
    }
    false
}

fn any_has_long_string(any: &[u8], limit: usize) -> bool {
    if any.len() <= limit {
        return false;
    }
    let mut fields = Fields::new(any, "AnyValue");
    while let Ok(Some(field)) = fields.next_field() {
        let long = match field.number {
            ANY_STRING => chars_over(field.payload, limit),
            ANY_ARRAY => list_has_long_string(field.payload, limit, any_has_long_string),
            ANY_KVLIST => list_has_long_string(field.payload, limit, key_value_has_long_string),
            _ => false,
        };
        if long {
            return true;
        }
    }
    false
}

fn list_has_long_string(list: &[u8], limit: usize, element: fn(&[u8], usize) -> bool) -> bool {
    let mut fields = Fields::new(list, "ArrayValue");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == LIST_VALUES && element(field.payload, limit) {
            return true;
        }
    }
    false
}

/// More than `limit` characters in validated UTF-8.
fn chars_over(text: &[u8], limit: usize) -> bool {
    text.len() > limit && std::str::from_utf8(text).map_or(true, |text| text.chars().nth(limit).is_some())
}

/// The first `limit` characters of `text`.
fn cut(text: &str, limit: usize) -> &str {
    match text.char_indices().nth(limit) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The span, as validated bytes, rewritten within the limits (see [`within_wire`] for whether it
/// needs to be): what stays is copied field by field, dropped items are added to the span's
/// (and events' and links') `dropped_*_count`, long strings are cut.
pub fn limit_wire(span: &[u8], limits: &SpanLimits, limited: &mut Limited) -> Vec<u8> {
    limited.spans += 1;
    let mut out = Vec::with_capacity(span.len());
    let (mut attributes, mut events, mut links) = (0usize, 0usize, 0usize);
    // What this rewrite drops, and what the sender said it had dropped already.
    let (mut dropped_attributes, mut dropped_events, mut dropped_links) = (0u64, 0u64, 0u64);
    let (mut sent_attributes, mut sent_events, mut sent_links) = (0u64, 0u64, 0u64);
    let mut fields = Fields::new(span, "Span");
    while let Ok(Some(field)) = fields.next_field() {
        match field.number {
            SPAN_ATTRIBUTES if attributes < limits.span_attribute_count_limit => {
                attributes += 1;
                put_key_value(&mut out, &field, limits.attribute_value_length_limit, limited);
            }
            SPAN_ATTRIBUTES => {
                dropped_attributes += 1;
                limited.span_attributes += 1;
            }
            SPAN_EVENTS if events < limits.span_event_count_limit => {
                events += 1;
                let event = limit_nested(
                    field.payload,
                    (EVENT_ATTRIBUTES, EVENT_DROPPED_ATTRIBUTES),
                    limits.event_attribute_count_limit,
                    limits.attribute_value_length_limit,
                    limited,
                    |limited| limited.event_attributes += 1,
                );
                put_message(&mut out, SPAN_EVENTS, &event);
            }
            SPAN_EVENTS => {
                dropped_events += 1;
                limited.events += 1;
            }
            SPAN_LINKS if links < limits.span_link_count_limit => {
                links += 1;
                let link = limit_nested(
                    field.payload,
                    (LINK_ATTRIBUTES, LINK_DROPPED_ATTRIBUTES),
                    limits.link_attribute_count_limit,
                    limits.attribute_value_length_limit,
                    limited,
                    |limited| limited.link_attributes += 1,
                );
                put_message(&mut out, SPAN_LINKS, &link);
            }
            SPAN_LINKS => {
                dropped_links += 1;
                limited.links += 1;
            }
            // The counts the sender already dropped; the last one wins, as in any decoder.
            SPAN_DROPPED_ATTRIBUTES if field.wire_type == VARINT => sent_attributes = field.fixed,
            SPAN_DROPPED_EVENTS if field.wire_type == VARINT => sent_events = field.fixed,
            SPAN_DROPPED_LINKS if field.wire_type == VARINT => sent_links = field.fixed,
            _ => out.extend_from_slice(field.raw),
        }
    }
    put_count(&mut out, SPAN_DROPPED_ATTRIBUTES, sent_attributes.saturating_add(dropped_attributes));
    put_count(&mut out, SPAN_DROPPED_EVENTS, sent_events.saturating_add(dropped_events));
    put_count(&mut out, SPAN_DROPPED_LINKS, sent_links.saturating_add(dropped_links));
    out
}

/// An event or link within its attribute count and the length limit, as its message body.
fn limit_nested(
    message: &[u8],
    (attributes_field, dropped_field): (u32, u32),
    count_limit: usize,
    length_limit: usize,
    limited: &mut Limited,
    count_dropped: fn(&mut Limited),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let (mut count, mut dropped, mut sent) = (0usize, 0u64, 0u64);
    let mut fields = Fields::new(message, "Span.Event");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == attributes_field {
            if count < count_limit {
                count += 1;
                put_key_value(&mut out, &field, length_limit, limited);
            } else {
                dropped += 1;
                count_dropped(limited);
            }
        } else if field.number == dropped_field && field.wire_type == VARINT {
            sent = field.fixed;
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    put_count(&mut out, dropped_field, sent.saturating_add(dropped));
    out
}

/// A `KeyValue` field as received, or with its long strings cut.
fn put_key_value(out: &mut Vec<u8>, field: &Field<'_>, limit: usize, limited: &mut Limited) {
    if field.payload.len() <= limit || !key_value_has_long_string(field.payload, limit) {
        out.extend_from_slice(field.raw);
        return;
    }
    let body = cut_key_value(field.payload, limit, limited);
    put_message(out, field.number, &body);
}

fn cut_key_value(key_value: &[u8], limit: usize, limited: &mut Limited) -> Vec<u8> {
    let mut out = Vec::with_capacity(key_value.len().min(limit * 2));
    let mut fields = Fields::new(key_value, "KeyValue");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == KEY_VALUE_VALUE && field.wire_type == LEN && any_has_long_string(field.payload, limit) {
            let value = cut_any(field.payload, limit, limited);
            put_message(&mut out, KEY_VALUE_VALUE, &value);
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    out
}

fn cut_any(any: &[u8], limit: usize, limited: &mut Limited) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fields = Fields::new(any, "AnyValue");
    while let Ok(Some(field)) = fields.next_field() {
        match field.number {
            ANY_STRING if chars_over(field.payload, limit) => {
                limited.truncated_values += 1;
                // Validated UTF-8 (otlp_wire); a lossy view only guards against misuse.
                let text = String::from_utf8_lossy(field.payload);
                put_message(&mut out, ANY_STRING, cut(&text, limit).as_bytes());
            }
            ANY_ARRAY if field.payload.len() > limit => {
                let list = cut_list(field.payload, limit, limited, cut_any);
                put_message(&mut out, ANY_ARRAY, &list);
            }
            ANY_KVLIST if field.payload.len() > limit => {
                let list = cut_list(field.payload, limit, limited, cut_key_value);
                put_message(&mut out, ANY_KVLIST, &list);
            }
            _ => out.extend_from_slice(field.raw),
        }
    }
    out
}

fn cut_list(
    list: &[u8],
    limit: usize,
    limited: &mut Limited,
    element: fn(&[u8], usize, &mut Limited) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(list.len());
    let mut fields = Fields::new(list, "ArrayValue");
    while let Ok(Some(field)) = fields.next_field() {
        if field.number == LIST_VALUES && field.payload.len() > limit {
            let value = element(field.payload, limit, limited);
            put_message(&mut out, LIST_VALUES, &value);
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    out
}

fn put_message(out: &mut Vec<u8>, number: u32, body: &[u8]) {
    put_varint(out, u64::from((number << 3) | u32::from(LEN)));
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A `dropped_*_count` (uint32) field, left out when zero as proto3 does.
fn put_count(out: &mut Vec<u8>, number: u32, count: u64) {
    if count > 0 {
        put_varint(out, u64::from((number << 3) | u32::from(VARINT)));
        put_varint(out, count.min(u64::from(u32::MAX)));
    }
}

/// [`limit_wire`] for a span held as a struct (converted from Jaeger or Zipkin).
pub fn limit_span(span: &mut Span, limits: &SpanLimits, limited: &mut Limited) {
    let before = *limited;
    let length = limits.attribute_value_length_limit;
    let dropped = limit_attributes(&mut span.attributes, limits.span_attribute_count_limit, length, limited);
    span.dropped_attributes_count = span.dropped_attributes_count.saturating_add(dropped);
    limited.span_attributes += dropped as usize;
    if span.events.len() > limits.span_event_count_limit {
        let dropped = span.events.len() - limits.span_event_count_limit;
        span.events.truncate(limits.span_event_count_limit);
        span.dropped_events_count = span.dropped_events_count.saturating_add(saturate(dropped));
        limited.events += dropped;
    }
    for event in &mut span.events {
        let dropped = limit_attributes(&mut event.attributes, limits.event_attribute_count_limit, length, limited);
        event.dropped_attributes_count = event.dropped_attributes_count.saturating_add(dropped);
        limited.event_attributes += dropped as usize;
    }
    if span.links.len() > limits.span_link_count_limit {
        let dropped = span.links.len() - limits.span_link_count_limit;
        span.links.truncate(limits.span_link_count_limit);
        span.dropped_links_count = span.dropped_links_count.saturating_add(saturate(dropped));
        limited.links += dropped;
    }
    for link in &mut span.links {
        let dropped = limit_attributes(&mut link.attributes, limits.link_attribute_count_limit, length, limited);
        link.dropped_attributes_count = link.dropped_attributes_count.saturating_add(dropped);
        limited.link_attributes += dropped as usize;
    }
    if *limited != before {
        limited.spans += 1;
    }
}

fn saturate(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Keep the first `count_limit` attributes, cut their long strings; returns how many were dropped.
fn limit_attributes(attributes: &mut Vec<KeyValue>, count_limit: usize, length: usize, limited: &mut Limited) -> u32 {
    let dropped = attributes.len().saturating_sub(count_limit);
    attributes.truncate(count_limit);
    for attribute in attributes.iter_mut() {
        if let Some(value) = attribute.value.as_mut() {
            cut_value(value, length, limited);
        }
    }
    saturate(dropped)
}

fn cut_value(value: &mut AnyValue, limit: usize, limited: &mut Limited) {
    match value.value.as_mut() {
        Some(Value::StringValue(text)) if text.len() > limit => {
            let kept = cut(text, limit).len();
            if kept < text.len() {
                text.truncate(kept);
                limited.truncated_values += 1;
            }
        }
        Some(Value::ArrayValue(array)) => array.values.iter_mut().for_each(|v| cut_value(v, limit, limited)),
        Some(Value::KvlistValue(list)) => {
            for kv in &mut list.values {
                if let Some(v) = kv.value.as_mut() {
                    cut_value(v, limit, limited);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use prost::Message;

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
            ..Default::default()
        }
    }

    fn int(key: &str, value: i64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(Value::IntValue(value)) }),
            ..Default::default()
        }
    }

    fn limits() -> SpanLimits {
        SpanLimits {
            span_attribute_count_limit: 3,
            attribute_value_length_limit: 4,
            span_event_count_limit: 2,
            span_link_count_limit: 1,
            event_attribute_count_limit: 1,
            link_attribute_count_limit: 1,
        }
    }

    fn big_span() -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "a name longer than four".into(),
            attributes: vec![
                string("a", "éééééé"),
                int("b", 1),
                KeyValue {
                    key: "c".into(),
                    value: Some(AnyValue {
                        value: Some(Value::ArrayValue(ArrayValue {
                            values: vec![
                                AnyValue { value: Some(Value::StringValue("short".into())) },
                                AnyValue { value: Some(Value::StringValue("ok".into())) },
                            ],
                        })),
                    }),
                    ..Default::default()
                },
                int("d", 2),
                int("e", 3),
            ],
            dropped_attributes_count: 1,
            events: (0..4)
                .map(|i| Event {
                    name: format!("e{i}"),
                    attributes: vec![int("x", 1), int("y", 2)],
                    dropped_attributes_count: 5,
                    ..Default::default()
                })
                .collect(),
            links: vec![
                Link {
                    trace_id: vec![3; 16],
                    span_id: vec![4; 8],
                    attributes: vec![string("l", "abcdefgh")],
                    ..Default::default()
                },
                Link { trace_id: vec![5; 16], span_id: vec![6; 8], ..Default::default() },
            ],
            ..Default::default()
        }
    }

    fn expected_limited() -> Span {
        let mut span = big_span();
        span.attributes.truncate(3);
        span.attributes[0] = string("a", "éééé");
        if let Some(Value::ArrayValue(array)) = span.attributes[2].value.as_mut().and_then(|v| v.value.as_mut()) {
            array.values[0] = AnyValue { value: Some(Value::StringValue("shor".into())) };
        }
        span.dropped_attributes_count = 3;
        span.events.truncate(2);
        for event in &mut span.events {
            event.attributes.truncate(1);
            event.dropped_attributes_count = 6;
        }
        span.dropped_events_count = 2;
        span.links.truncate(1);
        span.links[0].attributes[0] = string("l", "abcd");
        span.dropped_links_count = 1;
        span
    }

    #[test]
    fn a_span_over_the_limits_is_rewritten_with_otel_semantics_at_the_wire_level() {
        let encoded = big_span().encode_to_vec();
        assert!(!within_wire(&encoded, &limits()));
        let mut limited = Limited::default();
        let rewritten = limit_wire(&encoded, &limits(), &mut limited);
        assert!(rewritten.len() < encoded.len());
        assert_eq!(Span::decode(rewritten.as_slice()).unwrap(), expected_limited());
        assert!(within_wire(&rewritten, &limits()));
        assert_eq!(
            limited,
            Limited {
                spans: 1,
                span_attributes: 2,
                truncated_values: 3,
                events: 2,
                links: 1,
                event_attributes: 2,
                link_attributes: 0
            }
        );
    }

    #[test]
    fn a_struct_span_is_limited_like_the_wire_one() {
        let mut span = big_span();
        let mut limited = Limited::default();
        limit_span(&mut span, &limits(), &mut limited);
        assert_eq!(span, expected_limited());
        assert_eq!(limited.truncated_values, 3);
        assert_eq!(limited.spans, 1);
    }

    #[test]
    fn a_span_within_the_limits_is_left_alone() {
        let span = Span { attributes: vec![string("a", "abcd"), int("b", 1)], ..Default::default() };
        assert!(within_wire(&span.encode_to_vec(), &limits()));
        let mut struct_span = span.clone();
        let mut limited = Limited::default();
        limit_span(&mut struct_span, &limits(), &mut limited);
        assert_eq!(struct_span, span);
        assert!(limited.is_empty());
        assert!(within_wire(&big_span().encode_to_vec(), &SpanLimits::NONE));
    }

    #[test]
    fn strings_are_cut_by_characters_never_inside_one() {
        assert_eq!(cut("aé€😀b", 4), "aé€😀");
        assert_eq!(cut("aé€😀b", 3), "aé€");
        assert!(!chars_over("éééé".as_bytes(), 4), "8 bytes but 4 characters");
        assert!(chars_over("ééééé".as_bytes(), 4));
    }
}
