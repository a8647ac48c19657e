//! The guard on span days: a span whose UTC day is outside the retained days (before
//! `elasticsearch.retention_days` allows, or after tomorrow) must not create an index, which the
//! next clean would delete or which would hold one bad clock's spans. Its record goes to the DLQ
//! with the reason, and the record's other spans are indexed as usual.

use skein_core::elasticsearch::retention::{OutsideRetention, RetainedDays};
use skein_schemas::jaeger::ConvertedSpan;

use crate::telemetry;

/// The spans of one record the retained days allow, and why the others were left out.
#[derive(Debug, Default)]
pub struct Split {
    pub kept: Vec<ConvertedSpan>,
    /// How many spans were left out, and the first one's reason.
    pub left_out: Option<(usize, OutsideRetention)>,
}

impl Split {
    /// The dead letter's reason: how many of the record's spans, and why the first.
    pub fn reason(&self) -> Option<String> {
        let (n, first) = self.left_out.as_ref()?;
        let total = n + self.kept.len();
        Some(format!("{n} of the record's {total} spans not indexed: {first}"))
    }
}

/// Sort a record's spans by whether `days` allows their day, counting the others on `/metrics`.
pub fn split(spans: Vec<ConvertedSpan>, days: &RetainedDays) -> Split {
    let mut out = Split::default();
    for span in spans {
        match days.check_micros(span.start_time_micros) {
            Ok(()) => out.kept.push(span),
            Err(outside) => {
                telemetry::spans_outside_retention(match outside {
                    OutsideRetention::TooOld { .. } => "before_retained_days",
                    OutsideRetention::TooNew { .. } => "after_tomorrow",
                });
                match &mut out.left_out {
                    Some((n, _)) => *n += 1,
                    None => out.left_out = Some((1, outside)),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use skein_schemas::jaeger::ServiceDocument;

    use super::*;

    fn span(start: &str) -> ConvertedSpan {
        let micros = DateTime::parse_from_rfc3339(start).unwrap().timestamp_micros() as u64;
        ConvertedSpan {
            body: b"{}".to_vec(),
            document_id: start.into(),
            start_time_micros: micros,
            service: ServiceDocument { service_name: "svc".into(), operation_name: "op".into() },
        }
    }

    #[test]
    fn spans_of_days_outside_the_retained_range_are_left_out_with_the_range_named() {
        let now = DateTime::parse_from_rfc3339("2024-03-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let days = RetainedDays::at(now, 2);
        let spans = vec![
            span("2024-03-10T11:00:00Z"),
            span("2024-03-01T11:00:00Z"),
            span("2024-03-09T00:00:00Z"),
            span("2024-03-20T00:00:00Z"),
        ];
        let split = split(spans, &days);
        let kept: Vec<&str> = split.kept.iter().map(|s| s.document_id.as_str()).collect();
        assert_eq!(kept, vec!["2024-03-10T11:00:00Z", "2024-03-09T00:00:00Z"]);
        let reason = split.reason().unwrap();
        assert!(reason.starts_with("2 of the record's 4 spans not indexed: span starts on 2024-03-01"), "{reason}");
        assert!(reason.contains("2024-03-09 to 2024-03-11"), "{reason}");
    }

    #[test]
    fn a_record_of_retained_days_is_kept_whole() {
        let now = DateTime::parse_from_rfc3339("2024-03-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let split = split(vec![span("2024-03-11T23:59:59Z"), span("2020-01-01T00:00:00Z")], &RetainedDays::at(now, 0));
        assert_eq!(split.kept.len(), 2, "retention 0 keeps every past day; tomorrow is allowed");
        assert!(split.reason().is_none());
    }
}
