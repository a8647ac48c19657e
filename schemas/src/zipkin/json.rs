//! Zipkin v2 JSON: a list of span objects. Unknown fields are refused by name, so a client sending
//! some other format (v1 JSON, an OTLP body) gets told rather than silently losing data.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::{parse_span_id, parse_trace_id, strict, Annotation, Endpoint, RefusedSpan, Span, SpanFault, ZipkinError};
use crate::span_kind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonSpan {
    // Optional here so a missing id is refused as that id, not as an unreadable span.
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    duration: Option<u64>,
    #[serde(default)]
    local_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    remote_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    annotations: Vec<JsonAnnotation>,
    #[serde(default, deserialize_with = "tags")]
    tags: Vec<(String, String)>,
    #[serde(default)]
    debug: Option<bool>,
    #[serde(default)]
    shared: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonEndpoint {
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    ipv4: Option<String>,
    #[serde(default)]
    ipv6: Option<String>,
    #[serde(default)]
    port: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonAnnotation {
    timestamp: u64,
    value: String,
}

/// Tags in the order sent, read straight into pairs. Zipkin tags are strings; some clients send
/// numbers or booleans, kept as their text; `null` reads as no tags.
fn tags<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Tags;
    struct Text(String);

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct TextVisitor;
            impl serde::de::Visitor<'_> for TextVisitor {
                type Value = Text;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a tag value (string, number or boolean)")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                    Ok(Text(v.to_owned()))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                    Ok(Text(v))
                }
                fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                    Ok(Text(serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())))
                }
            }
            deserializer.deserialize_any(TextVisitor)
        }
    }

    impl<'de> serde::de::Visitor<'de> for Tags {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of string tags")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut tags = Vec::with_capacity(map.size_hint().unwrap_or(8));
            while let Some((key, Text(value))) = map.next_entry::<String, Text>()? {
                tags.push((key, value));
            }
            Ok(tags)
        }
    }
    deserializer.deserialize_any(Tags)
}

/// Decode a `POST /api/v2/spans` JSON body; the first unreadable span fails it.
pub fn decode_spans(body: &[u8]) -> Result<Vec<Span>, ZipkinError> {
    strict(|refused| decode_readable_spans(body, refused))
}

/// Decode a `POST /api/v2/spans` JSON body, handing each span that cannot be read to `refused`
/// and returning the others in order. Only a body that is not a JSON list fails as a whole.
pub fn decode_readable_spans(body: &[u8], refused: &mut dyn FnMut(RefusedSpan)) -> Result<Vec<Span>, ZipkinError> {
    let list: Vec<&serde_json::value::RawValue> =
        serde_json::from_slice(body).map_err(|error| ZipkinError::Json(error.to_string()))?;
    let mut spans = Vec::with_capacity(list.len());
    for (index, raw) in list.into_iter().enumerate() {
        let read = serde_json::from_str::<JsonSpan>(raw.get())
            .map_err(|error| {
                let service = serde_json::from_str::<ServiceOnly>(raw.get())
                    .ok()
                    .and_then(|probe| probe.local_endpoint?.service_name);
                RefusedSpan { index, fault: SpanFault::Other, service, message: error.to_string() }
            })
            .and_then(|span| {
                let service = span.local_endpoint.as_ref().and_then(|e| e.service_name.clone());
                span.into_model().map_err(|(fault, message)| RefusedSpan { index, fault, service, message })
            });
        match read {
            Ok(span) => spans.push(span),
            Err(refusal) => refused(refusal),
        }
    }
    Ok(spans)
}

/// Just the service of a span that could not be read, to say whose span it was.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceOnly {
    #[serde(default)]
    local_endpoint: Option<ServiceName>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceName {
    #[serde(default)]
    service_name: Option<String>,
}

impl JsonSpan {
    fn into_model(self) -> Result<Span, (SpanFault, String)> {
        let other = |message: String| (SpanFault::Other, message);
        let kind = match self.kind.as_deref() {
            None => None,
            Some(name) => Some(
                span_kind::zipkin_from_name(name)
                    .ok_or_else(|| other(format!("kind '{name}' is not CLIENT, SERVER, PRODUCER or CONSUMER")))?,
            ),
        };
        let trace_id = self.trace_id.ok_or((SpanFault::TraceId, "traceId is missing".to_string()))?;
        let id = self.id.ok_or((SpanFault::SpanId, "id is missing".to_string()))?;
        let tags = self.tags;
        Ok(Span {
            trace_id: parse_trace_id(&trace_id)?,
            parent_id: self.parent_id.as_deref().map(|id| parse_span_id("parentId", id)).transpose().map_err(other)?,
            id: parse_span_id("id", &id).map_err(|message| (SpanFault::SpanId, message))?,
            kind,
            name: self.name,
            timestamp: self.timestamp,
            duration: self.duration,
            local_endpoint: self.local_endpoint.map(JsonEndpoint::into_model).transpose().map_err(other)?,
            remote_endpoint: self.remote_endpoint.map(JsonEndpoint::into_model).transpose().map_err(other)?,
            annotations: self
                .annotations
                .into_iter()
                .map(|a| Annotation { timestamp: a.timestamp, value: a.value })
                .collect(),
            tags,
            debug: self.debug.unwrap_or(false),
            shared: self.shared.unwrap_or(false),
        })
    }
}

impl JsonEndpoint {
    fn into_model(self) -> Result<Endpoint, String> {
        Ok(Endpoint {
            service_name: self.service_name,
            ipv4: self
                .ipv4
                .map(|ip| ip.parse::<Ipv4Addr>().map_err(|_| format!("ipv4 '{ip}' is not an IPv4 address")))
                .transpose()?,
            ipv6: self
                .ipv6
                .map(|ip| ip.parse::<Ipv6Addr>().map_err(|_| format!("ipv6 '{ip}' is not an IPv6 address")))
                .transpose()?,
            port: self.port.filter(|port| *port != 0),
        })
    }
}

/// Encode spans as a `POST /api/v2/spans` JSON body, the form [`decode_spans`] reads. Unset fields
/// are left out; `annotations` and `tags` are always written, tags in their order.
pub fn encode_spans(spans: &[Span]) -> Vec<u8> {
    let list: Vec<JsonSpanOut<'_>> = spans.iter().map(JsonSpanOut::from).collect();
    serde_json::to_vec(&list).expect("Zipkin spans serialize")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpanOut<'a> {
    trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_endpoint: Option<JsonEndpointOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_endpoint: Option<JsonEndpointOut<'a>>,
    annotations: Vec<JsonAnnotationOut<'a>>,
    #[serde(serialize_with = "tags_out")]
    tags: &'a [(String, String)],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    debug: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    shared: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEndpointOut<'a> {
    service_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<Ipv6Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

#[derive(Serialize)]
struct JsonAnnotationOut<'a> {
    timestamp: u64,
    value: &'a str,
}

fn tags_out<S: serde::Serializer>(tags: &&[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(tags.iter().map(|(key, value)| (key, value)))
}

impl<'a> From<&'a Span> for JsonSpanOut<'a> {
    fn from(span: &'a Span) -> Self {
        JsonSpanOut {
            trace_id: hex::encode(span.trace_id),
            parent_id: span.parent_id.map(hex::encode),
            id: hex::encode(span.id),
            kind: span.kind.map(crate::span_kind::zipkin_name),
            name: span.name.as_deref(),
            timestamp: span.timestamp,
            duration: span.duration,
            local_endpoint: span.local_endpoint.as_ref().map(JsonEndpointOut::from),
            remote_endpoint: span.remote_endpoint.as_ref().map(JsonEndpointOut::from),
            annotations: span
                .annotations
                .iter()
                .map(|a| JsonAnnotationOut { timestamp: a.timestamp, value: &a.value })
                .collect(),
            tags: &span.tags,
            debug: span.debug,
            shared: span.shared,
        }
    }
}

impl<'a> From<&'a Endpoint> for JsonEndpointOut<'a> {
    fn from(endpoint: &'a Endpoint) -> Self {
        JsonEndpointOut {
            service_name: endpoint.service_name.as_deref(),
            ipv4: endpoint.ipv4,
            ipv6: endpoint.ipv6,
            port: endpoint.port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipkin::Kind;

    #[test]
    fn a_full_span_is_read_with_sixty_four_bit_trace_ids_right_aligned() {
        let body = br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
            "kind":"CLIENT","name":"get /api","timestamp":1556604172355737,"duration":1431,
            "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},
            "remoteEndpoint":{"ipv6":"::1","port":0},
            "annotations":[{"timestamp":1556604172355800,"value":"wr"}],
            "tags":{"http.method":"GET","http.status_code":200,"retry":true},"debug":true}]"#;
        let spans = decode_spans(body).unwrap();
        let span = &spans[0];
        assert_eq!(hex::encode(span.trace_id), "00000000000000005af7183fb1d4cf5f");
        assert_eq!(span.kind, Some(Kind::Client));
        assert_eq!(span.local_endpoint.as_ref().unwrap().port, Some(3306));
        assert_eq!(span.remote_endpoint.as_ref().unwrap().port, None);
        assert_eq!(
            span.tags,
            [
                ("http.method".into(), "GET".into()),
                ("http.status_code".into(), "200".into()),
                ("retry".into(), "true".into())
            ]
        );
        assert!(span.debug && !span.shared);
    }

    #[test]
    fn bad_input_is_named() {
        let cases: [(&[u8], &str); 6] = [
            (b"{", "malformed JSON"),
            (br#"[{"traceId":"xyz","id":"1"}]"#, "traceId 'xyz' is not hex"),
            (br#"[{"traceId":"1","id":"1","kind":"SIDEWAYS"}]"#, "kind 'SIDEWAYS'"),
            (br#"[{"traceId":"1","id":"1","binaryAnnotations":[]}]"#, "unknown field `binaryAnnotations`"),
            (br#"[{"traceId":"1","id":"00000000000000001"}]"#, "must be 16 hex characters"),
            (br#"[{"traceId":"1"}]"#, "span 0: id is missing"),
        ];
        for (body, expected) in cases {
            let error = decode_spans(body).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should contain {expected}");
        }
    }

    #[test]
    fn readable_spans_are_kept_and_each_unreadable_one_is_handed_over_with_its_fault() {
        let body = br#"[{"traceId":"1","id":"2","localEndpoint":{"serviceName":"ok"}},
            {"id":"3","localEndpoint":{"serviceName":"no-trace"}},
            {"traceId":"1","id":"xyz"},
            {"traceId":"1","id":"4","colour":"red","localEndpoint":{"serviceName":"painter"}},
            {"traceId":"1","id":"5"}]"#;
        let mut refused = Vec::new();
        let spans = decode_readable_spans(body, &mut |r| refused.push(r)).unwrap();
        assert_eq!(spans.iter().map(|s| s.id[7]).collect::<Vec<_>>(), [2, 5]);
        let seen: Vec<_> = refused.iter().map(|r| (r.index, r.fault, r.service.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (1, SpanFault::TraceId, Some("no-trace")),
                (2, SpanFault::SpanId, None),
                (3, SpanFault::Other, Some("painter"))
            ]
        );
        assert!(refused[2].message.contains("unknown field `colour`"), "{}", refused[2].message);
        assert!(decode_readable_spans(b"{}", &mut |_| {}).is_err(), "a body that is not a list fails whole");
    }

    #[test]
    fn encoded_spans_read_back_unchanged() {
        let full = Span {
            trace_id: [7; 16],
            parent_id: Some([1; 8]),
            id: [2; 8],
            kind: Some(Kind::Producer),
            name: Some("send order".into()),
            timestamp: Some(1_556_604_172_355_737),
            duration: Some(10),
            local_endpoint: Some(Endpoint {
                service_name: Some("api".into()),
                ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ipv6: None,
                port: Some(80),
            }),
            remote_endpoint: Some(Endpoint {
                service_name: None,
                ipv4: None,
                ipv6: Some(Ipv6Addr::LOCALHOST),
                port: Some(9092),
            }),
            annotations: vec![Annotation { timestamp: 1_556_604_172_355_740, value: "ws".into() }],
            tags: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
            debug: true,
            shared: true,
        };
        let bare =
            Span { trace_id: [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], id: [3; 8], ..Default::default() };
        let spans = vec![full, bare];
        assert_eq!(decode_spans(&encode_spans(&spans)).unwrap(), spans);
    }

    #[test]
    fn unset_fields_are_left_out_and_tags_keep_their_order() {
        let span = Span {
            trace_id: [1; 16],
            id: [2; 8],
            tags: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(encode_spans(&[span])).unwrap(),
            r#"[{"traceId":"01010101010101010101010101010101","id":"0202020202020202","annotations":[],"tags":{"z":"1","a":"2"}}]"#
        );
    }
}
