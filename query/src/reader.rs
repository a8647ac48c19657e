//! Reads Jaeger's indices: services and operations, trace search, spans of traces (whole, however
//! many), dependency links, latency documents. Index names always come from the time range asked
//! about: nothing scans every index. In alias mode (`elasticsearch.use_aliases`) spans, services
//! and dependencies are read through their read aliases instead, whatever the range, as Jaeger
//! does; the range still filters the documents.
//!
//! Documents come back as `skein_schemas`' types, each read on its own: one that does not read is
//! skipped with a warning, the others are answered. Aggregations are read where they are asked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use elasticsearch::{ClearScrollParts, Elasticsearch, OpenPointInTimeParts, ScrollParts, SearchParts};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use skein_core::elasticsearch::{detect_backend, Backend, Product};
use skein_schemas::analytics::{DependencyLinks, MetricsFields, SeriesKind};
use skein_schemas::elasticsearch::{IndexNames, RolledFamily};
use skein_schemas::jaeger::ui::parse_trace_id;
use skein_schemas::jaeger::SpanDocument;
use tokio::sync::OnceCell;

use crate::error::QueryError;

/// Documents per page when reading a trace's spans (Elasticsearch's default result window).
const PAGE: usize = 10_000;

/// A trace search, times in µs since the epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceQuery {
    pub service: String,
    pub operation: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub start_micros: i64,
    pub end_micros: i64,
    pub min_duration_micros: Option<i64>,
    pub max_duration_micros: Option<i64>,
    pub limit: usize,
}

#[derive(Clone)]
pub struct Reader {
    client: Elasticsearch,
    names: IndexNames,
    /// The analytics consumer group whose documents are read.
    group: String,
    /// Elasticsearch or OpenSearch, asked the first time it matters.
    backend: Arc<OnceCell<Backend>>,
    /// Time-out of each request (`query.request_timeout_ms`).
    timeout: Duration,
}

/// What a failed request to Elasticsearch tells the client: a time-out is its own error (504).
fn storage(error: elasticsearch::Error) -> QueryError {
    if error.is_timeout() {
        QueryError::Timeout
    } else {
        QueryError::Storage(error.to_string())
    }
}

/// Matches the analytics documents of `group`: several configurations may write into one index
/// prefix (each its own documents, ids starting with its group), and adding up theirs would count
/// every call once per configuration. Documents without a group (written before documents named
/// it) match too. `group.keyword`: a dependencies index created before skein mapped `group` maps
/// it dynamically, as text with a keyword subfield.
pub fn group_filter(group: &str) -> Value {
    json!({"bool": {"minimum_should_match": 1, "should": [
        {"term": {"group": group}},
        {"term": {"group.keyword": group}},
        {"bool": {"must_not": {"exists": {"field": "group"}}}}
    ]}})
}

/// The UTC days from `start` to `end` (ms), oldest first.
fn days(start_ms: i64, end_ms: i64) -> Vec<NaiveDate> {
    let day = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().date_naive();
    let (first, last) = (day(start_ms.min(end_ms)), day(end_ms.max(start_ms)));
    let mut out = Vec::new();
    let mut d = first;
    while d <= last && out.len() < 3660 {
        out.push(d);
        // The last day chrono can name has no successor: stop there rather than overflow.
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    out
}

/// Every stored form of a trace id: Jaeger 2 writes 32 hex characters, Jaeger 1 (and skein's
/// `short` format) 16 when the high half is zero, and old writers dropped leading zeros.
pub fn stored_forms(trace_id: &str) -> Vec<String> {
    let Some(value) = parse_trace_id(trace_id) else { return vec![trace_id.to_string()] };
    let mut forms = BTreeSet::new();
    forms.insert(format!("{value:032x}"));
    if value >> 64 == 0 {
        forms.insert(format!("{value:016x}"));
    }
    forms.insert(format!("{value:x}"));
    forms.into_iter().collect()
}

fn tag_field(key: &str) -> String {
    key.replace('.', "@")
}

/// The daily index families read.
#[derive(Debug, Clone, Copy)]
pub enum Family {
    Span,
    Service,
    Dependencies,
    Metrics,
}

impl Family {
    /// What to search for this family over `[start_ms, end_ms]`: the read alias in alias mode
    /// (`skein-metrics` has none: it stays daily), else each day's index.
    fn read_targets(self, names: &IndexNames, start_ms: i64, end_ms: i64) -> Vec<String> {
        let rolled = match self {
            Family::Span => Some(RolledFamily::Span),
            Family::Service => Some(RolledFamily::Service),
            Family::Dependencies => Some(RolledFamily::Dependencies),
            Family::Metrics => None,
        };
        match rolled {
            Some(rolled) if names.uses_aliases() => vec![names.read_alias(rolled)],
            _ => days(start_ms, end_ms)
                .into_iter()
                .map(|d| self.index(names, d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()))
                .collect(),
        }
    }

    /// The index of this family for the UTC day holding `ms`.
    fn index(self, names: &IndexNames, ms: i64) -> String {
        let micros = ms.max(0) as u64 * 1000;
        match self {
            Family::Span => names.span_index(micros),
            Family::Service => names.service_index(micros),
            Family::Dependencies => names.dependencies_index(ms),
            Family::Metrics => names.metrics_index(ms),
        }
    }
}

impl Reader {
    /// A reader of the indices (or aliases) `names` gives, analytics documents of
    /// `analytics_group` only.
    pub fn new(client: Elasticsearch, names: IndexNames, analytics_group: &str) -> Self {
        Self {
            client,
            names,
            group: analytics_group.to_string(),
            backend: Arc::new(OnceCell::new()),
            timeout: Duration::from_millis(skein_core::config::QueryConfig::default().request_timeout_ms),
        }
    }

    /// The same reader with another time-out per request.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same reader over `tenant`'s indices only.
    pub fn for_tenant(&self, tenant: &skein_schemas::tenant::Tenant) -> Self {
        Self { names: self.names.for_tenant(tenant), ..self.clone() }
    }

    /// What to search for `family` over the range: each day's index, or the read alias.
    pub fn indices(&self, family: Family, start_ms: i64, end_ms: i64) -> Vec<String> {
        family.read_targets(&self.names, start_ms, end_ms)
    }

    /// One search over `indices`; the answer read as `R` (a [`Value`] for aggregations, a
    /// [`SearchHits`] for documents).
    async fn search<R: DeserializeOwned>(&self, indices: &[String], body: Value) -> Result<R, QueryError> {
        let refs: Vec<&str> = indices.iter().map(String::as_str).collect();
        let response = self
            .client
            .search(SearchParts::Index(&refs))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(body)
            .request_timeout(self.timeout)
            .send()
            .await
            .map_err(storage)?;
        read_body(response).await
    }

    /// Services seen over the last `days` days.
    pub async fn services(&self, now_ms: i64, days: u32) -> Result<Vec<String>, QueryError> {
        let indices = self.indices(Family::Service, now_ms - i64::from(days) * 86_400_000, now_ms);
        let body = json!({"size": 0, "aggs": {"services": {"terms": {"field": "serviceName", "size": 10000}}}});
        let result: Value = self.search(&indices, body).await?;
        let mut services: Vec<String> = buckets(&result["aggregations"]["services"]);
        services.sort();
        Ok(services)
    }

    /// Operations of a service over the last `days` days.
    pub async fn operations(&self, service: &str, now_ms: i64, days: u32) -> Result<Vec<String>, QueryError> {
        let indices = self.indices(Family::Service, now_ms - i64::from(days) * 86_400_000, now_ms);
        let body = json!({
            "size": 0,
            "query": {"term": {"serviceName": service}},
            "aggs": {"operations": {"terms": {"field": "operationName", "size": 10000}}}
        });
        let result: Value = self.search(&indices, body).await?;
        let mut operations = buckets(&result["aggregations"]["operations"]);
        operations.sort();
        Ok(operations)
    }

    /// Operations of a service with their span kinds, from the spans themselves (the service
    /// index does not hold kinds). `kind` filters (Jaeger's `span.kind` values).
    pub async fn operations_with_kind(
        &self,
        service: &str,
        kind: Option<&str>,
        now_ms: i64,
        days: u32,
    ) -> Result<Vec<(String, String)>, QueryError> {
        let indices = self.indices(Family::Span, now_ms - i64::from(days) * 86_400_000, now_ms);
        let mut filter = vec![json!({"term": {"process.serviceName": service}})];
        if let Some(kind) = kind {
            filter.push(json!({"term": {"tag.span@kind": kind}}));
        }
        let body = json!({
            "size": 0,
            "query": {"bool": {"filter": filter}},
            "aggs": {"pairs": {"composite": {"size": 10000, "sources": [
                {"operation": {"terms": {"field": "operationName"}}},
                {"kind": {"terms": {"field": "tag.span@kind", "missing_bucket": true}}}
            ]}}}
        });
        let result: Value = self.search(&indices, body).await?;
        let mut out: Vec<(String, String)> = result["aggregations"]["pairs"]["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(|bucket| {
                        (
                            bucket["key"]["operation"].as_str().unwrap_or_default().to_string(),
                            bucket["key"]["kind"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        Ok(out)
    }

    /// Trace ids matching a search, most recent first (by their latest span start).
    pub async fn find_trace_ids(&self, query: &TraceQuery) -> Result<Vec<String>, QueryError> {
        let indices = self.indices(Family::Span, query.start_micros / 1000, query.end_micros / 1000);
        let mut must = vec![
            json!({"range": {"startTimeMillis": {"gte": query.start_micros / 1000, "lte": query.end_micros / 1000}}}),
            json!({"term": {"process.serviceName": query.service}}),
        ];
        if let Some(operation) = &query.operation {
            must.push(json!({"term": {"operationName": operation}}));
        }
        if query.min_duration_micros.is_some() || query.max_duration_micros.is_some() {
            let mut range = serde_json::Map::new();
            if let Some(min) = query.min_duration_micros {
                range.insert("gte".into(), json!(min));
            }
            if let Some(max) = query.max_duration_micros {
                range.insert("lte".into(), json!(max));
            }
            must.push(json!({"range": {"duration": range}}));
        }
        for (key, value) in &query.tags {
            let nested = |path: &str| {
                json!({"nested": {"path": path, "query": {"bool": {"must": [
                    {"term": {format!("{path}.key"): key}},
                    {"regexp": {format!("{path}.value"): {"value": value}}}
                ]}}}})
            };
            must.push(json!({"bool": {"should": [
                {"regexp": {format!("tag.{}", tag_field(key)): {"value": value}}},
                {"regexp": {format!("process.tag.{}", tag_field(key)): {"value": value}}},
                nested("tags"),
                nested("process.tags"),
                nested("logs.fields"),
            ], "minimum_should_match": 1}}));
        }
        // One hit per trace (its latest matching span), latest first: a collapse on traceID keeps
        // a top-`limit` queue instead of aggregating every matching trace id.
        let body = json!({
            "size": query.limit,
            "_source": false,
            "track_total_hits": false,
            "query": {"bool": {"filter": must}},
            "sort": [{"startTime": "desc"}],
            "collapse": {"field": "traceID"}
        });
        let result: Value = self.search(&indices, body).await?;
        Ok(result["hits"]["hits"]
            .as_array()
            .map(|hits| {
                hits.iter().filter_map(|hit| hit["fields"]["traceID"][0].as_str().map(str::to_string)).collect()
            })
            .unwrap_or_default())
    }

    /// Every span document of the given traces with a start in `[start_ms, end_ms]`, however many.
    pub async fn spans(
        &self,
        trace_ids: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SpanDocument>, QueryError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let indices = self.indices(Family::Span, start_ms, end_ms);
        let forms: Vec<String> = trace_ids.iter().flat_map(|id| stored_forms(id)).collect();
        let query = json!({"bool": {"filter": [
            {"terms": {"traceID": forms}},
            {"range": {"startTimeMillis": {"gte": start_ms, "lte": end_ms}}}
        ]}});
        self.documents(&indices, query, "startTime", json!(true)).await
    }

    /// Every document matching `query`, sorted by `sort_field`, holding what `source` (an
    /// `_source` filter) selects, however many: one request when they fit a page, else a point in
    /// time paged with `search_after` (its `_shard_doc` tie-breaker is unique, so equal sort
    /// values never drop or repeat a document).
    async fn documents<T: DeserializeOwned>(
        &self,
        indices: &[String],
        query: Value,
        sort_field: &str,
        source: Value,
    ) -> Result<Vec<T>, QueryError> {
        let body = json!({
            "size": PAGE,
            "track_total_hits": true,
            "query": query,
            "sort": [{sort_field: "asc"}],
            "_source": source
        });
        let first: SearchHits = self.search(indices, body).await?;
        let total = first.hits.total.map_or(0, |total| total.value) as usize;
        if total <= first.hits.hits.len() {
            return Ok(read_sources(first.hits.hits));
        }
        self.paged(indices, query, sort_field, total, source).await.map(read_sources)
    }

    /// All hits of `query`, sorted by `sort_field`, page after page: through a point in time on
    /// Elasticsearch, through a scroll on OpenSearch, whose point in time has other endpoints
    /// and, before 3.3, no `_shard_doc` tie-breaker (so equal sort values could be skipped at a
    /// page boundary); a sorted scroll never skips or repeats a hit.
    async fn paged(
        &self,
        indices: &[String],
        query: Value,
        sort_field: &str,
        total: usize,
        source: Value,
    ) -> Result<Vec<Hit>, QueryError> {
        match self.backend().await?.product {
            Product::Elasticsearch => self.paged_point_in_time(indices, query, sort_field, total, source).await,
            Product::OpenSearch => self.paged_scroll(indices, query, sort_field, total, source).await,
        }
    }

    /// Which backend answers, asked once.
    async fn backend(&self) -> Result<&Backend, QueryError> {
        self.backend
            .get_or_try_init(|| async {
                let backend = detect_backend(&self.client, "elasticsearch.url")
                    .await
                    .map_err(|e| QueryError::Storage(format!("cannot tell which backend answers: {e}")))?;
                tracing::info!(%backend, "query reads from the search backend");
                Ok(backend)
            })
            .await
    }

    async fn paged_point_in_time(
        &self,
        indices: &[String],
        query: Value,
        sort_field: &str,
        total: usize,
        source: Value,
    ) -> Result<Vec<Hit>, QueryError> {
        let refs: Vec<&str> = indices.iter().map(String::as_str).collect();
        let response = self
            .client
            .open_point_in_time(OpenPointInTimeParts::Index(&refs))
            .keep_alive("1m")
            .ignore_unavailable(true)
            .request_timeout(self.timeout)
            .send()
            .await
            .map_err(storage)?;
        let pit = read_body::<Value>(response).await?["id"].as_str().unwrap_or_default().to_string();
        let mut out = Vec::with_capacity(total);
        let mut after: Option<Value> = None;
        let result = loop {
            let mut body = json!({
                "size": PAGE,
                "query": query,
                "pit": {"id": pit, "keep_alive": "1m"},
                "sort": [{sort_field: "asc"}],
                "track_total_hits": false,
                "_source": source
            });
            if let Some(after) = &after {
                body["search_after"] = after.clone();
            }
            let response = self
                .client
                .search(SearchParts::None)
                .body(body)
                .request_timeout(self.timeout)
                .send()
                .await
                .map_err(storage);
            let page = match response {
                Ok(response) => read_body::<SearchHits>(response).await,
                Err(error) => Err(error),
            };
            let hits = match page {
                Ok(page) => page.hits.hits,
                Err(error) => break Err(error),
            };
            if hits.is_empty() {
                break Ok(());
            }
            after = hits.last().map(|h| h.sort.clone());
            out.extend(hits);
        };
        let _ = self.client.close_point_in_time().body(json!({"id": pit})).request_timeout(self.timeout).send().await;
        result.map(|()| out)
    }

    async fn paged_scroll(
        &self,
        indices: &[String],
        query: Value,
        sort_field: &str,
        total: usize,
        source: Value,
    ) -> Result<Vec<Hit>, QueryError> {
        let refs: Vec<&str> = indices.iter().map(String::as_str).collect();
        let body = json!({"size": PAGE, "query": query, "sort": [{sort_field: "asc"}], "_source": source});
        let response = self
            .client
            .search(SearchParts::Index(&refs))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .scroll("1m")
            .body(body)
            .request_timeout(self.timeout)
            .send()
            .await
            .map_err(storage)?;
        let mut page: SearchHits = read_body(response).await?;
        let mut scroll_id = page.scroll_id.take();
        let mut out = Vec::with_capacity(total);
        let result = loop {
            if page.hits.hits.is_empty() {
                break Ok(());
            }
            out.extend(page.hits.hits);
            let Some(id) = &scroll_id else { break Ok(()) };
            let response = self
                .client
                .scroll(ScrollParts::None)
                .body(json!({"scroll": "1m", "scroll_id": id}))
                .request_timeout(self.timeout)
                .send()
                .await
                .map_err(storage);
            let next = match response {
                Ok(response) => read_body::<SearchHits>(response).await,
                Err(error) => Err(error),
            };
            match next {
                Ok(mut next) => {
                    // Each answer may carry a new id; the latest is the one to go on with.
                    if let Some(id) = next.scroll_id.take() {
                        scroll_id = Some(id);
                    }
                    page = next;
                }
                Err(error) => break Err(error),
            }
        };
        if let Some(id) = scroll_id {
            let _ = self
                .client
                .clear_scroll(ClearScrollParts::None)
                .body(json!({"scroll_id": [id]}))
                .request_timeout(self.timeout)
                .send()
                .await;
        }
        result.map(|()| out)
    }

    /// `jaeger-dependencies-*` documents with a timestamp in `[start_ms, end_ms]`.
    pub async fn dependencies(&self, start_ms: i64, end_ms: i64) -> Result<Vec<DependencyLinks>, QueryError> {
        let indices = self.indices(Family::Dependencies, start_ms, end_ms);
        let body = json!({
            "size": 10000,
            "query": {"bool": {"filter": [
                {"range": {"timestamp": {"gte": start_ms, "lte": end_ms, "format": "epoch_millis"}}},
                group_filter(&self.group)
            ]}}
        });
        let result: SearchHits = self.search(&indices, body).await?;
        Ok(read_sources(latest_copies(result.hits.hits)))
    }

    /// `skein-metrics-*` operation series documents of the given services and span kinds in
    /// `[start_ms, end_ms)`.
    pub async fn metrics(
        &self,
        services: &[String],
        span_kinds: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricsFields>, QueryError> {
        let indices = self.indices(Family::Metrics, start_ms, end_ms);
        let query = json!({"bool": {"filter": [
            {"term": {"series": SeriesKind::Operation}},
            {"terms": {"service": services}},
            {"terms": {"spanKind": span_kinds}},
            {"range": {"timestamp": {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}},
            group_filter(&self.group)
        ]}});
        self.documents(&indices, query, "timestamp", json!(true)).await
    }

    /// `skein-metrics-*` documents of one `series` kind with a timestamp in `[start_ms, end_ms]`
    /// that match every clause of `filters`, holding only `fields`, however many.
    pub async fn series_documents(
        &self,
        series: SeriesKind,
        filters: Vec<Value>,
        fields: &[&str],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MetricsFields>, QueryError> {
        let indices = self.indices(Family::Metrics, start_ms, end_ms);
        let mut filter = vec![
            json!({"term": {"series": series}}),
            json!({"range": {"timestamp": {"gte": start_ms, "lte": end_ms, "format": "epoch_millis"}}}),
            group_filter(&self.group),
        ];
        filter.extend(filters);
        self.documents(&indices, json!({"bool": {"filter": filter}}), "timestamp", json!(fields)).await
    }
}

impl Reader {
    /// Up to `per_link` trace ids per (parent service, child service) from the operation link
    /// series in `[start_ms, end_ms]`, slowest calls first: an aggregation, so the documents
    /// themselves are not read.
    pub async fn service_link_exemplars(
        &self,
        per_link: usize,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<BTreeMap<(String, String), Vec<String>>, QueryError> {
        let indices = self.indices(Family::Metrics, start_ms, end_ms);
        let query = json!({"bool": {"filter": [
            {"term": {"series": SeriesKind::OperationLink}},
            {"exists": {"field": "exemplarTraceId"}},
            {"range": {"timestamp": {"gte": start_ms, "lte": end_ms, "format": "epoch_millis"}}},
            group_filter(&self.group)
        ]}});
        let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut after: Option<Value> = None;
        // A trace can be the exemplar of several operation pairs of one service pair: ask for more
        // hits than kept, so `per_link` distinct traces usually remain.
        let hits_per_link = per_link * 3;
        loop {
            let mut pairs = json!({
                "size": 1000,
                "sources": [{"parent": {"terms": {"field": "service"}}}, {"child": {"terms": {"field": "child"}}}]
            });
            if let Some(after) = &after {
                pairs["after"] = after.clone();
            }
            let body = json!({
                "size": 0,
                "query": query,
                "aggs": {"pairs": {"composite": pairs, "aggs": {"slowest": {"top_hits": {
                    "size": hits_per_link,
                    "sort": [{"durationMaxNanos": "desc"}, {"exemplarTraceId": "asc"}],
                    "_source": ["exemplarTraceId"]
                }}}}}
            });
            let result: Value = self.search(&indices, body).await?;
            let aggregation = &result["aggregations"]["pairs"];
            let buckets = aggregation["buckets"].as_array().cloned().unwrap_or_default();
            for bucket in &buckets {
                let (Some(parent), Some(child)) = (bucket["key"]["parent"].as_str(), bucket["key"]["child"].as_str())
                else {
                    continue;
                };
                let traces = out.entry((parent.to_string(), child.to_string())).or_default();
                for hit in bucket["slowest"]["hits"]["hits"].as_array().into_iter().flatten() {
                    let Some(trace) = hit["_source"]["exemplarTraceId"].as_str() else { continue };
                    if traces.len() < per_link && !traces.iter().any(|t| t == trace) {
                        traces.push(trace.to_string());
                    }
                }
            }
            match aggregation.get("after_key") {
                Some(key) if !buckets.is_empty() => after = Some(key.clone()),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// The hits of a search answer, each `_source` left unread until [`read_sources`].
#[derive(Deserialize)]
struct SearchHits {
    hits: Hits,
    /// Where a scroll goes on (OpenSearch's deep paging).
    #[serde(rename = "_scroll_id", default)]
    scroll_id: Option<String>,
}

#[derive(Deserialize)]
struct Hits {
    /// Absent when the search set `track_total_hits: false`.
    total: Option<Total>,
    #[serde(default)]
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Total {
    value: u64,
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_index", default)]
    index: String,
    #[serde(rename = "_id", default)]
    id: String,
    #[serde(rename = "_source")]
    source: Option<Box<RawValue>>,
    /// The hit's sort values, where a `search_after` continues.
    #[serde(default)]
    sort: Value,
}

/// One hit per document id, from the newest index holding it. Analytics rewrites a bucket's
/// dependencies document as the bucket fills; in alias mode a rewrite after a rollover lands in
/// the new index beside the old copy, and adding both would count the old calls twice. Rolled
/// indices (`-000002` after `-000001`) and daily ones sort by name in the order they were written.
fn latest_copies(hits: Vec<Hit>) -> Vec<Hit> {
    let mut latest: BTreeMap<String, Hit> = BTreeMap::new();
    for hit in hits {
        match latest.get(&hit.id) {
            Some(kept) if kept.index >= hit.index => {}
            _ => {
                latest.insert(hit.id.clone(), hit);
            }
        }
    }
    latest.into_values().collect()
}

/// The hits' documents as `T`; one that does not read is skipped with a warning.
fn read_sources<T: DeserializeOwned>(hits: Vec<Hit>) -> Vec<T> {
    hits.into_iter()
        .filter_map(|hit| {
            let source = hit.source?;
            serde_json::from_str(source.get())
                .map_err(|error| tracing::warn!(%error, "skipping an unreadable document"))
                .ok()
        })
        .collect()
}

/// An answer's body as `R`, or Elasticsearch's reason when it refused the request.
async fn read_body<R: DeserializeOwned>(response: elasticsearch::http::response::Response) -> Result<R, QueryError> {
    let status = response.status_code().as_u16();
    let unreadable = |e: &dyn std::fmt::Display| QueryError::Storage(format!("unreadable response: {e}"));
    let bytes =
        response.bytes().await.map_err(|e| if e.is_timeout() { QueryError::Timeout } else { unreadable(&e) })?;
    if status >= 300 {
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| unreadable(&e))?;
        let reason = body["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| body.to_string());
        return Err(QueryError::Storage(format!("Elasticsearch answered {status}: {reason}")));
    }
    serde_json::from_slice(&bytes).map_err(|e| unreadable(&e))
}

fn buckets(aggregation: &Value) -> Vec<String> {
    aggregation["buckets"]
        .as_array()
        .map(|b| b.iter().filter_map(|bucket| bucket["key"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_looked_up_in_every_stored_form() {
        assert_eq!(
            stored_forms("0af7651916cd43dd"),
            vec!["00000000000000000af7651916cd43dd", "0af7651916cd43dd", "af7651916cd43dd"]
        );
        assert_eq!(stored_forms("10000000000000000af7651916cd43dd"), vec!["10000000000000000af7651916cd43dd"]);
    }

    #[test]
    fn documents_are_read_one_by_one_and_an_unreadable_one_costs_only_itself() {
        let answer = json!({"hits": {"total": {"value": 3}, "hits": [
            {"_source": {"dependencies": [{"parent": "a", "child": "b", "callCount": 2}]}, "sort": [1]},
            {"_source": {"dependencies": [{"parent": "a"}]}, "sort": [2]},
            {"sort": [3]}
        ]}});
        let page: SearchHits = serde_json::from_value(answer).unwrap();
        assert_eq!(page.hits.total.map(|t| t.value), Some(3));
        assert_eq!(page.hits.hits.last().map(|h| h.sort.clone()), Some(json!([3])));
        let links: Vec<DependencyLinks> = read_sources(page.hits.hits);
        assert_eq!(links.len(), 1, "a link without a child and a hit without a source are skipped");
        assert_eq!(links[0].dependencies[0].call_count, 2);
    }

    #[test]
    fn the_last_day_chrono_can_name_ends_the_range_without_overflowing() {
        let last = NaiveDate::MAX.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
        assert_eq!(days(last - 86_400_000, last + 1), [NaiveDate::MAX.pred_opt().unwrap(), NaiveDate::MAX]);
    }

    #[test]
    fn a_dependencies_document_rewritten_after_a_rollover_is_counted_once_from_the_newest_index() {
        let answer = json!({"hits": {"hits": [
            {"_index": "p-jaeger-dependencies-000001", "_id": "g:t:0:900", "_source": {"dependencies": [{"parent": "a", "child": "b", "callCount": 1}]}},
            {"_index": "p-jaeger-dependencies-000002", "_id": "g:t:0:900", "_source": {"dependencies": [{"parent": "a", "child": "b", "callCount": 2}]}},
            {"_index": "p-jaeger-dependencies-000001", "_id": "g:t:1:900", "_source": {"dependencies": [{"parent": "a", "child": "c", "callCount": 5}]}}
        ]}});
        let page: SearchHits = serde_json::from_value(answer).unwrap();
        let links: Vec<DependencyLinks> = read_sources(latest_copies(page.hits.hits));
        let calls: Vec<(String, u64)> =
            links.iter().map(|l| (l.dependencies[0].child.clone(), l.dependencies[0].call_count)).collect();
        assert_eq!(calls, [("b".to_string(), 2), ("c".to_string(), 5)]);
    }

    #[test]
    fn alias_mode_reads_spans_services_and_dependencies_through_read_aliases() {
        let names = IndexNames::new("p").with_aliases(true);
        let (start, end) = (1_699_999_000_000, 1_700_200_000_000);
        assert_eq!(Family::Span.read_targets(&names, start, end), ["p-jaeger-span-read"]);
        assert_eq!(Family::Service.read_targets(&names, start, end), ["p-jaeger-service-read"]);
        assert_eq!(Family::Dependencies.read_targets(&names, start, end), ["p-jaeger-dependencies-read"]);
        // skein's own metrics have no aliases: still one index per day.
        assert_eq!(Family::Metrics.read_targets(&names, start, end).len(), 4);
        let daily = IndexNames::new("p");
        assert_eq!(
            Family::Span.read_targets(&daily, 1_699_999_000_000, 1_700_010_000_000),
            ["p-jaeger-span-2023-11-14", "p-jaeger-span-2023-11-15"]
        );
    }

    #[test]
    fn index_names_cover_each_day_of_the_range_only() {
        assert_eq!(days(1_700_000_000_000, 1_700_000_000_000 + 2 * 86_400_000).len(), 3);
        let reader_days: Vec<String> =
            days(1_699_999_000_000, 1_700_010_000_000).iter().map(|d| d.to_string()).collect();
        assert_eq!(reader_days, ["2023-11-14", "2023-11-15"]);
    }
}
