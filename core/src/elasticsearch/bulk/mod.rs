//! Elasticsearch `_bulk` requests: the NDJSON body, what an answer means for each action, and the
//! writer that retries until every action is durable or refused for good.

mod blocked;
mod body;
mod response;
mod writer;

pub use blocked::BlockedWrites;
pub use body::{BulkAction, BulkBody, BulkItem};
pub use response::{item_outcomes, request_is_retryable, request_refusal, ItemOutcome, ResponseError, FILTER_PATH};
pub use writer::{BulkMetrics, BulkWriter, Interrupted, Refused, RequestError, RetryCause};
