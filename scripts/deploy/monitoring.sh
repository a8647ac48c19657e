#!/usr/bin/env bash
# Checks of skein's monitoring files (`make deploy-check`, after scripts/deploy/check.sh):
#   - `promtool check rules` on deploy/prometheus/alerts.yaml (a symlink to the chart's
#     helm/skein/files/prometheus/alerts.yaml, the one copy) and on the PrometheusRule the chart
#     renders from it; `promtool test rules` on deploy/prometheus/alerts_test.yaml;
#   - the dashboard's and the chart's copies are the same files (deploy/ links into the chart,
#     the chart's ConfigMap and PrometheusRule carry the files' content);
#   - every metric the rules and deploy/grafana/skein.json name (found by Prometheus's own rule
#     loader and PromQL parser: scripts/deploy/promql) is one skein exports: a real
#     `skein all-in-one` against the dev Kafka and Elasticsearch (`make up`; its own topics,
#     groups, index prefix and ports), a few spans sent (one of them invalid), `/metrics` scraped;
#   - negative tests: a broken expression fails promtool, a metric skein does not export is
#     reported, a failing alert test fails.
# Set-up, idempotent, cached under $SKEIN_CACHE_DIR (default ~/.cache/skein): promtool
# (github.com/prometheus/prometheus/cmd/promtool, the version in scripts/deploy/promql/go.mod,
# as a tool dependency of that throw-away module) and promql-names, built from the Go module
# proxy into $SKEIN_CACHE_DIR/promql-<version>/.
#
#   scripts/deploy/monitoring.sh [check]   set up, then run every check (default)
#   scripts/deploy/monitoring.sh setup     only the set-up
#   scripts/deploy/monitoring.sh names     set up, then print the metrics the files name
#
# Knobs: SKEIN_CACHE_DIR, SKEIN_MONITORING_FORCE=1 (rebuild the tools), SKEIN_SCRAPE_TIMEOUT
#        (seconds to wait for every metric to appear, default 90), SKEIN_MONITORING_BIN (check
#        this skein binary instead of building target/debug/skein), GOPROXY/GOMODCACHE as usual.
# Exit status: 0 when every check passed, 1 otherwise (the work directory with skein's log and
# the scrape is then kept and printed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
MOD_DIR="$REPO/scripts/deploy/promql"
RULES="$REPO/deploy/prometheus/alerts.yaml"
RULES_TEST="$REPO/deploy/prometheus/alerts_test.yaml"
DASHBOARD="$REPO/deploy/grafana/skein.json"
CHART="$REPO/helm/skein"
SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
FORCE="${SKEIN_MONITORING_FORCE:-0}"
SCRAPE_TIMEOUT="${SKEIN_SCRAPE_TIMEOUT:-90}"
PROM_VERSION="$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?github\.com\/prometheus\/prometheus (v[0-9][^ ]*).*$/\2/p' "$MOD_DIR/go.mod" | head -n1)"
TOOLS="$SKEIN_CACHE_DIR/promql-$PROM_VERSION"
PROMTOOL="$TOOLS/promtool"
NAMES="$TOOLS/promql-names"
HELM="$SKEIN_CACHE_DIR/bin/helm"
PY_DEPLOY="$SKEIN_CACHE_DIR/venv-deploy/bin/python"

LOG_TAG="skein-monitoring"
LOCK_NAME=monitoring
# shellcheck source=scripts/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/setup.sh"

# ------------------------------------------------------------------ set-up -----------
tools_hash() {
  { (cd "$MOD_DIR" && sha256sum go.mod go.sum main.go); go version; printf 'GOFLAGS=%s\n' "${GOFLAGS:-}"; } | sha
}

setup_tools() {
  local t0 want logf
  t0="$(now_ms)"
  [[ -n "$PROM_VERSION" ]] || die "$MOD_DIR/go.mod requires no github.com/prometheus/prometheus version"
  command -v go >/dev/null 2>&1 || die "'go' not found on PATH; install Go >= 1.26 ($MOD_DIR/go.mod)"
  export GOTOOLCHAIN=local GOWORK=off
  export GOMODCACHE="${GOMODCACHE:-$SKEIN_CACHE_DIR/go-mod}"
  want="$(tools_hash)"
  if [[ "$FORCE" != 1 && -x "$PROMTOOL" && -x "$NAMES" && "$want" == "$(cat "$TOOLS/.skein-build.sha256" 2>/dev/null || true)" ]]; then
    log "promtool and promql-names $PROM_VERSION up to date ($TOOLS)"
    return 0
  fi
  mkdir -p "$TOOLS"
  logf="$SKEIN_CACHE_DIR/promql-build.log"
  : >"$logf"
  rm -f "$TOOLS/.skein-build.sha256"
  # remove_all_sd (Prometheus's own build tag) leaves out the service-discovery plugins (cloud
  # SDKs): rule checks and tests do not use them, and they are most of a cold build.
  log "go build promtool and promql-names (prometheus $PROM_VERSION, GOPROXY=$(go env GOPROXY); cold: minutes) ..."
  # go build fetches only the modules these two programs need (`go mod download` would fetch the
  # whole graph of the prometheus module).
  (cd "$MOD_DIR" && go build -mod=readonly -buildvcs=false -trimpath -o "$NAMES" . \
    && go build -mod=readonly -buildvcs=false -trimpath -tags remove_all_sd -o "$PROMTOOL" github.com/prometheus/prometheus/cmd/promtool) \
    >>"$logf" 2>&1 || fail "go build in ${MOD_DIR#"$REPO"/} (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" "$logf"
  "$PROMTOOL" --version >>"$logf" 2>&1 || fail "promtool --version" "$logf"
  printf '%s\n' "$want" >"$TOOLS/.skein-build.sha256"
  log "promtool and promql-names ready in $(( $(now_ms) - t0 )) ms"
}

# ------------------------------------------------------------------ checks -----------
PASSED=0
FAILED=0
FAILED_NAMES=()
WORK=""
SKEIN_PID=""

pass() { printf 'PASS  %s\n' "$1"; PASSED=$((PASSED + 1)); }
failed() {
  printf 'FAIL  %s\n' "$1"
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$1")
  if [[ -n "${2:-}" && -s "$2" ]]; then
    sed 's/^/      /' "$2" | head -n 60
    (( $(wc -l <"$2") <= 60 )) || printf '      ... (all of it: %s)\n' "$2"
  fi
}
expect_ok() {
  local name="$1" logf="$2"; shift 2
  if "$@" >"$logf" 2>&1; then
    local last
    last="$(tail -n1 "$logf")"
    pass "$name${last:+: $last}"
  else
    failed "$name" "$logf"
  fi
}
expect_fail() {
  local name="$1" logf="$2" pattern="$3"; shift 3
  if "$@" >"$logf" 2>&1; then
    printf '(the command succeeded, but it must fail)\n' >>"$logf"
    failed "$name" "$logf"
  elif grep -Eq -- "$pattern" "$logf"; then
    pass "$name: $(grep -Em1 -- "$pattern" "$logf" | sed -E 's/^[[:space:]]+//' | cut -c1-160)"
  else
    printf '(it failed, but its output does not match /%s/)\n' "$pattern" >>"$logf"
    failed "$name" "$logf"
  fi
}

stop_skein() {
  if [[ -n "$SKEIN_PID" ]]; then
    kill -TERM "$SKEIN_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SKEIN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SKEIN_PID" 2>/dev/null || true
    wait "$SKEIN_PID" 2>/dev/null || true
    SKEIN_PID=""
  fi
}

# The metrics helper: free ports, readiness, spans, scrapes and the comparison (stdlib only).
PY_HELPER="$(cat <<'PY'
import json, os, re, socket, sys, time, urllib.request, urllib.error

def ports(n):
    socks = [socket.socket() for _ in range(int(n))]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    out = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    print(" ".join(map(str, out)))

def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()

def wait_ready(deadline_s, *urls):
    deadline = time.time() + float(deadline_s)
    pending = list(urls)
    while pending and time.time() < deadline:
        for url in list(pending):
            try:
                if get(url)[0] == 200:
                    pending.remove(url)
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.5)
    if pending:
        for url in pending:
            try:
                body = get(url)[1]
            except urllib.error.HTTPError as e:
                body = e.read().decode()
            except (urllib.error.URLError, OSError) as e:
                body = str(e)
            print(f"not ready: {url}\n{body}", file=sys.stderr)
        sys.exit(1)
    print("every role ready")

def send(url):
    now = time.time_ns()
    trace = os.urandom(16).hex()
    def span(i, start, end):
        return {"traceId": trace, "spanId": os.urandom(8).hex(), "name": f"monitoring-check-{i}",
                "kind": 2, "startTimeUnixNano": str(start), "endTimeUnixNano": str(end)}
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "skein-monitoring-check"}}]},
        "scopeSpans": [{"spans": [span(0, now - 5_000_000, now), span(1, now - 3_000_000, now - 1_000_000),
                                  # ends before it starts: refused, so the refusal counters appear
                                  span(2, now, now - 1_000_000)]}]}]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        print(f"sent 3 spans (1 invalid): {r.status} {r.read().decode()[:200]}")

def exported(text):
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, 1)[0])
    return names

def compare(names_file, scrape_out, timeout_s, *urls):
    wanted = {}
    for line in open(names_file):
        if line.strip():
            name, _, where = line.rstrip("\n").partition("\t")
            wanted[name] = where
    deadline = time.time() + float(timeout_s)
    while True:
        have, texts = set(), []
        for url in urls:
            try:
                text = get(url)[1]
                texts.append(f"## {url}\n{text}")
                have |= exported(text)
            except (urllib.error.URLError, OSError) as e:
                texts.append(f"## {url}\n(unreachable: {e})")
        missing = sorted(set(wanted) - have)
        if not missing or time.time() >= deadline:
            break
        time.sleep(1)
    open(scrape_out, "w").write("\n".join(texts))
    if missing:
        for name in missing:
            print(f"not exported by skein: {name} (named in {wanted[name]})")
        print(f"{len(missing)} of {len(wanted)} metrics missing after {timeout_s} s; the scrape is in {scrape_out}")
        sys.exit(1)
    print(f"all {len(wanted)} metrics the rules and the dashboard name are on skein's /metrics")

def chart_rules(rendered, out):
    import yaml
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        sys.exit(f"expected one PrometheusRule in {rendered}, found {len(rules)}")
    yaml.safe_dump(rules[0]["spec"], open(out, "w"), sort_keys=False)
    print(f"{sum(len(g['rules']) for g in rules[0]['spec']['groups'])} rules in the rendered PrometheusRule")

def same_as_files(rendered, rules_file, dashboard_file, extra_label):
    import yaml
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    spec = next(d for d in docs if d.get("kind") == "PrometheusRule")["spec"]
    want = yaml.safe_load(open(rules_file))
    key, _, value = extra_label.partition("=")
    for group in want["groups"]:
        for rule in group["rules"]:
            rule["labels"] = {**{key: value}, **rule.get("labels", {})}
    if spec["groups"] != want["groups"]:
        sys.exit("the rendered PrometheusRule differs from the rules file (plus ruleLabels)")
    cm = [d for d in docs if d.get("kind") == "ConfigMap" and "skein.json" in (d.get("data") or {})]
    if len(cm) != 1:
        sys.exit(f"expected one dashboard ConfigMap, found {len(cm)}")
    if json.loads(cm[0]["data"]["skein.json"]) != json.load(open(dashboard_file)):
        sys.exit("the dashboard ConfigMap differs from deploy/grafana/skein.json")
    labels = cm[0]["metadata"].get("labels", {})
    if labels.get("grafana_dashboard") != "1":
        sys.exit(f"the dashboard ConfigMap lacks the sidecar label grafana_dashboard: \"1\" (labels: {labels})")
    print(f"{sum(len(g['rules']) for g in want['groups'])} rules with ruleLabels added, {len(json.load(open(dashboard_file))['panels'])} dashboard panels")

globals()[sys.argv[1]](*sys.argv[2:])
PY
)"
py() { python3 "$WORK/helper.py" "$@"; }

# Run skein all-in-one on free ports with its own topics, groups and index prefix, send spans,
# compare what /metrics exports with what the files name.
check_exported() {
  local names="$1" tag p otlp_grpc otlp_http c_admin i_admin a_admin q_listen q_admin
  for hp in 127.0.0.1:9092 127.0.0.1:9200; do
    if ! (exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}") 2>/dev/null; then
      failed "metrics: Kafka (127.0.0.1:9092) and Elasticsearch (127.0.0.1:9200) must be up for skein all-in-one: run \`make up\`"
      return
    fi
  done
  local skein="${SKEIN_MONITORING_BIN:-$REPO/target/debug/skein}"
  if [[ -z "${SKEIN_MONITORING_BIN:-}" ]] && ! cargo build -q --bin skein >"$WORK/logs/cargo-build.log" 2>&1; then
    failed "metrics: cargo build --bin skein" "$WORK/logs/cargo-build.log"
    return
  fi
  read -r otlp_grpc otlp_http c_admin i_admin a_admin q_listen q_admin <<<"$(py ports 7)"
  tag="skein-monitoring-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  printf '%s\n' "$tag" >"$WORK/tag"
  (
    export SKEIN_KAFKA__BROKERS=127.0.0.1:9092 SKEIN_ELASTICSEARCH__URL=http://127.0.0.1:9200
    export SKEIN_KAFKA__SPANS_TOPIC="$tag-spans" SKEIN_KAFKA__DLQ_TOPIC="$tag-dlq" SKEIN_KAFKA__PARTITIONS=2
    export SKEIN_ELASTICSEARCH__INDEX_PREFIX="$tag"
    export SKEIN_INGESTER__GROUP_ID="$tag-ingester" SKEIN_ANALYTICS__GROUP_ID="$tag-analytics"
    export SKEIN_COLLECTOR__OTLP_GRPC_LISTEN="127.0.0.1:$otlp_grpc" SKEIN_COLLECTOR__OTLP_HTTP_LISTEN="127.0.0.1:$otlp_http"
    export SKEIN_COLLECTOR__ADMIN_LISTEN="127.0.0.1:$c_admin" SKEIN_INGESTER__ADMIN_LISTEN="127.0.0.1:$i_admin"
    export SKEIN_ANALYTICS__ADMIN_LISTEN="127.0.0.1:$a_admin"
    export SKEIN_QUERY__LISTEN="127.0.0.1:$q_listen" SKEIN_QUERY__ADMIN_LISTEN="127.0.0.1:$q_admin"
    export SKEIN_QUERY__COLLECTOR_METRICS_URLS="http://127.0.0.1:$c_admin/metrics"
    for l in JAEGER_GRPC JAEGER_THRIFT_HTTP JAEGER_COMPACT_UDP JAEGER_BINARY_UDP ZIPKIN SAMPLING_HTTP; do
      export "SKEIN_COLLECTOR__${l}_LISTEN=off"
    done
    export SKEIN_LOG__LEVEL=warn
    unset SKEIN_CONFIG
    exec "$skein" all-in-one
  ) >"$WORK/logs/skein.log" 2>&1 &
  SKEIN_PID=$!
  local admins=("http://127.0.0.1:$c_admin" "http://127.0.0.1:$i_admin" "http://127.0.0.1:$a_admin" "http://127.0.0.1:$q_admin")
  if ! py wait_ready 120 "${admins[@]/%//readyz}" >"$WORK/logs/ready.log" 2>&1; then
    cat "$WORK/logs/skein.log" >>"$WORK/logs/ready.log"
    failed "metrics: skein all-in-one ($tag) became ready" "$WORK/logs/ready.log"
    stop_skein
    return
  fi
  expect_ok "metrics: skein all-in-one ($tag) ready, spans sent over OTLP/HTTP" "$WORK/logs/send.log" \
    py send "http://127.0.0.1:$otlp_http/v1/traces"
  expect_ok "metrics: every metric the alert rules and the dashboard name is one skein exports" "$WORK/logs/compare.log" \
    py compare "$names" "$WORK/scrape.txt" "$SCRAPE_TIMEOUT" "${admins[@]/%//metrics}"
  # The comparison must be able to fail: a name skein does not export, against the same skein.
  { cat "$names"; printf 'skein_no_such_metric_total\tnegative test\n'; } >"$WORK/negative/names.txt"
  expect_fail "negative: a metric skein does not export (skein_no_such_metric_total) is reported" "$WORK/logs/neg-compare.log" \
    'not exported by skein: skein_no_such_metric_total' \
    py compare "$WORK/negative/names.txt" "$WORK/negative/scrape.txt" 0 "${admins[@]/%//metrics}"
  stop_skein
  # What the run made on the shared servers (deleting by exact name: wildcards may be refused).
  for index in $(curl -s "http://127.0.0.1:9200/_cat/indices/$tag-*?h=index" 2>/dev/null); do
    curl -s -o /dev/null -X DELETE "http://127.0.0.1:9200/$index" || true
  done
}

run_checks() {
  local t0 names
  t0="$(now_ms)"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/skein-monitoring-check.XXXXXX")"
  mkdir -p "$WORK/logs" "$WORK/negative"
  printf '%s' "$PY_HELPER" >"$WORK/helper.py"
  trap stop_skein EXIT

  # ---- a. one copy: deploy/ links into the chart
  for f in "$RULES" "$DASHBOARD"; do
    if [[ -L "$f" && "$(readlink -f "$f")" == "$CHART/files/"* && -s "$f" ]]; then
      pass "${f#"$REPO"/} links to the chart's $(readlink -f "$f" | sed "s|^$REPO/||")"
    else
      failed "${f#"$REPO"/} must be a symlink to the chart's file under ${CHART#"$REPO"/}/files/ (one copy, no drift)"
    fi
  done

  # ---- b. promtool on the rules, their unit tests, and the chart's rendering of them
  expect_ok "promtool check rules ${RULES#"$REPO"/}" "$WORK/logs/promtool-check.log" "$PROMTOOL" check rules "$RULES"
  if [[ -f "$RULES_TEST" ]]; then
    expect_ok "promtool test rules ${RULES_TEST#"$REPO"/}" "$WORK/logs/promtool-test.log" \
      "$PROMTOOL" test rules "$RULES_TEST"
  else
    failed "no alert unit tests at ${RULES_TEST#"$REPO"/}"
  fi
  # One closing parenthesis fewer in the first rule.
  sed '0,/(rate(skein_collector_spans_rejected_total\[5m\]))/s//(rate(skein_collector_spans_rejected_total[5m])/' \
    "$RULES" >"$WORK/negative/alerts-broken.yaml"
  expect_fail "negative: promtool rejects a rules file with an unbalanced parenthesis" "$WORK/logs/neg-promtool.log" \
    'unclosed left parenthesis|parse error' "$PROMTOOL" check rules "$WORK/negative/alerts-broken.yaml"
  if [[ -x "$HELM" && -x "$PY_DEPLOY" ]]; then
    local rendered="$WORK/chart.yaml"
    if HELM_CACHE_HOME="$WORK/helm" HELM_CONFIG_HOME="$WORK/helm" HELM_DATA_HOME="$WORK/helm" KUBECONFIG=/dev/null \
        "$HELM" template skein "$CHART" --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
        --set prometheusRule.ruleLabels.team=observability >"$rendered" 2>"$WORK/logs/helm.log"; then
      expect_ok "the chart's PrometheusRule and dashboard ConfigMap carry the files' content" "$WORK/logs/chart-same.log" \
        "$PY_DEPLOY" "$WORK/helper.py" same_as_files "$rendered" "$RULES" "$DASHBOARD" team=observability
      if "$PY_DEPLOY" "$WORK/helper.py" chart_rules "$rendered" "$WORK/chart-rules.yaml" >"$WORK/logs/chart-rules.log" 2>&1; then
        expect_ok "promtool check rules on the chart's PrometheusRule spec" "$WORK/logs/promtool-chart.log" \
          "$PROMTOOL" check rules "$WORK/chart-rules.yaml"
      else
        failed "extract the PrometheusRule spec from the rendered chart" "$WORK/logs/chart-rules.log"
      fi
    else
      failed "helm template with prometheusRule and grafanaDashboard enabled" "$WORK/logs/helm.log"
    fi
  else
    failed "helm ($HELM) and the deploy venv ($PY_DEPLOY) are missing: run scripts/deploy/check.sh (make deploy-check runs it first)"
  fi

  # ---- c. every metric named is one skein exports
  names="$WORK/names.txt"
  if "$NAMES" -rules "$RULES" -dashboard "$DASHBOARD" >"$names" 2>"$WORK/logs/names.log"; then
    pass "promql-names: $(wc -l <"$names") metrics named by the rules and the dashboard, every expression parses"
    check_exported "$names"
  else
    failed "promql-names: every rule and dashboard expression parses" "$WORK/logs/names.log"
  fi

  printf 'monitoring-check: %d passed, %d failed\n' "$PASSED" "$FAILED"
  if (( FAILED > 0 )); then
    printf '[%s] FAILED: %s\n' "$LOG_TAG" "${FAILED_NAMES[@]}" >&2
    log "skein's log, the scrape and every other log are kept in $WORK (logs/, scrape.txt)"
    return 1
  fi
  rm -rf "$WORK"
  log "all checks passed in $(( $(now_ms) - t0 )) ms"
}

cmd="${1:-check}"
case "$cmd" in
  check) lock; setup_tools; exec 9>&-; run_checks ;;
  setup) lock; setup_tools ;;
  names) lock; setup_tools; exec 9>&-; "$NAMES" -rules "$RULES" -dashboard "$DASHBOARD" ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '$cmd' (check | setup | names | help)" ;;
esac
