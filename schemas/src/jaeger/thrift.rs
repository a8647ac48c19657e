//! Jaeger's Thrift IDL (`jaeger.thrift`, `agent.thrift`): a `Batch` as POSTed to `/api/traces`,
//! and the agent's `emitBatch` one-way call as sent in UDP datagrams.

use super::model::{micros_to_nanos, trace_id_from_halves, Batch, Log, Process, RefType, Span, SpanRef, Tag, TagValue};
use crate::thrift::{Protocol, Reader, TType, ThriftError, Writer, MESSAGE_CALL, MESSAGE_ONEWAY};

/// Decode a bare `Batch` struct (Thrift over HTTP, binary protocol).
pub fn decode_batch(bytes: &[u8], protocol: Protocol) -> Result<Batch, ThriftError> {
    let mut reader = Reader::new(bytes, protocol);
    let batch = read_batch(&mut reader)?;
    Ok(batch)
}

/// What an agent datagram carried.
#[derive(Debug)]
pub enum AgentMessage {
    /// `emitBatch(1: jaeger.Batch batch)`.
    Batch(Batch),
    /// `emitZipkinBatch(1: list<zipkincore.Span>)`: Zipkin's Thrift, which no current client sends.
    ZipkinBatch,
}

/// Decode one agent datagram: a Thrift message calling `Agent.emitBatch`.
pub fn decode_agent_message(bytes: &[u8], protocol: Protocol) -> Result<AgentMessage, ThriftError> {
    let mut reader = Reader::new(bytes, protocol);
    let (name, kind, _seq) = reader.message_begin()?;
    if kind != MESSAGE_ONEWAY && kind != MESSAGE_CALL {
        return Err(ThriftError::BadMessage(format!("message type {kind} (expected a call)")));
    }
    match name {
        "emitBatch" => {}
        "emitZipkinBatch" => return Ok(AgentMessage::ZipkinBatch),
        other => return Err(ThriftError::BadMessage(format!("unknown method '{other}' (expected emitBatch)"))),
    }
    let mut batch = None;
    reader.struct_begin()?;
    while let Some(field) = reader.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::Struct) => batch = Some(read_batch(&mut reader)?),
            (_, other) => reader.skip(other)?,
        }
    }
    reader.struct_end();
    batch.map(AgentMessage::Batch).ok_or(ThriftError::MissingField("emitBatch.batch"))
}

fn read_batch(r: &mut Reader<'_>) -> Result<Batch, ThriftError> {
    let mut process = None;
    let mut spans = None;
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::Struct) => process = Some(read_process(r)?),
            (2, TType::List) => spans = Some(read_list(r, read_span)?),
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    Ok(Batch {
        process: process.ok_or(ThriftError::MissingField("Batch.process"))?,
        spans: spans.ok_or(ThriftError::MissingField("Batch.spans"))?,
    })
}

fn read_list<T>(
    r: &mut Reader<'_>,
    read: fn(&mut Reader<'_>) -> Result<T, ThriftError>,
) -> Result<Vec<T>, ThriftError> {
    let (element, len) = r.list_begin()?;
    if element != TType::Struct {
        for _ in 0..len {
            r.skip(element)?;
        }
        return Err(ThriftError::Invalid(format!("list of {element:?} where structs were expected")));
    }
    // `len` is bounded by the bytes left; cap the up-front reservation anyway.
    let mut items = Vec::with_capacity(len.min(1024));
    for _ in 0..len {
        items.push(read(r)?);
    }
    Ok(items)
}

fn read_process(r: &mut Reader<'_>) -> Result<Process, ThriftError> {
    let mut service_name = None;
    let mut tags = Vec::new();
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::String) => service_name = Some(r.string("Process.serviceName")?.to_owned()),
            (2, TType::List) => tags = read_list(r, read_tag)?,
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    Ok(Process { service_name: service_name.ok_or(ThriftError::MissingField("Process.serviceName"))?, tags })
}

fn read_tag(r: &mut Reader<'_>) -> Result<Tag, ThriftError> {
    let mut key = None;
    let mut v_type = None;
    let (mut v_str, mut v_double, mut v_bool, mut v_long, mut v_binary) = (None, None, None, None, None);
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::String) => key = Some(r.string("Tag.key")?.to_owned()),
            (2, TType::I32) => v_type = Some(r.i32()?),
            (3, TType::String) => v_str = Some(r.string("Tag.vStr")?.to_owned()),
            (4, TType::Double) => v_double = Some(r.double()?),
            (5, TType::Bool) => v_bool = Some(r.bool()?),
            (6, TType::I64) => v_long = Some(r.i64()?),
            (7, TType::String) => v_binary = Some(r.binary()?.to_vec()),
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    let key = key.ok_or(ThriftError::MissingField("Tag.key"))?;
    // As Jaeger's own translation: a missing value of the declared type reads as its zero value.
    let value = match v_type.ok_or(ThriftError::MissingField("Tag.vType"))? {
        0 => TagValue::String(v_str.unwrap_or_default()),
        1 => TagValue::Float64(v_double.unwrap_or_default()),
        2 => TagValue::Bool(v_bool.unwrap_or_default()),
        3 => TagValue::Int64(v_long.unwrap_or_default()),
        4 => TagValue::Binary(v_binary.unwrap_or_default()),
        other => return Err(ThriftError::Invalid(format!("tag '{key}' has unknown vType {other}"))),
    };
    Ok(Tag { key, value })
}

fn read_log(r: &mut Reader<'_>) -> Result<Log, ThriftError> {
    let mut timestamp = None;
    let mut fields = None;
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::I64) => timestamp = Some(r.i64()?),
            (2, TType::List) => fields = Some(read_list(r, read_tag)?),
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    Ok(Log {
        timestamp_unix_nano: micros_to_nanos(timestamp.ok_or(ThriftError::MissingField("Log.timestamp"))?),
        fields: fields.ok_or(ThriftError::MissingField("Log.fields"))?,
    })
}

fn read_span_ref(r: &mut Reader<'_>) -> Result<SpanRef, ThriftError> {
    let (mut ref_type, mut low, mut high, mut span_id) = (None, None, None, None);
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::I32) => ref_type = Some(r.i32()?),
            (2, TType::I64) => low = Some(r.i64()?),
            (3, TType::I64) => high = Some(r.i64()?),
            (4, TType::I64) => span_id = Some(r.i64()?),
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    let ref_type = match ref_type.ok_or(ThriftError::MissingField("SpanRef.refType"))? {
        0 => RefType::ChildOf,
        1 => RefType::FollowsFrom,
        other => return Err(ThriftError::Invalid(format!("unknown SpanRef.refType {other}"))),
    };
    Ok(SpanRef {
        ref_type,
        trace_id: trace_id_from_halves(
            high.ok_or(ThriftError::MissingField("SpanRef.traceIdHigh"))?,
            low.ok_or(ThriftError::MissingField("SpanRef.traceIdLow"))?,
        ),
        span_id: span_id.ok_or(ThriftError::MissingField("SpanRef.spanId"))?.to_be_bytes(),
    })
}

fn read_span(r: &mut Reader<'_>) -> Result<Span, ThriftError> {
    let (mut low, mut high, mut span_id, mut parent) = (None, None, None, None);
    let (mut operation_name, mut flags, mut start, mut duration) = (None, None, None, None);
    let (mut references, mut tags, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    r.struct_begin()?;
    while let Some(field) = r.field_begin()? {
        match (field.id, field.ttype) {
            (1, TType::I64) => low = Some(r.i64()?),
            (2, TType::I64) => high = Some(r.i64()?),
            (3, TType::I64) => span_id = Some(r.i64()?),
            (4, TType::I64) => parent = Some(r.i64()?),
            (5, TType::String) => operation_name = Some(r.string("Span.operationName")?.to_owned()),
            (6, TType::List) => references = read_list(r, read_span_ref)?,
            (7, TType::I32) => flags = Some(r.i32()?),
            (8, TType::I64) => start = Some(r.i64()?),
            (9, TType::I64) => duration = Some(r.i64()?),
            (10, TType::List) => tags = read_list(r, read_tag)?,
            (11, TType::List) => logs = read_list(r, read_log)?,
            (_, other) => r.skip(other)?,
        }
    }
    r.struct_end();
    Ok(Span {
        trace_id: trace_id_from_halves(
            high.ok_or(ThriftError::MissingField("Span.traceIdHigh"))?,
            low.ok_or(ThriftError::MissingField("Span.traceIdLow"))?,
        ),
        span_id: span_id.ok_or(ThriftError::MissingField("Span.spanId"))?.to_be_bytes(),
        parent_span_id: parent.ok_or(ThriftError::MissingField("Span.parentSpanId"))?.to_be_bytes(),
        operation_name: operation_name.ok_or(ThriftError::MissingField("Span.operationName"))?,
        references,
        flags: flags.ok_or(ThriftError::MissingField("Span.flags"))? as u32,
        start_time_unix_nano: micros_to_nanos(start.ok_or(ThriftError::MissingField("Span.startTime"))?),
        duration_nanos: micros_to_nanos(duration.ok_or(ThriftError::MissingField("Span.duration"))?),
        tags,
        logs,
        process: None,
    })
}

/// Encode a batch as a bare `Batch` struct (what Thrift-over-HTTP clients POST).
pub fn encode_batch(batch: &Batch, protocol: Protocol) -> Vec<u8> {
    let mut w = Writer::new(protocol);
    write_batch(&mut w, batch);
    w.finish()
}

/// Encode a batch as an agent datagram (`emitBatch` one-way message).
pub fn encode_agent_message(batch: &Batch, protocol: Protocol) -> Vec<u8> {
    let mut w = Writer::new(protocol);
    w.message_begin("emitBatch", MESSAGE_ONEWAY, 1);
    w.struct_begin();
    w.field_struct_begin(1);
    write_batch_fields(&mut w, batch);
    w.struct_end();
    w.struct_end();
    w.finish()
}

fn write_batch(w: &mut Writer, batch: &Batch) {
    w.struct_begin();
    write_batch_fields(w, batch);
    w.struct_end();
}

fn write_batch_fields(w: &mut Writer, batch: &Batch) {
    w.field_struct_begin(1);
    w.field_binary(1, batch.process.service_name.as_bytes());
    write_tags(w, 2, &batch.process.tags);
    w.struct_end();
    w.field_list_begin(2, TType::Struct, batch.spans.len());
    for span in &batch.spans {
        write_span(w, span);
    }
}

fn write_span(w: &mut Writer, span: &Span) {
    let (high, low) = super::model::trace_id_halves(&span.trace_id);
    w.struct_begin();
    w.field_i64(1, low);
    w.field_i64(2, high);
    w.field_i64(3, i64::from_be_bytes(span.span_id));
    w.field_i64(4, i64::from_be_bytes(span.parent_span_id));
    w.field_binary(5, span.operation_name.as_bytes());
    if !span.references.is_empty() {
        w.field_list_begin(6, TType::Struct, span.references.len());
        for reference in &span.references {
            let (high, low) = super::model::trace_id_halves(&reference.trace_id);
            w.struct_begin();
            w.field_i32(1, if reference.ref_type == RefType::ChildOf { 0 } else { 1 });
            w.field_i64(2, low);
            w.field_i64(3, high);
            w.field_i64(4, i64::from_be_bytes(reference.span_id));
            w.struct_end();
        }
    }
    w.field_i32(7, span.flags as i32);
    w.field_i64(8, (span.start_time_unix_nano / 1_000) as i64);
    w.field_i64(9, (span.duration_nanos / 1_000) as i64);
    write_tags(w, 10, &span.tags);
    if !span.logs.is_empty() {
        w.field_list_begin(11, TType::Struct, span.logs.len());
        for log in &span.logs {
            w.struct_begin();
            w.field_i64(1, (log.timestamp_unix_nano / 1_000) as i64);
            write_tags(w, 2, &log.fields);
            w.struct_end();
        }
    }
    w.struct_end();
}

fn write_tags(w: &mut Writer, id: i16, tags: &[Tag]) {
    w.field_list_begin(id, TType::Struct, tags.len());
    for tag in tags {
        w.struct_begin();
        w.field_binary(1, tag.key.as_bytes());
        match &tag.value {
            TagValue::String(value) => {
                w.field_i32(2, 0);
                w.field_binary(3, value.as_bytes());
            }
            TagValue::Float64(value) => {
                w.field_i32(2, 1);
                w.field_double(4, *value);
            }
            TagValue::Bool(value) => {
                w.field_i32(2, 2);
                w.field_bool(5, *value);
            }
            TagValue::Int64(value) => {
                w.field_i32(2, 3);
                w.field_i64(6, *value);
            }
            TagValue::Binary(value) => {
                w.field_i32(2, 4);
                w.field_binary(7, value);
            }
        }
        w.struct_end();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jaeger::model::micros_to_nanos;

    pub(crate) fn sample_batch() -> Batch {
        Batch {
            process: Process {
                service_name: "frontend".into(),
                tags: vec![Tag::string("hostname", "host-1"), Tag { key: "ip".into(), value: TagValue::Int64(7) }],
            },
            spans: vec![Span {
                trace_id: trace_id_from_halves(0x11, -2),
                span_id: 0x22i64.to_be_bytes(),
                parent_span_id: 0x33i64.to_be_bytes(),
                operation_name: "GET /".into(),
                references: vec![SpanRef {
                    ref_type: RefType::FollowsFrom,
                    trace_id: trace_id_from_halves(0, 9),
                    span_id: 0x44i64.to_be_bytes(),
                }],
                flags: 1,
                start_time_unix_nano: micros_to_nanos(1_700_000_000_000_000),
                duration_nanos: micros_to_nanos(1_500),
                tags: vec![
                    Tag::string("span.kind", "server"),
                    Tag { key: "ok".into(), value: TagValue::Bool(false) },
                    Tag { key: "ratio".into(), value: TagValue::Float64(0.25) },
                    Tag { key: "blob".into(), value: TagValue::Binary(vec![0, 255]) },
                ],
                logs: vec![Log { timestamp_unix_nano: micros_to_nanos(1_700_000_000_000_100), fields: vec![] }],
                process: None,
            }],
        }
    }

    #[test]
    fn a_time_beyond_u64_nanoseconds_reads_the_same_after_encode_and_decode() {
        // Found by fuzzing (jaeger_thrift_agent): the saturated value was not whole microseconds,
        // so encoding it and reading it back gave another time.
        let mut bytes = encode_batch(&sample_batch(), Protocol::Compact);
        let mut batch = decode_batch(&bytes, Protocol::Compact).unwrap();
        batch.spans[0].logs[0].timestamp_unix_nano = micros_to_nanos(i64::MAX);
        batch.spans[0].duration_nanos = micros_to_nanos(18_446_744_073_709_552); // the first µs beyond u64 ns
        for protocol in [Protocol::Compact, Protocol::Binary] {
            bytes = encode_batch(&batch, protocol);
            assert_eq!(decode_batch(&bytes, protocol).unwrap(), batch);
        }
    }

    #[test]
    fn batches_round_trip_through_both_protocols_and_the_agent_envelope() {
        let batch = sample_batch();
        for protocol in [Protocol::Binary, Protocol::Compact] {
            assert_eq!(decode_batch(&encode_batch(&batch, protocol), protocol).unwrap(), batch);
            match decode_agent_message(&encode_agent_message(&batch, protocol), protocol).unwrap() {
                AgentMessage::Batch(decoded) => assert_eq!(decoded, batch),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn truncated_datagrams_are_errors() {
        let bytes = encode_agent_message(&sample_batch(), Protocol::Compact);
        for cut in 0..bytes.len() {
            assert!(decode_agent_message(&bytes[..cut], Protocol::Compact).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_wrong_protocol_or_method_is_named() {
        let compact = encode_agent_message(&sample_batch(), Protocol::Compact);
        let error = decode_agent_message(&compact, Protocol::Binary).unwrap_err();
        assert!(error.to_string().contains("bad message header"), "{error}");
        let mut w = Writer::new(Protocol::Binary);
        w.message_begin("emitSomething", MESSAGE_ONEWAY, 1);
        let error = decode_agent_message(&w.finish(), Protocol::Binary).unwrap_err();
        assert!(error.to_string().contains("unknown method 'emitSomething'"), "{error}");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let mut w = Writer::new(Protocol::Binary);
        w.struct_begin();
        w.field_struct_begin(1);
        w.field_binary(1, b"svc");
        w.struct_end();
        w.field_list_begin(2, TType::Struct, 1);
        w.struct_begin();
        w.field_i64(1, 5);
        w.struct_end();
        w.struct_end();
        let error = decode_batch(&w.finish(), Protocol::Binary).unwrap_err();
        assert_eq!(error, ThriftError::MissingField("Span.traceIdHigh"));
    }
}
