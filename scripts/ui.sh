#!/usr/bin/env bash
# The web UI (ui/): npm packages from the registry (lockfile held, download cache under
# $SKEIN_CACHE_DIR/npm), the production build into ui/dist (which `skein query` embeds at compile
# time), its unit tests, and Debian's Chromium for the browser tests. Idempotent: a second run
# with nothing changed compares two hashes and returns.
#
#   scripts/ui.sh build      npm ci when the lockfile changed, then type-check and build when any
#                            source changed; prints the bundle sizes
#   scripts/ui.sh test       the unit tests (Vitest)
#   scripts/ui.sh chromium   install Debian's chromium (apt, .debs cached) unless present; prints its path
#   scripts/ui.sh deps       only npm ci
#
# Knobs: SKEIN_CACHE_DIR, SKEIN_UI_FORCE=1 (rebuild), SKEIN_CHROMIUM (a Chromium to use instead).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UI="$REPO/ui"
SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
FORCE="${SKEIN_UI_FORCE:-0}"
export npm_config_cache="$SKEIN_CACHE_DIR/npm"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

LOG_TAG="skein-ui"
LOCK_NAME=ui
# shellcheck source=scripts/lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

need_node() {
  command -v node >/dev/null 2>&1 || die "node not found: install Node.js >= 20 (the UI is built with it; skein itself does not need it at run time)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  (( major >= 20 )) || die "Node.js $(node --version) is too old: the UI build needs >= 20"
  command -v npm >/dev/null 2>&1 || die "npm not found (it comes with Node.js)"
}

deps() {
  need_node
  local want stamp="$UI/node_modules/.skein-lock.sha256" logf="$SKEIN_CACHE_DIR/ui-npm.log"
  want="$( { cat "$UI/package-lock.json"; node --version; } | sha)"
  if [[ "$FORCE" != 1 && -d "$UI/node_modules" && "$want" == "$(cat "$stamp" 2>/dev/null || true)" ]]; then
    return 0
  fi
  mkdir -p "$SKEIN_CACHE_DIR"
  log "npm ci (packages from the lockfile; cache $npm_config_cache) ..."
  local t0; t0="$(now_ms)"
  (cd "$UI" && npm ci --no-audit --no-fund --prefer-offline) >"$logf" 2>&1 \
    || fail "npm ci in ui/ (is the npm registry reachable? proxy settings?)" "$logf"
  echo "$want" >"$stamp"
  log "npm packages ready in $(( $(now_ms) - t0 )) ms"
}

# Everything the build reads: sources, configs and the installed packages' lock.
sources_hash() {
  local paths=(src index.html package.json package-lock.json tsconfig.json vite.config.ts)
  [[ -d "$UI/public" ]] && paths+=(public)
  (cd "$UI" && find "${paths[@]}" -type f | LC_ALL=C sort | xargs sha256sum) | sha
}

build() {
  local want stamp="$UI/dist/.skein-sources.sha256" logf="$SKEIN_CACHE_DIR/ui-build.log"
  # Checked before Node is needed: a dist/ built from these very sources (the Dockerfile's UI
  # stage hands one over) is used as it is.
  want="$(sources_hash)"
  if [[ "$FORCE" != 1 && -f "$UI/dist/index.html" && "$want" == "$(cat "$stamp" 2>/dev/null || true)" ]]; then
    log "ui/dist up to date"
    return 0
  fi
  deps
  log "building the UI (tsc + vite) ..."
  local t0; t0="$(now_ms)"
  (cd "$UI" && npm run --silent build) >"$logf" 2>&1 || fail "npm run build in ui/" "$logf"
  echo "$want" >"$stamp"
  log "ui/dist built in $(( $(now_ms) - t0 )) ms: $(bundle_report)"
}

# Total bytes of the assets and of what the first page load fetches (index + entry JS/CSS), gzipped.
bundle_report() {
  local total entry
  total="$(cat "$UI"/dist/assets/* | wc -c)"
  entry="$(grep -oE '/assets/[^"]+\.(js|css)' "$UI/dist/index.html" | sed "s|^|$UI/dist|" | xargs cat | gzip -9 | wc -c)"
  echo "assets $(( total / 1024 )) KiB raw; first load $(( entry / 1024 )) KiB gzipped"
}

unit() {
  deps
  (cd "$UI" && npx --no-install vitest run)
}

chromium() {
  if [[ -n "${SKEIN_CHROMIUM:-}" ]]; then
    [[ -x "$SKEIN_CHROMIUM" ]] || die "SKEIN_CHROMIUM=$SKEIN_CHROMIUM is not an executable"
    echo "$SKEIN_CHROMIUM"
    return 0
  fi
  if [[ -x /usr/bin/chromium ]]; then
    echo /usr/bin/chromium
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 \
    || die "no Chromium at /usr/bin/chromium and no apt-get: install Chromium and set SKEIN_CHROMIUM to it"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  local archives="$SKEIN_CACHE_DIR/apt-archives" logf="$SKEIN_CACHE_DIR/ui-chromium.log"
  mkdir -p "$archives/partial"
  log "installing Debian's chromium (apt; packages cached in $archives) ..."
  local t0; t0="$(now_ms)"
  {
    $sudo apt-get update -o Acquire::Retries=3 \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
        -o Dir::Cache::archives="$archives" chromium fonts-liberation
  } >"$logf" 2>&1 || fail "apt-get install chromium (is Debian's archive reachable?)" "$logf"
  [[ -x /usr/bin/chromium ]] || die "apt installed chromium but /usr/bin/chromium is missing"
  log "chromium ready in $(( $(now_ms) - t0 )) ms: $(/usr/bin/chromium --version 2>/dev/null || true)"
  echo /usr/bin/chromium
}

cmd="${1:-build}"
lock
case "$cmd" in
  deps) deps ;;
  build) build ;;
  test) unit ;;
  chromium) chromium ;;
  *) die "unknown command '$cmd' (build | test | chromium | deps)" ;;
esac
