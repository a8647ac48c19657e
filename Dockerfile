# syntax=docker/dockerfile:1
#
# skein: one image, every role. The role is the first argument:
#   docker build -t skein .
#   docker run --rm skein collector --kafka-brokers HOST:9092
# docker-compose.yml runs Kafka, Elasticsearch and each role from this image (docs/docker.md).

# ------------------------------------------------------------------------------- ui ----
# The web UI, built with Node (only here: the binary embeds ui/dist and needs no Node at run
# time). npm ci holds the committed lockfile; the npm cache lives in a BuildKit cache mount.
FROM node:20-bookworm-slim AS ui
WORKDIR /src
COPY ui/ ui/
COPY scripts/ui.sh scripts/ui.sh
COPY scripts/lib/ scripts/lib/
RUN --mount=type=cache,id=skein-npm,target=/root/.cache/skein/npm \
    bash scripts/ui.sh build

# ---------------------------------------------------------------------------- build ----
FROM rust:1.95-bookworm AS build

# rdkafka-sys builds librdkafka from source (./configure + make, linked statically) with
# OpenSSL (feature ssl) and zlib from the system; zstd and lz4 are compiled in. No cmake,
# no SASL/GSSAPI: the gssapi and cmake-build features are not used. Most of this is already in
# the rust image; listing it keeps the build independent of what the image happens to carry.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make g++ pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# The UI stage's ui/dist carries the hash of the sources it was built from, so `make release`
# (scripts/ui.sh build) embeds it without rebuilding.
COPY --from=ui /src/ui/dist ui/dist

# The project's release build (`make release`: cargo build --release --bin skein), held to the
# committed Cargo.lock. The registry and target/ live in BuildKit cache mounts, so the binary is
# copied out of the mount before the step ends. The release profile keeps line tables
# (debug = 1) for profiling; they are stripped from the image's copy (function names stay in
# backtraces) unless built with --build-arg STRIP_DEBUG=false.
ARG STRIP_DEBUG=true
RUN --mount=type=cache,id=skein-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=skein-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=skein-target,target=/src/target \
    make release CARGO="cargo --locked" \
 && install -D -m 0755 target/release/skein /out/skein \
 && if [ "$STRIP_DEBUG" = true ]; then strip --strip-debug /out/skein; fi \
 && /out/skein --version

# -------------------------------------------------------------------------- runtime ----
FROM debian:bookworm-slim

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="skein" \
      org.opencontainers.image.description="Kafka-centered tracing pipeline: OTLP, Jaeger and Zipkin in, Kafka, Elasticsearch in Jaeger's schema, dependency links and latency aggregates, Jaeger's query API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"

# The binary links libssl3/libcrypto3 (librdkafka's TLS) and zlib dynamically; zlib, libgcc and
# glibc are already in the base image. ca-certificates: TLS to Kafka and Elasticsearch.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 skein \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/skein --shell /usr/sbin/nologin skein \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/skein

COPY --from=build /out/skein /usr/local/bin/skein
# Every listener on 0.0.0.0 and JSON logs; Kafka and Elasticsearch addresses come from
# SKEIN_KAFKA__BROKERS / SKEIN_ELASTICSEARCH__URL or --kafka-brokers / --es-url.
COPY config/container.yaml /etc/skein/skein.yaml
ENV SKEIN_CONFIG=/etc/skein/skein.yaml

USER 10001:10001
WORKDIR /var/lib/skein

# collector: OTLP gRPC, OTLP HTTP, Jaeger gRPC, Jaeger Thrift HTTP, Jaeger UDP compact/binary,
# Zipkin, sampling, admin. ingester, agent, analytics admin. query API and admin.
EXPOSE 4317 4318 14250 14268 6831/udp 6832/udp 9411 5778 14269 \
       14270 14271 14272 \
       16686 16687

# The admin port (/healthz) depends on the role, which is the container's argument: the check
# takes the first role name among PID 1's arguments (so it also works under `docker run --init`)
# and probes that role's admin port. One-shot commands (init, replay, config, loadgen), an
# analytics backfill (--from, no admin endpoint) and unknown arguments count as healthy. Set
# HEALTHCHECK_URL when the admin address is changed, e.g. http://127.0.0.1:9000/healthz.
# docker-compose.yml sets its own /readyz checks; Kubernetes ignores HEALTHCHECK (the Helm chart
# has probes).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD if [ -n "${HEALTHCHECK_URL:-}" ]; then exec skein probe "$HEALTHCHECK_URL"; fi; \
      args=" $(tr '\0' ' ' </proc/1/cmdline) "; \
      case "$args" in *" --from "*|*" --from="*) exit 0 ;; esac; \
      for arg in $args; do \
        case "$arg" in \
          collector|all-in-one) exec skein probe http://127.0.0.1:14269/healthz ;; \
          ingester) exec skein probe http://127.0.0.1:14270/healthz ;; \
          agent) exec skein probe http://127.0.0.1:14271/healthz ;; \
          analytics) exec skein probe http://127.0.0.1:14272/healthz ;; \
          query) exec skein probe http://127.0.0.1:16687/healthz ;; \
          init|replay|config|loadgen|probe|help) exit 0 ;; \
        esac; \
      done; \
      exit 0

ENTRYPOINT ["/usr/local/bin/skein"]
CMD ["all-in-one"]
