//! The path every receiver shares: validate, group by trace into records, publish, and say what
//! was accepted. Receivers only decode their wire format and encode the answer.

use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceRequest};
use skein_core::auth::Principal;
use skein_core::config::TenancyConfig;
use skein_core::tenancy::Tenancy;
use skein_schemas::kafka_record::{records_for_otlp, records_for_wire_request, OversizeSpan, TraceRecord};
use skein_schemas::otlp_wire::WireRequest;
use skein_schemas::span_limits::{limit_request, limit_wire_request, Limited, SpanLimits};
use skein_schemas::tenant::Tenant;

use crate::error::{ExportError, PublishError};
use crate::publisher::{InFlight, KafkaPublisher};
use crate::rate_limit::RateLimits;
use crate::refusal_log::RefusalLog;
use crate::telemetry;
use crate::validate::{retain_valid_otlp, retain_valid_spans, RejectReason, Rejections, SpanTimeLimits};

/// What happened to an accepted request.
#[derive(Debug, Default, PartialEq)]
pub struct ExportOutcome {
    /// Spans refused; the rest are in Kafka.
    pub rejected_spans: i64,
    /// Why, for the client's log: the first few refusals and how many more.
    pub error_message: String,
}

impl ExportOutcome {
    /// The OTLP `partial_success` field: absent when everything was accepted.
    pub fn partial_success(&self) -> Option<ExportTracePartialSuccess> {
        (self.rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: self.rejected_spans,
            error_message: self.error_message.clone(),
        })
    }
}

/// Validates and publishes requests for all receivers.
#[derive(Clone)]
pub struct Exporter {
    publisher: KafkaPublisher,
    max_record_bytes: usize,
    /// Start times accepted on receipt; the ingester, reading Kafka, has no such limit.
    time_limits: SpanTimeLimits,
    refusal_log: Arc<RefusalLog>,
    tenancy: Arc<Tenancy>,
    rate_limits: Arc<RateLimits>,
    /// OpenTelemetry's span limits (`collector.limits`).
    span_limits: SpanLimits,
    /// `collector.limits.max_spans_per_request`.
    max_spans_per_request: usize,
}

/// The tenant a gRPC request was admitted for, put in its extensions before its message is read.
#[derive(Debug, Clone)]
pub struct RequestTenant(pub Option<Tenant>);

impl RequestTenant {
    /// Resolve a gRPC call's tenant from its metadata and principal before its message is decoded,
    /// and keep it in the call's extensions for the handler.
    pub fn admit(
        exporter: &Exporter,
        transport: &'static str,
        call: &mut axum::http::request::Parts,
    ) -> Result<(), ExportError> {
        let tenant = exporter.tenant(transport, &call.headers, call.extensions.get::<Principal>())?;
        call.extensions.insert(RequestTenant(tenant));
        Ok(())
    }

    /// The tenant [`RequestTenant::admit`] kept for `request`.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Option<Tenant>, tonic::Status> {
        let admitted = request.extensions().get::<RequestTenant>();
        admitted.map(|tenant| tenant.0.clone()).ok_or_else(|| tonic::Status::internal("the call was not admitted"))
    }
}

impl Exporter {
    pub fn new(publisher: KafkaPublisher, max_record_bytes: usize, time_limits: SpanTimeLimits) -> Self {
        Self {
            publisher,
            max_record_bytes,
            time_limits,
            refusal_log: Arc::default(),
            tenancy: Arc::default(),
            rate_limits: Arc::default(),
            span_limits: SpanLimits::NONE,
            max_spans_per_request: usize::MAX,
        }
    }

    /// Require a tenant on every request and limit each tenant's spans (`tenancy`).
    pub fn with_tenancy(mut self, config: &TenancyConfig) -> Self {
        self.tenancy = Arc::new(Tenancy::new(config));
        self.rate_limits = Arc::new(RateLimits::new(config));
        self
    }

    /// The tenancy rules (the UDP path takes its tenant from them).
    pub fn tenancy(&self) -> &Tenancy {
        &self.tenancy
    }

    /// The tenant of a request, from its headers (or gRPC metadata) and the [`Principal`]
    /// authentication put in its extensions, before its body is read; `None` without tenancy.
    pub fn tenant(
        &self,
        transport: &'static str,
        headers: &HeaderMap,
        principal: Option<&Principal>,
    ) -> Result<Option<Tenant>, ExportError> {
        self.tenancy.resolve(headers, principal).map_err(|refusal| {
            telemetry::request(transport, "tenant_refused");
            ExportError::Tenant(refusal)
        })
    }

    /// Apply OpenTelemetry's span limits and refuse requests of more than `max_spans_per_request`.
    pub fn with_limits(mut self, span_limits: SpanLimits, max_spans_per_request: usize) -> Self {
        self.span_limits = span_limits;
        self.max_spans_per_request = max_spans_per_request;
        self
    }

    /// Refuse a request of more spans than `collector.limits.max_spans_per_request`.
    fn check_span_count(&self, transport: &'static str, spans: usize) -> Result<(), ExportError> {
        if spans > self.max_spans_per_request {
            telemetry::request(transport, "too_many_spans");
            return Err(ExportError::TooManySpans { spans, limit: self.max_spans_per_request });
        }
        Ok(())
    }

    /// Reserve in-flight room for a request body of `bytes` before decoding it.
    pub fn reserve(&self, transport: &'static str, bytes: usize) -> Result<InFlight, ExportError> {
        self.publisher.reserve(bytes).map_err(|error| {
            let outcome = match error {
                PublishError::Overloaded { .. } => "overloaded",
                _ => "unavailable",
            };
            telemetry::request(transport, outcome);
            ExportError::from(error)
        })
    }

    /// Validate and publish an encoded `ExportTraceServiceRequest`; resolves after Kafka
    /// acknowledged every record. Spans travel as the bytes they arrived as.
    pub async fn export(
        &self,
        transport: &'static str,
        tenant: Option<&Tenant>,
        encoded: &[u8],
        reservation: &InFlight,
    ) -> Result<ExportOutcome, ExportError> {
        let mut request = WireRequest::parse(encoded).map_err(|error| {
            telemetry::request(transport, "malformed");
            ExportError::InvalidRequest(format!(
                "request is not a valid OTLP ExportTraceServiceRequest protobuf: {error}"
            ))
        })?;
        let received = request.span_count();
        telemetry::spans_received(transport, received);
        self.check_span_count(transport, received)?;
        let mut rejections = Rejections::default();
        retain_valid_spans(&mut request, &self.time_limits.now(), &mut rejections);
        // Spans within the limits stay the bytes they came as; only the others are rewritten.
        report_limited(transport, &limit_wire_request(&mut request, &self.span_limits));
        let (records, oversize) = records_for_wire_request(&request, self.max_record_bytes);
        self.publish(transport, tenant, received, rejections, &records, &oversize, reservation).await
    }

    /// What every path shares once spans are validated and cut into records: count and log the
    /// refusals, publish, and say what was accepted.
    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        transport: &'static str,
        tenant: Option<&Tenant>,
        received: usize,
        mut rejections: Rejections,
        records: &[TraceRecord],
        oversize: &[OversizeSpan],
        reservation: &InFlight,
    ) -> Result<ExportOutcome, ExportError> {
        for span in oversize {
            rejections.add(RejectReason::SpanTooLarge, String::new, || span.to_string());
        }
        let accepted: usize = records.iter().map(|r| r.span_count).sum();
        if !rejections.is_empty() {
            self.report_refusals(transport, received, accepted, &rejections);
        }
        if received > 0 && accepted == 0 {
            telemetry::request(transport, "invalid");
            return Err(ExportError::InvalidRequest(rejections.summary(received)));
        }
        if let Some(tenant) = tenant {
            // Whole requests: a client retrying after Retry-After resends all of it anyway.
            if let Err(limited) = self.rate_limits.take(tenant, accepted, Instant::now()) {
                telemetry::spans_rate_limited(tenant.as_str(), accepted);
                telemetry::spans_rejected(transport, "rate_limited", accepted);
                telemetry::request(transport, "rate_limited");
                return Err(ExportError::RateLimited {
                    tenant: tenant.to_string(),
                    spans_per_second: limited.spans_per_second,
                    retry_after: limited.retry_after,
                });
            }
        }
        if !records.is_empty() {
            if let Err(error) = self.publisher.publish(records, tenant, reservation).await {
                let label = match &error {
                    PublishError::Overloaded { .. } => "overloaded",
                    PublishError::RecordTooLarge { .. } => "record_too_large",
                    _ => "kafka_unavailable",
                };
                telemetry::spans_rejected(transport, label, accepted);
                telemetry::request(transport, label);
                return Err(error.into());
            }
        }
        telemetry::spans_accepted(transport, accepted);
        let rejected = rejections.total();
        telemetry::request(transport, if rejected > 0 { "partial" } else { "ok" });
        Ok(ExportOutcome {
            rejected_spans: rejected as i64,
            error_message: if rejected > 0 { rejections.summary(received) } else { String::new() },
        })
    }

    /// Count refused spans by reason and warn about them, at most once per transport per
    /// [`crate::refusal_log::INTERVAL`]: Jaeger and Zipkin clients read nothing of a success, so
    /// the collector's metrics and log are where a refusal shows.
    fn report_refusals(&self, transport: &'static str, received: usize, accepted: usize, rejections: &Rejections) {
        for (reason, count) in rejections.by_reason() {
            telemetry::spans_rejected(transport, reason.as_label(), count);
        }
        let Some(first) = rejections.described().first() else { return };
        let Some(suppressed) = self.refusal_log.admit(transport, rejections.total(), Instant::now()) else { return };
        tracing::warn!(
            transport,
            reason = first.reason.as_label(),
            service = first.service.as_str(),
            rejected = rejections.total(),
            received,
            request_refused = accepted == 0,
            suppressed_requests = suppressed.requests,
            suppressed_spans = suppressed.spans,
            detail = rejections.summary(received).as_str(),
            "invalid spans dropped"
        );
    }
}

/// Count what the span limits dropped or cut.
fn report_limited(transport: &'static str, limited: &Limited) {
    if limited.is_empty() {
        return;
    }
    telemetry::spans_limited(transport, limited.spans);
    for (limit, count) in limited.by_limit() {
        if count > 0 {
            telemetry::span_limit_applied(transport, limit, count);
        }
    }
}

/// A converted request validated and cut into records, ready to publish (and to publish again,
/// for senders that cannot be asked to retry: UDP).
#[derive(Debug)]
pub struct PreparedRequest {
    received: usize,
    rejections: Rejections,
    records: Vec<TraceRecord>,
    oversize: Vec<OversizeSpan>,
}

impl PreparedRequest {
    /// Bytes of the records, for the in-flight reservation.
    pub fn record_bytes(&self) -> usize {
        self.records.iter().map(|r| r.value.len()).sum()
    }

    /// Spans in the records.
    pub fn span_count(&self) -> usize {
        self.records.iter().map(|r| r.span_count).sum()
    }

    /// Forget the refusals once they were counted, so a retry does not count them again.
    pub fn refusals_counted(&mut self) {
        self.rejections.clear();
        self.oversize.clear();
    }
}

impl Exporter {
    /// Validate and publish a request another receiver converted to OTLP; its spans are moved
    /// into the records, not encoded and read back.
    /// `refused` are the spans the receiver could not even convert; they count as received and
    /// rejected like the spans validation refuses.
    pub async fn export_otlp(
        &self,
        transport: &'static str,
        tenant: Option<&Tenant>,
        request: ExportTraceServiceRequest,
        refused: Rejections,
        reservation: &InFlight,
    ) -> Result<ExportOutcome, ExportError> {
        let prepared = self.prepare_otlp(transport, request, refused)?;
        self.publish_prepared(transport, tenant, &prepared, reservation).await
    }

    /// Validate a converted request, limit its spans and cut it into records; `refused` as in
    /// [`Self::export_otlp`]. A request of too many spans is refused whole.
    pub fn prepare_otlp(
        &self,
        transport: &'static str,
        mut request: ExportTraceServiceRequest,
        refused: Rejections,
    ) -> Result<PreparedRequest, ExportError> {
        let converted: usize = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        let received = converted + refused.total();
        telemetry::spans_received(transport, received);
        self.check_span_count(transport, received)?;
        let mut rejections = refused;
        retain_valid_otlp(&mut request, &self.time_limits.now(), &mut rejections);
        report_limited(transport, &limit_request(&mut request, &self.span_limits));
        let (records, oversize) = records_for_otlp(request, self.max_record_bytes);
        Ok(PreparedRequest { received, rejections, records, oversize })
    }

    /// Publish prepared records; resolves after Kafka acknowledged every one.
    pub async fn publish_prepared(
        &self,
        transport: &'static str,
        tenant: Option<&Tenant>,
        prepared: &PreparedRequest,
        reservation: &InFlight,
    ) -> Result<ExportOutcome, ExportError> {
        let PreparedRequest { received, rejections, records, oversize } = prepared;
        self.publish(transport, tenant, *received, rejections.clone(), records, oversize, reservation).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_is_absent_when_everything_was_accepted() {
        assert_eq!(ExportOutcome::default().partial_success(), None);
        let outcome = ExportOutcome { rejected_spans: 2, error_message: "x".into() };
        assert_eq!(outcome.partial_success().unwrap().rejected_spans, 2);
    }
}
