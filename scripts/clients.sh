#!/usr/bin/env bash
# Real client libraries for skein's end-to-end tests: sets up, idempotently,
#   - a Python venv at $SKEIN_CACHE_DIR/venv-clients (default ~/.cache/skein/venv-clients)
#     with the exact pins of e2e/clients/python/requirements.txt;
#   - the Go programs of e2e/clients/go (jaeger-grpc, sampling) built into
#     e2e/clients/go/bin (gitignored), modules from the Go module proxy (GOPROXY as set).
# A second run with nothing changed only compares two hashes and returns.
#
#   scripts/clients.sh [setup]   both (default)
#   scripts/clients.sh python    only the venv
#   scripts/clients.sh go        only the Go programs
#   scripts/clients.sh env       set up, then print KEY=VALUE lines a test can use:
#                                SKEIN_CLIENTS_PYTHON, SKEIN_CLIENTS_PY_DIR, SKEIN_CLIENTS_BIN
#   scripts/clients.sh selftest  set up, then test the clients against throw-away fake
#                                servers (Python selftest.py + go test); no skein needed
#
# Knobs: SKEIN_CACHE_DIR, SKEIN_PYTHON (interpreter for the venv, default python3),
#        SKEIN_CLIENTS_FORCE=1 (redo everything), GOPROXY/GOMODCACHE/GOFLAGS as usual.
# Messages go to stderr; only `env` writes to stdout.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS="$REPO/e2e/clients"
PY_DIR="$CLIENTS/python"
GO_DIR="$CLIENTS/go"
BIN_DIR="$GO_DIR/bin"
REQS="$PY_DIR/requirements.txt"
SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
VENV="$SKEIN_CACHE_DIR/venv-clients"
PYTHON="${SKEIN_PYTHON:-python3}"
FORCE="${SKEIN_CLIENTS_FORCE:-0}"
GO_PROGRAMS=(jaeger-grpc sampling)

LOG_TAG="skein-clients"
LOCK_NAME=clients
# shellcheck source=scripts/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

# ------------------------------------------------------------------ python ----
setup_python() {
  local t0 logf
  t0="$(now_ms)"
  if venv_current "$VENV" "$REQS" 8 "the pinned OpenTelemetry 1.21.0 set"; then
    log "python venv up to date ($VENV)"
    return 0
  fi
  logf="$SKEIN_CACHE_DIR/clients-python.log"
  venv_create "$VENV" "$REQS" "$logf"
  "$VENV/bin/python" -W ignore -c '
import opentelemetry.sdk.trace, opentelemetry.exporter.jaeger.thrift
import opentelemetry.exporter.zipkin.json, opentelemetry.exporter.zipkin.proto.http
import opentelemetry.exporter.otlp.proto.grpc.trace_exporter, opentelemetry.exporter.otlp.proto.http.trace_exporter
' >>"$logf" 2>&1 || fail "importing the exporters" "$logf"
  venv_stamp "$VENV" "$REQS"
  log "python venv ready in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------------- go ----
go_sources_hash() {
  # Every file the build reads (tests excluded), plus the toolchain and flags.
  (
    cd "$GO_DIR"
    find . -path ./bin -prune -o -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print \
      | LC_ALL=C sort | xargs sha256sum
    go version
    printf 'GOFLAGS=%s\n' "${GOFLAGS:-}"
  ) | sha
}

setup_go() {
  local t0 want have logf p missing=0 gov
  t0="$(now_ms)"
  command -v go >/dev/null 2>&1 || die "'go' not found on PATH; install Go >= 1.26 (e2e/clients/go/go.mod says go 1.26.0)"
  # Never let `go` fetch another toolchain: use the one installed, or say why not.
  export GOTOOLCHAIN=local
  # Module downloads live with skein's other downloads unless the user keeps them elsewhere.
  export GOMODCACHE="${GOMODCACHE:-$SKEIN_CACHE_DIR/go-mod}"
  gov="$(go env GOVERSION)"           # e.g. go1.26.8
  local maj min
  maj="$(sed -E 's/^go([0-9]+)\.([0-9]+).*/\1/' <<<"$gov")"
  min="$(sed -E 's/^go([0-9]+)\.([0-9]+).*/\2/' <<<"$gov")"
  if (( maj < 1 || (maj == 1 && min < 26) )); then
    die "Go $gov is too old: e2e/clients/go needs Go >= 1.26 (go.opentelemetry.io/contrib/samplers/jaegerremote v0.38.0 requires it)"
  fi
  want="$(go_sources_hash)"
  have="$(cat "$BIN_DIR/.skein-build.sha256" 2>/dev/null || true)"
  for p in "${GO_PROGRAMS[@]}"; do [[ -x "$BIN_DIR/$p" ]] || missing=1; done
  if [[ "$FORCE" != 1 && "$want" == "$have" && "$missing" == 0 ]]; then
    log "go clients up to date ($BIN_DIR)"
    return 0
  fi
  logf="$SKEIN_CACHE_DIR/clients-go.log"
  : >"$logf"
  log "go mod download (GOPROXY=$(go env GOPROXY)) ..."
  (cd "$GO_DIR" && go mod download -x) >>"$logf" 2>&1 \
    || fail "go mod download (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" "$logf"
  log "go build -> ${BIN_DIR#"$REPO"/} ..."
  mkdir -p "$BIN_DIR"
  rm -f "$BIN_DIR/.skein-build.sha256"
  (cd "$GO_DIR" && go build -mod=readonly -buildvcs=false -trimpath -o "$BIN_DIR/" ./cmd/...) >>"$logf" 2>&1 \
    || fail "go build ./cmd/... in $GO_DIR" "$logf"
  for p in "${GO_PROGRAMS[@]}"; do [[ -x "$BIN_DIR/$p" ]] || die "go build did not produce $BIN_DIR/$p"; done
  printf '%s\n' "$want" >"$BIN_DIR/.skein-build.sha256"
  log "go clients ready in $(( $(now_ms) - t0 )) ms: ${GO_PROGRAMS[*]}"
}

selftest() {
  local rc=0
  log "python selftest (fake receivers on 127.0.0.1) ..."
  (cd "$PY_DIR" && "$VENV/bin/python" selftest.py) || rc=1
  log "go test (in-process fake collector + sampling server) ..."
  (cd "$GO_DIR" && GOTOOLCHAIN=local go test -mod=readonly -buildvcs=false -count=1 ./...) || rc=1
  return "$rc"
}

cmd="${1:-setup}"
case "$cmd" in
  setup)    lock; setup_python; setup_go ;;
  python)   lock; setup_python ;;
  go)       lock; setup_go ;;
  env)
    lock; setup_python; setup_go
    printf 'SKEIN_CLIENTS_PYTHON=%s\n' "$VENV/bin/python"
    printf 'SKEIN_CLIENTS_PY_DIR=%s\n' "$PY_DIR"
    printf 'SKEIN_CLIENTS_BIN=%s\n' "$BIN_DIR"
    ;;
  selftest) lock; setup_python; setup_go; exec 9>&-; selftest ;;
  -h|--help|help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (setup | python | go | env | selftest | help)" ;;
esac
