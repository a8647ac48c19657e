//! Kafka over TLS with client certificates (`kafka.tls`): the broker of
//! `scripts/infra/kafka-tls.sh` speaks only TLS and requires a client certificate signed by its
//! CA. The collector and the ingester reach it with `kafka.tls`; a wrong CA, a missing client
//! certificate and plaintext are refused with librdkafka's reason.

use std::time::Duration;

use skein_core::kafka::{ensure_topics, KafkaSetupError};
use skein_core::SkeinConfig;
use skein_e2e::tls_servers::{other_ca, TlsServer};
use skein_e2e::*;

const WAIT: Duration = Duration::from_secs(90);
const BROKER: &str = "127.0.0.1:19492";

fn tls_config(name: &str, broker: &TlsServer) -> SkeinConfig {
    let mut config = isolated_config(name);
    config.kafka.brokers = BROKER.into();
    config.kafka.partitions = 1;
    config.kafka.tls.enabled = true;
    config.kafka.tls.ca_file = broker.file("ca.pem");
    config.kafka.tls.cert_file = broker.file("client.pem");
    config.kafka.tls.key_file = broker.file("client.key");
    config
}

fn refusal(result: Result<(), KafkaSetupError>) -> String {
    match result {
        Err(error @ KafkaSetupError::Refused { .. }) => error.to_string(),
        other => panic!("expected the broker to refuse the connection, got {other:?}"),
    }
}

#[tokio::test]
async fn collector_and_ingester_reach_a_tls_broker_with_client_certificates_and_wrong_settings_are_refused() {
    require_servers();
    let broker = TlsServer::start("kafka-tls");

    // collector → Kafka over TLS → ingester → Elasticsearch.
    let config = tls_config("tls-kafka", &broker);
    let pipeline = Pipeline::start(&config, true, true).await;
    let trace = random_trace_id();
    pipeline
        .send_otlp_http(export_body(vec![(
            "tls-svc",
            vec![span(trace, 1, None, "root"), span(trace, 2, Some(1), "child")],
        )]))
        .await;
    let es = Es::default();
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    wait_until("2 spans indexed through the TLS broker", WAIT, || async { es.count(&pattern).await == 2 }).await;
    pipeline.stop().await;

    // A CA that did not sign the broker's certificate: refused at once, saying so.
    let dir = other_ca(&std::env::temp_dir().join(format!("skein-tls-kafka-{}", rand::random::<u32>())));
    let mut wrong_ca = tls_config("tls-kafka-ca", &broker);
    wrong_ca.kafka.tls.ca_file = Some(dir.join("other-ca.pem").to_string_lossy().into_owned());
    let message = refusal(ensure_topics(&wrong_ca.kafka).await);
    assert!(message.contains("certificate verify failed"), "{message}");
    assert!(message.contains("kafka.tls.ca_file"), "the message names the option to check: {message}");

    // No client certificate: the broker refuses the handshake.
    let mut no_cert = tls_config("tls-kafka-nocert", &broker);
    (no_cert.kafka.tls.cert_file, no_cert.kafka.tls.key_file) = (None, None);
    let message = refusal(ensure_topics(&no_cert.kafka).await);
    assert!(message.contains("SSL"), "{message}");

    // A client certificate from another CA: refused too.
    let mut stranger = tls_config("tls-kafka-stranger", &broker);
    stranger.kafka.tls.cert_file = Some(dir.join("other-client.pem").to_string_lossy().into_owned());
    stranger.kafka.tls.key_file = Some(dir.join("other-client.key").to_string_lossy().into_owned());
    refusal(ensure_topics(&stranger.kafka).await);
    let _ = std::fs::remove_dir_all(&dir);
}
