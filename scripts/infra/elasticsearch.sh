#!/usr/bin/env bash
# Local Elasticsearch for skein: single node "skein-1" of cluster "skein-local",
# HTTP on 127.0.0.1:9200, transport on 127.0.0.1:9300, security off.
#
#   scripts/infra/elasticsearch.sh fetch     download + unzip into ~/.cache/skein (once)
#   scripts/infra/elasticsearch.sh start     fetch, configure, start, wait for yellow/green
#   scripts/infra/elasticsearch.sh stop      SIGTERM, wait, SIGKILL if needed
#   scripts/infra/elasticsearch.sh status    running/healthy? exit 0 only if healthy
#   scripts/infra/elasticsearch.sh restart
#
# The distribution is org.elasticsearch.distribution.integ-test-zip:elasticsearch:<v>:zip
# from Maven Central: a small zip WITHOUT a bundled JDK and with only a few modules
# (transport-netty4, x-pack-core, x-pack-security, apm). So we must pick a JDK:
#   - a JDK >= 21 (JAVA_HOME or /usr/lib/jvm, newest wins) -> ES 9.x
#   - otherwise (Java 17 only)                             -> ES 8.19.x
# ES refuses to run as root: as root we run it as the system user `skein-es`.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SKEIN_LOG_TAG="elasticsearch"

ES_USER=""                 # empty = run as the current (non-root) user
if [[ "$(id -u)" -eq 0 ]]; then ES_USER="${SKEIN_ES_USER:-skein-es}"; fi

# ------------------------------------------------------- JDK + version ----
ES_JDK="${SKEIN_ES_JAVA_HOME:-}"
[[ -n "$ES_JDK" ]] || ES_JDK="$(find_jdk 21)"
[[ -n "$ES_JDK" ]] || ES_JDK="$(find_jdk 17)"
if [[ -z "$ES_JDK" ]] && install_jdk17; then ES_JDK="$(find_jdk 17)"; fi
[[ -n "$ES_JDK" ]] || die "no JDK >= 17 found (JAVA_HOME, PATH, /usr/lib/jvm)"
ES_JDK_VERSION="$(jdk_version "$ES_JDK")"
if [[ -n "${SKEIN_ES_VERSION:-}" ]]; then
  ES_VERSION="$SKEIN_ES_VERSION"
elif (( ES_JDK_VERSION >= 21 )); then
  ES_VERSION="$SKEIN_ES9_DEFAULT_VERSION"
else
  ES_VERSION="$SKEIN_ES8_DEFAULT_VERSION"
fi
if [[ "${ES_VERSION%%.*}" -ge 9 ]] && (( ES_JDK_VERSION < 21 )); then
  die "Elasticsearch $ES_VERSION needs Java >= 21 but the JDK found is $ES_JDK ($ES_JDK_VERSION); set SKEIN_ES_JAVA_HOME or use SKEIN_ES_VERSION=$SKEIN_ES8_DEFAULT_VERSION"
fi

ES_CACHE_HOME="$SKEIN_CACHE_DIR/elasticsearch-$ES_VERSION"
ESTATE="$SKEIN_STATE_DIR/elasticsearch"
CLUSTER_NAME="skein-local"
MAIN_CLASS="org.elasticsearch.bootstrap.Elasticsearch"
BASE_URL="http://$SKEIN_BIND_HOST:$SKEIN_ES_PORT"

# as_es CMD...: run CMD as the ES user (no-op wrapper when not root).
as_es() {
  if [[ -n "$ES_USER" ]]; then runuser -u "$ES_USER" -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- fetch ----
cmd_fetch() {
  if [[ -f "$ES_CACHE_HOME/.skein-complete" ]]; then
    [[ "${1:-}" == quiet ]] || log "Elasticsearch $ES_VERSION cached in $ES_CACHE_HOME"
    return 0
  fi
  take_lock 8 "$SKEIN_CACHE_DIR/.elasticsearch-$ES_VERSION.lock"
  if [[ -f "$ES_CACHE_HOME/.skein-complete" ]]; then return 0; fi   # another process just did it
  local t0 tmp zip; t0="$(now_s)"
  log "downloading Elasticsearch $ES_VERSION (integ-test-zip, ~100-130 MB) from Maven Central (mvn dependency:copy)"
  mkdir -p "$SKEIN_CACHE_DIR"
  tmp="$(mktemp -d "$SKEIN_CACHE_DIR/.elasticsearch-$ES_VERSION.XXXXXX")"
  # Run in an empty dir so Maven does not pick up some unrelated pom.xml.
  # The 9.x zips have no .pom next to them; Maven only warns about that.
  if ! (cd "$tmp" && mvn_quiet "$tmp/mvn.log" \
        "$SKEIN_MVN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
        -DoutputDirectory="$tmp"); then
    cp "$tmp/mvn.log" "$SKEIN_CACHE_DIR/elasticsearch-$ES_VERSION-download.log"
    rm -rf "$tmp"
    fail download "$SKEIN_CACHE_DIR/elasticsearch-$ES_VERSION-download.log"
  fi
  zip="$tmp/elasticsearch-$ES_VERSION.zip"
  [[ -s "$zip" ]] || fail download "$tmp/mvn.log"
  log "unpacking $(du -h "$zip" | cut -f1) zip"
  extract_zip "$zip" "$tmp/x" || fail download "$tmp/mvn.log"
  [[ -x "$tmp/x/elasticsearch-$ES_VERSION/bin/elasticsearch" ]] \
    || die "unexpected zip layout: no elasticsearch-$ES_VERSION/bin/elasticsearch"
  rm -rf "$ES_CACHE_HOME"
  mv "$tmp/x/elasticsearch-$ES_VERSION" "$ES_CACHE_HOME"   # atomic install
  rm -rf "$tmp"
  # Another user (skein-es) may read it: world-readable, dirs traversable.
  chmod -R a+rX "$ES_CACHE_HOME"
  touch "$ES_CACHE_HOME/.skein-complete"
  log "Elasticsearch $ES_VERSION ready in $ES_CACHE_HOME ($(( $(now_s) - t0 ))s)"
}

# --------------------------------------------------------------- layout ----
# Decides ES_RUN (where config/data/logs live, writable by the ES user) and
# ES_HOME (the install the ES user can read). Sets up the ES user when root.
ES_RUN=""; ES_HOME=""
es_layout() {
  mkdir -p "$SKEIN_STATE_DIR"
  if [[ -n "$ES_USER" ]] && ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "creating system user $ES_USER (Elasticsearch refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$ES_USER" 2>/dev/null \
      || id -u "$ES_USER" >/dev/null 2>&1 || die "useradd $ES_USER failed"
  fi
  ES_RUN="$ESTATE"
  if [[ -n "$ES_USER" ]] && ! as_es test -x "$SKEIN_STATE_DIR"; then
    # The state dir sits below a directory skein-es cannot traverse (e.g. a repo
    # under /root): keep the ES working dirs in /var/lib instead and leave a
    # symlink in the state dir (reset.sh follows it).
    local alt
    alt="/var/lib/skein-es/$(printf '%s' "$SKEIN_STATE_DIR" | md5sum | cut -c1-12)"
    mkdir -p "$alt"
    chmod 755 /var/lib/skein-es
    if [[ ! -L "$ESTATE" ]]; then
      [[ -e "$ESTATE" ]] && die "$ESTATE exists but $ES_USER cannot reach it; remove it or set SKEIN_STATE_DIR"
      ln -s "$alt" "$ESTATE"
      log "$SKEIN_STATE_DIR is not reachable by $ES_USER: ES files live in $alt (symlinked)"
    fi
    ES_RUN="$alt"
  fi
  mkdir -p "$ES_RUN"/{config,data,logs,run,tmp}
  [[ -z "$ES_USER" ]] || chown -R "$ES_USER:" "$ES_RUN"/{config,data,logs,run,tmp}

  ES_HOME="$ES_CACHE_HOME"
  if [[ -n "$ES_USER" ]] && ! as_es test -r "$ES_CACHE_HOME/lib/elasticsearch-$ES_VERSION.jar"; then
    # ~/.cache under /root is not traversable by skein-es: use a hard-linked
    # copy (no extra disk, instant) inside ES_RUN; a real copy if cross-device.
    ES_HOME="$ES_RUN/home-$ES_VERSION"
    if [[ ! -f "$ES_HOME/.skein-complete" ]]; then
      log "making $ES_CACHE_HOME readable for $ES_USER: linking it into $ES_HOME"
      rm -rf "$ES_HOME" "$ES_RUN"/home-*
      cp -al "$ES_CACHE_HOME" "$ES_HOME" 2>/dev/null || cp -a "$ES_CACHE_HOME" "$ES_HOME"
    fi
  fi
  as_es test -r "$ES_HOME/lib/elasticsearch-$ES_VERSION.jar" \
    || die "$ES_HOME is not readable by ${ES_USER:-$(id -un)}"
  as_es test -r "$ES_JDK/bin/java" \
    || die "JDK $ES_JDK is not usable by ${ES_USER:-$(id -un)}"
}

# ------------------------------------------------------------- config ----
write_config() {
  local conf="$ES_RUN/config"
  # Fresh defaults from the distribution each start (jvm.options, log4j2,
  # x-pack role files); the keystore ES creates here on first start is kept.
  cp -r "$ES_HOME/config/." "$conf/"
  local xpack=""
  # The integ-test zip may or may not include x-pack; its settings are
  # unknown (= fatal) without the module.
  if [[ -d "$ES_HOME/modules/x-pack-security" ]]; then
    xpack="xpack.security.enabled: false"
  fi
  cat >"$conf/elasticsearch.yml" <<EOF
# Generated by scripts/infra/elasticsearch.sh on every start - edit the script.
cluster.name: $CLUSTER_NAME
node.name: skein-1
path.data: $ES_RUN/data
path.logs: $ES_RUN/logs
# Loopback only: this also keeps ES in "development mode", so bootstrap checks
# such as vm.max_map_count >= 262144 are warnings, not fatal.
network.host: $SKEIN_BIND_HOST
http.port: $SKEIN_ES_PORT
transport.port: $SKEIN_ES_TRANSPORT_PORT
discovery.type: single-node
# Tests delete indices with wildcards.
action.destructive_requires_name: false
# Don't turn indices read-only when the dev box's disk is nearly full.
cluster.routing.allocation.disk.threshold_enabled: false
$xpack
EOF
  mkdir -p "$conf/jvm.options.d"
  cat >"$conf/jvm.options.d/skein-heap.options" <<EOF
# Small fixed heap: a dev/test node on a 2-core box next to Kafka.
-Xms512m
-Xmx512m
EOF
  [[ -z "$ES_USER" ]] || chown -R "$ES_USER:" "$conf"
}

# -------------------------------------------------------------- health ----
# Prints the cluster status (green/yellow/red) or nothing.
# Always returns 0 (callers assign it under set -e).
es_cluster_status() {
  { http_get "$BASE_URL/_cluster/health?wait_for_status=yellow&timeout=${1:-1}s" 2>/dev/null \
      | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'; } || true
}

es_healthy() {
  local st; st="$(es_cluster_status "${1:-1}")"
  [[ "$st" == green || "$st" == yellow ]]
}

es_pid() { pid_alive "$ES_RUN/run/es.pid" "$MAIN_CLASS"; }

# --------------------------------------------------------------- start ----
cmd_start() {
  local t0 pid; t0="$(now_s)"
  cmd_fetch quiet
  es_layout
  if pid="$(es_pid)"; then
    if es_healthy 1; then
      log "already running and healthy (pid $pid, status $(es_cluster_status)) at $BASE_URL"
      return 0
    fi
    log "already running (pid $pid) but not healthy yet; waiting"
    wait_healthy "$pid" "$t0"
    return 0
  fi
  local port
  for port in "$SKEIN_ES_PORT" "$SKEIN_ES_TRANSPORT_PORT"; do
    if port_open "$port"; then
      log "port $SKEIN_BIND_HOST:$port is already in use by a process these scripts did not start"
      log "(see: ss -ltnp 'sport = :$port')"
      fail start
    fi
  done
  write_config

  local out="$ES_RUN/logs/startup.out"
  printf '\n==== %s start (Elasticsearch %s, JDK %s) ====\n' "$(date -Is)" "$ES_VERSION" "$ES_JDK" >>"$out"
  log "starting Elasticsearch $ES_VERSION as ${ES_USER:-$(id -un)} (JDK $ES_JDK_VERSION at $ES_JDK, state in $ES_RUN)"
  # `-d` daemonizes: the launcher JVM waits until the node has started (or
  # failed), then exits and leaves the server JVM running; `-p` makes the
  # server write its own pid. setsid detaches it from our session for good.
  # cd: the launcher must not start in a cwd the ES user cannot read (/root).
  rm -f "$ES_RUN/run/es.pid"        # stale after a kill -9; ES writes a fresh one
  local rc=0
  (
    cd "$ES_RUN"
    exec timeout "$SKEIN_INFRA_TIMEOUT" setsid nohup \
      ${ES_USER:+runuser -u "$ES_USER" --} env \
        ES_JAVA_HOME="$ES_JDK" ES_PATH_CONF="$ES_RUN/config" ES_TMPDIR="$ES_RUN/tmp" \
        ES_JAVA_OPTS="${SKEIN_ES_JAVA_OPTS:-}" \
        "$ES_HOME/bin/elasticsearch" -d -p "$ES_RUN/run/es.pid"
  ) </dev/null >>"$out" 2>&1 8>&- 9>&- || rc=$?
  if (( rc == 124 )); then
    log "Elasticsearch did not report 'started' within ${SKEIN_INFRA_TIMEOUT}s (the server may still be starting; stop it with elasticsearch.sh stop)"
    fail health "$out" "$ES_RUN/logs/$CLUSTER_NAME.log"
  elif (( rc != 0 )); then
    log "the Elasticsearch launcher exited with status $rc"
    fail start "$out" "$ES_RUN/logs/$CLUSTER_NAME.log"
  fi
  pid="$(es_pid)" || { log "launcher succeeded but no live server pid in $ES_RUN/run/es.pid"; fail start "$out" "$ES_RUN/logs/$CLUSTER_NAME.log"; }
  wait_healthy "$pid" "$t0"
}

wait_healthy() {
  local pid="$1" t0="$2" deadline=$(( $2 + SKEIN_INFRA_TIMEOUT ))
  while (( $(now_s) < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the Elasticsearch JVM (pid $pid) exited during startup"
      fail start "$ES_RUN/logs/startup.out" "$ES_RUN/logs/$CLUSTER_NAME.log"
    fi
    if es_healthy 2; then
      log "Elasticsearch $ES_VERSION healthy at $BASE_URL (status $(es_cluster_status), pid $pid, $(( $(now_s) - t0 ))s)"
      return 0
    fi
    sleep 1
  done
  log "Elasticsearch not yellow/green after ${SKEIN_INFRA_TIMEOUT}s (pid $pid still running; stop it with elasticsearch.sh stop)"
  fail health "$ES_RUN/logs/$CLUSTER_NAME.log"
}

cmd_stop() {
  es_layout_quiet
  stop_pid "Elasticsearch" "$ES_RUN/run/es.pid" "$MAIN_CLASS" 60
}

cmd_status() {
  es_layout_quiet
  local pid st
  if pid="$(es_pid)"; then
    st="$(es_cluster_status 1)"
    if [[ "$st" == green || "$st" == yellow ]]; then
      # Ask the node for its version: the env may select another one than what runs.
      local v
      v="$({ http_get "$BASE_URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
             | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'; } || true)"
      log "running (pid $pid), healthy: cluster status $st at $BASE_URL (Elasticsearch ${v:-?})"
      return 0
    fi
    log "running (pid $pid), NOT healthy (cluster status: ${st:-no answer}) at $BASE_URL"
  elif port_open "$SKEIN_ES_PORT"; then
    log "not started by these scripts, but something listens on $SKEIN_BIND_HOST:$SKEIN_ES_PORT"
  else
    log "not running"
  fi
  return 1
}

# stop/status must not create users or copy files: only work out ES_RUN.
es_layout_quiet() {
  ES_RUN="$ESTATE"
  [[ -L "$ESTATE" ]] && ES_RUN="$(readlink -f "$ESTATE")"
  return 0
}

case "${1:-}" in
  start|stop|restart) take_lock 9 "$SKEIN_STATE_DIR/.elasticsearch.lock" ;;
esac
case "${1:-}" in
  fetch)   cmd_fetch ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status)  cmd_status ;;
  version) printf '%s\n' "$ES_VERSION" ;;
  *) echo "usage: $0 fetch|start|stop|restart|status|version" >&2; exit 2 ;;
esac
