//! Index template installation, run by each role at start before it writes.

use elasticsearch::indices::IndicesPutIndexTemplateParts;
use elasticsearch::Elasticsearch;

use super::{detect_backend, ElasticsearchSetupError};
use crate::config::ElasticsearchConfig;

/// Install (or overwrite) composable index templates, first saying in the log which backend
/// answers (Elasticsearch and OpenSearch both take composable templates, `_index_template`).
pub async fn install_templates(
    client: &Elasticsearch,
    config: &ElasticsearchConfig,
    templates: &[(String, serde_json::Value)],
) -> Result<(), ElasticsearchSetupError> {
    let backend = detect_backend(client, &config.url).await?;
    tracing::info!(%backend, url = %config.url, "search backend identified");
    for (name, body) in templates {
        let response = client
            .indices()
            .put_index_template(IndicesPutIndexTemplateParts::Name(name))
            .body(body.clone())
            .send()
            .await
            .map_err(|error| ElasticsearchSetupError::Unreachable {
                url: config.url.clone(),
                reason: crate::errors::with_causes(&error),
            })?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let body = response.text().await.unwrap_or_default();
            return Err(ElasticsearchSetupError::Template { name: name.clone(), status, body });
        }
        tracing::info!(template = %name, "installed index template");
    }
    Ok(())
}
