//! Elasticsearch `_bulk` requests: the NDJSON body, what an answer means for each action, and the
//! writer that retries until every action is durable or refused for good.

mod body;
mod response;
mod writer;

pub use body::{BulkAction, BulkBody, BulkItem};
pub use response::{item_outcomes, request_is_retryable, ItemOutcome, ResponseError, FILTER_PATH};
pub use writer::{BulkMetrics, BulkWriter, Interrupted, Refused, RequestError, RetryCause};
