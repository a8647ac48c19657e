//! Span kinds in every format skein reads or writes, from one table: OTLP's `Span.SpanKind` enum,
//! the lowercase names Jaeger and OpenTelemetry give them (the `span.kind` tag, the query API's
//! `spanKind` parameter, the analytics documents' `spanKind`), and Zipkin v2's `kind`.

pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::zipkin::Kind as ZipkinKind;

/// One kind's names.
struct Names {
    kind: SpanKind,
    /// Lowercase, as Jaeger and OpenTelemetry name it.
    name: &'static str,
    /// Zipkin's kind and its uppercase name; Zipkin has neither internal nor unspecified spans.
    zipkin: Option<(ZipkinKind, &'static str)>,
}

/// Every OTLP kind, in OTLP's order.
const TABLE: [Names; 6] = [
    Names { kind: SpanKind::Unspecified, name: "unspecified", zipkin: None },
    Names { kind: SpanKind::Internal, name: "internal", zipkin: None },
    Names { kind: SpanKind::Server, name: "server", zipkin: Some((ZipkinKind::Server, "SERVER")) },
    Names { kind: SpanKind::Client, name: "client", zipkin: Some((ZipkinKind::Client, "CLIENT")) },
    Names { kind: SpanKind::Producer, name: "producer", zipkin: Some((ZipkinKind::Producer, "PRODUCER")) },
    Names { kind: SpanKind::Consumer, name: "consumer", zipkin: Some((ZipkinKind::Consumer, "CONSUMER")) },
];

/// The kinds whose spans serve a request (a call received, a message consumed): a service's own
/// calls and errors are counted on these, never on the calls it makes.
pub const SERVING: [SpanKind; 2] = [SpanKind::Server, SpanKind::Consumer];

fn row(kind: SpanKind) -> &'static Names {
    TABLE.iter().find(|names| names.kind == kind).expect("the table has every kind")
}

/// The kind of an OTLP `kind` field; a value OTLP does not define is unspecified.
pub fn from_otlp(value: i32) -> SpanKind {
    SpanKind::try_from(value).unwrap_or(SpanKind::Unspecified)
}

/// The lowercase name (`server`, ..., `unspecified`).
pub fn name(kind: SpanKind) -> &'static str {
    row(kind).name
}

/// The kind a lowercase name stands for (`unspecified` included); `None` for any other text.
pub fn from_name(name: &str) -> Option<SpanKind> {
    TABLE.iter().find(|names| names.name == name).map(|names| names.kind)
}

/// Every lowercase name, in OTLP's order: the values a client may ask for.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|names| names.name)
}

/// The `span.kind` tag Jaeger writes for a kind: none for an unspecified one.
pub fn jaeger_tag(kind: SpanKind) -> Option<&'static str> {
    (kind != SpanKind::Unspecified).then(|| name(kind))
}

/// The OTLP kind of a Zipkin kind.
pub fn from_zipkin(kind: ZipkinKind) -> SpanKind {
    TABLE.iter().find(|names| names.zipkin.is_some_and(|(zipkin, _)| zipkin == kind)).expect("every Zipkin kind").kind
}

/// The Zipkin kind of an OTLP kind; `None` for internal and unspecified, which Zipkin writes as no kind.
pub fn to_zipkin(kind: SpanKind) -> Option<ZipkinKind> {
    row(kind).zipkin.map(|(zipkin, _)| zipkin)
}

/// Zipkin's uppercase name of a kind (`SERVER`, ...).
pub fn zipkin_name(kind: ZipkinKind) -> &'static str {
    TABLE.iter().find_map(|names| names.zipkin.filter(|(zipkin, _)| *zipkin == kind)).expect("every Zipkin kind").1
}

/// The Zipkin kind an uppercase name stands for; `None` for any other text.
pub fn zipkin_from_name(name: &str) -> Option<ZipkinKind> {
    TABLE.iter().find_map(|names| names.zipkin.filter(|(_, zipkin_name)| *zipkin_name == name)).map(|(kind, _)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_otlp_kind_has_one_row_in_otlp_order() {
        for (value, names) in TABLE.iter().enumerate() {
            assert_eq!(names.kind as usize, value);
            assert_eq!(from_otlp(value as i32), names.kind);
        }
        assert_eq!(from_otlp(6), SpanKind::Unspecified, "a value OTLP does not define");
        assert_eq!(from_otlp(-1), SpanKind::Unspecified);
    }

    #[test]
    fn lowercase_names_round_trip_and_other_text_is_no_kind() {
        for kind in TABLE.iter().map(|names| names.kind) {
            assert_eq!(from_name(name(kind)), Some(kind));
        }
        assert_eq!(name(SpanKind::Server), "server");
        assert_eq!(from_name("unspecified"), Some(SpanKind::Unspecified));
        assert_eq!(from_name("SERVER"), None, "names are lowercase");
        assert_eq!(from_name("SPAN_KIND_SERVER"), None);
        assert_eq!(from_name(""), None);
        assert_eq!(
            names().collect::<Vec<_>>(),
            ["unspecified", "internal", "server", "client", "producer", "consumer"]
        );
    }

    #[test]
    fn jaeger_writes_no_tag_for_an_unspecified_kind() {
        assert_eq!(jaeger_tag(SpanKind::Unspecified), None);
        assert_eq!(jaeger_tag(SpanKind::Internal), Some("internal"));
        assert_eq!(jaeger_tag(SpanKind::Consumer), Some("consumer"));
    }

    #[test]
    fn zipkin_kinds_are_the_four_remote_kinds_with_uppercase_names() {
        for (zipkin, otlp, upper) in [
            (ZipkinKind::Client, SpanKind::Client, "CLIENT"),
            (ZipkinKind::Server, SpanKind::Server, "SERVER"),
            (ZipkinKind::Producer, SpanKind::Producer, "PRODUCER"),
            (ZipkinKind::Consumer, SpanKind::Consumer, "CONSUMER"),
        ] {
            assert_eq!(from_zipkin(zipkin), otlp);
            assert_eq!(to_zipkin(otlp), Some(zipkin));
            assert_eq!(zipkin_name(zipkin), upper);
            assert_eq!(zipkin_from_name(upper), Some(zipkin));
        }
        assert_eq!(to_zipkin(SpanKind::Internal), None);
        assert_eq!(to_zipkin(SpanKind::Unspecified), None);
        assert_eq!(zipkin_from_name("server"), None, "Zipkin's names are uppercase");
        assert_eq!(zipkin_from_name("INTERNAL"), None);
    }

    #[test]
    fn servers_and_consumers_serve_requests() {
        assert_eq!(SERVING.map(name), ["server", "consumer"]);
        assert!(!SERVING.contains(&SpanKind::Client) && !SERVING.contains(&SpanKind::Producer));
    }
}
