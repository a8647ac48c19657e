# shellcheck shell=bash
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

# Python venvs pinned by a requirements file. They use PYTHON (the interpreter), FORCE (1: redo)
# and REPO; the stamp covers the pins and the interpreter the venv was made from.
venv_want() { { cat "$1"; "$PYTHON" -c 'import sys; print(sys.version)'; command -v "$PYTHON"; } | sha; }

# venv_current VENV REQS MINOR WHY: succeed when VENV is already made from REQS by PYTHON; die when
# PYTHON is missing or older than 3.MINOR (WHY says what needs it).
venv_current() {
  local venv="$1" reqs="$2" minor="$3" why="$4"
  command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python >= 3.$minor or set SKEIN_PYTHON"
  "$PYTHON" -c "import sys; sys.exit(0 if sys.version_info >= (3, $minor) else 1)" \
    || die "$PYTHON is $("$PYTHON" -V 2>&1); $why needs Python >= 3.$minor"
  [[ -f "$reqs" ]] || die "missing $reqs"
  [[ "$FORCE" != 1 && -x "$venv/bin/python" && "$(venv_want "$reqs")" == "$(cat "$venv/.skein-requirements.sha256" 2>/dev/null || true)" ]]
}

# venv_create VENV REQS LOG: a fresh venv with REQS installed and consistent (pip check).
venv_create() {
  local venv="$1" reqs="$2" logf="$3"
  : >"$logf"
  log "creating python venv $venv from $("$PYTHON" -V 2>&1) ..."
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" >>"$logf" 2>&1 \
    || { tail -n 20 "$logf" >&2; die "'$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"; }
  log "pip install -r ${reqs#"$REPO"/} ..."
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --no-input -r "$reqs" >>"$logf" 2>&1 \
    || fail "pip install -r $reqs (is PyPI reachable? proxy settings?)" "$logf"
  "$venv/bin/python" -m pip check >>"$logf" 2>&1 || fail "pip check" "$logf"
}

# venv_stamp VENV REQS: record what VENV was made from (after the caller's own smoke test passed).
venv_stamp() { venv_want "$2" >"$1/.skein-requirements.sha256"; }
