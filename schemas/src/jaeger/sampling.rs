//! Jaeger remote sampling: the strategies file (`service_strategies`, `operation_strategies`,
//! `default_strategy`), resolved per service into `api_v2.SamplingStrategyResponse` as Jaeger's
//! file provider resolves it, and the JSON forms its HTTP endpoints answer with.

use std::collections::HashMap;

use serde::Deserialize;

use super::api_v2::{
    OperationSamplingStrategy, PerOperationSamplingStrategies, ProbabilisticSamplingStrategy,
    RateLimitingSamplingStrategy, SamplingStrategyResponse,
};

/// Jaeger's default when no file (or no `default_strategy`) says otherwise: sample 0.1 % of traces.
pub const DEFAULT_SAMPLING_PROBABILITY: f64 = 0.001;

const PROBABILISTIC: i32 = 0;
const RATE_LIMITING: i32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategiesFile {
    #[serde(default)]
    service_strategies: Vec<ServiceStrategy>,
    #[serde(default)]
    default_strategy: Option<Strategy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceStrategy {
    service: String,
    #[serde(flatten)]
    strategy: Strategy,
}

#[derive(Debug, Deserialize)]
struct Strategy {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    param: f64,
    #[serde(default)]
    operation_strategies: Vec<OperationStrategy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationStrategy {
    operation: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    param: f64,
}

/// Why a strategies file was refused (the previous strategies stay in force).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategiesError {
    #[error("strategies file is not valid JSON in Jaeger's format: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
}

/// Resolved strategies: one response per named service plus the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategies {
    default: SamplingStrategyResponse,
    services: HashMap<String, SamplingStrategyResponse>,
    /// Entries accepted but ignored, as Jaeger ignores them (for the log).
    pub warnings: Vec<String>,
}

impl Default for Strategies {
    /// No file: every service samples with [`DEFAULT_SAMPLING_PROBABILITY`].
    fn default() -> Self {
        Self { default: probabilistic(DEFAULT_SAMPLING_PROBABILITY), services: HashMap::new(), warnings: Vec::new() }
    }
}

fn probabilistic(rate: f64) -> SamplingStrategyResponse {
    SamplingStrategyResponse {
        strategy_type: PROBABILISTIC,
        probabilistic_sampling: Some(ProbabilisticSamplingStrategy { sampling_rate: rate }),
        ..Default::default()
    }
}

impl Strategies {
    /// Parse and resolve a strategies file. Values out of range are refused with the place named.
    pub fn parse(text: &[u8]) -> Result<Self, StrategiesError> {
        if text.iter().all(u8::is_ascii_whitespace) || text.trim_ascii() == b"null" {
            return Ok(Self::default());
        }
        let file: StrategiesFile = serde_json::from_slice(text).map_err(|e| StrategiesError::Json(e.to_string()))?;
        let mut warnings = Vec::new();
        let default = match &file.default_strategy {
            Some(strategy) => resolve(strategy, "default_strategy", &mut warnings)?,
            None => probabilistic(DEFAULT_SAMPLING_PROBABILITY),
        };
        let default_operations = default.operation_sampling.clone();
        let mut services = HashMap::new();
        for (index, service) in file.service_strategies.iter().enumerate() {
            let place = format!("service_strategies[{index}] ({})", service.service);
            let mut response = resolve(&service.strategy, &place, &mut warnings)?;
            // Operation defaults of `default_strategy` apply to every service, as in Jaeger.
            if let Some(defaults) = &default_operations {
                match &mut response.operation_sampling {
                    None => {
                        let mut inherited = defaults.clone();
                        if let Some(p) = &response.probabilistic_sampling {
                            inherited.default_sampling_probability = p.sampling_rate;
                        }
                        response.operation_sampling = Some(inherited);
                    }
                    Some(own) => {
                        for operation in &defaults.per_operation_strategies {
                            if !own.per_operation_strategies.iter().any(|o| o.operation == operation.operation) {
                                own.per_operation_strategies.push(operation.clone());
                            }
                        }
                    }
                }
            }
            if services.insert(service.service.clone(), response).is_some() {
                return Err(StrategiesError::Invalid(format!("{place}: service listed twice")));
            }
        }
        Ok(Self { default, services, warnings })
    }

    /// The strategy for `service` (the default for services not listed).
    pub fn for_service(&self, service: &str) -> &SamplingStrategyResponse {
        self.services.get(service).unwrap_or(&self.default)
    }
}

fn check_rate(rate: f64, place: &str) -> Result<f64, StrategiesError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(StrategiesError::Invalid(format!("{place}: probabilistic param {rate} must be between 0 and 1")))
    }
}

fn resolve(
    strategy: &Strategy,
    place: &str,
    warnings: &mut Vec<String>,
) -> Result<SamplingStrategyResponse, StrategiesError> {
    let mut response = match strategy.kind.as_str() {
        "probabilistic" => probabilistic(check_rate(strategy.param, place)?),
        "ratelimiting" => {
            if !(0.0..=f64::from(i32::MAX)).contains(&strategy.param) {
                return Err(StrategiesError::Invalid(format!(
                    "{place}: ratelimiting param {} must be a number of traces per second ≥ 0",
                    strategy.param
                )));
            }
            SamplingStrategyResponse {
                strategy_type: RATE_LIMITING,
                rate_limiting_sampling: Some(RateLimitingSamplingStrategy {
                    max_traces_per_second: strategy.param as i32,
                }),
                ..Default::default()
            }
        }
        other => {
            return Err(StrategiesError::Invalid(format!(
                "{place}: type '{other}' is not 'probabilistic' or 'ratelimiting'"
            )))
        }
    };
    if !strategy.operation_strategies.is_empty() {
        let default_probability =
            response.probabilistic_sampling.as_ref().map_or(DEFAULT_SAMPLING_PROBABILITY, |p| p.sampling_rate);
        let mut operations =
            PerOperationSamplingStrategies { default_sampling_probability: default_probability, ..Default::default() };
        for (index, operation) in strategy.operation_strategies.iter().enumerate() {
            let place = format!("{place}.operation_strategies[{index}] ({})", operation.operation);
            match operation.kind.as_str() {
                "probabilistic" => operations.per_operation_strategies.push(OperationSamplingStrategy {
                    operation: operation.operation.clone(),
                    probabilistic_sampling: Some(ProbabilisticSamplingStrategy {
                        sampling_rate: check_rate(operation.param, &place)?,
                    }),
                }),
                // Clients only apply probabilistic rates per operation; Jaeger skips these too.
                "ratelimiting" => warnings.push(format!(
                    "{place}: ratelimiting is not supported per operation; entry ignored (use probabilistic)"
                )),
                other => {
                    return Err(StrategiesError::Invalid(format!("{place}: type '{other}' is not 'probabilistic'")))
                }
            }
        }
        response.operation_sampling = Some(operations);
    }
    Ok(response)
}

/// How the HTTP endpoints spell `strategyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumStyle {
    /// `"PROBABILISTIC"` / `"RATE_LIMITING"` (`/sampling`, `/api/sampling`).
    Names,
    /// `0` / `1`, for the oldest clients reading the agent's root path.
    Numbers,
}

/// The response as Jaeger's HTTP endpoints write it: camelCase names in field order, zero values
/// written, absent sub-messages left out.
pub fn response_json(response: &SamplingStrategyResponse, style: EnumStyle) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Response {
        strategy_type: serde_json::Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        probabilistic_sampling: Option<Rate>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rate_limiting_sampling: Option<Limit>,
        #[serde(skip_serializing_if = "Option::is_none")]
        operation_sampling: Option<Operations>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Rate {
        sampling_rate: f64,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Limit {
        max_traces_per_second: i32,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Operations {
        default_sampling_probability: f64,
        default_lower_bound_traces_per_second: f64,
        per_operation_strategies: Vec<Operation>,
        default_upper_bound_traces_per_second: f64,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Operation {
        operation: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        probabilistic_sampling: Option<Rate>,
    }
    let rate = |p: &ProbabilisticSamplingStrategy| Rate { sampling_rate: p.sampling_rate };
    let body = Response {
        strategy_type: match (style, response.strategy_type) {
            (EnumStyle::Numbers, code) => code.into(),
            (EnumStyle::Names, RATE_LIMITING) => "RATE_LIMITING".into(),
            (EnumStyle::Names, _) => "PROBABILISTIC".into(),
        },
        probabilistic_sampling: response.probabilistic_sampling.as_ref().map(rate),
        rate_limiting_sampling: response
            .rate_limiting_sampling
            .as_ref()
            .map(|r| Limit { max_traces_per_second: r.max_traces_per_second }),
        operation_sampling: response.operation_sampling.as_ref().map(|o| Operations {
            default_sampling_probability: o.default_sampling_probability,
            default_lower_bound_traces_per_second: o.default_lower_bound_traces_per_second,
            per_operation_strategies: o
                .per_operation_strategies
                .iter()
                .map(|op| Operation {
                    operation: op.operation.clone(),
                    probabilistic_sampling: op.probabilistic_sampling.as_ref().map(rate),
                })
                .collect(),
            default_upper_bound_traces_per_second: o.default_upper_bound_traces_per_second,
        }),
    };
    serde_json::to_string(&body).expect("sampling responses always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "service_strategies": [
        {"service": "foo", "type": "probabilistic", "param": 0.8,
         "operation_strategies": [{"operation": "op1", "type": "probabilistic", "param": 0.2}]},
        {"service": "bar", "type": "ratelimiting", "param": 5},
        {"service": "baz", "type": "probabilistic", "param": 0.4}
      ],
      "default_strategy": {"type": "probabilistic", "param": 0.5,
        "operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0.0},
                                 {"operation": "op1", "type": "probabilistic", "param": 0.9}]}
    }"#;

    #[test]
    fn services_resolve_with_inherited_operation_defaults() {
        let strategies = Strategies::parse(FILE.as_bytes()).unwrap();
        assert_eq!(
            response_json(strategies.for_service("foo"), EnumStyle::Names),
            r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.8},"operationSampling":{"defaultSamplingProbability":0.8,"defaultLowerBoundTracesPerSecond":0.0,"perOperationStrategies":[{"operation":"op1","probabilisticSampling":{"samplingRate":0.2}},{"operation":"/health","probabilisticSampling":{"samplingRate":0.0}}],"defaultUpperBoundTracesPerSecond":0.0}}"#
        );
        let baz = strategies.for_service("baz").operation_sampling.as_ref().unwrap();
        assert_eq!(baz.default_sampling_probability, 0.4);
        assert_eq!(baz.per_operation_strategies.len(), 2);
        assert_eq!(
            response_json(strategies.for_service("bar"), EnumStyle::Numbers)
                .split(",\"operationSampling\"")
                .next()
                .unwrap(),
            r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":5}"#
        );
        assert_eq!(strategies.for_service("unknown").probabilistic_sampling.as_ref().unwrap().sampling_rate, 0.5);
    }

    #[test]
    fn ratelimiting_operation_entries_are_skipped_with_a_warning_as_in_jaeger() {
        let text = r#"{"default_strategy":{"type":"probabilistic","param":0.5,
            "operation_strategies":[{"operation":"a","type":"ratelimiting","param":3}]}}"#;
        let strategies = Strategies::parse(text.as_bytes()).unwrap();
        assert_eq!(strategies.warnings.len(), 1);
        assert!(strategies.for_service("x").operation_sampling.as_ref().unwrap().per_operation_strategies.is_empty());
    }

    #[test]
    fn no_file_means_one_in_a_thousand() {
        let strategies = Strategies::parse(b"  ").unwrap();
        assert_eq!(
            response_json(strategies.for_service("any"), EnumStyle::Names),
            r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}"#
        );
    }

    #[test]
    fn bad_files_name_the_place() {
        let cases = [
            (
                r#"{"service_strategies":[{"service":"a","type":"probabilistic","param":1.5}]}"#,
                "service_strategies[0] (a)",
            ),
            (r#"{"default_strategy":{"type":"sometimes"}}"#, "type 'sometimes'"),
            (
                r#"{"service_strategies":[{"service":"a","type":"probabilistic","param":0.1},{"service":"a","type":"probabilistic","param":0.1}]}"#,
                "listed twice",
            ),
            (r#"{"services":[]}"#, "unknown field"),
            ("{", "not valid JSON"),
        ];
        for (text, expected) in cases {
            let error = Strategies::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should contain {expected}");
        }
    }
}
