//! `collector.limits`: OpenTelemetry's span limits (the SDK's names and meaning) and the spans a
//! request may carry, applied by every receiver.

use serde::{Deserialize, Serialize};
use skein_schemas::span_limits::SpanLimits;

/// Limits on what one span and one request may hold. The defaults are well above what SDKs
/// send (their own limits default to 128 attributes, events and links, and no length limit), so
/// they only cut what a broken or hostile client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Attributes kept per span; the rest are dropped and added to its `dropped_attributes_count`.
    pub span_attribute_count_limit: usize,
    /// Characters kept of a string attribute value (and of each string in an array) of spans,
    /// events and links; longer ones are cut at a character boundary.
    pub attribute_value_length_limit: usize,
    /// Events kept per span; the rest are dropped and added to its `dropped_events_count`.
    pub span_event_count_limit: usize,
    /// Links kept per span; the rest are dropped and added to its `dropped_links_count`.
    pub span_link_count_limit: usize,
    /// Attributes kept per event; the rest are dropped and added to its `dropped_attributes_count`.
    pub event_attribute_count_limit: usize,
    /// Attributes kept per link; the rest are dropped and added to its `dropped_attributes_count`.
    pub link_attribute_count_limit: usize,
    /// Spans one request may carry; a request with more is refused (413 / INVALID_ARGUMENT).
    pub max_spans_per_request: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            span_attribute_count_limit: 1_000,
            // Long enough for stack traces and SQL statements.
            attribute_value_length_limit: 131_072,
            span_event_count_limit: 1_000,
            span_link_count_limit: 1_000,
            event_attribute_count_limit: 1_000,
            link_attribute_count_limit: 1_000,
            // SDKs export at most 512 per batch, an OpenTelemetry Collector 8192 by default.
            max_spans_per_request: 65_536,
        }
    }
}

impl LimitsConfig {
    /// The span limits, for `skein_schemas::span_limits`.
    pub fn span_limits(&self) -> SpanLimits {
        SpanLimits {
            span_attribute_count_limit: self.span_attribute_count_limit,
            attribute_value_length_limit: self.attribute_value_length_limit,
            span_event_count_limit: self.span_event_count_limit,
            span_link_count_limit: self.span_link_count_limit,
            event_attribute_count_limit: self.event_attribute_count_limit,
            link_attribute_count_limit: self.link_attribute_count_limit,
        }
    }
}
