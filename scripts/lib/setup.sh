# Helpers shared by the cached set-up scripts (scripts/clients.sh, scripts/deploy/check.sh).
# Set LOG_TAG (e.g. skein-clients) and LOCK_NAME (e.g. clients) before sourcing; SKEIN_CACHE_DIR
# must be set.

log()  { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }
# fail STEP LOG: say which step failed, show the tail of its log, exit 1.
fail() {
  printf '[%s] ERROR: step "%s" failed; last 40 lines of its output (%s):\n' "$LOG_TAG" "$1" "$2" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}
sha() { sha256sum | cut -d' ' -f1; }
now_ms() { date +%s%3N; }

# One set-up at a time (parallel test binaries may all call the same script).
lock() {
  mkdir -p "$SKEIN_CACHE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$SKEIN_CACHE_DIR/.$LOCK_NAME.lock"
    flock -w 900 9 || die "timed out waiting for $SKEIN_CACHE_DIR/.$LOCK_NAME.lock"
  fi
}
