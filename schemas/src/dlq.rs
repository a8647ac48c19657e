//! The dead-letter record: the original key and value of a record that can never be indexed, with
//! headers saying why and where it came from.

/// Why the record could not be indexed.
pub const ERROR_HEADER: &str = "skein.error";
/// What kind of failure: `decode` (not a span record), `rejected` (Elasticsearch refused it),
/// `out_of_range` (spans dated outside the days indices are kept for) or `invalid_tenant` (its
/// `skein.tenant` header is no tenant name).
pub const ERROR_KIND_HEADER: &str = "skein.error-kind";
/// Topic the record was read from.
pub const ORIGIN_TOPIC_HEADER: &str = "skein.origin.topic";
/// Partition the record was read from, decimal.
pub const ORIGIN_PARTITION_HEADER: &str = "skein.origin.partition";
/// Offset of the record, decimal.
pub const ORIGIN_OFFSET_HEADER: &str = "skein.origin.offset";
/// Timestamp of the original record, ms since the epoch, when it had one.
pub const ORIGIN_TIMESTAMP_HEADER: &str = "skein.origin.timestamp";

/// Failure kinds written to [`ERROR_KIND_HEADER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterKind {
    /// The record value is not a span record skein can read.
    Decode,
    /// Elasticsearch refused a document of the record for good (mapping conflict, bad value).
    Rejected,
    /// Spans of the record start on a day no index may be created for: before the retained days
    /// (`elasticsearch.retention_days`) or after tomorrow (UTC).
    OutOfRange,
    /// The record's tenant header ([`crate::tenant::TENANT_HEADER`]) is no tenant name: its
    /// spans cannot be put under any tenant's indices, nor under nobody's.
    InvalidTenant,
}

impl DeadLetterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterKind::Decode => "decode",
            DeadLetterKind::Rejected => "rejected",
            DeadLetterKind::OutOfRange => "out_of_range",
            DeadLetterKind::InvalidTenant => "invalid_tenant",
        }
    }
}
