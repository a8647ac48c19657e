//! Span validation: what the collector refuses before anything reaches Kafka.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use skein_schemas::otlp_wire::{WireRequest, WireResource, WireSpan};

/// At most this many refusals of a request are described; the rest are only counted, so a
/// request of a million bad spans costs a counter, not a million messages.
pub const MAX_DESCRIBED: usize = 5;

/// Characters kept of each described refusal: a message quotes what the client sent (a trace id,
/// a span name), which a hostile client can make megabytes long.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Why a span was refused; the label of `skein_collector_spans_rejected_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    InvalidTraceId,
    InvalidSpanId,
    EndBeforeStart,
    SpanTooLarge,
    /// A span the receiver could not read (Zipkin: an unknown field or kind, a bad address).
    MalformedSpan,
    /// Started longer ago than `collector.max_span_age_ms`.
    TooOld,
    /// Starts further ahead than `collector.max_span_future_ms`.
    TooFarInFuture,
}

impl RejectReason {
    const ALL: [RejectReason; 7] = [
        RejectReason::InvalidTraceId,
        RejectReason::InvalidSpanId,
        RejectReason::EndBeforeStart,
        RejectReason::SpanTooLarge,
        RejectReason::MalformedSpan,
        RejectReason::TooOld,
        RejectReason::TooFarInFuture,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            RejectReason::InvalidTraceId => "invalid_trace_id",
            RejectReason::InvalidSpanId => "invalid_span_id",
            RejectReason::EndBeforeStart => "end_before_start",
            RejectReason::SpanTooLarge => "span_too_large",
            RejectReason::MalformedSpan => "malformed_span",
            RejectReason::TooOld => "too_old",
            RejectReason::TooFarInFuture => "too_far_in_future",
        }
    }
}

/// The window of start times the collector accepts, around its clock at one instant: what keeps
/// a client with a wrong clock (or a bug) from making the ingester create a daily index for a
/// day long gone or years ahead. Only receivers apply it; records replayed from Kafka are not
/// held to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    /// Earliest accepted start, ns since the epoch (0: any).
    earliest: u64,
    /// Latest accepted start, ns since the epoch (`u64::MAX`: any).
    latest: u64,
    /// The limits as configured, ms, for the refusal messages.
    max_age_ms: u64,
    max_future_ms: u64,
}

impl TimeBounds {
    /// The window around `now_nanos` (ns since the epoch); a limit of 0 leaves that side open.
    pub fn around(now_nanos: u64, max_age_ms: u64, max_future_ms: u64) -> Self {
        let nanos = |ms: u64| ms.saturating_mul(1_000_000);
        Self {
            earliest: if max_age_ms == 0 { 0 } else { now_nanos.saturating_sub(nanos(max_age_ms)) },
            latest: if max_future_ms == 0 { u64::MAX } else { now_nanos.saturating_add(nanos(max_future_ms)) },
            max_age_ms,
            max_future_ms,
        }
    }

    /// No bound on either side.
    pub fn unbounded() -> Self {
        Self::around(0, 0, 0)
    }

    fn check(&self, start: u64) -> Result<(), RejectReason> {
        if start < self.earliest {
            Err(RejectReason::TooOld)
        } else if start > self.latest {
            Err(RejectReason::TooFarInFuture)
        } else {
            Ok(())
        }
    }
}

/// The collector's limits on start times, as configured (`collector.max_span_age_ms`,
/// `collector.max_span_future_ms`); [`SpanTimeLimits::now`] fixes them to the clock once per
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpanTimeLimits {
    pub max_age_ms: u64,
    pub max_future_ms: u64,
}

impl SpanTimeLimits {
    /// The window around the collector's clock now.
    pub fn now(&self) -> TimeBounds {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        TimeBounds::around(now, self.max_age_ms, self.max_future_ms)
    }
}

/// One described refusal, with a message a user can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    /// The span's `service.name` (empty when it has none).
    pub service: String,
    pub message: String,
}

/// The spans of one request that were refused: all counted by reason, the first
/// [`MAX_DESCRIBED`] described.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rejections {
    counts: [usize; RejectReason::ALL.len()],
    described: Vec<Rejection>,
}

impl Rejections {
    /// Count one refusal; `service` and `message` are only called while fewer than
    /// [`MAX_DESCRIBED`] are described.
    pub fn add(&mut self, reason: RejectReason, service: impl FnOnce() -> String, message: impl FnOnce() -> String) {
        self.counts[reason as usize] += 1;
        if self.described.len() < MAX_DESCRIBED {
            let (service, message) = (clip(service()), clip(message()));
            self.described.push(Rejection { reason, service, message });
        }
    }

    /// Spans refused.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Refusals per reason, reasons without any left out.
    pub fn by_reason(&self) -> impl Iterator<Item = (RejectReason, usize)> + '_ {
        RejectReason::ALL.into_iter().zip(self.counts).filter(|(_, count)| *count > 0)
    }

    /// The first refusals, in the order they were found.
    pub fn described(&self) -> &[Rejection] {
        &self.described
    }

    /// Forget everything (a request about to be published again was already counted).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// One line for a client or a log: how many of `received`, the described ones, and how many
    /// more.
    pub fn summary(&self, received: usize) -> String {
        let total = self.total();
        let mut text = format!("{total} of {received} spans rejected");
        for (i, rejection) in self.described.iter().enumerate() {
            text.push_str(if i == 0 { ": " } else { "; " });
            text.push_str(&rejection.message);
        }
        if total > self.described.len() {
            text.push_str(&format!("; and {} more", total - self.described.len()));
        }
        text
    }
}

/// `text` cut to [`MAX_MESSAGE_CHARS`] characters, marked when cut.
fn clip(mut text: String) -> String {
    if let Some((end, _)) = text.char_indices().nth(MAX_MESSAGE_CHARS) {
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Remove invalid spans, and those starting outside `bounds`, from `request` (keeping the rest
/// in order) and count them.
pub fn retain_valid_spans(request: &mut WireRequest<'_>, bounds: &TimeBounds, rejections: &mut Rejections) {
    for resource in &mut request.resources {
        let shell = &resource.shell;
        for scope in &mut resource.scopes {
            scope.spans.retain(|span| match check(&wire_fields(span), bounds) {
                Ok(()) => true,
                Err(reason) => {
                    rejections.add(reason, || wire_service(shell), || describe(reason, &wire_fields(span), bounds));
                    false
                }
            });
        }
        resource.scopes.retain(|scope| !scope.spans.is_empty());
    }
    request.resources.retain(|resource: &WireResource<'_>| !resource.scopes.is_empty());
}

/// [`retain_valid_spans`] for a request held as structs (what the Jaeger and Zipkin receivers
/// convert to); resources and scopes left without spans are dropped.
pub fn retain_valid_otlp(request: &mut ExportTraceServiceRequest, bounds: &TimeBounds, rejections: &mut Rejections) {
    for resource_spans in &mut request.resource_spans {
        let resource = &resource_spans.resource;
        for scope_spans in &mut resource_spans.scope_spans {
            scope_spans.spans.retain(|span| {
                let fields = SpanFields {
                    trace_id: &span.trace_id,
                    span_id: &span.span_id,
                    name: &span.name,
                    start: span.start_time_unix_nano,
                    end: span.end_time_unix_nano,
                };
                match check(&fields, bounds) {
                    Ok(()) => true,
                    Err(reason) => {
                        rejections.add(reason, || service_of(resource.as_ref()), || describe(reason, &fields, bounds));
                        false
                    }
                }
            });
        }
        resource_spans.scope_spans.retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    request.resource_spans.retain(|resource_spans| !resource_spans.scope_spans.is_empty());
}

/// `service.name` of a resource, empty when absent.
pub fn service_of(resource: Option<&Resource>) -> String {
    resource
        .into_iter()
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(name) => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// `service.name` of a resource kept as bytes: its header fields decoded as a `ResourceSpans`
/// (only for the few refusals described).
fn wire_service(shell: &[&[u8]]) -> String {
    let bytes: Vec<u8> = shell.concat();
    let decoded = <ResourceSpans as prost::Message>::decode(bytes.as_slice()).ok();
    service_of(decoded.as_ref().and_then(|r| r.resource.as_ref()))
}

/// What validation looks at, whichever form the span is in.
struct SpanFields<'a> {
    trace_id: &'a [u8],
    span_id: &'a [u8],
    name: &'a str,
    start: u64,
    end: u64,
}

fn wire_fields<'a>(span: &WireSpan<'a>) -> SpanFields<'a> {
    SpanFields {
        trace_id: span.trace_id,
        span_id: span.span_id,
        name: span.name,
        start: span.start_time_unix_nano,
        end: span.end_time_unix_nano,
    }
}

fn check(span: &SpanFields<'_>, bounds: &TimeBounds) -> Result<(), RejectReason> {
    if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
        return Err(RejectReason::InvalidTraceId);
    }
    if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
        return Err(RejectReason::InvalidSpanId);
    }
    if span.end < span.start {
        return Err(RejectReason::EndBeforeStart);
    }
    bounds.check(span.start)
}

fn describe(reason: RejectReason, span: &SpanFields<'_>, bounds: &TimeBounds) -> String {
    match reason {
        RejectReason::InvalidTraceId => format!(
            "span {:?} has trace id {:?}: a trace id must be 16 bytes and not all zero",
            span.name,
            hex::encode(span.trace_id)
        ),
        RejectReason::InvalidSpanId => format!(
            "span {:?} of trace {} has span id {:?}: a span id must be 8 bytes and not all zero",
            span.name,
            hex::encode(span.trace_id),
            hex::encode(span.span_id)
        ),
        RejectReason::TooOld => format!(
            "span {} of trace {} starts at {}, more than collector.max_span_age_ms ({} ms) before the collector's clock: check the sender's clock",
            hex::encode(span.span_id),
            hex::encode(span.trace_id),
            rfc3339(span.start),
            bounds.max_age_ms
        ),
        RejectReason::TooFarInFuture => format!(
            "span {} of trace {} starts at {}, more than collector.max_span_future_ms ({} ms) after the collector's clock: check the sender's clock",
            hex::encode(span.span_id),
            hex::encode(span.trace_id),
            rfc3339(span.start),
            bounds.max_future_ms
        ),
        _ => format!(
            "span {} of trace {} ends ({} ns) before it starts ({} ns)",
            hex::encode(span.span_id),
            hex::encode(span.trace_id),
            span.end,
            span.start
        ),
    }
}

/// A start time as people read it (the raw nanoseconds when chrono cannot name it).
fn rfc3339(nanos: u64) -> String {
    i64::try_from(nanos)
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from_timestamp_nanos)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{nanos} ns"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn good(id: u8) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            ..Default::default()
        }
    }

    fn reasons(rejections: &Rejections) -> Vec<RejectReason> {
        rejections.described().iter().map(|r| r.reason).collect()
    }

    #[test]
    fn keeps_valid_spans_and_explains_each_refusal() {
        let zero_trace = Span { trace_id: vec![0; 16], ..good(2) };
        let short_span = Span { span_id: vec![1; 4], ..good(3) };
        let backwards = Span { start_time_unix_nano: 30, ..good(4) };
        let mut body = request(vec![good(1), zero_trace, short_span, backwards, good(5)]);
        body.resource_spans[0].resource = Some(Resource {
            attributes: vec![opentelemetry_proto::tonic::common::v1::KeyValue {
                key: "service.name".into(),
                value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                    value: Some(Value::StringValue("checkout".into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        let encoded = body.encode_to_vec();
        let mut req = WireRequest::parse(&encoded).unwrap();
        let mut rejections = Rejections::default();
        retain_valid_spans(&mut req, &TimeBounds::unbounded(), &mut rejections);
        assert_eq!(
            reasons(&rejections),
            vec![RejectReason::InvalidTraceId, RejectReason::InvalidSpanId, RejectReason::EndBeforeStart]
        );
        let described = rejections.described();
        assert!(described[0].message.contains("16 bytes"));
        assert!(described[2].message.contains("before it starts"));
        assert!(described.iter().all(|r| r.service == "checkout"), "{described:?}");
        assert_eq!(req.span_count(), 2);
    }

    #[test]
    fn a_million_refusals_keep_five_short_messages_and_a_count() {
        let mut rejections = Rejections::default();
        let long_name = "n".repeat(100_000);
        for _ in 0..1_000_000 {
            rejections.add(RejectReason::InvalidTraceId, String::new, || long_name.clone());
        }
        assert_eq!(rejections.total(), 1_000_000);
        assert_eq!(rejections.described().len(), MAX_DESCRIBED);
        assert!(rejections.described().iter().all(|r| r.message.chars().count() == MAX_MESSAGE_CHARS + 1));
        let summary = rejections.summary(1_000_001);
        assert!(summary.starts_with("1000000 of 1000001 spans rejected: "), "{summary}");
        assert!(summary.ends_with("; and 999995 more"), "{summary}");
        assert!(summary.len() < 2_000);
    }

    #[test]
    fn struct_requests_are_validated_alike() {
        let mut request = request(vec![
            good(1),
            Span { trace_id: vec![0; 16], ..good(2) },
            Span { start_time_unix_nano: 30, ..good(4) },
        ]);
        let mut rejections = Rejections::default();
        retain_valid_otlp(&mut request, &TimeBounds::unbounded(), &mut rejections);
        assert_eq!(reasons(&rejections), vec![RejectReason::InvalidTraceId, RejectReason::EndBeforeStart]);
        assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 1);
        let mut empty = super::tests::request(vec![Span { span_id: vec![0; 8], ..good(1) }]);
        retain_valid_otlp(&mut empty, &TimeBounds::unbounded(), &mut Rejections::default());
        assert!(empty.resource_spans.is_empty());
    }

    #[test]
    fn drops_empty_resource_and_scope_shells() {
        let encoded = request(vec![Span { span_id: vec![0; 8], ..good(1) }]).encode_to_vec();
        let mut req = WireRequest::parse(&encoded).unwrap();
        let mut rejections = Rejections::default();
        retain_valid_spans(&mut req, &TimeBounds::unbounded(), &mut rejections);
        assert_eq!(rejections.total(), 1);
        assert!(req.resources.is_empty());
    }

    #[test]
    fn every_refusal_is_counted_but_only_the_first_few_are_described() {
        let spans = (0..10_000).map(|_| Span { span_id: vec![0; 8], ..good(1) }).collect();
        let mut request = request(spans);
        let mut rejections = Rejections::default();
        retain_valid_otlp(&mut request, &TimeBounds::unbounded(), &mut rejections);
        assert_eq!(rejections.total(), 10_000);
        assert_eq!(rejections.by_reason().collect::<Vec<_>>(), [(RejectReason::InvalidSpanId, 10_000)]);
        assert_eq!(rejections.described().len(), MAX_DESCRIBED);
        let summary = rejections.summary(10_001);
        assert!(summary.starts_with("10000 of 10001 spans rejected: span \"\" of trace"), "{summary}");
        assert!(summary.ends_with("; and 9995 more"), "{summary}");
    }

    #[test]
    fn a_summary_names_each_described_refusal_and_the_rest_by_count() {
        let mut rejections = Rejections::default();
        for message in ["a", "b"] {
            rejections.add(RejectReason::InvalidTraceId, String::new, || message.into());
        }
        assert_eq!(rejections.summary(10), "2 of 10 spans rejected: a; b");
        let mut many = Rejections::default();
        for i in 0..7 {
            many.add(RejectReason::MalformedSpan, String::new, || i.to_string());
        }
        assert_eq!(many.summary(9), "7 of 9 spans rejected: 0; 1; 2; 3; 4; and 2 more");
    }

    const NOW: u64 = 1_800_000_000_000_000_000;
    const HOUR_NS: u64 = 3_600_000_000_000;

    fn starting_at(id: u8, start: u64) -> Span {
        Span { start_time_unix_nano: start, end_time_unix_nano: start + 1_000, ..good(id) }
    }

    #[test]
    fn spans_starting_outside_the_window_are_refused_as_too_old_or_too_far_in_future() {
        // A 7-day age limit and a 1-hour future limit, as the defaults.
        let bounds = TimeBounds::around(NOW, 7 * 24 * 3_600_000, 3_600_000);
        let spans = vec![
            starting_at(1, NOW - 7 * 24 * HOUR_NS),     // exactly at the age limit: kept
            starting_at(2, NOW - 7 * 24 * HOUR_NS - 1), // a nanosecond older: refused
            starting_at(3, NOW + HOUR_NS),              // exactly at the future limit: kept
            starting_at(4, NOW + HOUR_NS + 1),          // a nanosecond later: refused
            starting_at(5, NOW),
        ];
        let encoded = request(spans.clone()).encode_to_vec();
        let mut wire = WireRequest::parse(&encoded).unwrap();
        let mut rejections = Rejections::default();
        retain_valid_spans(&mut wire, &bounds, &mut rejections);
        assert_eq!(reasons(&rejections), vec![RejectReason::TooOld, RejectReason::TooFarInFuture]);
        assert_eq!(wire.span_count(), 3);
        let described = rejections.described();
        assert!(described[0].message.contains("span 0202020202020202 of trace"), "{}", described[0].message);
        assert!(described[0].message.contains("collector.max_span_age_ms (604800000 ms)"), "{}", described[0].message);
        assert!(described[1].message.contains("collector.max_span_future_ms (3600000 ms)"), "{}", described[1].message);
        assert!(described[1].message.contains("2027-01-15T09:00:00.000Z"), "{}", described[1].message);

        let mut structs = request(spans);
        let mut struct_rejections = Rejections::default();
        retain_valid_otlp(&mut structs, &bounds, &mut struct_rejections);
        assert_eq!(struct_rejections, rejections, "struct requests are bounded alike");
        assert_eq!(structs.resource_spans[0].scope_spans[0].spans.len(), 3);
    }

    #[test]
    fn a_zero_limit_leaves_its_side_of_the_window_open() {
        let spans = || vec![starting_at(1, 1), starting_at(2, u64::MAX - 1_000)];
        for (max_age_ms, max_future_ms, refused) in [
            (0, 0, vec![]),
            (0, 3_600_000, vec![RejectReason::TooFarInFuture]),
            (3_600_000, 0, vec![RejectReason::TooOld]),
        ] {
            let mut request = request(spans());
            let mut rejections = Rejections::default();
            retain_valid_otlp(&mut request, &TimeBounds::around(NOW, max_age_ms, max_future_ms), &mut rejections);
            assert_eq!(reasons(&rejections), refused, "max_age_ms {max_age_ms}, max_future_ms {max_future_ms}");
        }
    }

    #[test]
    fn limits_larger_than_the_clock_saturate_instead_of_wrapping() {
        let bounds = TimeBounds::around(HOUR_NS, u64::MAX, u64::MAX);
        let mut request = request(vec![starting_at(1, 1), starting_at(2, u64::MAX - 1_000)]);
        let mut rejections = Rejections::default();
        retain_valid_otlp(&mut request, &bounds, &mut rejections);
        assert!(rejections.is_empty(), "{rejections:?}");
    }

    #[test]
    fn the_window_follows_the_collectors_clock() {
        let limits = SpanTimeLimits { max_age_ms: 60_000, max_future_ms: 60_000 };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        let mut request = request(vec![
            starting_at(1, now),
            starting_at(2, now - 10 * 60_000_000_000),
            starting_at(3, now + 10 * 60_000_000_000),
        ]);
        let mut rejections = Rejections::default();
        retain_valid_otlp(&mut request, &limits.now(), &mut rejections);
        assert_eq!(reasons(&rejections), vec![RejectReason::TooOld, RejectReason::TooFarInFuture]);
    }
}
