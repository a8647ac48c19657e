//! One span of a trace: its name, kind and attributes by flavor, events, and an exception event
//! with ERROR status on about 3% of spans.

use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use rand::seq::IndexedRandom;
use rand::Rng;

use super::attributes::{int, string, words};
use super::trace::{Flavor, Generator};
use super::vocabulary::{ERRORS, INTERNAL_OPERATIONS};

impl Generator {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn span(
        &mut self,
        trace_id: [u8; 16],
        parent: Option<[u8; 8]>,
        service: usize,
        flavor: Flavor,
        start: u64,
        end: u64,
        http: Option<(&'static str, &'static str)>,
    ) -> Span {
        let mut span_id: [u8; 8] = self.rng.random();
        span_id[0] |= 0x01;
        let error = self.rng.random_bool(0.03);
        let workload = self.workload.clone();
        let info = &workload.services[service];
        let (name, kind, mut attributes) = match flavor {
            Flavor::HttpServer => {
                let (method, route) = http.expect("HTTP spans have a route");
                (
                    format!("{method} {route}"),
                    SpanKind::Server,
                    self.http_server_attributes(service, method, route, error),
                )
            }
            Flavor::HttpClient => {
                let (method, route) = http.expect("HTTP spans have a route");
                (format!("{method} {route}"), SpanKind::Client, self.http_client_attributes(method, route, error))
            }
            Flavor::Database => {
                let operation = ["SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"][self.rng.random_range(0..5)];
                let (table, system) = (info.table, info.db_system);
                (format!("{operation} shop.{table}"), SpanKind::Client, self.db_attributes(system, operation, table))
            }
            Flavor::Internal => {
                let operation = *INTERNAL_OPERATIONS.choose(&mut self.rng).expect("operations");
                (operation.to_string(), SpanKind::Internal, self.internal_attributes(&info.name, operation))
            }
        };
        self.fill_attributes(&mut attributes);
        let mut events = Vec::new();
        if self.rng.random_bool(0.25) {
            for _ in 0..self.rng.random_range(1..=2) {
                events.push(self.event(start, end));
            }
        }
        let status = if error {
            let (kind, message) = *ERRORS.choose(&mut self.rng).expect("errors");
            events.push(Event {
                time_unix_nano: end,
                name: "exception".into(),
                attributes: vec![
                    string("exception.type", kind),
                    string("exception.message", message),
                    string("exception.stacktrace", &self.stacktrace(kind, message)),
                ],
                dropped_attributes_count: 0,
            });
            Some(Status { code: StatusCode::Error as i32, message: message.to_string() })
        } else {
            None
        };
        Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            name,
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            events,
            status,
            flags: 1,
            ..Default::default()
        }
    }

    fn event(&mut self, start: u64, end: u64) -> Event {
        let rng = &mut self.rng;
        let time = rng.random_range(start..=end);
        let (name, attributes) = match rng.random_range(0..3) {
            0 => ("cache.miss", vec![string("cache.key", &format!("user:{}:profile", rng.random_range(0..100_000)))]),
            1 => {
                ("retry", vec![int("retry.attempt", rng.random_range(1..4)), string("retry.reason", &words(rng, 2, 8))])
            }
            _ => ("message.received", vec![int("messaging.message.body.size", rng.random_range(10..64_000))]),
        };
        Event { time_unix_nano: time, name: name.into(), attributes, dropped_attributes_count: 0 }
    }

    fn stacktrace(&mut self, kind: &str, message: &str) -> String {
        let mut trace = format!("{kind}: {message}");
        for _ in 0..self.rng.random_range(3..25) {
            let class = ["OrderService", "CartRepository", "PaymentClient", "HttpHandler", "RetryPolicy"]
                .choose(&mut self.rng)
                .expect("classes");
            let method =
                ["handle", "execute", "call", "lambda$process$3", "apply"].choose(&mut self.rng).expect("methods");
            trace.push_str(&format!(
                "\n\tat com.example.shop.{class}.{method}({class}.java:{})",
                self.rng.random_range(20..800)
            ));
        }
        trace
    }
}
