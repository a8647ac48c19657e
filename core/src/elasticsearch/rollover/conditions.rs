//! `--conditions` of `skein indices rollover rollover`: the JSON object Elasticsearch's
//! `_rollover` takes, as Jaeger's rollover tool passes it (`{"max_age": "2d"}`), checked before it
//! is sent so that a typo is named rather than answered with a 400.

use serde_json::{Map, Value};

use super::RolloverError;

/// Jaeger's default: a new index every two days.
pub const DEFAULT_CONDITIONS: &str = r#"{"max_age": "2d"}"#;

/// The conditions Elasticsearch's `_rollover` knows (`min_*` ones only hold a rollover back).
const KNOWN: [&str; 10] = [
    "max_age",
    "max_docs",
    "max_size",
    "max_primary_shard_size",
    "max_primary_shard_docs",
    "min_age",
    "min_docs",
    "min_size",
    "min_primary_shard_size",
    "min_primary_shard_docs",
];

/// Read `--conditions`: a JSON object of known conditions, each a string (`"1d"`, `"50gb"`) or a
/// whole number (`max_docs`). An empty object rolls over unconditionally, as Elasticsearch does.
pub fn parse_conditions(text: &str) -> Result<Map<String, Value>, RolloverError> {
    let invalid = |reason: String| RolloverError::Conditions { text: text.to_string(), reason };
    let value: Value = serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?;
    let Value::Object(conditions) = value else {
        return Err(invalid("it is not a JSON object".into()));
    };
    for (name, value) in &conditions {
        if !KNOWN.contains(&name.as_str()) {
            return Err(invalid(format!("unknown condition {name:?}; known: {}", KNOWN.join(", "))));
        }
        let fits = match value {
            Value::String(text) => !text.is_empty(),
            Value::Number(number) => number.as_u64().is_some(),
            _ => false,
        };
        if !fits {
            return Err(invalid(format!("{name} must be a string such as \"1d\" or \"50gb\", or a whole number")));
        }
    }
    Ok(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_style_conditions_are_accepted() {
        let conditions =
            parse_conditions(r#"{"max_age": "1d", "max_docs": 1000000, "max_primary_shard_size": "50gb"}"#)
                .expect("valid conditions");
        assert_eq!(conditions.len(), 3);
        assert_eq!(conditions["max_age"], "1d");
        assert!(parse_conditions(DEFAULT_CONDITIONS).is_ok());
        assert!(parse_conditions("{}").unwrap().is_empty(), "an empty object rolls over unconditionally");
    }

    #[test]
    fn unknown_or_malformed_conditions_are_refused_naming_the_problem() {
        let error = parse_conditions(r#"{"max_days": "1d"}"#).unwrap_err().to_string();
        assert!(error.contains("unknown condition \"max_days\"") && error.contains("max_age"), "{error}");
        let error = parse_conditions(r#"["max_age"]"#).unwrap_err().to_string();
        assert!(error.contains("not a JSON object"), "{error}");
        let error = parse_conditions(r#"{"max_docs": -3}"#).unwrap_err().to_string();
        assert!(error.contains("max_docs must be"), "{error}");
        assert!(parse_conditions("max_age=1d").is_err());
    }
}
