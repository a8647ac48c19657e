//! The bulk writer: sends a role's items through `_bulk` and keeps retrying what Elasticsearch has
//! not made durable, until every item is durable or refused for good, or shutdown comes first.
//! What to do with refused items is the caller's policy; the writer only reports them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use elasticsearch::{BulkParts, Elasticsearch};
use tokio_util::sync::CancellationToken;

use super::blocked::{BlockedGuard, BlockedWrites};
use super::body::{BulkAction, BulkBody, BulkItem};
use super::response::{item_outcomes, request_is_retryable, request_refusal, ItemOutcome, ResponseError, FILTER_PATH};
use crate::retry::Backoff;

/// How much of a refused request's answer goes into the error message.
const ERROR_BODY_CHARS: usize = 500;

/// Where a writer reports what it did, under the calling role's own metric names.
#[derive(Debug, Clone, Copy)]
pub struct BulkMetrics {
    /// Items one answer made durable.
    pub durable: fn(u64),
    /// Time from sending one request to reading its 2xx answer.
    pub latency: fn(Duration),
    /// A round of requests left items to send again, for this cause.
    pub retrying: fn(RetryCause),
}

/// Why a round of requests is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    /// No usable answer: connection trouble, or an answer that does not account for every action.
    Transport,
    /// The whole request was refused with an HTTP status worth retrying (408, 429, 5xx).
    Status,
    /// The whole request was refused with a status retrying alone does not change (other 4xx)
    /// until an operator acts.
    Refused,
    /// Elasticsearch refused some items for now.
    Items,
    /// Elasticsearch denied writing some items (401/403) until an operator acts.
    Denied,
}

impl RetryCause {
    /// The metric label of the cause.
    pub fn label(self) -> &'static str {
        match self {
            RetryCause::Transport => "transport",
            RetryCause::Status => "status",
            RetryCause::Refused => "refused",
            RetryCause::Items => "items",
            RetryCause::Denied => "denied",
        }
    }
}

/// Why one `_bulk` request told nothing about its items.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("bulk request got no answer: {0} (is Elasticsearch reachable?)")]
    Transport(String),
    #[error("bulk request refused with HTTP {status}, worth retrying: {body}")]
    Overloaded { status: u16, body: String },
    /// A status that retrying the same request does not change: a wrong URL or credentials, a
    /// proxy in the way, a body too large, or a bug on the sender's side.
    #[error("elasticsearch refused the whole bulk request: {}", request_refusal(*status, body))]
    Refused { status: u16, body: String },
    #[error(transparent)]
    Response(#[from] ResponseError),
}

impl RequestError {
    /// Why the request's items are sent again.
    pub fn cause(&self) -> RetryCause {
        match self {
            RequestError::Transport(_) | RequestError::Response(_) => RetryCause::Transport,
            RequestError::Overloaded { .. } => RetryCause::Status,
            RequestError::Refused { .. } => RetryCause::Refused,
        }
    }
}

/// An item Elasticsearch will never accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Position of the item in what was written.
    pub item: usize,
    /// Elasticsearch's reason.
    pub reason: String,
    /// Refused because a newer version of the document is stored (a versioned write lost).
    pub conflict: bool,
}

/// Shutdown came before every item was durable; the caller must not treat any as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("shutdown came before the bulk write finished")]
pub struct Interrupted;

/// Writes items through `_bulk`.
#[derive(Clone)]
pub struct BulkWriter {
    /// The writing role, in log lines.
    role: &'static str,
    client: Elasticsearch,
    backoff: Backoff,
    metrics: BulkMetrics,
    max_actions: usize,
    blocked: Option<BlockedWrites>,
}

impl BulkWriter {
    /// A writer for `role` (named in its log lines) that sends every pending item in one request
    /// per round.
    pub fn new(role: &'static str, client: Elasticsearch, backoff: Backoff, metrics: BulkMetrics) -> Self {
        Self { role, client, backoff, metrics, max_actions: usize::MAX, blocked: None }
    }

    /// Count this writer's writes in `blocked` while they wait for an operator (denied items,
    /// whole requests refused for good).
    pub fn reporting_blocks(mut self, blocked: BlockedWrites) -> Self {
        self.blocked = Some(blocked);
        self
    }

    /// Split each round into requests of at most `max_actions` actions (at least one).
    pub fn with_max_actions(mut self, max_actions: usize) -> Self {
        self.max_actions = max_actions.max(1);
        self
    }

    /// Make `items` durable: retry (with backoff) every item Elasticsearch refused for now and
    /// every request that went unanswered or was refused as a whole, until each item is durable
    /// or refused for good. Returns the refused items in item order; all others are durable.
    /// A whole request refused with a status that is not worth retrying is retried all the same
    /// (dropping its items would lose them, and the fault is rarely theirs), logged as an error
    /// and counted as blocked; one refused as too large (413) is first sent again in halves.
    pub async fn write<T: BulkItem>(
        &self,
        items: &[T],
        shutdown: &CancellationToken,
    ) -> Result<Vec<Refused>, Interrupted> {
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let mut refused = Vec::new();
        let mut attempt = 0u32;
        // Held while the last round left items that wait for an operator.
        let mut blocked: Option<BlockedGuard> = None;
        while !pending.is_empty() {
            let mut retry = Vec::new();
            let mut cause = None;
            let mut denied: Option<String> = None;
            let mut refused_whole = false;
            let mut chunks: VecDeque<&[usize]> = pending.chunks(self.max_actions).collect();
            while let Some(chunk) = chunks.pop_front() {
                match self.send(chunk.iter().map(|&item| items[item].action())).await {
                    Ok(outcomes) => {
                        let mut durable = 0;
                        for (&item, outcome) in chunk.iter().zip(outcomes) {
                            match outcome {
                                ItemOutcome::Durable => durable += 1,
                                ItemOutcome::Transient(_) => retry.push(item),
                                ItemOutcome::Permanent(reason) => {
                                    refused.push(Refused { item, reason, conflict: false })
                                }
                                ItemOutcome::Conflict(reason) => refused.push(Refused { item, reason, conflict: true }),
                                ItemOutcome::Denied(reason) => {
                                    denied.get_or_insert(reason);
                                    retry.push(item);
                                }
                            }
                        }
                        (self.metrics.durable)(durable);
                    }
                    Err(RequestError::Refused { status: 413, .. }) if chunk.len() > 1 => {
                        // Too large as a whole, each half may not be: send the halves at once.
                        tracing::warn!(
                            role = self.role,
                            items = chunk.len(),
                            "elasticsearch refused a bulk request as too large (HTTP 413); sending it in halves"
                        );
                        let (first, second) = chunk.split_at(chunk.len() / 2);
                        chunks.push_front(second);
                        chunks.push_front(first);
                    }
                    Err(error @ RequestError::Refused { .. }) => {
                        // Never dead-lettered: a wrong URL or credentials would send every
                        // record there. The items stay pending (nothing is committed past them).
                        tracing::error!(
                            role = self.role,
                            %error,
                            attempt,
                            items = chunk.len(),
                            "bulk request refused as a whole; retrying until that is fixed"
                        );
                        refused_whole = true;
                        cause.get_or_insert(error.cause());
                        retry.extend_from_slice(chunk);
                    }
                    Err(error) => {
                        tracing::warn!(role = self.role, %error, attempt, items = chunk.len(), "bulk request failed; retrying");
                        cause.get_or_insert(error.cause());
                        retry.extend_from_slice(chunk);
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            if let Some(reason) = &denied {
                // Nothing is dead-lettered for this: the cause is the cluster's, and writes
                // resume once it is fixed. Until then the role applies backpressure.
                tracing::error!(
                    role = self.role,
                    items = retry.len(),
                    attempt,
                    %reason,
                    "elasticsearch denies writing these items; retrying them until that is fixed"
                );
                cause.get_or_insert(RetryCause::Denied);
            }
            blocked = if denied.is_some() || refused_whole {
                blocked.or_else(|| self.blocked.as_ref().map(BlockedWrites::block))
            } else {
                None
            };
            let cause = cause.unwrap_or_else(|| {
                tracing::warn!(
                    role = self.role,
                    items = retry.len(),
                    attempt,
                    "elasticsearch refused items for now; retrying them"
                );
                RetryCause::Items
            });
            (self.metrics.retrying)(cause);
            if !self.backoff.wait(attempt, shutdown).await {
                return Err(Interrupted);
            }
            attempt += 1;
            pending = retry;
        }
        refused.sort_by_key(|refused| refused.item);
        Ok(refused)
    }

    /// Send one `_bulk` request of `actions`, without retrying; one outcome per action, in order.
    pub async fn send<'a>(
        &self,
        actions: impl IntoIterator<Item = BulkAction<'a>>,
    ) -> Result<Vec<ItemOutcome>, RequestError> {
        let body = BulkBody::of(actions);
        if body.is_empty() {
            return Ok(Vec::new());
        }
        let expected = body.actions();
        let started = Instant::now();
        let response = self
            .client
            .bulk(BulkParts::None)
            .filter_path(FILTER_PATH)
            .body(vec![body.into_bytes()])
            .send()
            .await
            .map_err(|error| RequestError::Transport(error.to_string()))?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let text = response.text().await.unwrap_or_default();
            let body = truncate(&text, ERROR_BODY_CHARS).to_string();
            return Err(if request_is_retryable(status) {
                RequestError::Overloaded { status, body }
            } else {
                RequestError::Refused { status, body }
            });
        }
        let answer = response
            .bytes()
            .await
            .map_err(|error| RequestError::Transport(format!("cannot read the bulk response: {error}")))?;
        (self.metrics.latency)(started.elapsed());
        Ok(item_outcomes(&answer, expected)?)
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;
    use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
    use elasticsearch::http::Url;

    use super::*;

    /// Answers of a fake `_bulk` endpoint, in order, and the bodies it was sent.
    #[derive(Default)]
    struct Fake {
        answers: VecDeque<(u16, &'static str)>,
        requests: Vec<String>,
    }

    type Shared = Arc<Mutex<Fake>>;

    async fn bulk(State(fake): State<Shared>, body: String) -> (StatusCode, String) {
        let mut fake = fake.lock().unwrap();
        fake.requests.push(body);
        let (status, answer) = fake.answers.pop_front().unwrap_or((200, r#"{"errors":false}"#));
        (StatusCode::from_u16(status).unwrap(), answer.to_string())
    }

    thread_local! {
        static RETRIES: RefCell<Vec<RetryCause>> = const { RefCell::new(Vec::new()) };
        static DURABLE: RefCell<u64> = const { RefCell::new(0) };
    }

    const METRICS: BulkMetrics = BulkMetrics {
        durable: |n| DURABLE.with(|durable| *durable.borrow_mut() += n),
        latency: |_| {},
        retrying: |cause| RETRIES.with(|retries| retries.borrow_mut().push(cause)),
    };

    /// A writer against a fake endpoint giving `answers`; tests run on one thread, so the
    /// thread-local metrics are this test's.
    async fn writer(answers: &[(u16, &'static str)]) -> (BulkWriter, Shared) {
        let fake: Shared =
            Arc::new(Mutex::new(Fake { answers: answers.iter().copied().collect(), requests: Vec::new() }));
        let router = axum::Router::new().route("/_bulk", post(bulk)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let transport = TransportBuilder::new(SingleNodeConnectionPool::new(url)).build().unwrap();
        let backoff = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(2) };
        RETRIES.with(|retries| retries.borrow_mut().clear());
        DURABLE.with(|durable| *durable.borrow_mut() = 0);
        (BulkWriter::new("test", Elasticsearch::new(transport), backoff, METRICS), fake)
    }

    fn documents(ids: &[&'static str]) -> Vec<BulkAction<'static>> {
        ids.iter().map(|id| BulkAction::Index { index: "i", id, source: b"{}" }).collect()
    }

    fn retries() -> Vec<RetryCause> {
        RETRIES.with(|retries| retries.borrow().clone())
    }

    fn durable() -> u64 {
        DURABLE.with(|durable| *durable.borrow())
    }

    #[tokio::test]
    async fn whole_request_429_is_overloaded_and_400_is_refused() {
        let (writer, _) = writer(&[(429, "slow down"), (400, r#"{"error":"bad ndjson"}"#)]).await;
        let overloaded = writer.send(documents(&["a"])).await.unwrap_err();
        assert!(matches!(overloaded, RequestError::Overloaded { status: 429, .. }), "{overloaded:?}");
        let refused = writer.send(documents(&["a"])).await.unwrap_err();
        assert!(matches!(&refused, RequestError::Refused { status: 400, body } if body.contains("bad ndjson")));
        assert_eq!(refused.cause(), RetryCause::Refused);
        assert!(refused.to_string().contains("HTTP 400: bad ndjson"), "{refused}");
    }

    #[tokio::test]
    async fn refused_requests_are_retried_until_answered() {
        let (writer, fake) = writer(&[(429, "slow down"), (400, "proxy says no")]).await;
        let refused = writer.write(&documents(&["a", "b"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty());
        assert_eq!(fake.lock().unwrap().requests.len(), 3);
        assert_eq!(retries(), vec![RetryCause::Status, RetryCause::Refused]);
        assert_eq!(durable(), 2);
    }

    /// Blocked-write counts as the writer reports them.
    fn blocked() -> (BlockedWrites, Arc<Mutex<Vec<usize>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        (BlockedWrites::new(move |count| record.lock().unwrap().push(count)), seen)
    }

    #[tokio::test]
    async fn a_request_too_large_is_sent_again_in_halves_at_once() {
        let (writer, fake) = writer(&[(413, "request entity too large")]).await;
        let (blocked, seen) = blocked();
        let writer = writer.reporting_blocks(blocked);
        let refused = writer.write(&documents(&["a", "b", "c"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty());
        let lines: Vec<usize> = fake.lock().unwrap().requests.iter().map(|r| r.lines().count()).collect();
        assert_eq!(lines, vec![6, 2, 4], "the whole, then its halves");
        assert!(retries().is_empty(), "no backoff round: the halves went at once");
        assert!(seen.lock().unwrap().is_empty(), "never blocked");
        assert_eq!(durable(), 3);
    }

    #[tokio::test]
    async fn a_request_refused_for_good_blocks_the_write_until_it_is_taken() {
        let no_handler = r#"{"error":"no handler found for uri [/a/_bulk] and method [POST]"}"#;
        let (writer, fake) = writer(&[(413, "too large"), (400, no_handler)]).await;
        let (blocked, seen) = blocked();
        let writer = writer.reporting_blocks(blocked);
        let refused = writer.write(&documents(&["a"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty(), "never handed back as undeliverable: {refused:?}");
        assert_eq!(fake.lock().unwrap().requests.len(), 3);
        assert_eq!(retries(), vec![RetryCause::Refused, RetryCause::Refused]);
        assert_eq!(*seen.lock().unwrap(), vec![1, 0], "blocked once, over both rounds, until written");
    }

    #[tokio::test]
    async fn denied_items_are_retried_and_never_refused_for_good() {
        let denied = r#"{"errors":true,"items":[
            {"index":{"status":201}},
            {"index":{"status":403,"error":{"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized"}}}
        ]}"#;
        let denied_again = r#"{"errors":true,"items":[
            {"index":{"status":403,"error":{"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized"}}}
        ]}"#;
        let (writer, fake) = writer(&[(200, denied), (200, denied_again)]).await;
        let (blocked, seen) = blocked();
        let writer = writer.reporting_blocks(blocked);
        let refused = writer.write(&documents(&["a", "b"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty(), "a denied item is not handed back as undeliverable: {refused:?}");
        assert_eq!(fake.lock().unwrap().requests.len(), 3, "sent again until Elasticsearch allowed it");
        assert_eq!(retries(), vec![RetryCause::Denied, RetryCause::Denied]);
        assert_eq!(*seen.lock().unwrap(), vec![1, 0], "blocked while denied");
    }

    #[tokio::test]
    async fn only_transient_items_are_sent_again() {
        let partial = r#"{"errors":true,"items":[
            {"index":{"status":201}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
            {"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad field"}}}
        ]}"#;
        let (writer, fake) = writer(&[(200, partial)]).await;
        let refused = writer.write(&documents(&["a", "b", "c"]), &CancellationToken::new()).await.unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].item, 2);
        assert!(refused[0].reason.contains("document_parsing_exception"));
        let requests = fake.lock().unwrap().requests.clone();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1], "{\"index\":{\"_index\":\"i\",\"_id\":\"b\"}}\n{}\n");
        assert_eq!(retries(), vec![RetryCause::Items]);
        assert_eq!(durable(), 2);
    }

    #[tokio::test]
    async fn a_version_conflict_is_handed_back_as_a_conflict_and_not_retried() {
        let conflict = r#"{"errors":true,"items":[
            {"index":{"status":200}},
            {"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"current version is higher"}}}
        ]}"#;
        let (writer, fake) = writer(&[(200, conflict)]).await;
        let refused = writer.write(&documents(&["a", "b"]), &CancellationToken::new()).await.unwrap();
        assert_eq!(refused.len(), 1);
        assert!(refused[0].item == 1 && refused[0].conflict, "{refused:?}");
        assert_eq!(fake.lock().unwrap().requests.len(), 1, "a lost turn is not retried");
        assert!(retries().is_empty());
    }

    #[tokio::test]
    async fn answer_with_short_items_sends_everything_again() {
        let short = r#"{"errors":true,"items":[{"index":{"status":201}}]}"#;
        let (writer, fake) = writer(&[(200, short), (200, r#"{"took":1}"#)]).await;
        let refused = writer.write(&documents(&["a", "b"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty());
        let requests = fake.lock().unwrap().requests.clone();
        assert_eq!(requests.len(), 3, "short items, then no errors flag, then written");
        assert!(requests.iter().all(|request| request.lines().count() == 4), "{requests:?}");
        assert_eq!(retries(), vec![RetryCause::Transport, RetryCause::Transport]);
        assert_eq!(durable(), 2, "counted once, when the answer accounted for them");
    }

    #[tokio::test]
    async fn rounds_are_split_into_requests_of_max_actions() {
        let (writer, fake) = writer(&[]).await;
        let writer = writer.with_max_actions(2);
        let refused = writer.write(&documents(&["a", "b", "c"]), &CancellationToken::new()).await.unwrap();
        assert!(refused.is_empty());
        let lines: Vec<usize> = fake.lock().unwrap().requests.iter().map(|r| r.lines().count()).collect();
        assert_eq!(lines, vec![4, 2]);
    }

    #[tokio::test]
    async fn shutdown_interrupts_the_retries() {
        let (writer, _) = writer(&[(503, "unavailable"); 4]).await;
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        assert_eq!(writer.write(&documents(&["a"]), &shutdown).await, Err(Interrupted));
        assert_eq!(durable(), 0);
    }

    #[tokio::test]
    async fn an_interrupted_blocked_write_is_no_longer_counted() {
        let (writer, _) = writer(&[(401, "unauthorized"); 4]).await;
        let (blocked, seen) = blocked();
        let writer = writer.reporting_blocks(blocked.clone());
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        assert_eq!(writer.write(&documents(&["a"]), &shutdown).await, Err(Interrupted));
        assert_eq!(*seen.lock().unwrap(), vec![1, 0]);
        assert_eq!(blocked.count(), 0);
    }

    #[tokio::test]
    async fn nothing_to_write_sends_nothing() {
        let (writer, fake) = writer(&[]).await;
        let nothing: Vec<BulkAction<'_>> = Vec::new();
        assert_eq!(writer.write(&nothing, &CancellationToken::new()).await, Ok(Vec::new()));
        assert!(fake.lock().unwrap().requests.is_empty());
    }
}
