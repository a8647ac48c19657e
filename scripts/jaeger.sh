#!/usr/bin/env bash
# A real Jaeger 2 binary for skein's tests (the foreign-topic suite runs it as a collector that
# publishes to Kafka; others may run it as a query service), built once from the Go module proxy:
#
#   scripts/jaeger.sh path      build if needed, print the binary's absolute path on stdout
#   scripts/jaeger.sh version   build if needed, print what the binary says about its version
#   scripts/jaeger.sh help
#
# The release is pinned (JAEGER_VERSION below, the approved one). The build happens in a
# throw-away module under the cache that names the command as a tool dependency
# (`go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@<version>`), so go.sum pins every
# module it pulls; the binary lands at $SKEIN_CACHE_DIR/jaeger-<version>/jaeger. A second call
# only checks that the binary is there and returns. Parallel calls wait on one flock and build once.
# A cold build (modules downloaded, ~3.6 GB module cache and ~1.6 GB build cache) took 30 minutes
# on a 2-core machine shared with other builds (load ~15); a warm call takes milliseconds.
#
# Knobs: SKEIN_CACHE_DIR (default ~/.cache/skein), SKEIN_JAEGER_FORCE=1 (rebuild),
#        GOPROXY / GOMODCACHE / GOCACHE as usual (module and build caches default to the skein cache).
# Messages go to stderr; only `path` and `version` write to stdout.
set -euo pipefail

JAEGER_VERSION=v1.75.0
JAEGER_PKG=github.com/jaegertracing/jaeger/cmd/jaeger

SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
DIR="$SKEIN_CACHE_DIR/jaeger-$JAEGER_VERSION"
BIN="$DIR/jaeger"
FORCE="${SKEIN_JAEGER_FORCE:-0}"
# Needed by setup.sh's fail() on the build log.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

LOG_TAG="skein-jaeger"
LOCK_NAME="jaeger-$JAEGER_VERSION"
# shellcheck source=scripts/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

build() {
  local t0 logf mod
  # Checked again under the lock: another caller may have built it while this one waited.
  if [[ "$FORCE" != 1 && -x "$BIN" ]]; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "'go' not found on PATH; install Go >= 1.25 to build Jaeger $JAEGER_VERSION"
  t0="$(now_ms)"
  # The installed toolchain only: a go.mod asking for a newer one fails loudly instead of downloading it.
  export GOTOOLCHAIN=local
  export GOMODCACHE="${GOMODCACHE:-$SKEIN_CACHE_DIR/go-mod}"
  export GOCACHE="${GOCACHE:-$SKEIN_CACHE_DIR/go-build}"
  mkdir -p "$DIR"
  logf="$DIR/build.log"
  : >"$logf"
  mod="$DIR/module"
  rm -rf "$mod" "$BIN"
  mkdir -p "$mod"
  log "building Jaeger $JAEGER_VERSION ($JAEGER_PKG, GOPROXY=$(go env GOPROXY)); a cold build takes minutes ..."
  (cd "$mod" && go mod init skein.local/jaeger-tool) >>"$logf" 2>&1 || fail "go mod init in $mod" "$logf"
  (cd "$mod" && go get -tool "$JAEGER_PKG@$JAEGER_VERSION") >>"$logf" 2>&1 \
    || fail "go get -tool $JAEGER_PKG@$JAEGER_VERSION (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" "$logf"
  (cd "$mod" && go build -mod=readonly -buildvcs=false -trimpath -o "$BIN.tmp" "$JAEGER_PKG") >>"$logf" 2>&1 \
    || fail "go build $JAEGER_PKG (Go $(go env GOVERSION))" "$logf"
  "$BIN.tmp" version >>"$logf" 2>&1 || fail "running the freshly built '$BIN.tmp version'" "$logf"
  # Renamed last, so a build cut short never leaves a binary that later calls would trust.
  mv "$BIN.tmp" "$BIN"
  log "Jaeger $JAEGER_VERSION built in $(( ($(now_ms) - t0) / 1000 )) s: $BIN"
}

cmd="${1:-path}"
case "$cmd" in
  path)    lock; build; printf '%s\n' "$BIN" ;;
  version) lock; build; exec 9>&-; "$BIN" version ;;
  -h|--help|help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (path | version | help)" ;;
esac
