//! The strategies in force, from a Jaeger strategies file re-read when it changes.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use skein_schemas::jaeger::api_v2::SamplingStrategyResponse;
use skein_schemas::jaeger::sampling::Strategies;
use tokio_util::sync::CancellationToken;

use super::StrategySource;

/// The strategies file cannot be used at start.
#[derive(Debug, thiserror::Error)]
#[error("sampling strategies: {0} (fix collector.sampling_strategies_file)")]
pub struct SamplingError(String);

/// The strategies in force, swapped whole when the file changes.
#[derive(Clone, Default)]
pub struct StrategyStore {
    current: Arc<RwLock<Arc<Strategies>>>,
}

impl StrategyStore {
    /// Load `path` (none: Jaeger's default of probabilistic 0.001). A file that cannot be read or
    /// parsed at start is an error: the operator should know before clients do.
    pub fn load(path: Option<&str>) -> Result<Self, SamplingError> {
        let strategies = match path {
            None => Strategies::default(),
            Some(path) => {
                let text =
                    std::fs::read(path).map_err(|error| SamplingError(format!("cannot read {path}: {error}")))?;
                let strategies = Strategies::parse(&text).map_err(|error| SamplingError(format!("{path}: {error}")))?;
                for warning in &strategies.warnings {
                    tracing::warn!(path, warning, "sampling strategies");
                }
                strategies
            }
        };
        Ok(Self { current: Arc::new(RwLock::new(Arc::new(strategies))) })
    }

    /// The strategy of `service` (the default one when the file names no strategy for it).
    pub fn for_service(&self, service: &str) -> SamplingStrategyResponse {
        self.snapshot().for_service(service).clone()
    }

    fn snapshot(&self) -> Arc<Strategies> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn replace(&self, strategies: Strategies) {
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(strategies);
    }

    /// Re-read `path` every `interval`; apply it when its bytes changed and it parses, otherwise
    /// keep the strategies in force and say why.
    pub async fn watch(self, path: String, interval: Duration, shutdown: CancellationToken) {
        // The first tick re-reads the file: it may have changed since `load`.
        let mut last: Option<Vec<u8>> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(error) => {
                    if last.is_some() {
                        tracing::warn!(path, %error, "cannot read sampling strategies; keeping the ones in force");
                        metrics::counter!("skein_collector_sampling_reloads_total", "outcome" => "unreadable")
                            .increment(1);
                    }
                    last = None;
                    continue;
                }
            };
            if last.as_ref() == Some(&text) {
                continue;
            }
            match Strategies::parse(&text) {
                Ok(strategies) if *self.snapshot() == strategies => {}
                Ok(strategies) => {
                    for warning in &strategies.warnings {
                        tracing::warn!(path, warning, "sampling strategies");
                    }
                    self.replace(strategies);
                    tracing::info!(path, "sampling strategies reloaded");
                    metrics::counter!("skein_collector_sampling_reloads_total", "outcome" => "ok").increment(1);
                }
                Err(error) => {
                    tracing::warn!(path, %error, "sampling strategies file is invalid; keeping the ones in force");
                    metrics::counter!("skein_collector_sampling_reloads_total", "outcome" => "invalid").increment(1);
                }
            }
            last = Some(text);
        }
    }
}

impl StrategySource for StrategyStore {
    fn strategy(&self, service: String) -> BoxFuture<'static, Result<SamplingStrategyResponse, String>> {
        let response = self.for_service(&service);
        Box::pin(async move { Ok(response) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_changed_file_is_applied_and_a_broken_one_ignored() {
        let dir = std::env::temp_dir().join(format!("skein-sampling-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("strategies.json");
        let write = |rate: &str| {
            std::fs::write(&path, format!(r#"{{"default_strategy":{{"type":"probabilistic","param":{rate}}}}}"#))
                .unwrap()
        };
        write("0.5");
        let store = StrategyStore::load(Some(path.to_str().unwrap())).unwrap();
        let rate = |store: &StrategyStore| store.for_service("a").probabilistic_sampling.unwrap().sampling_rate;
        assert_eq!(rate(&store), 0.5);
        let shutdown = CancellationToken::new();
        let watcher = tokio::spawn(store.clone().watch(
            path.to_str().unwrap().into(),
            Duration::from_millis(20),
            shutdown.clone(),
        ));
        write("0.25");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while rate(&store) != 0.25 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(rate(&store), 0.25);
        std::fs::write(&path, "{ not json").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(rate(&store), 0.25, "a broken file keeps the strategies in force");
        shutdown.cancel();
        watcher.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
