#!/usr/bin/env bash
# Local OpenSearch for skein's second backend (make test-opensearch): single node "skein-os-1"
# of cluster "skein-opensearch", HTTP on 127.0.0.1:9201, transport on 127.0.0.1:9301, so it
# runs next to the Elasticsearch on 9200/9300 and never touches it.
#
#   scripts/infra/opensearch.sh fetch     download + unzip into ~/.cache/skein (once)
#   scripts/infra/opensearch.sh start     fetch, configure, start, wait for yellow/green
#   scripts/infra/opensearch.sh stop      SIGTERM, wait, SIGKILL if needed
#   scripts/infra/opensearch.sh status    running/healthy? exit 0 only if healthy
#   scripts/infra/opensearch.sh restart
#   scripts/infra/opensearch.sh version   the version these settings select
#
# The distribution is org.opensearch.distribution.integ-test-zip:opensearch:<v>:zip from
# Maven Central: the server with its modules but no plugins (so no security plugin: plain
# HTTP, no users) and no bundled JDK. So we pick a JDK:
#   - a JDK >= 21 (JAVA_HOME or /usr/lib/jvm, newest wins) -> OpenSearch 3.x
#   - otherwise (Java 17 only)                             -> OpenSearch 2.19.x
# OpenSearch refuses to run as root: as root it runs as the system user elasticsearch.sh
# creates for Elasticsearch (`skein-es`), with files of its own.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SKEIN_LOG_TAG="opensearch"

OS_USER=""                 # empty = run as the current (non-root) user
if [[ "$(id -u)" -eq 0 ]]; then OS_USER="${SKEIN_OS_USER:-${SKEIN_ES_USER:-skein-es}}"; fi

# ------------------------------------------------------- JDK + version ----
OS_JDK="${SKEIN_OS_JAVA_HOME:-}"
[[ -n "$OS_JDK" ]] || OS_JDK="$(find_jdk 21)"
[[ -n "$OS_JDK" ]] || OS_JDK="$(find_jdk 17)"
if [[ -z "$OS_JDK" ]] && install_jdk17; then OS_JDK="$(find_jdk 17)"; fi
[[ -n "$OS_JDK" ]] || die "no JDK >= 17 found (JAVA_HOME, PATH, /usr/lib/jvm)"
OS_JDK_VERSION="$(jdk_version "$OS_JDK")"
if [[ -n "${SKEIN_OS_VERSION:-}" ]]; then
  OS_VERSION="$SKEIN_OS_VERSION"
elif (( OS_JDK_VERSION >= 21 )); then
  OS_VERSION="$SKEIN_OS3_DEFAULT_VERSION"
else
  OS_VERSION="$SKEIN_OS2_DEFAULT_VERSION"
fi
if [[ "${OS_VERSION%%.*}" -ge 3 ]] && (( OS_JDK_VERSION < 21 )); then
  die "OpenSearch $OS_VERSION needs Java >= 21 but the JDK found is $OS_JDK ($OS_JDK_VERSION); set SKEIN_OS_JAVA_HOME or use SKEIN_OS_VERSION=$SKEIN_OS2_DEFAULT_VERSION"
fi

OS_CACHE_HOME="$SKEIN_CACHE_DIR/opensearch-$OS_VERSION"
OSTATE="$SKEIN_STATE_DIR/opensearch"
CLUSTER_NAME="skein-opensearch"
MAIN_CLASS="org.opensearch.bootstrap.OpenSearch"
BASE_URL="http://$SKEIN_BIND_HOST:$SKEIN_OS_PORT"

# as_os CMD...: run CMD as the OpenSearch user (no-op wrapper when not root).
as_os() {
  if [[ -n "$OS_USER" ]]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- fetch ----
cmd_fetch() {
  if [[ -f "$OS_CACHE_HOME/.skein-complete" ]]; then
    [[ "${1:-}" == quiet ]] || log "OpenSearch $OS_VERSION cached in $OS_CACHE_HOME"
    return 0
  fi
  take_lock 8 "$SKEIN_CACHE_DIR/.opensearch-$OS_VERSION.lock"
  if [[ -f "$OS_CACHE_HOME/.skein-complete" ]]; then return 0; fi   # another process just did it
  local t0 tmp zip; t0="$(now_s)"
  log "downloading OpenSearch $OS_VERSION (integ-test-zip) from Maven Central (mvn dependency:copy)"
  mkdir -p "$SKEIN_CACHE_DIR"
  tmp="$(mktemp -d "$SKEIN_CACHE_DIR/.opensearch-$OS_VERSION.XXXXXX")"
  # An empty working dir, so Maven does not pick up some unrelated pom.xml.
  if ! (cd "$tmp" && mvn_quiet "$tmp/mvn.log" \
        "$SKEIN_MVN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip" \
        -DoutputDirectory="$tmp"); then
    cp "$tmp/mvn.log" "$SKEIN_CACHE_DIR/opensearch-$OS_VERSION-download.log"
    rm -rf "$tmp"
    fail download "$SKEIN_CACHE_DIR/opensearch-$OS_VERSION-download.log"
  fi
  zip="$tmp/opensearch-$OS_VERSION.zip"
  [[ -s "$zip" ]] || fail download "$tmp/mvn.log"
  log "unpacking $(du -h "$zip" | cut -f1) zip"
  extract_zip "$zip" "$tmp/x" || fail download "$tmp/mvn.log"
  [[ -x "$tmp/x/opensearch-$OS_VERSION/bin/opensearch" ]] \
    || die "unexpected zip layout: no opensearch-$OS_VERSION/bin/opensearch"
  rm -rf "$OS_CACHE_HOME"
  mv "$tmp/x/opensearch-$OS_VERSION" "$OS_CACHE_HOME"   # atomic install
  rm -rf "$tmp"
  # Another user (skein-es) may read it: world-readable, dirs traversable.
  chmod -R a+rX "$OS_CACHE_HOME"
  touch "$OS_CACHE_HOME/.skein-complete"
  log "OpenSearch $OS_VERSION ready in $OS_CACHE_HOME ($(( $(now_s) - t0 ))s)"
}

# --------------------------------------------------------------- layout ----
# Decides OS_RUN (config/data/logs, writable by the OpenSearch user) and OS_HOME (the install
# that user can read). Sets up the user when root.
OS_RUN=""; OS_HOME=""
os_layout() {
  mkdir -p "$SKEIN_STATE_DIR"
  if [[ -n "$OS_USER" ]] && ! id -u "$OS_USER" >/dev/null 2>&1; then
    log "creating system user $OS_USER (OpenSearch refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$OS_USER" 2>/dev/null \
      || id -u "$OS_USER" >/dev/null 2>&1 || die "useradd $OS_USER failed"
  fi
  OS_RUN="$OSTATE"
  if [[ -n "$OS_USER" ]] && ! as_os test -x "$SKEIN_STATE_DIR"; then
    # The state dir sits below a directory the user cannot traverse (a repo under /root):
    # the working dirs live in /var/lib instead, behind a symlink in the state dir (reset.sh
    # follows it). Not inside Elasticsearch's directory there: each server keeps its own.
    local alt
    alt="/var/lib/skein-es/opensearch-$(printf '%s' "$SKEIN_STATE_DIR" | md5sum | cut -c1-12)"
    mkdir -p "$alt"
    chmod 755 /var/lib/skein-es
    if [[ ! -L "$OSTATE" ]]; then
      [[ -e "$OSTATE" ]] && die "$OSTATE exists but $OS_USER cannot reach it; remove it or set SKEIN_STATE_DIR"
      ln -s "$alt" "$OSTATE"
      log "$SKEIN_STATE_DIR is not reachable by $OS_USER: OpenSearch files live in $alt (symlinked)"
    fi
    OS_RUN="$alt"
  fi
  mkdir -p "$OS_RUN"/{config,data,logs,run,tmp}
  [[ -z "$OS_USER" ]] || chown -R "$OS_USER:" "$OS_RUN"/{config,data,logs,run,tmp}

  OS_HOME="$OS_CACHE_HOME"
  if [[ -n "$OS_USER" ]] && ! as_os test -r "$OS_CACHE_HOME/lib/opensearch-$OS_VERSION.jar"; then
    # ~/.cache under /root is not traversable by the user: a hard-linked copy (no extra
    # disk, instant) inside OS_RUN; a real copy if cross-device.
    OS_HOME="$OS_RUN/home-$OS_VERSION"
    if [[ ! -f "$OS_HOME/.skein-complete" ]]; then
      log "making $OS_CACHE_HOME readable for $OS_USER: linking it into $OS_HOME"
      rm -rf "$OS_HOME" "$OS_RUN"/home-*
      cp -al "$OS_CACHE_HOME" "$OS_HOME" 2>/dev/null || cp -a "$OS_CACHE_HOME" "$OS_HOME"
    fi
  fi
  as_os test -r "$OS_HOME/lib/opensearch-$OS_VERSION.jar" \
    || die "$OS_HOME is not readable by ${OS_USER:-$(id -un)}"
  as_os test -r "$OS_JDK/bin/java" \
    || die "JDK $OS_JDK is not usable by ${OS_USER:-$(id -un)}"
}

# ------------------------------------------------------------- config ----
write_config() {
  local conf="$OS_RUN/config"
  # Fresh defaults from the distribution each start (jvm.options, log4j2); the keystore
  # OpenSearch creates here on first start is kept.
  cp -r "$OS_HOME/config/." "$conf/"
  # The launcher runs from OS_HOME (read-only for the user): the GC log, error file and heap
  # dumps the stock jvm.options put at relative paths go to OS_RUN instead.
  sed -i -e "s|=logs/|=$OS_RUN/logs/|g" -e "s|file=logs/|file=$OS_RUN/logs/|g" \
    -e "s|HeapDumpPath=data|HeapDumpPath=$OS_RUN/data|" "$conf/jvm.options"
  local security=""
  # The integ-test zip has no security plugin; a distribution that has one would otherwise
  # demand TLS and demo certificates.
  if [[ -d "$OS_HOME/plugins/opensearch-security" ]]; then
    security="plugins.security.disabled: true"
  fi
  cat >"$conf/opensearch.yml" <<EOF
# Generated by scripts/infra/opensearch.sh on every start - edit the script.
cluster.name: $CLUSTER_NAME
node.name: skein-os-1
path.data: $OS_RUN/data
path.logs: $OS_RUN/logs
# Loopback only: this also keeps OpenSearch in "development mode", so bootstrap checks such
# as vm.max_map_count >= 262144 are warnings, not fatal.
network.host: $SKEIN_BIND_HOST
http.port: $SKEIN_OS_PORT
transport.port: $SKEIN_OS_TRANSPORT_PORT
discovery.type: single-node
# Tests delete indices with wildcards.
action.destructive_requires_name: false
# Don't turn indices read-only when the dev box's disk is nearly full.
cluster.routing.allocation.disk.threshold_enabled: false
$security
EOF
  mkdir -p "$conf/jvm.options.d"
  cat >"$conf/jvm.options.d/skein-heap.options" <<EOF
# Small fixed heap: a test node on a 2-core box next to Kafka and Elasticsearch.
-Xms512m
-Xmx512m
EOF
  [[ -z "$OS_USER" ]] || chown -R "$OS_USER:" "$conf"
}

# -------------------------------------------------------------- health ----
# Prints the cluster status (green/yellow/red) or nothing. Always returns 0.
os_cluster_status() {
  { http_get "$BASE_URL/_cluster/health?wait_for_status=yellow&timeout=${1:-1}s" 2>/dev/null \
      | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'; } || true
}

os_healthy() {
  local st; st="$(os_cluster_status "${1:-1}")"
  [[ "$st" == green || "$st" == yellow ]]
}

os_pid() { pid_alive "$OS_RUN/run/opensearch.pid" "$MAIN_CLASS"; }

# --------------------------------------------------------------- start ----
cmd_start() {
  local t0 pid; t0="$(now_s)"
  cmd_fetch quiet
  os_layout
  if pid="$(os_pid)"; then
    if os_healthy 1; then
      log "already running and healthy (pid $pid, status $(os_cluster_status)) at $BASE_URL"
      return 0
    fi
    log "already running (pid $pid) but not healthy yet; waiting"
    wait_healthy "$pid" "$t0"
    return 0
  fi
  local port
  for port in "$SKEIN_OS_PORT" "$SKEIN_OS_TRANSPORT_PORT"; do
    if port_open "$port"; then
      log "port $SKEIN_BIND_HOST:$port is already in use by a process these scripts did not start"
      log "(see: ss -ltnp 'sport = :$port'; SKEIN_OS_PORT / SKEIN_OS_TRANSPORT_PORT choose others)"
      fail start
    fi
  done
  write_config

  local out="$OS_RUN/logs/startup.out"
  printf '\n==== %s start (OpenSearch %s, JDK %s) ====\n' "$(date -Is)" "$OS_VERSION" "$OS_JDK" >>"$out"
  log "starting OpenSearch $OS_VERSION as ${OS_USER:-$(id -un)} (JDK $OS_JDK_VERSION at $OS_JDK, state in $OS_RUN)"
  # `-d` daemonizes once the node has started (or failed); `-p` makes the server write its own
  # pid. setsid detaches it from our session; cd: the launcher must not start in a cwd the
  # user cannot read (/root).
  rm -f "$OS_RUN/run/opensearch.pid"   # stale after a kill -9; OpenSearch writes a fresh one
  local rc=0
  (
    cd "$OS_RUN"
    exec timeout "$SKEIN_INFRA_TIMEOUT" setsid nohup \
      ${OS_USER:+runuser -u "$OS_USER" --} env \
        OPENSEARCH_JAVA_HOME="$OS_JDK" OPENSEARCH_PATH_CONF="$OS_RUN/config" OPENSEARCH_TMPDIR="$OS_RUN/tmp" \
        OPENSEARCH_JAVA_OPTS="${SKEIN_OS_JAVA_OPTS:-}" \
        "$OS_HOME/bin/opensearch" -d -p "$OS_RUN/run/opensearch.pid"
  ) </dev/null >>"$out" 2>&1 8>&- 9>&- || rc=$?
  if (( rc == 124 )); then
    log "OpenSearch did not report 'started' within ${SKEIN_INFRA_TIMEOUT}s (the server may still be starting; stop it with opensearch.sh stop)"
    fail health "$out" "$OS_RUN/logs/$CLUSTER_NAME.log"
  elif (( rc != 0 )); then
    log "the OpenSearch launcher exited with status $rc"
    fail start "$out" "$OS_RUN/logs/$CLUSTER_NAME.log"
  fi
  # Unlike Elasticsearch's, OpenSearch's launcher may return before the node has written its
  # pid file: give it a moment.
  local i
  for ((i = 0; i < 60; i++)); do
    pid="$(os_pid)" && break
    sleep 0.5
  done
  [[ -n "$pid" ]] || { log "launcher succeeded but no live server pid in $OS_RUN/run/opensearch.pid"; fail start "$out" "$OS_RUN/logs/$CLUSTER_NAME.log"; }
  wait_healthy "$pid" "$t0"
}

wait_healthy() {
  local pid="$1" t0="$2" deadline=$(( $2 + SKEIN_INFRA_TIMEOUT ))
  while (( $(now_s) < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the OpenSearch JVM (pid $pid) exited during startup"
      fail start "$OS_RUN/logs/startup.out" "$OS_RUN/logs/$CLUSTER_NAME.log"
    fi
    if os_healthy 2; then
      log "OpenSearch $OS_VERSION healthy at $BASE_URL (status $(os_cluster_status), pid $pid, $(( $(now_s) - t0 ))s)"
      return 0
    fi
    sleep 1
  done
  log "OpenSearch not yellow/green after ${SKEIN_INFRA_TIMEOUT}s (pid $pid still running; stop it with opensearch.sh stop)"
  fail health "$OS_RUN/logs/$CLUSTER_NAME.log"
}

cmd_stop() {
  os_layout_quiet
  stop_pid "OpenSearch" "$OS_RUN/run/opensearch.pid" "$MAIN_CLASS" 60
}

cmd_status() {
  os_layout_quiet
  local pid st
  if pid="$(os_pid)"; then
    st="$(os_cluster_status 1)"
    if [[ "$st" == green || "$st" == yellow ]]; then
      # Ask the node for its version: the environment may select another one than what runs.
      local v
      v="$({ http_get "$BASE_URL/" 2>/dev/null \
             | tr -d '\n ' | sed -n 's/.*"number":"\([^"]*\)".*/\1/p'; } || true)"
      log "running (pid $pid), healthy: cluster status $st at $BASE_URL (OpenSearch ${v:-?})"
      return 0
    fi
    log "running (pid $pid), NOT healthy (cluster status: ${st:-no answer}) at $BASE_URL"
  elif port_open "$SKEIN_OS_PORT"; then
    log "not started by these scripts, but something listens on $SKEIN_BIND_HOST:$SKEIN_OS_PORT"
  else
    log "not running"
  fi
  return 1
}

# stop/status must not create users or copy files: only work out OS_RUN.
os_layout_quiet() {
  OS_RUN="$OSTATE"
  [[ -L "$OSTATE" ]] && OS_RUN="$(readlink -f "$OSTATE")"
  return 0
}

case "${1:-}" in
  start|stop|restart) take_lock 9 "$SKEIN_STATE_DIR/.opensearch.lock" ;;
esac
case "${1:-}" in
  fetch)   cmd_fetch ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status)  cmd_status ;;
  version) printf '%s\n' "$OS_VERSION" ;;
  *) echo "usage: $0 fetch|start|stop|restart|status|version" >&2; exit 2 ;;
esac
