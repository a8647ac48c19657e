# skein — every set-up step lives here or in scripts/, so a fresh machine needs only `make run` / `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test test-opensearch up down status reset ui ui-test browser build release lint deploy-check unit e2e clients jaeger faults chaos chaos-short bench fmt clean-state fuzz fuzz-smoke

## Bring up Kafka + Elasticsearch, build, run every role in one process. The servers start (and
## on a fresh machine download) while the build runs: neither waits for the other.
run:
	@bash scripts/infra/up.sh & up=$$!; \
	$(MAKE) --no-print-directory release || { wait $$up; exit 1; }; \
	wait $$up || { echo "make run: Kafka or Elasticsearch did not start (see the [skein-infra] lines above)" >&2; exit 1; }
	./target/release/skein all-in-one $(if $(CONFIG),--config $(CONFIG),)

## The whole suite, servers included: lint, unit tests (Rust and UI), a short fuzzing pass,
## end-to-end, browser and fault tests, then the short chaos run.
test: up lint deploy-check unit fuzz-smoke ui-test e2e browser faults chaos-short

## Local Kafka (127.0.0.1:9092) and Elasticsearch (127.0.0.1:9200); idempotent.
up:
	@bash scripts/infra/up.sh

down:
	@bash scripts/infra/down.sh

status:
	@bash scripts/infra/status.sh

## Stop both servers and delete their data.
reset:
	@bash scripts/infra/reset.sh

## The web UI (ui/) built into ui/dist, which `skein query` embeds at compile time: every cargo
## target below depends on it. npm packages come from the lockfile (cached under ~/.cache/skein).
ui:
	@bash scripts/ui.sh build

## The UI's unit tests (Vitest).
ui-test:
	@bash scripts/ui.sh test

## The UI in real Chromium (Debian's, installed by scripts/ui.sh) against the real stack: fixture
## traces through a collector, each view checked; screenshots in target/ui-screenshots/.
browser: ui clients
	@bash scripts/ui.sh chromium >/dev/null
	$(CARGO) test -p skein-e2e --test ui -- --nocapture

build: ui
	$(CARGO) build --workspace --all-targets

release: ui
	$(CARGO) build --release --bin skein

fmt:
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml

lint: ui
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	CARGO_TARGET_DIR=target/fuzz-check $(CARGO) clippy --manifest-path fuzz/Cargo.toml --locked --bins --lib -- -D warnings

## Offline checks of helm/skein (lint, templates vs. Kubernetes schemas) and docker-compose.yml (Compose schema);
## then the monitoring files (docs/monitoring.md): promtool on the alert rules and their tests, and every metric
## the rules and the Grafana dashboard name checked against a real skein all-in-one (needs `make up`).
deploy-check:
	@bash scripts/deploy/check.sh
	@bash scripts/deploy/monitoring.sh

## Pure-logic tests: no servers needed.
unit: ui
	$(CARGO) test --workspace --exclude skein-e2e

## libFuzzer on every decoder fed from outside (fuzz/README.md), FUZZ_SECONDS each (FUZZ_TARGETS:
## a subset). Stable Rust, nothing to install; inputs found stay in target/fuzz/, crashes are
## saved under target/fuzz/artifacts/ and fail the run.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
fuzz:
	@bash scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## Every fuzz target briefly, from the committed seeds: part of `make test`.
fuzz-smoke:
	@bash scripts/fuzz.sh run $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

## Against the real Kafka and Elasticsearch from `make up`; tests isolate themselves by topic and index prefix.
e2e: ui clients jaeger
	$(CARGO) build -p skein
	$(CARGO) test -p skein-e2e --test pipeline --test analytics --test query --test receivers --test graph --test pipeline_status --test analytics_cardinality --test rollover --test retention --test foreign --test tls --test tenancy --test analytics_tenancy --test hostile --test tls_kafka --test tls_elasticsearch --test tls_agent --test auth

## The pipeline, query and analytics end-to-end tests against OpenSearch instead of Elasticsearch
## (docs/opensearch.md): Kafka as for `make up`, OpenSearch from Maven Central on 127.0.0.1:9201
## (scripts/infra/opensearch.sh; the Elasticsearch on 9200 is not touched). Both are left running,
## like `make up`'s; `scripts/infra/opensearch.sh stop` stops OpenSearch.
OPENSEARCH_URL ?= http://127.0.0.1:$(or $(SKEIN_OS_PORT),9201)
test-opensearch: ui
	@bash scripts/infra/kafka.sh fetch && bash scripts/infra/opensearch.sh fetch
	@# A Kafka another checkout's `make up` started (same port) is used as it is.
	@if (exec 3<>/dev/tcp/127.0.0.1/$(or $(SKEIN_KAFKA_PORT),9092)) 2>/dev/null; then k=""; \
	  echo "[skein-infra] kafka: already listening on 127.0.0.1:$(or $(SKEIN_KAFKA_PORT),9092); using it" >&2; \
	else bash scripts/infra/kafka.sh start & k=$$!; fi; \
	bash scripts/infra/opensearch.sh start & o=$$!; \
	rc=0; if [ -n "$$k" ]; then wait $$k || rc=1; fi; wait $$o || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make test-opensearch: Kafka or OpenSearch did not start (see the [skein-infra] lines above)" >&2; exit 1; fi
	$(CARGO) build -p skein
	SKEIN_E2E_ELASTICSEARCH=$(OPENSEARCH_URL) SKEIN_E2E_BACKEND=opensearch $(CARGO) test -p skein-e2e --test pipeline --test query --test analytics

## Real Jaeger/Zipkin/OpenTelemetry client programs for the receiver tests (PyPI + Go module proxy, cached).
clients:
	@bash scripts/clients.sh setup

## A real Jaeger 2 (the approved release, built from the Go module proxy once, cached under
## ~/.cache/skein): the collector publishing foreign topics in e2e/tests/foreign.rs.
jaeger:
	@bash scripts/jaeger.sh path >/dev/null

## Tests that stop and restart the real servers: one at a time, after everything else.
faults: ui
	$(CARGO) test -p skein-e2e --test faults -- --test-threads=1

## The chaos suite (RELIABILITY.md): a three-node Kafka and an Elasticsearch of its own on
## 127.0.0.1:19xxx (started here, stopped at the end; the dev servers are not touched), real skein
## processes, faults while a fixed load runs; checks nothing acknowledged is lost or duplicated
## and analytics equals an uninterrupted run. At most 10 minutes; chaos-short at most ~4.
chaos: ui
	$(CARGO) build -p skein -p skein-e2e --bins
	./target/debug/chaos

chaos-short: ui
	$(CARGO) build -p skein -p skein-e2e --bins
	./target/debug/chaos --short

## Throughput and latency figures (see BENCHMARKS.md).
bench: up ui
	@bash scripts/bench.sh
