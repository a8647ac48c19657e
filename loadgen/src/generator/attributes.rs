//! Span attributes by flavor, following OpenTelemetry's semantic conventions (HTTP server and
//! client, database, code), topped up with application attributes to `--attributes`.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::trace::Generator;
use super::vocabulary::{COLUMNS, SERVICE_NAMES, USER_AGENTS, WORDS};

impl Generator {
    pub(super) fn http_server_attributes(
        &mut self,
        service: usize,
        method: &str,
        route: &str,
        error: bool,
    ) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let path = fill_route(rng, route);
        let status = if error { 500 } else { *[200, 200, 200, 200, 201, 204, 404].choose(rng).expect("codes") };
        let mut attributes = vec![
            string("http.request.method", method),
            string("http.route", route),
            string("url.path", &path),
            string("url.scheme", "https"),
            int("http.response.status_code", status),
            string("server.address", &format!("{}.shop.svc.cluster.local", self.workload.services[service].name)),
            int("server.port", 8080),
            string(
                "client.address",
                &format!("10.{}.{}.{}", rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()),
            ),
            string("user_agent.original", USER_AGENTS.choose(rng).expect("agents")),
            string("network.protocol.version", if rng.random_bool(0.5) { "1.1" } else { "2" }),
        ];
        if route.contains("search") {
            attributes.insert(
                3,
                string(
                    "url.query",
                    &format!("q={}&page={}", words(rng, 1, 4).replace(' ', "+"), rng.random_range(1..20)),
                ),
            );
        }
        attributes
    }

    pub(super) fn http_client_attributes(&mut self, method: &str, route: &str, error: bool) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let service = SERVICE_NAMES.choose(rng).expect("services");
        let status = if error { 503 } else { 200 };
        vec![
            string("http.request.method", method),
            string("url.full", &format!("https://{service}.shop.svc.cluster.local:8080{}", fill_route(rng, route))),
            string("server.address", &format!("{service}.shop.svc.cluster.local")),
            int("server.port", 8080),
            int("http.response.status_code", status),
            string(
                "network.peer.address",
                &format!("10.{}.{}.{}", rng.random::<u8>(), rng.random::<u8>(), rng.random::<u8>()),
            ),
            int("http.request.resend_count", if error { 1 } else { 0 }),
            string("network.protocol.name", "http"),
        ]
    }

    pub(super) fn db_attributes(&mut self, system: &str, operation: &str, table: &str) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let statement = sql(rng, operation, table);
        let port = match system {
            "redis" => 6379,
            "mysql" => 3306,
            _ => 5432,
        };
        vec![
            string("db.system.name", system),
            string("db.namespace", "shop"),
            string("db.operation.name", operation),
            string("db.collection.name", table),
            string("db.query.text", &statement),
            string("server.address", &format!("{system}-primary.db.svc.cluster.local")),
            int("server.port", port),
            int("db.response.returned_rows", rng.random_range(0..500)),
        ]
    }

    pub(super) fn internal_attributes(&mut self, service: &str, operation: &str) -> Vec<KeyValue> {
        let rng = &mut self.rng;
        let function = operation.replace('-', "_");
        vec![
            string("code.function.name", &format!("shop::{}::{function}", service.replace('-', "_"))),
            string("code.file.path", &format!("/app/src/{}/{function}.rs", service.replace('-', "_"))),
            int("code.line.number", rng.random_range(10..900)),
            string("thread.name", "tokio-runtime-worker"),
            int("thread.id", rng.random_range(1..64)),
            boolean("app.cache.hit", rng.random_bool(0.7)),
            int("app.items.count", rng.random_range(0..40)),
            double("app.discount.ratio", (rng.random_range(0..1000) as f64) / 1000.0),
        ]
    }

    /// Generic application attributes, appended (or cut) to reach `--attributes`.
    pub(super) fn fill_attributes(&mut self, attributes: &mut Vec<KeyValue>) {
        let target = self.workload.attributes;
        let mut extra = 0;
        while attributes.len() < target {
            let rng = &mut self.rng;
            let attribute = match extra {
                0 => string("app.tenant.id", &format!("tenant-{:04}", rng.random_range(0..300))),
                1 => string("app.request.id", &hex::encode(rng.random::<[u8; 16]>())),
                2 => string("app.user.id", &format!("user-{}", rng.random_range(0..1_000_000))),
                3 => boolean("app.feature_flag.new_checkout", rng.random_bool(0.2)),
                4 => string("app.region", ["eu-west-1", "us-east-1", "ap-southeast-2"].choose(rng).expect("regions")),
                5 => string("app.build.sha", &hex::encode(rng.random::<[u8; 20]>())),
                6 => int("app.payload.bytes", rng.random_range(0..200_000)),
                7 => string("app.note", &words(rng, 2, 40)),
                n => string(&format!("app.attr.{n}"), &words(rng, 1, 3)),
            };
            attributes.push(attribute);
            extra += 1;
        }
        attributes.truncate(target);
    }
}

fn sql(rng: &mut SmallRng, operation: &str, table: &str) -> String {
    let amount = rng.random_range(2..COLUMNS.len());
    let columns: Vec<&str> = COLUMNS.choose_multiple(rng, amount).copied().collect();
    match operation {
        "INSERT" => format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            (1..=columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        ),
        "UPDATE" => format!("UPDATE {table} SET {} = $1, updated_at = now() WHERE id = $2", columns[0]),
        _ => {
            let mut text = format!("SELECT {} FROM {table} t WHERE t.{} = $1", columns.join(", t."), columns[0]);
            if rng.random_bool(0.5) {
                text.push_str(" AND t.created_at > $2 ORDER BY t.created_at DESC");
            }
            if rng.random_bool(0.3) {
                text.push_str(&format!(" LIMIT {}", rng.random_range(1..200)));
            }
            text
        }
    }
}

/// `route` with each `{parameter}` replaced by a random id.
fn fill_route(rng: &mut SmallRng, route: &str) -> String {
    route
        .split('/')
        .map(
            |part| {
                if part.starts_with('{') {
                    rng.random_range(1..10_000_000u32).to_string()
                } else {
                    part.to_string()
                }
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Between `min` and `max` words of log-like text.
pub(super) fn words(rng: &mut SmallRng, min: usize, max: usize) -> String {
    let count = rng.random_range(min..=max);
    (0..count).map(|_| *WORDS.choose(rng).expect("words")).collect::<Vec<_>>().join(" ")
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

pub(super) fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_string()))
}

pub(super) fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

fn boolean(key: &str, value: bool) -> KeyValue {
    attribute(key, any_value::Value::BoolValue(value))
}

fn double(key: &str, value: f64) -> KeyValue {
    attribute(key, any_value::Value::DoubleValue(value))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn route_parameters_are_filled_with_ids() {
        let mut rng = SmallRng::seed_from_u64(3);
        let path = fill_route(&mut rng, "/api/v1/cart/{userId}/items/{itemId}");
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts[..4], ["", "api", "v1", "cart"]);
        assert_eq!(parts[5], "items");
        assert!(parts[4].parse::<u32>().is_ok() && parts[6].parse::<u32>().is_ok(), "{path}");
    }

    #[test]
    fn statements_match_their_operation() {
        let mut rng = SmallRng::seed_from_u64(4);
        assert!(sql(&mut rng, "INSERT", "orders").starts_with("INSERT INTO orders ("));
        assert!(sql(&mut rng, "UPDATE", "orders").starts_with("UPDATE orders SET "));
        assert!(sql(&mut rng, "SELECT", "orders").contains(" FROM orders t WHERE t."));
    }
}
