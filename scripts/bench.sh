#!/usr/bin/env bash
# skein benchmark (`make bench`): every figure is measured here, on this machine, over loopback,
# against the local Kafka and Elasticsearch of `make up`. BENCHMARKS.md explains the method.
#
#   a. collector: spans/s and CPU per 1k spans (collector alone, loadgen at full speed)
#   b. ingester: spans/s from a pre-filled topic into Elasticsearch (ingester alone)
#   c. Elasticsearch `_bulk` ceiling: the same documents, batch size and concurrency, sent directly
#   d. end to end: delay from the collector's ack until the trace is searchable (all-in-one)
#   e. analytics: spans/s per core of the trace assembly logic (in memory), memory per buffered
#      span, and the real `skein analytics` worker over the topic pre-filled in b
#   f. query: trace-by-id and search latency over an index of BENCH_QUERY_SPANS spans (10 M; the
#      fill takes ~10 minutes at the ES `_bulk` ceiling)
#
# Every name is unique per run (`skein-bench-<epoch>-...`); at exit the script stops what it
# started and deletes its Elasticsearch indices and templates and its Kafka topics (~350 MB a run).
#
# Knobs (environment): BENCH_COLLECTOR_SPANS (default 1000000), BENCH_HTTP_SPANS (300000),
# BENCH_RECEIVER_SPANS (300000, each Jaeger/Zipkin receiver), BENCH_UDP_RATE (100000 spans/s),
# BENCH_INGEST_SPANS (200000), BENCH_BULK_DOCS (2000), BENCH_BULK_CONCURRENCY (2),
# BENCH_E2E_RATE (2000 spans/s), BENCH_E2E_SECS (20), BENCH_ANALYTICS_SPANS (2000000),
# BENCH_QUERY_SPANS (10000000; 0 skips f), BENCH_ONLY_QUERY (set: run f alone),
# BENCH_ONLY_COLLECTOR (set: run a alone), BENCH_SKIP_ANALYTICS (set: skip e), SKEIN_ES_URL,
# SKEIN_KAFKA_BROKERS, SKEIN_BIN (the skein binary measured; default target/release/skein, so an
# older build can be measured beside the current one in the same session).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

COLLECTOR_SPANS="${BENCH_COLLECTOR_SPANS:-1000000}"
HTTP_SPANS="${BENCH_HTTP_SPANS:-300000}"
RECEIVER_SPANS="${BENCH_RECEIVER_SPANS:-300000}"
UDP_RATE="${BENCH_UDP_RATE:-100000}"
INGEST_SPANS="${BENCH_INGEST_SPANS:-200000}"
BULK_DOCS="${BENCH_BULK_DOCS:-2000}"
BULK_CONCURRENCY="${BENCH_BULK_CONCURRENCY:-2}"
E2E_RATE="${BENCH_E2E_RATE:-2000}"
E2E_SECS="${BENCH_E2E_SECS:-20}"
ANALYTICS_SPANS="${BENCH_ANALYTICS_SPANS:-2000000}"
QUERY_SPANS="${BENCH_QUERY_SPANS:-10000000}"
ES="${SKEIN_ES_URL:-http://127.0.0.1:9200}"
KAFKA="${SKEIN_KAFKA_BROKERS:-127.0.0.1:9092}"
STATE_DIR="${SKEIN_STATE_DIR:-$REPO/.skein}"
SKEIN="${SKEIN_BIN:-$REPO/target/release/skein}"
CLK_TCK="$(getconf CLK_TCK)"

RUN="skein-bench-$(date +%s)"
WORK="$(mktemp -d "/tmp/$RUN.XXXX")"
RESULTS_DIR="$REPO/target/bench"
RESULTS="$RESULTS_DIR/$RUN.txt"
PIDS=()

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required ($2)"; }
result() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval("d"+sys.argv[2]); print(v)' "$1" "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# CPU ticks (utime + stime) of a process; the command name may contain spaces, so cut after ") ".
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  echo $(( ${12} + ${13} ))
}
pid_of() { [[ -s "$1" ]] && tr -dc '0-9' <"$1" || echo ""; }
# server_ticks kafka|es : "PID TICKS" of that server now (its pid file is read each time: another
# engineer's `make faults` may have restarted it).
server_ticks() {
  local pid
  case "$1" in
    kafka) pid="$(pid_of "$STATE_DIR/kafka/kafka.pid")" ;;
    es) pid="$(pid_of "$STATE_DIR/elasticsearch/run/es.pid")" ;;
  esac
  if [[ -n "$pid" ]]; then echo "$pid $(cpu_ticks "$pid")"; else echo "0 0"; fi
}
# server_cpu_s BEFORE AFTER : CPU seconds between two server_ticks readings.
server_cpu_s() {
  if [[ "${1% *}" != "${2% *}" || "${1% *}" == 0 ]]; then
    say "WARNING: Kafka or Elasticsearch restarted (or is unknown) during this measurement: its CPU shows as 0 and the phase's figures are suspect"
    echo 0
    return
  fi
  calc "(${2#* } - ${1#* }) / $CLK_TCK"
}

stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

delete_bench_indices() {
  local index
  for index in $(curl -fsS "$ES/_cat/indices/$RUN-*?h=index" 2>/dev/null); do
    curl -fsS -XDELETE "$ES/$index" >/dev/null || say "could not delete index $index"
  done
  curl -fsS -XDELETE "$ES/_index_template/$RUN-*" >/dev/null 2>&1 || true
}

delete_bench_topics() {
  timeout 120 bash scripts/infra/kafka.sh tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA" --delete --topic "$RUN-.*" >/dev/null 2>&1 \
    || say "could not delete topics $RUN-*; delete them with: scripts/infra/kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server $KAFKA --delete --topic '$RUN-.*'"
}

cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  delete_bench_indices
  delete_bench_topics
  if (( rc == 0 )); then
    rm -rf "$WORK"
  else
    say "failed (exit $rc); partial results in $RESULTS; process logs kept in $WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME ROLE VAR=VALUE... : run a skein role in the background; its pid is in STARTED.
start() {
  local name="$1" role="$2"; shift 2
  env "$@" SKEIN_KAFKA__BROKERS="$KAFKA" SKEIN_ELASTICSEARCH__URL="$ES" SKEIN_LOG__LEVEL=warn \
    "$SKEIN" "$role" >"$WORK/$name.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}

wait_ready() { # PORT NAME PID
  local i
  for ((i = 0; i < 300; i++)); do
    curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { tail -20 "$WORK/$2.log" >&2; die "$2 exited before it was ready"; }
    sleep 0.2
  done
  tail -20 "$WORK/$2.log" >&2
  die "$2 not ready after 60 s"
}

loadgen() { # SUMMARY_JSON ARGS... (foreground, but killed by cleanup when interrupted)
  local summary="$1"; shift
  "$SKEIN" loadgen --summary-json "$summary" "$@" >"$summary.txt" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid" || { cat "$summary.txt" >&2; die "loadgen failed"; }
  sed 's/^/    /' "$summary.txt" >&2
}

collector_env() { # PREFIX GRPC HTTP ADMIN
  echo SKEIN_KAFKA__SPANS_TOPIC="$1-spans" SKEIN_KAFKA__DLQ_TOPIC="$1-dlq" \
    SKEIN_COLLECTOR__OTLP_GRPC_LISTEN="127.0.0.1:$2" SKEIN_COLLECTOR__OTLP_HTTP_LISTEN="127.0.0.1:$3" \
    SKEIN_COLLECTOR__ADMIN_LISTEN="127.0.0.1:$4" \
    SKEIN_COLLECTOR__JAEGER_GRPC_LISTEN="${JAEGER_GRPC_LISTEN:-off}" \
    SKEIN_COLLECTOR__JAEGER_THRIFT_HTTP_LISTEN="${JAEGER_THRIFT_LISTEN:-off}" \
    SKEIN_COLLECTOR__JAEGER_COMPACT_UDP_LISTEN="${JAEGER_COMPACT_LISTEN:-off}" \
    SKEIN_COLLECTOR__JAEGER_BINARY_UDP_LISTEN="${JAEGER_BINARY_LISTEN:-off}" \
    SKEIN_COLLECTOR__ZIPKIN_LISTEN="${ZIPKIN_LISTEN:-off}" SKEIN_COLLECTOR__SAMPLING_HTTP_LISTEN=off
}

# accepted_spans ADMIN_PORT TRANSPORT : the collector's count of spans Kafka acknowledged for a transport.
accepted_spans() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v t="transport=\"$2\"" \
    '/^skein_collector_spans_accepted_total/ && index($0, t) { sum += $NF } END { printf "%d\n", sum }'
}

# ---------------------------------------------------------------------------------------------
need python3 "for JSON and free ports"
need curl "to talk to Elasticsearch"
bash scripts/infra/status.sh >/dev/null 2>&1 || die "Kafka and Elasticsearch must be running: make up"
if [[ -z "${SKEIN_BIN:-}" ]]; then
  say "building the release binary"
  cargo build --release --bin skein >&2
fi
[[ -x "$SKEIN" ]] || die "SKEIN_BIN=$SKEIN is not an executable skein binary"
mkdir -p "$RESULTS_DIR"
: >"$RESULTS"

result "skein benchmark $RUN — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
result "binary: $SKEIN"
result "machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2/1048576 }' /proc/meminfo) RAM, loopback only"
es_node="$(curl -fsS "$ES/_nodes/_local/jvm?filter_path=nodes.*.version,nodes.*.jvm.mem.heap_max_in_bytes" \
  | python3 -c 'import json,sys; n=list(json.load(sys.stdin)["nodes"].values())[0]; print(n["version"], n["jvm"]["mem"]["heap_max_in_bytes"]//1048576)')"
result "Kafka $(cat "$STATE_DIR/kafka/kafka.version" 2>/dev/null || echo '?') single broker (KRaft); Elasticsearch ${es_node% *} single node, heap ${es_node#* } MB"
result ""

if [[ -z "${BENCH_ONLY_QUERY:-}" ]]; then
# --- a. collector ------------------------------------------------------------------------------
# measure_collector LABEL PROTOCOL ENDPOINT SPANS PID TRANSPORT [LOADGEN ARGS...]
# Spans counted are those the collector reports Kafka acknowledged for that transport (UDP has
# no answer, so the sender's count would not do); "lost" = sent - acknowledged.
measure_collector() {
  local label="$1" protocol="$2" endpoint="$3" spans="$4" pid="$5" transport="$6"; shift 6
  local c0 k0 c1 k1 a0 a1 summary="$WORK/collector-$protocol.json"
  a0="$(accepted_spans "$admin_port" "$transport")"
  c0="$(cpu_ticks "$pid")"; k0="$(server_ticks kafka)"
  loadgen "$summary" --protocol "$protocol" --endpoint "$endpoint" --total "$spans" \
    --batch 500 --concurrency 8 --spans-per-trace 10 --attributes 10 --services "${SERVICES:-5}" "$@"
  # UDP datagrams may still be queued inside the collector when the sender is done.
  sleep 1
  c1="$(cpu_ticks "$pid")"; k1="$(server_ticks kafka)"
  a1="$(accepted_spans "$admin_port" "$transport")"
  local acked sent elapsed wall cpu_s kafka_s loadgen_s failures p50 p99
  acked=$((a1 - a0))
  sent="$(json "$summary" '["sent_spans"]')"
  elapsed="$(json "$summary" '["elapsed_secs"]')"
  wall="$(calc "$acked / $elapsed")"
  failures="$(json "$summary" '["failed_429"]+d["failed_503"]+d["failed_other"]')"
  p50="$(json "$summary" '["latency_p50_ms"]')"; p99="$(json "$summary" '["latency_p99_ms"]')"
  # The collector is idle while loadgen pre-generates, so the CPU delta is the sending phase's.
  cpu_s="$(calc "($c1 - $c0) / $CLK_TCK")"
  kafka_s="$(server_cpu_s "$k0" "$k1")"
  loadgen_s="$(calc "$(json "$summary" '["cpu_ticks"] or 0') / $CLK_TCK")"
  result "$(printf '  %-18s %8d spans in %6.2f s = %7.0f spans/s wall | collector CPU %5.2f s = %5.2f ms per 1k spans = %6.0f spans/s per core | request p50 %5.1f ms p99 %5.1f ms | failed requests %d, lost spans %d | CPU elsewhere: loadgen %.1f s, Kafka %.1f s' \
    "$label" "$acked" "$elapsed" "$wall" "$cpu_s" "$(calc "1000 * $cpu_s / ($acked / 1000)")" "$(calc "$acked / $cpu_s")" \
    "$p50" "$p99" "$failures" "$((sent - acked))" "$loadgen_s" "$kafka_s")"
}

say "a. collector alone"
grpc_port="$(free_port)"; http_port="$(free_port)"; admin_port="$(free_port)"
# shellcheck disable=SC2046
jaeger_grpc_port="$(free_port)"; thrift_port="$(free_port)"; zipkin_port="$(free_port)"
compact_port="$(free_port)"; binary_port="$(free_port)"
start collector collector $(JAEGER_GRPC_LISTEN="127.0.0.1:$jaeger_grpc_port" JAEGER_THRIFT_LISTEN="127.0.0.1:$thrift_port" \
  ZIPKIN_LISTEN="127.0.0.1:$zipkin_port" JAEGER_COMPACT_LISTEN="127.0.0.1:$compact_port" \
  JAEGER_BINARY_LISTEN="127.0.0.1:$binary_port" collector_env "$RUN-a" "$grpc_port" "$http_port" "$admin_port")
collector_pid="$STARTED"
wait_ready "$admin_port" collector "$collector_pid"
say "warm-up (50k spans)"
loadgen "$WORK/warmup.json" --endpoint "http://127.0.0.1:$grpc_port" --total 50000
result "a. collector alone (loadgen: 500 spans/request, 10 spans/trace, 10 attributes/span, 8 requests in flight, pre-generated)"
measure_collector "OTLP/gRPC" grpc "http://127.0.0.1:$grpc_port" "$COLLECTOR_SPANS" "$collector_pid" otlp_grpc
measure_collector "OTLP/HTTP pb" http-protobuf "http://127.0.0.1:$http_port" "$HTTP_SPANS" "$collector_pid" otlp_http_protobuf
measure_collector "OTLP/HTTP json" http-json "http://127.0.0.1:$http_port" "$HTTP_SPANS" "$collector_pid" otlp_http_json
# Jaeger and Zipkin receivers, next to OTLP/gRPC on the same workload. A Jaeger client reports
# one process per batch, so traces crossing services arrive in pieces (one Kafka record per piece);
# with one service per trace every protocol carries the same batches and the same records.
result "  receivers, 1 service per trace (same batches and Kafka records for every protocol):"
SERVICES=1 measure_collector "OTLP/gRPC (ref)" grpc "http://127.0.0.1:$grpc_port" "$RECEIVER_SPANS" "$collector_pid" otlp_grpc
SERVICES=1 measure_collector "Jaeger gRPC" jaeger-grpc "http://127.0.0.1:$jaeger_grpc_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_grpc
SERVICES=1 measure_collector "Jaeger Thrift HTTP" jaeger-thrift-http "http://127.0.0.1:$thrift_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_thrift_http
SERVICES=1 measure_collector "Zipkin JSON" zipkin-json "http://127.0.0.1:$zipkin_port" "$RECEIVER_SPANS" "$collector_pid" zipkin_json
SERVICES=1 measure_collector "Zipkin proto3" zipkin-proto "http://127.0.0.1:$zipkin_port" "$RECEIVER_SPANS" "$collector_pid" zipkin_proto
# UDP cannot push back: sent at a fixed rate the collector keeps up with; losses are reported.
SERVICES=1 measure_collector "Jaeger UDP compact" jaeger-udp-compact "udp://127.0.0.1:$compact_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_udp_compact --rate "$UDP_RATE"
SERVICES=1 measure_collector "Jaeger UDP binary" jaeger-udp-binary "udp://127.0.0.1:$binary_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_udp_binary --rate "$UDP_RATE"
result "  the same Jaeger receivers with traces across 5 services (each trace arrives in 5 batches):"
measure_collector "Jaeger gRPC" jaeger-grpc "http://127.0.0.1:$jaeger_grpc_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_grpc
measure_collector "Jaeger UDP compact" jaeger-udp-compact "udp://127.0.0.1:$compact_port" "$RECEIVER_SPANS" "$collector_pid" jaeger_udp_compact --rate "$UDP_RATE"
stop_pid "$collector_pid"
result ""
if [[ -n "${BENCH_ONLY_COLLECTOR:-}" ]]; then say "results: $RESULTS"; cat "$RESULTS"; exit 0; fi

# --- b. ingester ---------------------------------------------------------------------------------
say "b. pre-filling a topic with $INGEST_SPANS spans"
grpc_port="$(free_port)"; http_port="$(free_port)"; admin_port="$(free_port)"
# shellcheck disable=SC2046
start prefill collector $(collector_env "$RUN-b" "$grpc_port" "$http_port" "$admin_port")
prefill_pid="$STARTED"
wait_ready "$admin_port" prefill "$prefill_pid"
loadgen "$WORK/prefill.json" --endpoint "http://127.0.0.1:$grpc_port" --total "$INGEST_SPANS" --batch 500
stop_pid "$prefill_pid"
spans_in_topic="$(json "$WORK/prefill.json" '["acked_spans"]')"
(( spans_in_topic == INGEST_SPANS )) || say "only $spans_in_topic of $INGEST_SPANS spans were acknowledged; measuring those"

# ceiling LABEL : Elasticsearch `_bulk` with the same documents, batch and concurrency. Prints docs/s.
ceiling() {
  local prefix="$RUN-ceiling-$1" summary="$WORK/ceiling-$1.json" e0 e1
  e0="$(server_ticks es)"
  loadgen "$summary" --protocol es-bulk --endpoint "$ES" --es-prefix "$prefix" --total "$spans_in_topic" \
    --batch "$BULK_DOCS" --concurrency "$BULK_CONCURRENCY" --spans-per-trace 10 --attributes 10 --services 5
  e1="$(server_ticks es)"
  local acked failed es_s
  es_s="$(server_cpu_s "$e0" "$e1")"
  acked="$(json "$summary" '["acked_spans"]')"
  failed="$(json "$summary" '["rejected_spans"]+d["failed_429"]+d["failed_503"]+d["failed_other"]')"
  CEILING_RATE="$(json "$summary" '["spans_per_sec"]')"
  result "$(printf '  ES _bulk ceiling (%s): %d docs in %.2f s = %.0f docs/s | ES CPU %.1f s = %.1f ms per 1k docs | request p50 %.0f ms p99 %.0f ms | failed docs/requests %s' \
    "$1" "$acked" "$(json "$summary" '["elapsed_secs"]')" "$CEILING_RATE" "$es_s" \
    "$(calc "1000 * $es_s / ($acked / 1000)")" "$(json "$summary" '["latency_p50_ms"]')" \
    "$(json "$summary" '["latency_p99_ms"]')" "$failed")"
  for index in $(curl -fsS "$ES/_cat/indices/$prefix-*?h=index"); do curl -fsS -XDELETE "$ES/$index" >/dev/null; done
  sleep 5 # let Elasticsearch settle (merges, deletes) before the next phase
}

say "c. warming Elasticsearch up (20k documents into a throw-away index)"
loadgen "$WORK/es-warmup.json" --protocol es-bulk --endpoint "$ES" --es-prefix "$RUN-warmup" --total 20000 \
  --batch "$BULK_DOCS" --concurrency "$BULK_CONCURRENCY"
for index in $(curl -fsS "$ES/_cat/indices/$RUN-warmup-*?h=index"); do curl -fsS -XDELETE "$ES/$index" >/dev/null; done
sleep 3

result "b/c. ingester vs Elasticsearch _bulk ceiling ($spans_in_topic spans; bulk $BULK_DOCS docs, $BULK_CONCURRENCY in flight; template: 1 shard, 0 replicas, refresh 1 s)"
say "c. Elasticsearch _bulk ceiling, before the ingester run"
ceiling before
ceiling_before="$CEILING_RATE"

say "b. ingester alone"
ingest_prefix="$RUN-ingest"
admin_port="$(free_port)"
i0="$(now)"
start ingester ingester SKEIN_KAFKA__SPANS_TOPIC="$RUN-b-spans" SKEIN_KAFKA__DLQ_TOPIC="$RUN-b-dlq" \
  SKEIN_INGESTER__GROUP_ID="$RUN-ingester" SKEIN_INGESTER__ADMIN_LISTEN="127.0.0.1:$admin_port" \
  SKEIN_ELASTICSEARCH__INDEX_PREFIX="$ingest_prefix" SKEIN_INGESTER__BULK_MAX_DOCS="$BULK_DOCS" \
  SKEIN_INGESTER__BULK_CONCURRENCY="$BULK_CONCURRENCY"
ingester_pid="$STARTED"
ci0="$(cpu_ticks "$ingester_pid")"; e0="$(server_ticks es)"; k0="$(server_ticks kafka)"
samples="$WORK/ingest-samples.txt"
: >"$samples"
# Every 100 ms: time, records consumed, durable documents (spans + a few service documents).
sample() {
  local metrics consumed indexed
  metrics="$(curl -fsS "http://127.0.0.1:$admin_port/metrics" 2>/dev/null || true)"
  consumed="$(awk '/^skein_ingester_records_consumed_total/ { print $2 }' <<<"$metrics")"
  indexed="$(awk '/^skein_ingester_documents_indexed_total/ { print $2 }' <<<"$metrics")"
  echo "$(now) ${consumed:-0} ${indexed:-0}" >>"$samples"
  echo "${indexed:-0}"
}
deadline=$(( $(date +%s) + 600 ))
while :; do
  value="$(sample)"
  awk "BEGIN { exit !($value >= $spans_in_topic) }" && break
  kill -0 "$ingester_pid" 2>/dev/null || { tail -20 "$WORK/ingester.log" >&2; die "ingester exited"; }
  (( $(date +%s) < deadline )) || die "ingester did not index $spans_in_topic spans in 600 s"
  sleep 0.1
done
# Once the service documents are counted too, the last sample is exact.
curl -fsS -XPOST "$ES/$ingest_prefix-jaeger-*/_refresh" >/dev/null
service_docs="$(curl -fsS "$ES/$ingest_prefix-jaeger-service-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')"
target_docs=$(( spans_in_topic + service_docs ))
while ! awk "BEGIN { exit !($(tail -1 "$samples" | cut -d' ' -f3) >= $target_docs) }"; do
  sample >/dev/null
  (( $(date +%s) < deadline )) || die "ingester stuck below $target_docs documents"
  sleep 0.1
done
ci1="$(cpu_ticks "$ingester_pid")"; e1="$(server_ticks es)"; k1="$(server_ticks kafka)"
es_s="$(server_cpu_s "$e0" "$e1")"; kafka_s="$(server_cpu_s "$k0" "$k1")"
curl -fsS -XPOST "$ES/$ingest_prefix-jaeger-*/_refresh" >/dev/null
span_docs="$(curl -fsS "$ES/$ingest_prefix-jaeger-span-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')"
# Like the ceiling's clock (first request sent → last acknowledged): from the first record
# consumed to the last document durable; start-up (templates, group join) apart.
read -r t_first < <(awk '$2 > 0 { print $1; exit }' "$samples")
read -r t_last < <(tail -1 "$samples" | cut -d' ' -f1)
ingest_rate="$(calc "$spans_in_topic / ($t_last - $t_first)")"
startup="$(calc "$t_first - $i0")"
ingester_cpu="$(calc "($ci1 - $ci0) / $CLK_TCK")"
result "$(printf '  ingester: %d span docs in ES (%d expected) | %.0f spans/s (%.2f s from first record consumed to last document durable; first record %.2f s after start) | overall %.0f spans/s incl. start-up | ingester CPU %.1f s = %.2f ms per 1k spans | ES CPU %.1f s = %.1f ms per 1k docs | Kafka CPU %.1f s' \
  "$span_docs" "$spans_in_topic" "$ingest_rate" "$(calc "$t_last - $t_first")" "$startup" \
  "$(calc "$spans_in_topic / ($t_last - $i0)")" "$ingester_cpu" "$(calc "1000 * $ingester_cpu / ($spans_in_topic / 1000)")" \
  "$es_s" "$(calc "1000 * $es_s / ($spans_in_topic / 1000)")" "$kafka_s")"
stop_pid "$ingester_pid"
(( span_docs == spans_in_topic )) || say "WARNING: $span_docs span documents for $spans_in_topic spans"
for index in $(curl -fsS "$ES/_cat/indices/$ingest_prefix-*?h=index"); do curl -fsS -XDELETE "$ES/$index" >/dev/null; done
sleep 5

say "c. Elasticsearch _bulk ceiling, after the ingester run"
ceiling after
ceiling_after="$CEILING_RATE"
ceiling_mean="$(calc "($ceiling_before + $ceiling_after) / 2")"
result "$(printf '  ingester / ceiling: %.0f / %.0f = %.1f%% (ceiling = mean of the runs before and after)' \
  "$ingest_rate" "$ceiling_mean" "$(calc "100 * $ingest_rate / $ceiling_mean")")"
result ""

# --- d. end to end -----------------------------------------------------------------------------
e2e_total=$(( E2E_RATE * E2E_SECS ))
say "d. end to end: all-in-one, $E2E_RATE spans/s for $E2E_SECS s, probing one trace per request"
grpc_port="$(free_port)"; http_port="$(free_port)"; admin_port="$(free_port)"; ingester_admin="$(free_port)"
# shellcheck disable=SC2046
start all-in-one all-in-one $(collector_env "$RUN-d" "$grpc_port" "$http_port" "$admin_port") \
  SKEIN_INGESTER__GROUP_ID="$RUN-e2e" SKEIN_INGESTER__ADMIN_LISTEN="127.0.0.1:$ingester_admin" \
  SKEIN_ELASTICSEARCH__INDEX_PREFIX="$RUN-e2e"
aio_pid="$STARTED"
wait_ready "$admin_port" all-in-one "$aio_pid"
wait_ready "$ingester_admin" all-in-one "$aio_pid"
say "warm-up (2 s at the same rate: creates the indices, fills the service cache)"
loadgen "$WORK/e2e-warmup.json" --endpoint "http://127.0.0.1:$grpc_port" --rate "$E2E_RATE" --total $(( 2 * E2E_RATE )) \
  --batch 100 --concurrency 8
sleep 2
loadgen "$WORK/e2e.json" --endpoint "http://127.0.0.1:$grpc_port" --rate "$E2E_RATE" --total "$e2e_total" \
  --batch 100 --concurrency 8 --probe-es "$ES" --probe-prefix "$RUN-e2e" --probe-every 1 --probe-interval-ms 20
stop_pid "$aio_pid"
result "d. end to end (all-in-one; $E2E_RATE spans/s for $E2E_SECS s, 100 spans/request; one trace of every request polled every 20 ms until all its spans are searchable)"
result "$(printf '  ack → searchable: p50 %.0f ms  p90 %.0f ms  p99 %.0f ms  max %.0f ms over %d of %d probed traces (%d timed out) | request latency p50 %.1f ms p99 %.1f ms | %d spans acked' \
  "$(json "$WORK/e2e.json" '["probe"]["p50_ms"]')" "$(json "$WORK/e2e.json" '["probe"]["p90_ms"]')" \
  "$(json "$WORK/e2e.json" '["probe"]["p99_ms"]')" "$(json "$WORK/e2e.json" '["probe"]["max_ms"]')" \
  "$(json "$WORK/e2e.json" '["probe"]["found"]')" "$(json "$WORK/e2e.json" '["probe"]["probed"]')" \
  "$(json "$WORK/e2e.json" '["probe"]["timed_out"]')" "$(json "$WORK/e2e.json" '["latency_p50_ms"]')" \
  "$(json "$WORK/e2e.json" '["latency_p99_ms"]')" "$(json "$WORK/e2e.json" '["acked_spans"]')")"
result "  (Elasticsearch makes documents searchable at its refresh, every 1 s by default: that bounds this delay from below.)"
result ""

# --- e. analytics ------------------------------------------------------------------------------
if [[ -z "${BENCH_SKIP_ANALYTICS:-}" ]]; then
say "e. analytics: trace assembly in memory ($ANALYTICS_SPANS spans, one core)"
cargo build --release -p skein-analytics --example analytics_bench >&2
result "e. analytics"
"$REPO/target/release/examples/analytics_bench" "$ANALYTICS_SPANS" | sed 's/^/  /' | tee -a "$RESULTS"
say "e. analytics worker over the $spans_in_topic spans pre-filled in b"
admin_port="$(free_port)"
start analytics analytics SKEIN_KAFKA__SPANS_TOPIC="$RUN-b-spans" SKEIN_KAFKA__DLQ_TOPIC="$RUN-b-dlq" \
  SKEIN_ANALYTICS__GROUP_ID="$RUN-analytics" SKEIN_ANALYTICS__ADMIN_LISTEN="127.0.0.1:$admin_port" \
  SKEIN_ELASTICSEARCH__INDEX_PREFIX="$RUN-analytics"
analytics_pid="$STARTED"
a0="$(now)"; ca0="$(cpu_ticks "$analytics_pid")"
read_spans=0
for ((i = 0; i < 1200; i++)); do
  read_spans="$(curl -fsS "http://127.0.0.1:$admin_port/metrics" 2>/dev/null | awk '/^skein_analytics_spans_total/ { print $2 }')"
  [[ -n "$read_spans" ]] && (( read_spans >= spans_in_topic )) && break
  sleep 0.1
done
a1="$(now)"; ca1="$(cpu_ticks "$analytics_pid")"
stop_pid "$analytics_pid"
result "$(printf '  analytics worker (Kafka fetch, assembly, documents to ES, checkpoints): %s spans read in %.2f s incl. start-up | worker CPU %.2f s = %.0f spans/s per core' \
  "${read_spans:-0}" "$(calc "$a1 - $a0")" "$(calc "($ca1 - $ca0) / $CLK_TCK")" \
  "$(calc "${read_spans:-0} / (($ca1 - $ca0) / $CLK_TCK + 0.000001)")")"
for index in $(curl -fsS "$ES/_cat/indices/$RUN-analytics-*?h=index"); do curl -fsS -XDELETE "$ES/$index" >/dev/null; done
result ""
fi # BENCH_SKIP_ANALYTICS

fi # BENCH_ONLY_QUERY

# --- f. query ----------------------------------------------------------------------------------
if (( QUERY_SPANS > 0 )); then
  query_prefix="$RUN-query"
  say "f. query: filling $query_prefix with $QUERY_SPANS spans (10-span traces), then 200k spans in 200-span traces"
  loadgen "$WORK/query-fill.json" --protocol es-bulk --endpoint "$ES" --es-prefix "$query_prefix" \
    --total "$QUERY_SPANS" --rate 1000000 --batch "$BULK_DOCS" --concurrency "$BULK_CONCURRENCY" --spans-per-trace 10
  since_ms="$(( $(date +%s) * 1000 ))"
  sleep 1
  loadgen "$WORK/query-big.json" --protocol es-bulk --endpoint "$ES" --es-prefix "$query_prefix" \
    --total 200000 --rate 1000000 --batch "$BULK_DOCS" --concurrency "$BULK_CONCURRENCY" --spans-per-trace 200
  curl -fsS -XPOST "$ES/$query_prefix-*/_refresh" >/dev/null
  indexed="$(curl -fsS "$ES/$query_prefix-jaeger-span-*/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')"
  query_port="$(free_port)"; admin_port="$(free_port)"
  start query query SKEIN_ELASTICSEARCH__INDEX_PREFIX="$query_prefix" SKEIN_QUERY__LISTEN="127.0.0.1:$query_port" \
    SKEIN_QUERY__ADMIN_LISTEN="127.0.0.1:$admin_port"
  query_pid="$STARTED"
  wait_ready "$admin_port" query "$query_pid"
  result "f. query ($indexed spans in $query_prefix-jaeger-span-*; one request at a time)"
  python3 scripts/query_latency.py "http://127.0.0.1:$query_port" "$ES" "$query_prefix" "$since_ms" | sed 's/^/  /' | tee -a "$RESULTS"
  stop_pid "$query_pid"
  result ""
fi
result "results saved in $RESULTS"
