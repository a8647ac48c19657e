//! Zipkin's proto3 contract (`zipkin.proto`: `ListOfSpans`), declared from its field numbers.

use std::net::{Ipv4Addr, Ipv6Addr};

use prost::Message;

use super::{strict, Annotation, Endpoint, Kind, RefusedSpan, Span, SpanFault, ZipkinError};

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOfSpans {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<ProtoSpan>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoSpan {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub parent_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub id: Vec<u8>,
    /// UNSPECIFIED=0, CLIENT=1, SERVER=2, PRODUCER=3, CONSUMER=4.
    #[prost(int32, tag = "4")]
    pub kind: i32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(fixed64, tag = "6")]
    pub timestamp: u64,
    #[prost(uint64, tag = "7")]
    pub duration: u64,
    #[prost(message, optional, tag = "8")]
    pub local_endpoint: Option<ProtoEndpoint>,
    #[prost(message, optional, tag = "9")]
    pub remote_endpoint: Option<ProtoEndpoint>,
    #[prost(message, repeated, tag = "10")]
    pub annotations: Vec<ProtoAnnotation>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub tags: std::collections::BTreeMap<String, String>,
    #[prost(bool, tag = "12")]
    pub debug: bool,
    #[prost(bool, tag = "13")]
    pub shared: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoEndpoint {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub ipv4: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub ipv6: Vec<u8>,
    #[prost(int32, tag = "4")]
    pub port: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAnnotation {
    #[prost(fixed64, tag = "1")]
    pub timestamp: u64,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Decode a `POST /api/v2/spans` body sent as `application/x-protobuf`; the first unreadable
/// span fails it.
pub fn decode_spans(body: &[u8]) -> Result<Vec<Span>, ZipkinError> {
    strict(|refused| decode_readable_spans(body, refused))
}

/// Decode a proto3 `ListOfSpans`, handing each span whose fields are unusable to `refused` and
/// returning the others in order. A body that is not valid protobuf fails as a whole.
pub fn decode_readable_spans(body: &[u8], refused: &mut dyn FnMut(RefusedSpan)) -> Result<Vec<Span>, ZipkinError> {
    let list = ListOfSpans::decode(body).map_err(|error| ZipkinError::Proto(error.to_string()))?;
    let mut spans = Vec::with_capacity(list.spans.len());
    for (index, span) in list.spans.into_iter().enumerate() {
        let service = span.local_endpoint.as_ref().map(|e| e.service_name.clone()).filter(|name| !name.is_empty());
        match span.into_model() {
            Ok(span) => spans.push(span),
            Err((fault, message)) => refused(RefusedSpan { index, fault, service, message }),
        }
    }
    Ok(spans)
}

fn span_id(field: &str, bytes: &[u8]) -> Result<[u8; 8], String> {
    bytes.try_into().map_err(|_| format!("{field} must be 8 bytes, got {}", bytes.len()))
}

impl ProtoSpan {
    fn into_model(self) -> Result<Span, (SpanFault, String)> {
        let other = |message: String| (SpanFault::Other, message);
        let trace_id = match self.trace_id.len() {
            16 => self.trace_id.as_slice().try_into().expect("sixteen bytes"),
            8 => {
                let mut id = [0u8; 16];
                id[8..].copy_from_slice(&self.trace_id);
                id
            }
            len => return Err((SpanFault::TraceId, format!("trace_id must be 8 or 16 bytes, got {len}"))),
        };
        if trace_id == [0; 16] {
            return Err((SpanFault::TraceId, "trace_id is all zeros".into()));
        }
        let kind = match self.kind {
            0 => None,
            1 => Some(Kind::Client),
            2 => Some(Kind::Server),
            3 => Some(Kind::Producer),
            4 => Some(Kind::Consumer),
            kind => return Err(other(format!("unknown kind {kind}"))),
        };
        Ok(Span {
            trace_id,
            parent_id: if self.parent_id.is_empty() {
                None
            } else {
                Some(span_id("parent_id", &self.parent_id).map_err(other)?)
            },
            id: span_id("id", &self.id).map_err(|message| (SpanFault::SpanId, message))?,
            kind,
            name: (!self.name.is_empty()).then_some(self.name),
            timestamp: (self.timestamp != 0).then_some(self.timestamp),
            duration: (self.duration != 0).then_some(self.duration),
            local_endpoint: self.local_endpoint.map(ProtoEndpoint::into_model).transpose().map_err(other)?,
            remote_endpoint: self.remote_endpoint.map(ProtoEndpoint::into_model).transpose().map_err(other)?,
            annotations: self
                .annotations
                .into_iter()
                .map(|a| Annotation { timestamp: a.timestamp, value: a.value })
                .collect(),
            tags: self.tags.into_iter().collect(),
            debug: self.debug,
            shared: self.shared,
        })
    }
}

impl ProtoEndpoint {
    fn into_model(self) -> Result<Endpoint, String> {
        let ipv4 = match self.ipv4.len() {
            0 => None,
            4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(self.ipv4.as_slice()).expect("four bytes"))),
            len => return Err(format!("endpoint ipv4 must be 4 bytes, got {len}")),
        };
        let ipv6 = match self.ipv6.len() {
            0 => None,
            16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(self.ipv6.as_slice()).expect("sixteen bytes"))),
            len => return Err(format!("endpoint ipv6 must be 16 bytes, got {len}")),
        };
        let port = match self.port {
            0 => None,
            1..=65535 => Some(self.port as u16),
            other => return Err(format!("endpoint port {other} is out of range")),
        };
        Ok(Endpoint { service_name: (!self.service_name.is_empty()).then_some(self.service_name), ipv4, ipv6, port })
    }
}

impl From<&Span> for ProtoSpan {
    fn from(span: &Span) -> Self {
        let endpoint = |e: &Endpoint| ProtoEndpoint {
            service_name: e.service_name.clone().unwrap_or_default(),
            ipv4: e.ipv4.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
            ipv6: e.ipv6.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
            port: e.port.map_or(0, i32::from),
        };
        ProtoSpan {
            trace_id: span.trace_id.to_vec(),
            parent_id: span.parent_id.map(|id| id.to_vec()).unwrap_or_default(),
            id: span.id.to_vec(),
            kind: match span.kind {
                None => 0,
                Some(Kind::Client) => 1,
                Some(Kind::Server) => 2,
                Some(Kind::Producer) => 3,
                Some(Kind::Consumer) => 4,
            },
            name: span.name.clone().unwrap_or_default(),
            timestamp: span.timestamp.unwrap_or_default(),
            duration: span.duration.unwrap_or_default(),
            local_endpoint: span.local_endpoint.as_ref().map(endpoint),
            remote_endpoint: span.remote_endpoint.as_ref().map(endpoint),
            annotations: span
                .annotations
                .iter()
                .map(|a| ProtoAnnotation { timestamp: a.timestamp, value: a.value.clone() })
                .collect(),
            tags: span.tags.iter().cloned().collect(),
            debug: span.debug,
            shared: span.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_spans_round_trip_and_bad_ids_are_named() {
        let span = Span {
            trace_id: [7; 16],
            parent_id: Some([1; 8]),
            id: [2; 8],
            kind: Some(Kind::Server),
            name: Some("get".into()),
            timestamp: Some(1_556_604_172_355_737),
            duration: Some(10),
            local_endpoint: Some(Endpoint {
                service_name: Some("api".into()),
                ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ipv6: None,
                port: Some(80),
            }),
            remote_endpoint: None,
            annotations: vec![Annotation { timestamp: 1_556_604_172_355_740, value: "ws".into() }],
            tags: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            debug: false,
            shared: true,
        };
        let body = ListOfSpans { spans: vec![ProtoSpan::from(&span)] }.encode_to_vec();
        assert_eq!(decode_spans(&body).unwrap(), vec![span.clone()]);

        let mut bad = ProtoSpan::from(&span);
        bad.id = vec![1, 2];
        let body = ListOfSpans { spans: vec![bad] }.encode_to_vec();
        assert_eq!(decode_spans(&body).unwrap_err().to_string(), "span 0: id must be 8 bytes, got 2");
        assert!(decode_spans(&[0x0a, 0xff]).unwrap_err().to_string().starts_with("malformed proto3"));

        let mut zero_trace = ProtoSpan::from(&span);
        zero_trace.trace_id = vec![0; 16];
        let body = ListOfSpans { spans: vec![zero_trace, ProtoSpan::from(&span)] }.encode_to_vec();
        let mut refused = Vec::new();
        assert_eq!(decode_readable_spans(&body, &mut |r| refused.push(r)).unwrap(), vec![span]);
        assert_eq!(
            refused,
            [RefusedSpan {
                index: 0,
                fault: SpanFault::TraceId,
                service: Some("api".into()),
                message: "trace_id is all zeros".into()
            }]
        );
    }
}
