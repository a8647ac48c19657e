//! Writing batches to Elasticsearch: the `_bulk` response classification and the writer that
//! retries until every document is durable or refused for good.

pub mod response;
pub mod writer;
