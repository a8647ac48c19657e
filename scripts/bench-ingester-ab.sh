#!/usr/bin/env bash
# The ingester of two skein builds side by side (for a change that should not move its speed):
# one topic pre-filled once, then each build's ingester in turn over it, ROUNDS times, alternating,
# each with a fresh group and index prefix. Prints wall time (first record consumed → last
# document durable) and ingester CPU per 1 k spans per round. Needs `make up`.
#
#   scripts/bench-ingester-ab.sh OLD_BINARY NEW_BINARY [ROUNDS=3] [SPANS=200000]
#
# Loopback only; deletes its indices, templates and topics at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 2 && -x "$1" && -x "$2" ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY [ROUNDS] [SPANS]" >&2; exit 2; }
OLD="$1" NEW="$2" ROUNDS="${3:-3}" SPANS="${4:-200000}"
ES="${SKEIN_ES_URL:-http://127.0.0.1:9200}" KAFKA="${SKEIN_KAFKA_BROKERS:-127.0.0.1:9092}"
RUN="skein-ab-$(date +%s)" CLK_TCK="$(getconf CLK_TCK)" WORK="$(mktemp -d)"
bash scripts/infra/status.sh >/dev/null 2>&1 || { echo "Kafka and Elasticsearch must be running: make up" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ split($0, a, ") "); split(a[2], f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
metric() { awk -v name="$1" '$1 == name { print int($2) }' <<<"$2"; }
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for index in $(curl -fsS "$ES/_cat/indices/$RUN-*?h=index" 2>/dev/null); do curl -fsS -XDELETE "$ES/$index" >/dev/null || true; done
  curl -fsS -XDELETE "$ES/_index_template/$RUN-*" >/dev/null 2>&1 || true
  timeout 120 bash scripts/infra/kafka.sh tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA" --delete --topic "$RUN-.*" >/dev/null 2>&1 || echo "could not delete topics $RUN-*" >&2
  rm -rf "$WORK"
}
trap cleanup EXIT
topic_env=(SKEIN_KAFKA__BROKERS="$KAFKA" SKEIN_ELASTICSEARCH__URL="$ES" SKEIN_LOG__LEVEL=warn
  SKEIN_KAFKA__SPANS_TOPIC="$RUN-spans" SKEIN_KAFKA__DLQ_TOPIC="$RUN-dlq")

grpc="$(free_port)" http="$(free_port)" admin="$(free_port)"
env "${topic_env[@]}" SKEIN_COLLECTOR__OTLP_GRPC_LISTEN="127.0.0.1:$grpc" SKEIN_COLLECTOR__OTLP_HTTP_LISTEN="127.0.0.1:$http" \
  SKEIN_COLLECTOR__ADMIN_LISTEN="127.0.0.1:$admin" SKEIN_COLLECTOR__JAEGER_GRPC_LISTEN=off \
  SKEIN_COLLECTOR__JAEGER_THRIFT_HTTP_LISTEN=off SKEIN_COLLECTOR__JAEGER_COMPACT_UDP_LISTEN=off \
  SKEIN_COLLECTOR__JAEGER_BINARY_UDP_LISTEN=off SKEIN_COLLECTOR__ZIPKIN_LISTEN=off SKEIN_COLLECTOR__SAMPLING_HTTP_LISTEN=off \
  "$NEW" collector >"$WORK/collector.log" 2>&1 &
collector=$!; PIDS+=("$collector")
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
"$NEW" loadgen --endpoint "http://127.0.0.1:$grpc" --total "$SPANS" --batch 500 >"$WORK/prefill.txt" 2>&1 \
  || { cat "$WORK/prefill.txt" >&2; exit 1; }
kill "$collector"; wait "$collector" 2>/dev/null || true
echo "pre-filled $RUN-spans with $SPANS spans; bulk 2000 documents, 2 in flight"

for ((round = 1; round <= ROUNDS; round++)); do
  for side in old new; do
    binary="$OLD"; [[ "$side" == new ]] && binary="$NEW"
    prefix="$RUN-$side-$round" port="$(free_port)" t0="" c0=""
    env "${topic_env[@]}" SKEIN_INGESTER__GROUP_ID="$prefix" SKEIN_INGESTER__ADMIN_LISTEN="127.0.0.1:$port" \
      SKEIN_ELASTICSEARCH__INDEX_PREFIX="$prefix" SKEIN_INGESTER__BULK_MAX_DOCS=2000 SKEIN_INGESTER__BULK_CONCURRENCY=2 \
      "$binary" ingester >"$WORK/$prefix.log" 2>&1 &
    ingester=$!; PIDS+=("$ingester")
    deadline=$(( $(date +%s) + 300 ))
    while :; do
      metrics="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true)"
      consumed="$(metric skein_ingester_records_consumed_total "$metrics")"
      indexed="$(metric skein_ingester_documents_indexed_total "$metrics")"
      if [[ -z "$t0" ]] && (( ${consumed:-0} > 0 )); then t0="$(date +%s.%N)" c0="$(cpu_ticks "$ingester")"; fi
      (( ${indexed:-0} >= SPANS )) && { t1="$(date +%s.%N)" c1="$(cpu_ticks "$ingester")"; break; }
      kill -0 "$ingester" 2>/dev/null || { tail -20 "$WORK/$prefix.log" >&2; exit 1; }
      (( $(date +%s) < deadline )) || { echo "$side ingester did not index $SPANS spans in 300 s" >&2; exit 1; }
      sleep 0.1
    done
    kill "$ingester"; wait "$ingester" 2>/dev/null || true
    awk -v side="$side" -v r="$round" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v n="$SPANS" -v hz="$CLK_TCK" \
      'BEGIN { printf "%s round %d: %.2f s = %.0f spans/s | ingester CPU %.2f ms per 1k spans\n", side, r, t1 - t0, n / (t1 - t0), 1000 * (c1 - c0) / hz / (n / 1000) }'
    for index in $(curl -fsS "$ES/_cat/indices/$prefix-*?h=index"); do curl -fsS -XDELETE "$ES/$index" >/dev/null; done
    sleep 3 # let Elasticsearch settle (merges, deletes) before the next side
  done
done
