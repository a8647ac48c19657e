//! `skein agent` → collector over mTLS (`agent.collector_tls`): a Jaeger client (the Python
//! OpenTelemetry Jaeger Thrift exporter, over UDP) sends to the agent, which forwards over Jaeger
//! gRPC with TLS and a client certificate to a collector whose receivers require one; the spans
//! land in Elasticsearch. An agent trusting another CA is refused, and says why.

use std::time::Duration;

use skein_core::config::ClientAuth;
use skein_core::SkeinConfig;
use skein_e2e::certs::TestPki;
use skein_e2e::*;

/// What the agent's sampling endpoint answers: it asks the collector over the same link.
async fn sampling(agent: &skein_core::role::RunningRole<skein_agent::AgentAddresses>) -> (u16, String) {
    let url = format!("http://{}/sampling?service=any", agent.addresses.sampling_http.unwrap());
    let response = reqwest::get(&url).await.expect("the agent answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

fn secured_collector(name: &str, pki: &TestPki) -> SkeinConfig {
    let mut config = isolated_config(name);
    let tls = &mut config.listeners.receivers.tls;
    tls.cert_file = Some(pki.server_cert.clone());
    tls.key_file = Some(pki.server_key.clone());
    tls.client_ca_file = Some(pki.ca_cert.clone());
    tls.client_auth = Some(ClientAuth::Required);
    config
}

fn path(file: &std::path::Path) -> Option<String> {
    Some(file.to_string_lossy().into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jaeger_client_reaches_elasticsearch_through_the_agent_over_mtls_and_a_wrong_ca_is_refused() {
    require_servers();
    let dir = std::env::temp_dir().join(format!("skein-tls-agent-{}", rand::random::<u32>()));
    let pki = TestPki::generate(&dir);
    let mut config = secured_collector("tls-agent", &pki);
    let pipeline = Pipeline::start(&config, true, true).await;
    let grpc = pipeline.collector.as_ref().unwrap().addresses.jaeger_grpc.unwrap();
    config.agent.collector_endpoint = format!("https://127.0.0.1:{}", grpc.port());
    config.agent.collector_tls.ca_file = path(&pki.ca_cert);
    config.agent.collector_tls.cert_file = path(&pki.client_cert);
    config.agent.collector_tls.key_file = path(&pki.client_key);
    config.agent.collector_tls.server_name = Some("localhost".into());
    // The agent's own sampling HTTP is in the receivers group too: plain here, so that the test
    // reads the agent's answers with a plain client (the agent → collector link is what is tested).
    config.listeners.receivers.tls = Default::default();
    let agent = skein_agent::start(&config, pipeline.shutdown.clone()).await.expect("agent starts");
    let udp = agent.addresses.compact_udp.unwrap().to_string();
    let sent = run_client("python:jaeger_thrift_udp.py", &["--agent", &udp, "--service", "py-agent-tls"]);
    let expected = sent["span_count"].as_u64().unwrap();
    let es = Es::default();
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    wait_until("the client's spans indexed", Duration::from_secs(90), || async {
        es.count(&pattern).await == expected
    })
    .await;
    let (status, body) = sampling(&agent).await;
    assert_eq!(status, 200, "sampling over the same mTLS link: {body}");

    // An agent that trusts another CA: the handshake fails, and the agent says why (its
    // sampling endpoint relays the collector link's error).
    let mut wrong = config.clone();
    wrong.agent.collector_tls.ca_file = path(&pki.other_ca_cert);
    let stranger = skein_agent::start(&wrong, pipeline.shutdown.clone()).await.expect("agent starts");
    let (status, body) = sampling(&stranger).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("invalid peer certificate") && body.contains("UnknownIssuer"), "{body}");

    // No client certificate: the collector refuses it.
    let mut anonymous = config.clone();
    (anonymous.agent.collector_tls.cert_file, anonymous.agent.collector_tls.key_file) = (None, None);
    let anonymous = skein_agent::start(&anonymous, pipeline.shutdown.clone()).await.expect("agent starts");
    let (status, body) = sampling(&anonymous).await;
    assert_eq!(status, 500, "{body}");
    // TLS 1.3: the collector sends its alert after the handshake; the agent reads it, or (a race)
    // has already written its request into the closing connection and sees the broken pipe.
    let alert = body.to_lowercase().replace(' ', "").contains("certificaterequired");
    assert!(alert || body.contains("broken pipe"), "{body}");

    pipeline.stop().await;
    for agent in [agent, stranger, anonymous] {
        agent.join().await.expect("agent stopped cleanly");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
