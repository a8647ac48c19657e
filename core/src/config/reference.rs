//! docs/configuration.md and config/skein.example.yaml held to the code: every option, each with
//! the default its section's `impl Default` gives, and nothing else.

use std::collections::BTreeMap;

use serde_json::Value;

use super::SkeinConfig;

const REFERENCE: &str = include_str!("../../../docs/configuration.md");
const EXAMPLE: &str = include_str!("../../../config/skein.example.yaml");

/// Every option of `config` with its value, by path: `kafka.brokers` → `"127.0.0.1:9092"`.
/// `kafka.librdkafka` is one option, a map of librdkafka's own properties; so is
/// `tenancy.rate_limits`, a map of tenant → spans per second.
fn options(config: &SkeinConfig) -> BTreeMap<String, Value> {
    fn walk(path: &str, value: Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !path.ends_with("librdkafka") && path != "tenancy.rate_limits" => {
                for (key, child) in map {
                    let child_path = if path.is_empty() { key } else { format!("{path}.{key}") };
                    walk(&child_path, child, out);
                }
            }
            leaf => {
                out.insert(path.to_string(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", serde_json::to_value(config).expect("the configuration serializes"), &mut out);
    out
}

/// How the reference's `default` column writes a value.
fn as_documented(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(text) if text.is_empty() => "`\"\"`".into(),
        Value::String(text) => format!("`{text}`"),
        other => format!("`{other}`"),
    }
}

/// A row of an option table in the reference.
struct Row {
    /// The `## section` heading the table is under.
    section: String,
    /// The `default` column as written.
    default: String,
}

/// The reference's option rows by option path: `| \`path\` | default | meaning |` lines.
fn documented_rows(reference: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let mut section = String::new();
    for line in reference.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_string();
            continue;
        }
        let Some(cells) = line.strip_prefix("| `") else { continue };
        let mut cells = cells.split('|').map(str::trim);
        let path = cells.next().and_then(|cell| cell.strip_suffix('`')).expect("an option cell is `path`");
        let default = cells.next().unwrap_or_default().to_string();
        let earlier = rows.insert(path.to_string(), Row { section: section.clone(), default });
        assert!(earlier.is_none(), "docs/configuration.md documents {path} twice; keep one row");
    }
    rows
}

#[test]
fn every_option_is_documented_with_its_default() {
    let rows = documented_rows(REFERENCE);
    for (path, value) in options(&SkeinConfig::default()) {
        let expected = as_documented(&value);
        let row = rows.get(&path).unwrap_or_else(|| {
            panic!("docs/configuration.md does not document {path}; add the row | `{path}` | {expected} | ... |")
        });
        assert_eq!(
            row.default, expected,
            "docs/configuration.md gives {path} the default {}, but its impl Default gives {expected}; correct the row",
            row.default
        );
    }
}

#[test]
fn every_documented_option_exists_in_its_section() {
    let options = options(&SkeinConfig::default());
    for (path, row) in documented_rows(REFERENCE) {
        assert!(
            options.contains_key(&path),
            "docs/configuration.md documents {path}, which is no option; remove its row"
        );
        assert!(
            path.starts_with(&format!("{}.", row.section)),
            "docs/configuration.md documents {path} under ## {}; move the row to its section's table",
            row.section
        );
    }
}

#[test]
fn reference_rows_are_read_with_their_section_and_default() {
    let rows = documented_rows(
        "## kafka\n\n| option | default | meaning |\n| --- | --- | --- |\n| `kafka.brokers` | `a:1` | servers |\n",
    );
    let row = &rows["kafka.brokers"];
    assert_eq!((row.section.as_str(), row.default.as_str()), ("kafka", "`a:1`"));
    assert_eq!(rows.len(), 1, "header and separator rows are no options");
}

#[test]
fn defaults_are_written_as_the_reference_writes_them() {
    let written: Vec<String> =
        [Value::Null, "".into(), "lz4".into(), 6.into(), true.into(), serde_json::json!({}), serde_json::json!(["u"])]
            .iter()
            .map(as_documented)
            .collect();
    assert_eq!(written, ["none", "`\"\"`", "`lz4`", "`6`", "`true`", "`{}`", "`[\"u\"]`"]);
}

#[test]
fn the_example_lists_every_option_at_its_default() {
    let example = SkeinConfig::from_yaml_str(EXAMPLE).expect("config/skein.example.yaml parses");
    let example = options(&example);
    for (path, default) in options(&SkeinConfig::default()) {
        // Options without a default (credentials, files) are there as comments.
        let leaf = path.rsplit('.').next().expect("a path has a last part");
        assert!(EXAMPLE.contains(&format!("{leaf}:")), "config/skein.example.yaml lacks {path}");
        assert_eq!(example[&path], default, "config/skein.example.yaml sets {path} to another value than its default");
    }
}
