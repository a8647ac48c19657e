//! Apache Thrift's binary and compact protocols, read from a byte slice with every length checked
//! against what is left, so a malformed or hostile datagram costs an error, never a crash or a big
//! allocation. Only what Jaeger's IDL uses is modelled; anything else is skipped as Thrift requires.
//! The writer exists for tests, the load generator and benchmarks.

/// Deepest nesting of structs/lists accepted (Jaeger's own needs three).
const MAX_DEPTH: usize = 32;

/// Which Thrift protocol a payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TBinaryProtocol (big-endian, fixed widths): agent port 6832 and Thrift over HTTP.
    Binary,
    /// TCompactProtocol (varints, field deltas): agent port 6831.
    Compact,
}

/// The value types of the Thrift type system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TType {
    Bool,
    Byte,
    Double,
    I16,
    I32,
    I64,
    String,
    Struct,
    Map,
    Set,
    List,
}

/// Message kinds in a Thrift message header.
pub const MESSAGE_CALL: u8 = 1;
pub const MESSAGE_ONEWAY: u8 = 4;

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThriftError {
    #[error("truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("unknown thrift type {0} at offset {1}")]
    UnknownType(u8, usize),
    #[error("negative or oversized length {0} at offset {1}")]
    BadLength(i64, usize),
    #[error("varint too long at offset {0}")]
    BadVarint(usize),
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("field '{0}' is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("required field '{0}' is missing")]
    MissingField(&'static str),
    #[error("bad message header: {0}")]
    BadMessage(String),
    #[error("{0}")]
    Invalid(String),
}

/// A field header: its type and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldHeader {
    pub ttype: TType,
    pub id: i16,
}

/// Reads Thrift values from a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    protocol: Protocol,
    /// Compact protocol: last field id of each open struct (ids are sent as deltas).
    last_field_ids: Vec<i16>,
    /// Compact protocol: a bool field carries its value in the field header.
    pending_bool: Option<bool>,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], protocol: Protocol) -> Self {
        Self { buf, pos: 0, protocol, last_field_ids: Vec::new(), pending_bool: None }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ThriftError> {
        if self.remaining() < n {
            return Err(ThriftError::Truncated { offset: self.pos, needed: n - self.remaining() });
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, ThriftError> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, ThriftError> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            if shift == 63 && byte > 1 {
                return Err(ThriftError::BadVarint(start));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ThriftError::BadVarint(start))
    }

    fn zigzag(&mut self) -> Result<i64, ThriftError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    fn be_i32(&mut self) -> Result<i32, ThriftError> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes(bytes.try_into().expect("four bytes")))
    }

    /// A length prefix, checked against the bytes left (each element needs at least `min_each`).
    fn length(&mut self, raw: i64, min_each: usize, at: usize) -> Result<usize, ThriftError> {
        if raw < 0 || (raw as u64).saturating_mul(min_each as u64) > self.remaining() as u64 {
            return Err(ThriftError::BadLength(raw, at));
        }
        Ok(raw as usize)
    }

    /// Read a message header: (method name, message type, sequence id).
    pub fn message_begin(&mut self) -> Result<(&'a str, u8, i32), ThriftError> {
        match self.protocol {
            Protocol::Binary => {
                let first = self.be_i32()?;
                if first < 0 {
                    let version = (first as u32) & 0xffff_0000;
                    if version != 0x8001_0000 {
                        return Err(ThriftError::BadMessage(format!("binary protocol version {version:#x}")));
                    }
                    let kind = (first & 0xff) as u8;
                    let name = self.string("message name")?;
                    let seq = self.be_i32()?;
                    Ok((name, kind, seq))
                } else {
                    // Old non-strict form: the name's length comes first.
                    let at = self.pos;
                    let len = self.length(i64::from(first), 1, at)?;
                    let name =
                        std::str::from_utf8(self.take(len)?).map_err(|_| ThriftError::NotUtf8("message name"))?;
                    let kind = self.byte()?;
                    let seq = self.be_i32()?;
                    Ok((name, kind, seq))
                }
            }
            Protocol::Compact => {
                let protocol_id = self.byte()?;
                if protocol_id != 0x82 {
                    return Err(ThriftError::BadMessage(format!(
                        "compact protocol id {protocol_id:#x} (expected 0x82)"
                    )));
                }
                let version_and_type = self.byte()?;
                if version_and_type & 0x1f != 1 {
                    return Err(ThriftError::BadMessage(format!(
                        "compact protocol version {}",
                        version_and_type & 0x1f
                    )));
                }
                let kind = version_and_type >> 5;
                let seq = self.varint()? as i32;
                let name = self.string("message name")?;
                Ok((name, kind, seq))
            }
        }
    }

    pub fn struct_begin(&mut self) -> Result<(), ThriftError> {
        if self.last_field_ids.len() >= MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        self.last_field_ids.push(0);
        Ok(())
    }

    pub fn struct_end(&mut self) {
        self.last_field_ids.pop();
    }

    /// The next field header, or `None` at the struct's end.
    pub fn field_begin(&mut self) -> Result<Option<FieldHeader>, ThriftError> {
        let at = self.pos;
        let first = self.byte()?;
        if first == 0 {
            return Ok(None);
        }
        match self.protocol {
            Protocol::Binary => {
                let ttype = binary_type(first, at)?;
                let id = i16::from_be_bytes(self.take(2)?.try_into().expect("two bytes"));
                Ok(Some(FieldHeader { ttype, id }))
            }
            Protocol::Compact => {
                let ttype = compact_type(first & 0x0f, at)?;
                if first & 0x0f == 1 || first & 0x0f == 2 {
                    self.pending_bool = Some(first & 0x0f == 1);
                }
                let delta = first >> 4;
                let last = *self.last_field_ids.last().ok_or(ThriftError::Invalid("field outside a struct".into()))?;
                let id = if delta == 0 { self.zigzag_i16()? } else { last.wrapping_add(i16::from(delta)) };
                if let Some(last) = self.last_field_ids.last_mut() {
                    *last = id;
                }
                Ok(Some(FieldHeader { ttype, id }))
            }
        }
    }

    fn zigzag_i16(&mut self) -> Result<i16, ThriftError> {
        let at = self.pos;
        let value = self.zigzag()?;
        i16::try_from(value).map_err(|_| ThriftError::BadLength(value, at))
    }

    pub fn bool(&mut self) -> Result<bool, ThriftError> {
        if let Some(value) = self.pending_bool.take() {
            return Ok(value);
        }
        let byte = self.byte()?;
        Ok(byte == 1)
    }

    pub fn i8(&mut self) -> Result<i8, ThriftError> {
        Ok(self.byte()? as i8)
    }

    pub fn i16(&mut self) -> Result<i16, ThriftError> {
        match self.protocol {
            Protocol::Binary => Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("two bytes"))),
            Protocol::Compact => self.zigzag_i16(),
        }
    }

    pub fn i32(&mut self) -> Result<i32, ThriftError> {
        match self.protocol {
            Protocol::Binary => self.be_i32(),
            Protocol::Compact => {
                let at = self.pos;
                let value = self.zigzag()?;
                i32::try_from(value).map_err(|_| ThriftError::BadLength(value, at))
            }
        }
    }

    pub fn i64(&mut self) -> Result<i64, ThriftError> {
        match self.protocol {
            Protocol::Binary => Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes"))),
            Protocol::Compact => self.zigzag(),
        }
    }

    pub fn double(&mut self) -> Result<f64, ThriftError> {
        let bytes: [u8; 8] = self.take(8)?.try_into().expect("eight bytes");
        Ok(match self.protocol {
            Protocol::Binary => f64::from_be_bytes(bytes),
            Protocol::Compact => f64::from_le_bytes(bytes),
        })
    }

    pub fn binary(&mut self) -> Result<&'a [u8], ThriftError> {
        let at = self.pos;
        let raw = match self.protocol {
            Protocol::Binary => i64::from(self.be_i32()?),
            Protocol::Compact => self.varint()? as i64,
        };
        let len = self.length(raw, 1, at)?;
        self.take(len)
    }

    /// A string field; `what` names it in the error when it is not UTF-8.
    pub fn string(&mut self, what: &'static str) -> Result<&'a str, ThriftError> {
        let bytes = self.binary()?;
        std::str::from_utf8(bytes).map_err(|_| ThriftError::NotUtf8(what))
    }

    /// A list or set header: element type and count (checked against the bytes left).
    pub fn list_begin(&mut self) -> Result<(TType, usize), ThriftError> {
        let at = self.pos;
        match self.protocol {
            Protocol::Binary => {
                let element = binary_type(self.byte()?, at)?;
                let raw = i64::from(self.be_i32()?);
                let len = self.length(raw, 1, at)?;
                Ok((element, len))
            }
            Protocol::Compact => {
                let header = self.byte()?;
                let element = compact_type(header & 0x0f, at)?;
                let raw = if header >> 4 == 0x0f { self.varint()? as i64 } else { i64::from(header >> 4) };
                let len = self.length(raw, 1, at)?;
                Ok((element, len))
            }
        }
    }

    /// A map header: key type, value type and count.
    fn map_begin(&mut self) -> Result<(TType, TType, usize), ThriftError> {
        let at = self.pos;
        match self.protocol {
            Protocol::Binary => {
                let key = binary_type(self.byte()?, at)?;
                let value = binary_type(self.byte()?, at)?;
                let raw = i64::from(self.be_i32()?);
                Ok((key, value, self.length(raw, 2, at)?))
            }
            Protocol::Compact => {
                let raw = self.varint()? as i64;
                let len = self.length(raw, 2, at)?;
                if len == 0 {
                    return Ok((TType::Byte, TType::Byte, 0));
                }
                let types = self.byte()?;
                Ok((compact_type(types >> 4, at)?, compact_type(types & 0x0f, at)?, len))
            }
        }
    }

    /// Skip a value of `ttype` (unknown fields, unused parts of a payload).
    pub fn skip(&mut self, ttype: TType) -> Result<(), ThriftError> {
        self.skip_at(ttype, 0)
    }

    fn skip_at(&mut self, ttype: TType, depth: usize) -> Result<(), ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        match ttype {
            TType::Bool => {
                self.bool()?;
            }
            TType::Byte => {
                self.byte()?;
            }
            TType::Double => {
                self.take(8)?;
            }
            TType::I16 => {
                self.i16()?;
            }
            TType::I32 => {
                self.i32()?;
            }
            TType::I64 => {
                self.i64()?;
            }
            TType::String => {
                self.binary()?;
            }
            TType::Struct => {
                self.struct_begin()?;
                while let Some(field) = self.field_begin()? {
                    self.skip_at(field.ttype, depth + 1)?;
                }
                self.struct_end();
            }
            TType::Map => {
                let (key, value, len) = self.map_begin()?;
                for _ in 0..len {
                    self.skip_at(key, depth + 1)?;
                    self.skip_at(value, depth + 1)?;
                }
            }
            TType::Set | TType::List => {
                let (element, len) = self.list_begin()?;
                for _ in 0..len {
                    self.skip_at(element, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

fn binary_type(code: u8, at: usize) -> Result<TType, ThriftError> {
    Ok(match code {
        2 => TType::Bool,
        3 => TType::Byte,
        4 => TType::Double,
        6 => TType::I16,
        8 => TType::I32,
        10 => TType::I64,
        11 => TType::String,
        12 => TType::Struct,
        13 => TType::Map,
        14 => TType::Set,
        15 => TType::List,
        other => return Err(ThriftError::UnknownType(other, at)),
    })
}

fn binary_code(ttype: TType) -> u8 {
    match ttype {
        TType::Bool => 2,
        TType::Byte => 3,
        TType::Double => 4,
        TType::I16 => 6,
        TType::I32 => 8,
        TType::I64 => 10,
        TType::String => 11,
        TType::Struct => 12,
        TType::Map => 13,
        TType::Set => 14,
        TType::List => 15,
    }
}

fn compact_type(code: u8, at: usize) -> Result<TType, ThriftError> {
    Ok(match code {
        1 | 2 => TType::Bool,
        3 => TType::Byte,
        4 => TType::I16,
        5 => TType::I32,
        6 => TType::I64,
        7 => TType::Double,
        8 => TType::String,
        9 => TType::List,
        10 => TType::Set,
        11 => TType::Map,
        12 => TType::Struct,
        other => return Err(ThriftError::UnknownType(other, at)),
    })
}

fn compact_code(ttype: TType) -> u8 {
    match ttype {
        TType::Bool => 1,
        TType::Byte => 3,
        TType::I16 => 4,
        TType::I32 => 5,
        TType::I64 => 6,
        TType::Double => 7,
        TType::String => 8,
        TType::List => 9,
        TType::Set => 10,
        TType::Map => 11,
        TType::Struct => 12,
    }
}

/// Writes Thrift values; the field methods write header and value together.
pub struct Writer {
    out: Vec<u8>,
    protocol: Protocol,
    last_field_ids: Vec<i16>,
}

impl Writer {
    pub fn new(protocol: Protocol) -> Self {
        Self { out: Vec::new(), protocol, last_field_ids: vec![0] }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    pub fn message_begin(&mut self, name: &str, kind: u8, seq: i32) {
        match self.protocol {
            Protocol::Binary => {
                self.out.extend_from_slice(&((0x8001_0000u32 | u32::from(kind)) as i32).to_be_bytes());
                self.raw_binary(name.as_bytes());
                self.out.extend_from_slice(&seq.to_be_bytes());
            }
            Protocol::Compact => {
                self.out.push(0x82);
                self.out.push(1 | (kind << 5));
                self.varint(seq as u32 as u64);
                self.raw_binary(name.as_bytes());
            }
        }
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    fn raw_binary(&mut self, bytes: &[u8]) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&(bytes.len() as i32).to_be_bytes()),
            Protocol::Compact => self.varint(bytes.len() as u64),
        }
        self.out.extend_from_slice(bytes);
    }

    fn header(&mut self, ttype: TType, id: i16, compact_code_override: Option<u8>) {
        match self.protocol {
            Protocol::Binary => {
                self.out.push(binary_code(ttype));
                self.out.extend_from_slice(&id.to_be_bytes());
            }
            Protocol::Compact => {
                let code = compact_code_override.unwrap_or_else(|| compact_code(ttype));
                let last = self.last_field_ids.last_mut().expect("inside a struct");
                let delta = id.wrapping_sub(*last);
                *last = id;
                if (1..=15).contains(&delta) {
                    self.out.push(((delta as u8) << 4) | code);
                } else {
                    self.out.push(code);
                    self.zigzag(i64::from(id));
                }
            }
        }
    }

    pub fn field_bool(&mut self, id: i16, value: bool) {
        match self.protocol {
            Protocol::Binary => {
                self.header(TType::Bool, id, None);
                self.out.push(u8::from(value));
            }
            Protocol::Compact => self.header(TType::Bool, id, Some(if value { 1 } else { 2 })),
        }
    }

    pub fn field_i32(&mut self, id: i16, value: i32) {
        self.header(TType::I32, id, None);
        self.i32(value);
    }

    pub fn i32(&mut self, value: i32) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.zigzag(i64::from(value)),
        }
    }

    pub fn field_i64(&mut self, id: i16, value: i64) {
        self.header(TType::I64, id, None);
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.zigzag(value),
        }
    }

    pub fn field_double(&mut self, id: i16, value: f64) {
        self.header(TType::Double, id, None);
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.out.extend_from_slice(&value.to_le_bytes()),
        }
    }

    pub fn field_binary(&mut self, id: i16, value: &[u8]) {
        self.header(TType::String, id, None);
        self.raw_binary(value);
    }

    /// Open a struct-valued field; close it with [`Writer::struct_end`].
    pub fn field_struct_begin(&mut self, id: i16) {
        self.header(TType::Struct, id, None);
        self.struct_begin();
    }

    /// Open a struct that is a list element or the top-level value.
    pub fn struct_begin(&mut self) {
        self.last_field_ids.push(0);
    }

    /// Write the stop byte and close the struct.
    pub fn struct_end(&mut self) {
        self.out.push(0);
        self.last_field_ids.pop();
    }

    /// Open a list-valued field holding `len` elements of `element`.
    pub fn field_list_begin(&mut self, id: i16, element: TType, len: usize) {
        self.header(TType::List, id, None);
        match self.protocol {
            Protocol::Binary => {
                self.out.push(binary_code(element));
                self.out.extend_from_slice(&(len as i32).to_be_bytes());
            }
            Protocol::Compact => {
                if len < 15 {
                    self.out.push(((len as u8) << 4) | compact_code(element));
                } else {
                    self.out.push(0xf0 | compact_code(element));
                    self.varint(len as u64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(protocol: Protocol) -> Vec<u8> {
        let mut w = Writer::new(protocol);
        w.message_begin("emitBatch", MESSAGE_ONEWAY, 7);
        w.struct_begin();
        w.field_bool(1, true);
        w.field_i64(2, -5);
        w.field_double(3, 1.5);
        w.field_binary(20, b"hello");
        w.field_list_begin(21, TType::I32, 20);
        for i in 0..20 {
            w.i32(i - 10);
        }
        w.field_struct_begin(22);
        w.field_bool(1, false);
        w.struct_end();
        w.field_i32(-3, 9);
        w.struct_end();
        w.finish()
    }

    fn read_back(bytes: &[u8], protocol: Protocol) -> Result<Vec<String>, ThriftError> {
        let mut r = Reader::new(bytes, protocol);
        let (name, kind, seq) = r.message_begin()?;
        let mut seen = vec![format!("{name}/{kind}/{seq}")];
        r.struct_begin()?;
        while let Some(field) = r.field_begin()? {
            let value = match (field.id, field.ttype) {
                (1, TType::Bool) => r.bool()?.to_string(),
                (2, TType::I64) => r.i64()?.to_string(),
                (3, TType::Double) => r.double()?.to_string(),
                (20, TType::String) => r.string("s")?.to_string(),
                (21, TType::List) => {
                    let (_, len) = r.list_begin()?;
                    let mut sum = 0i32;
                    for _ in 0..len {
                        sum = r.i32()?.wrapping_add(sum);
                    }
                    format!("{len}:{sum}")
                }
                (-3, TType::I32) => r.i32()?.to_string(),
                (_, other) => {
                    r.skip(other)?;
                    "skipped".into()
                }
            };
            seen.push(format!("{}={value}", field.id));
        }
        r.struct_end();
        Ok(seen)
    }

    #[test]
    fn both_protocols_round_trip_every_value_kind() {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let seen = read_back(&sample(protocol), protocol).unwrap();
            assert_eq!(
                seen,
                ["emitBatch/4/7", "1=true", "2=-5", "3=1.5", "20=hello", "21=20:-10", "22=skipped", "-3=9"],
                "{protocol:?}"
            );
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let bytes = sample(protocol);
            for cut in 0..bytes.len() {
                assert!(read_back(&bytes[..cut], protocol).is_err(), "{protocol:?} cut at {cut}");
            }
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut corrupted = bytes.clone();
                    corrupted[i] ^= flip;
                    let _ = read_back(&corrupted, protocol);
                }
            }
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        let mut w = Writer::new(Protocol::Binary);
        w.struct_begin();
        w.field_list_begin(1, TType::Struct, 0x7fff_ffff);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, Protocol::Binary);
        r.struct_begin().unwrap();
        let field = r.field_begin().unwrap().unwrap();
        assert!(matches!(r.skip(field.ttype), Err(ThriftError::BadLength(0x7fff_ffff, _))));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            bytes.extend_from_slice(&[12, 0, 1]);
        }
        let mut r = Reader::new(&bytes, Protocol::Binary);
        assert_eq!(r.skip(TType::Struct), Err(ThriftError::TooDeep));
    }
}
