//! Elasticsearch index names and the index templates skein installs for Jaeger's indices.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

/// Index names with an optional prefix, as Jaeger builds them: `<prefix>-jaeger-span-YYYY-MM-DD`
/// (no second dash when the prefix already ends with one). In alias mode
/// ([`IndexNames::with_aliases`], Jaeger's `use_aliases`) spans, services and dependencies are
/// written to `<prefix>-jaeger-<family>-write` and read through `<prefix>-jaeger-<family>-read`,
/// aliases over rolled-over indices `<prefix>-jaeger-<family>-000001`, `-000002`, ...
#[derive(Debug, Clone)]
pub struct IndexNames {
    prefix: String,
    aliases: bool,
}

/// The index families Jaeger's rollover tool manages (its `jaeger-sampling` is not written by
/// skein, its archive is not either); `skein-metrics` stays daily in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolledFamily {
    Span,
    Service,
    Dependencies,
}

impl RolledFamily {
    /// Every family, in the order Jaeger's tool handles them.
    pub const ALL: [RolledFamily; 3] = [RolledFamily::Span, RolledFamily::Service, RolledFamily::Dependencies];

    fn base(self) -> &'static str {
        match self {
            RolledFamily::Span => "jaeger-span",
            RolledFamily::Service => "jaeger-service",
            RolledFamily::Dependencies => "jaeger-dependencies",
        }
    }
}

/// Suffix of every write alias. No daily or state index name ends with it (they end with a date
/// or `-state`), which is what lets the bulk body ask for `require_alias` by name alone.
pub const WRITE_ALIAS_SUFFIX: &str = "-write";

/// True when `index` names a write alias: writes to it must not create an index of that name
/// when the alias is missing (Elasticsearch would, and the next rollover would then fail).
pub fn is_write_alias(index: &str) -> bool {
    index.ends_with(WRITE_ALIAS_SUFFIX)
}

impl IndexNames {
    pub fn new(prefix: &str) -> Self {
        let prefix = if prefix.is_empty() || prefix.ends_with('-') { prefix.to_string() } else { format!("{prefix}-") };
        Self { prefix, aliases: false }
    }

    /// The same names in alias mode when `aliases` is true (`elasticsearch.use_aliases`).
    pub fn with_aliases(mut self, aliases: bool) -> Self {
        self.aliases = aliases;
        self
    }

    /// True in alias mode.
    pub fn uses_aliases(&self) -> bool {
        self.aliases
    }

    /// The prefix with its trailing dash (empty when there is none).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>jaeger-span`, the name the family's template, indices and aliases start with.
    pub fn rolled_base(&self, family: RolledFamily) -> String {
        format!("{}{}", self.prefix, family.base())
    }

    /// `<prefix>jaeger-span-write`: where the family is written in alias mode.
    pub fn write_alias(&self, family: RolledFamily) -> String {
        format!("{}{WRITE_ALIAS_SUFFIX}", self.rolled_base(family))
    }

    /// `<prefix>jaeger-span-read`: what the family is read through in alias mode.
    pub fn read_alias(&self, family: RolledFamily) -> String {
        format!("{}-read", self.rolled_base(family))
    }

    /// `<prefix>jaeger-span-000001`: the first index `rollover init` creates (Elasticsearch's
    /// rollover then counts up from its six digits).
    pub fn first_rolled_index(&self, family: RolledFamily) -> String {
        format!("{}-000001", self.rolled_base(family))
    }

    /// Where a span starting at `start_time_micros` is written: its daily index, or the write
    /// alias in alias mode.
    pub fn span_write_target(&self, start_time_micros: u64) -> String {
        if self.aliases {
            self.write_alias(RolledFamily::Span)
        } else {
            self.span_index(start_time_micros)
        }
    }

    /// Where the service document of a span starting at `start_time_micros` is written.
    pub fn service_write_target(&self, start_time_micros: u64) -> String {
        if self.aliases {
            self.write_alias(RolledFamily::Service)
        } else {
            self.service_index(start_time_micros)
        }
    }

    /// Where the dependencies document of a bucket starting at `start_ms` is written.
    pub fn dependencies_write_target(&self, start_ms: i64) -> String {
        if self.aliases {
            self.write_alias(RolledFamily::Dependencies)
        } else {
            self.dependencies_index(start_ms)
        }
    }

    /// `jaeger-span-YYYY-MM-DD` for the UTC day of `start_time_micros`.
    pub fn span_index(&self, start_time_micros: u64) -> String {
        format!("{}jaeger-span-{}", self.prefix, day(start_time_micros))
    }

    /// `jaeger-service-YYYY-MM-DD` for the UTC day of `start_time_micros`.
    pub fn service_index(&self, start_time_micros: u64) -> String {
        format!("{}jaeger-service-{}", self.prefix, day(start_time_micros))
    }

    /// A pattern matching every span index, for searches and tests.
    pub fn span_pattern(&self) -> String {
        format!("{}jaeger-span-*", self.prefix)
    }

    /// A pattern matching every service index.
    pub fn service_pattern(&self) -> String {
        format!("{}jaeger-service-*", self.prefix)
    }

    /// `jaeger-dependencies-YYYY-MM-DD` for the UTC day of `start_ms`.
    pub fn dependencies_index(&self, start_ms: i64) -> String {
        format!("{}jaeger-dependencies-{}", self.prefix, day(start_ms.max(0) as u64 * 1000))
    }

    /// `skein-metrics-YYYY-MM-DD` for the UTC day of `start_ms`.
    pub fn metrics_index(&self, start_ms: i64) -> String {
        format!("{}skein-metrics-{}", self.prefix, day(start_ms.max(0) as u64 * 1000))
    }

    /// The analytics role's checkpoints (one small index, not daily).
    pub fn analytics_state_index(&self) -> String {
        format!("{}skein-analytics-state", self.prefix)
    }

    /// A pattern matching every dependencies index.
    pub fn dependencies_pattern(&self) -> String {
        format!("{}jaeger-dependencies-*", self.prefix)
    }

    /// A pattern matching every metrics index.
    pub fn metrics_pattern(&self) -> String {
        format!("{}skein-metrics-*", self.prefix)
    }

    /// Wildcards covering every index a clean may delete: the four daily families and, in alias
    /// mode, Jaeger's rollover indices (`<prefix>jaeger-span-000001`). Never the checkpoint index.
    pub fn clean_patterns(&self) -> Vec<String> {
        DAILY_FAMILIES.iter().map(|family| format!("{}{family}-*", self.prefix)).collect()
    }

    /// The family and UTC day of a daily index of this prefix: `<prefix><family>-YYYY-MM-DD`
    /// exactly. None for every other name, another prefix's included: with the empty prefix,
    /// `foo-jaeger-span-2024-01-01` is not `jaeger-span-2024-01-01`.
    pub fn daily_index_day(&self, index: &str) -> Option<(&'static str, NaiveDate)> {
        let rest = index.strip_prefix(self.prefix.as_str())?;
        DAILY_FAMILIES.iter().find_map(|&family| {
            let date = rest.strip_prefix(family)?.strip_prefix('-')?;
            // `%Y-%m-%d` alone would take `2024-1-5` or a longer year; Jaeger's names are 10 chars.
            if date.len() != 10 {
                return None;
            }
            NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().map(|day| (family, day))
        })
    }

    /// The family of one of Jaeger's rollover indices of this prefix
    /// (`<prefix>jaeger-span-000001`: a family then six or more digits), as alias mode creates.
    pub fn rollover_index_family(&self, index: &str) -> Option<&'static str> {
        let rest = index.strip_prefix(self.prefix.as_str())?;
        ROLLOVER_FAMILIES.iter().copied().find(|family| {
            rest.strip_prefix(family)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|n| n.len() >= 6 && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// The write aliases of alias mode (`<prefix>jaeger-span-write`, ...): an index behind one
    /// of them is the one being written and is never deleted.
    pub fn write_aliases(&self) -> Vec<String> {
        ROLLOVER_FAMILIES.iter().map(|family| format!("{}{family}-write", self.prefix)).collect()
    }

    /// Templates of the indices the analytics role writes: Jaeger's (empty) dependencies mapping,
    /// skein's metrics mapping, and the checkpoint index.
    pub fn analytics_templates(&self, shards: u32, replicas: u32) -> Vec<(String, Value)> {
        vec![
            (
                format!("{}jaeger-dependencies", self.prefix),
                template(self.dependencies_pattern(), shards, replicas, dependencies_mappings()),
            ),
            (
                format!("{}skein-metrics", self.prefix),
                template(self.metrics_pattern(), shards, replicas, metrics_mappings()),
            ),
            (
                format!("{}skein-analytics-state", self.prefix),
                template(self.analytics_state_index(), 1, replicas, json!({ "dynamic": false, "properties": {} })),
            ),
        ]
    }

    /// The templates for span and service indices, as `(name, body)` for `PUT _index_template/name`.
    pub fn templates(&self, shards: u32, replicas: u32) -> Vec<(String, Value)> {
        vec![
            (format!("{}jaeger-span", self.prefix), template(self.span_pattern(), shards, replicas, span_mappings())),
            (
                format!("{}jaeger-service", self.prefix),
                template(self.service_pattern(), shards, replicas, service_mappings()),
            ),
        ]
    }
}

/// The daily index families skein writes, as named after the prefix: spans and services (the
/// ingester), dependencies and latency aggregates (analytics).
pub const DAILY_FAMILIES: [&str; 4] = ["jaeger-span", "jaeger-service", "jaeger-dependencies", "skein-metrics"];

/// The families Jaeger's alias mode rolls over (`<prefix><family>-000001`, ...).
const ROLLOVER_FAMILIES: [&str; 3] = ["jaeger-span", "jaeger-service", "jaeger-dependencies"];

/// The UTC day of a time in µs since the epoch: the day in the name of the index it goes to.
pub fn utc_day(micros: u64) -> NaiveDate {
    day(micros)
}

fn day(micros: u64) -> NaiveDate {
    let seconds = (micros / 1_000_000) as i64;
    DateTime::<Utc>::from_timestamp(seconds, 0).map(|t| t.date_naive()).unwrap_or_default()
}

fn template(pattern: String, shards: u32, replicas: u32, mappings: Value) -> Value {
    json!({
        "index_patterns": [pattern],
        "priority": 0,
        "template": {
            "settings": {
                "index.number_of_shards": shards,
                "index.number_of_replicas": replicas,
                "index.mapping.nested_fields.limit": 50,
                "index.requests.cache.enable": true
            },
            "mappings": mappings
        },
        "_meta": { "managed_by": "skein" }
    })
}

fn keyword() -> Value {
    json!({ "type": "keyword", "ignore_above": 256 })
}

fn nested_key_values() -> Value {
    json!({
        "type": "nested",
        "dynamic": false,
        "properties": { "key": keyword(), "value": keyword(), "type": keyword() }
    })
}

fn tag_dynamic_templates() -> Value {
    json!([
        { "span_tags_map": { "mapping": keyword(), "path_match": "tag.*" } },
        { "process_tags_map": { "mapping": keyword(), "path_match": "process.tag.*" } }
    ])
}

fn span_mappings() -> Value {
    json!({
        "dynamic_templates": tag_dynamic_templates(),
        "properties": {
            "traceID": keyword(),
            "parentSpanID": keyword(),
            "spanID": keyword(),
            "operationName": keyword(),
            "startTime": { "type": "long" },
            "startTimeMillis": { "type": "date", "format": "epoch_millis" },
            "duration": { "type": "long" },
            "flags": { "type": "integer" },
            "logs": {
                "type": "nested",
                "dynamic": false,
                "properties": { "timestamp": { "type": "long" }, "fields": nested_key_values() }
            },
            "process": {
                "properties": {
                    "serviceName": keyword(),
                    "tag": { "type": "object" },
                    "tags": nested_key_values()
                }
            },
            "references": {
                "type": "nested",
                "dynamic": false,
                "properties": { "refType": keyword(), "traceID": keyword(), "spanID": keyword() }
            },
            "tag": { "type": "object" },
            "tags": nested_key_values()
        }
    })
}

/// Jaeger's dependencies mapping is empty (dynamic); skein maps the group its readers filter on
/// as a keyword, so a term query matches it exactly.
fn dependencies_mappings() -> Value {
    json!({ "properties": { "group": keyword() } })
}

fn metrics_mappings() -> Value {
    let long = json!({ "type": "long" });
    json!({
        "dynamic": false,
        "properties": {
            "timestamp": { "type": "date" },
            "group": keyword(),
            "bucketSeconds": { "type": "integer" },
            "series": keyword(),
            "service": keyword(),
            "operation": keyword(),
            "spanKind": keyword(),
            "parent": keyword(),
            "child": keyword(),
            "childOperation": keyword(),
            "exemplarTraceId": keyword(),
            "calls": long,
            "errors": long,
            "durationSumNanos": long,
            "durationMinNanos": long,
            "durationMaxNanos": long,
            // Merged by readers, never searched: stored only.
            "durationSketch": { "type": "object", "enabled": false },
            "topic": keyword(),
            "partition": { "type": "integer" }
        }
    })
}

fn service_mappings() -> Value {
    json!({
        "dynamic_templates": tag_dynamic_templates(),
        "properties": { "serviceName": keyword(), "operationName": keyword() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_follow_jaeger_with_and_without_prefix() {
        let micros = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(IndexNames::new("").span_index(micros), "jaeger-span-2023-11-14");
        assert_eq!(IndexNames::new("prod").service_index(micros), "prod-jaeger-service-2023-11-14");
        assert_eq!(IndexNames::new("prod-").span_index(micros), "prod-jaeger-span-2023-11-14");
    }

    #[test]
    fn span_index_uses_the_utc_day_of_the_start() {
        let just_before_midnight = 1_700_006_399_999_999; // 2023-11-14T23:59:59.999999Z
        assert_eq!(IndexNames::new("").span_index(just_before_midnight), "jaeger-span-2023-11-14");
        assert_eq!(IndexNames::new("").span_index(just_before_midnight + 1), "jaeger-span-2023-11-15");
    }

    #[test]
    fn daily_index_day_reads_only_this_prefixes_four_families() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        let unprefixed = IndexNames::new("");
        assert_eq!(unprefixed.daily_index_day("jaeger-span-2024-03-09"), Some(("jaeger-span", day)));
        assert_eq!(unprefixed.daily_index_day("jaeger-service-2024-03-09"), Some(("jaeger-service", day)));
        assert_eq!(unprefixed.daily_index_day("jaeger-dependencies-2024-03-09"), Some(("jaeger-dependencies", day)));
        assert_eq!(unprefixed.daily_index_day("skein-metrics-2024-03-09"), Some(("skein-metrics", day)));
        for other in [
            "foo-jaeger-span-2024-03-09",
            "skein-analytics-state",
            "skein-retention",
            "jaeger-span-2024-3-9",
            "jaeger-span-2024-03-09-x",
            "jaeger-span-000001",
            "jaeger-sampling-2024-03-09",
            "jaeger-span-archive-2024-03-09",
        ] {
            assert_eq!(unprefixed.daily_index_day(other), None, "{other}");
        }
        let foo = IndexNames::new("foo");
        assert_eq!(foo.daily_index_day("foo-jaeger-span-2024-03-09"), Some(("jaeger-span", day)));
        assert_eq!(foo.daily_index_day("jaeger-span-2024-03-09"), None);
        assert_eq!(foo.daily_index_day("foo-bar-jaeger-span-2024-03-09"), None);
        assert_eq!(foo.daily_index_day("foo-skein-analytics-state"), None);
        assert_eq!(foo.clean_patterns()[0], "foo-jaeger-span-*");
    }

    #[test]
    fn rollover_indices_are_a_family_then_six_digits() {
        let names = IndexNames::new("p");
        assert_eq!(names.rollover_index_family("p-jaeger-span-000001"), Some("jaeger-span"));
        assert_eq!(names.rollover_index_family("p-jaeger-service-000012"), Some("jaeger-service"));
        assert_eq!(names.rollover_index_family("p-jaeger-span-00001"), None);
        assert_eq!(names.rollover_index_family("jaeger-span-000001"), None);
        assert_eq!(names.rollover_index_family("p-jaeger-span-2024-03-09"), None);
        assert_eq!(names.write_aliases()[0], "p-jaeger-span-write");
    }

    #[test]
    fn templates_carry_configured_shards_and_patterns() {
        let templates = IndexNames::new("t1").templates(3, 0);
        assert_eq!(templates[0].0, "t1-jaeger-span");
        assert_eq!(templates[0].1["index_patterns"][0], "t1-jaeger-span-*");
        assert_eq!(templates[0].1["template"]["settings"]["index.number_of_shards"], 3);
        assert_eq!(templates[0].1["template"]["mappings"]["properties"]["tags"]["type"], "nested");
        assert_eq!(templates[1].0, "t1-jaeger-service");
    }

    #[test]
    fn alias_mode_writes_to_jaeger_write_aliases_whatever_the_day() {
        let names = IndexNames::new("p").with_aliases(true);
        assert_eq!(names.span_write_target(1_700_000_000_000_000), "p-jaeger-span-write");
        assert_eq!(names.span_write_target(1_800_000_000_000_000), "p-jaeger-span-write");
        assert_eq!(names.service_write_target(1_700_000_000_000_000), "p-jaeger-service-write");
        assert_eq!(names.dependencies_write_target(1_700_000_000_000), "p-jaeger-dependencies-write");
        assert_eq!(names.read_alias(RolledFamily::Span), "p-jaeger-span-read");
        assert_eq!(names.first_rolled_index(RolledFamily::Service), "p-jaeger-service-000001");
        // Jaeger's names without a prefix: no leading dash.
        assert_eq!(IndexNames::new("").write_alias(RolledFamily::Span), "jaeger-span-write");
    }

    #[test]
    fn daily_mode_writes_to_daily_indices() {
        let names = IndexNames::new("p").with_aliases(false);
        assert_eq!(names.span_write_target(1_700_000_000_000_000), "p-jaeger-span-2023-11-14");
        assert_eq!(names.dependencies_write_target(1_700_000_000_000), "p-jaeger-dependencies-2023-11-14");
    }

    #[test]
    fn only_write_aliases_are_recognised_as_write_aliases() {
        let names = IndexNames::new("p").with_aliases(true);
        for family in RolledFamily::ALL {
            assert!(is_write_alias(&names.write_alias(family)));
            assert!(!is_write_alias(&names.read_alias(family)));
            assert!(!is_write_alias(&names.first_rolled_index(family)));
        }
        assert!(!is_write_alias(&names.span_index(1_700_000_000_000_000)));
        assert!(!is_write_alias(&names.metrics_index(1_700_000_000_000)));
        assert!(!is_write_alias(&names.analytics_state_index()));
    }

    #[test]
    fn rolled_indices_match_the_family_templates() {
        // The templates' patterns must cover `-000001` and its successors, or a rolled index
        // would get dynamic mappings.
        let names = IndexNames::new("p");
        let patterns: Vec<String> = names
            .templates(1, 0)
            .into_iter()
            .chain(names.analytics_templates(1, 0))
            .map(|(_, body)| body["index_patterns"][0].as_str().unwrap_or_default().to_string())
            .collect();
        for family in RolledFamily::ALL {
            let index = names.first_rolled_index(family);
            let covered = patterns.iter().any(|p| p.strip_suffix('*').is_some_and(|head| index.starts_with(head)));
            assert!(covered, "{index} is covered by one of {patterns:?}");
        }
    }

    #[test]
    fn analytics_indices_follow_the_same_naming() {
        let names = IndexNames::new("p");
        assert_eq!(names.dependencies_index(1_700_000_000_000), "p-jaeger-dependencies-2023-11-14");
        assert_eq!(names.metrics_index(1_700_000_000_000), "p-skein-metrics-2023-11-14");
        let templates = names.analytics_templates(1, 0);
        assert_eq!(templates[0].1["index_patterns"][0], "p-jaeger-dependencies-*");
        // Jaeger's fields stay dynamic; only the group skein filters on is mapped.
        assert_eq!(templates[0].1["template"]["mappings"], json!({"properties": {"group": keyword()}}));
        assert_eq!(templates[1].1["template"]["mappings"]["properties"]["durationSketch"]["enabled"], false);
        let properties = &templates[1].1["template"]["mappings"]["properties"];
        for field in ["group", "series", "service", "operation", "parent", "child", "childOperation", "exemplarTraceId"]
        {
            assert_eq!(properties[field]["type"], "keyword", "{field} is a keyword");
        }
    }
}
