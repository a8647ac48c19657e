//! Jaeger's span model as its clients send it (Thrift `jaeger.thrift` or protobuf `api_v2`). Both
//! wire forms decode into these types, and one conversion ([`super::to_otlp`]) turns them into OTLP.

/// What one client sends at once: its process and some of its spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    pub process: Process,
    pub spans: Vec<Span>,
}

/// The emitting service and its tags (hostname, ip, client version, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Process {
    pub service_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// All zero when the span names no parent by this field.
    pub parent_span_id: [u8; 8],
    pub operation_name: String,
    pub references: Vec<SpanRef>,
    /// Bit 1 sampled, bit 2 debug.
    pub flags: u32,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
    pub tags: Vec<Tag>,
    pub logs: Vec<Log>,
    /// api_v2 lets a span carry its own process, overriding the batch's.
    pub process: Option<Process>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub key: String,
    pub value: TagValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    String(String),
    Bool(bool),
    Int64(i64),
    Float64(f64),
    Binary(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    pub timestamp_unix_nano: u64,
    pub fields: Vec<Tag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    ChildOf,
    FollowsFrom,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRef {
    pub ref_type: RefType,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl Tag {
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: TagValue::String(value.into()) }
    }
}

/// A 128-bit trace id from Jaeger's two signed 64-bit halves.
pub fn trace_id_from_halves(high: i64, low: i64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

/// The (high, low) signed halves of a 128-bit trace id.
pub fn trace_id_halves(id: &[u8; 16]) -> (i64, i64) {
    let high = i64::from_be_bytes(id[..8].try_into().expect("eight bytes"));
    let low = i64::from_be_bytes(id[8..].try_into().expect("eight bytes"));
    (high, low)
}

/// The latest time in nanoseconds a microsecond field converts to: whole microseconds, so that
/// it converts back to microseconds (and again to nanoseconds) unchanged.
const MAX_MICROS_AS_NANOS: u64 = u64::MAX / 1_000 * 1_000;

/// Microseconds (Thrift's unit) to nanoseconds; negative values are clamped to zero so that
/// validation reports them as missing times, values beyond `u64` nanoseconds to the latest.
pub fn micros_to_nanos(micros: i64) -> u64 {
    (micros.max(0) as u64).checked_mul(1_000).unwrap_or(MAX_MICROS_AS_NANOS)
}
