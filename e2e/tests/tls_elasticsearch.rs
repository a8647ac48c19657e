//! Elasticsearch over TLS with a client certificate (`elasticsearch.ca_file`, `cert_file`,
//! `key_file`): `scripts/infra/es-tls-proxy.sh` puts stunnel, requiring client certificates signed
//! by its CA, in front of the dev Elasticsearch. The ingester writes and the query service reads
//! through it; a client without a certificate is refused, saying why.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use skein_core::config::ElasticsearchConfig;
use skein_e2e::tls_servers::TlsServer;
use skein_e2e::*;

const WAIT: Duration = Duration::from_secs(90);
const PROXY: &str = "https://127.0.0.1:19243";

fn tls_elasticsearch(proxy: &TlsServer, base: &ElasticsearchConfig) -> ElasticsearchConfig {
    ElasticsearchConfig {
        url: PROXY.into(),
        ca_file: proxy.file("ca.pem"),
        cert_file: proxy.file("client.pem"),
        key_file: proxy.file("client.key"),
        ..base.clone()
    }
}

#[tokio::test]
async fn ingester_and_query_use_a_client_certificate_and_a_client_without_one_is_refused() {
    require_servers();
    let proxy = TlsServer::start("es-tls-proxy");
    let mut config = isolated_config("tls-es");
    config.elasticsearch = tls_elasticsearch(&proxy, &config.elasticsearch);

    let pipeline = Pipeline::start(&config, true, true).await;
    let query = skein_query::start(&config, pipeline.shutdown.clone()).await.expect("query starts");
    let trace = random_trace_id();
    // Started a minute ago: inside the query's default lookback.
    let start =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 - 60_000_000_000;
    let root = otlp_span(trace, 1, None, "root", SpanKind::Server, start, 1_000_000);
    pipeline.send_otlp_http(export_body(vec![("tls-es-svc", vec![root])])).await;
    // Counted on the plain dev Elasticsearch behind the proxy: the documents went through it.
    let es = Es::default();
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    wait_until("the span indexed through TLS", WAIT, || async { es.count(&pattern).await == 1 }).await;
    let (status, body) = get_json(&format!("http://{}/api/traces/{}", query.addresses.api, hex::encode(trace))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["spans"][0]["operationName"], "root", "{body}");
    pipeline.shutdown.cancel();
    query.join().await.expect("query stops cleanly");
    pipeline.stop().await;

    // Without a client certificate the handshake is refused, and the error says so.
    let no_cert = ElasticsearchConfig { cert_file: None, key_file: None, ..config.elasticsearch.clone() };
    let client = skein_core::elasticsearch::client(&no_cert).expect("client builds");
    let error = skein_core::elasticsearch::detect_backend(&client, &no_cert.url).await.unwrap_err().to_string();
    // rustls names the TLS alert: `received fatal alert: CertificateRequired`.
    assert!(error.to_lowercase().replace(' ', "").contains("certificaterequired"), "{error}");
    assert!(error.contains(PROXY), "the error names the URL: {error}");
}
