# shellcheck shell=bash
# shellcheck disable=SC2034  # constants used by the scripts that source this file
# Shared helpers for the skein local-infrastructure scripts (Kafka, Elasticsearch, OpenSearch).
# Sourced by kafka.sh / elasticsearch.sh / opensearch.sh / up.sh / down.sh / status.sh / reset.sh.
# Everything here is plain bash + coreutils; no Docker, no vendor tarballs: the
# servers' jars come from Maven Central through `mvn`, the only ordinary client
# we can count on for that registry.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$INFRA_DIR/../.." && pwd)"

# --- Knobs (all overridable from the environment) -------------------------------
# Pinned defaults so runs are reproducible; `scripts/infra/latest-versions.sh`
# prints what is newest on Maven Central when you want to bump them.
#   Kafka 4.4.0 exists as kafka_2.13 but its kafka-tools / kafka-tools-api 4.4.0
#   jars are not on Maven Central, so 4.3.1 is the newest 4.x that resolves.
SKEIN_KAFKA_DEFAULT_VERSION="4.3.1"
#   ES 9.x needs Java >= 21; 8.19.x is the newest line that still runs on Java 17.
SKEIN_ES9_DEFAULT_VERSION="9.5.3"
SKEIN_ES8_DEFAULT_VERSION="8.19.21"
#   OpenSearch 3.x needs Java >= 21; 2.19.x is the newest line that still runs on Java 17.
SKEIN_OS3_DEFAULT_VERSION="3.8.0"
SKEIN_OS2_DEFAULT_VERSION="2.19.6"

SKEIN_CACHE_DIR="${SKEIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skein}"
SKEIN_STATE_DIR="${SKEIN_STATE_DIR:-$REPO/.skein}"
SKEIN_INFRA_TIMEOUT="${SKEIN_INFRA_TIMEOUT:-120}"   # seconds to wait for health
SKEIN_BIND_HOST="127.0.0.1"                         # loopback only, on purpose

SKEIN_KAFKA_PORT="${SKEIN_KAFKA_PORT:-9092}"
SKEIN_KAFKA_CONTROLLER_PORT="${SKEIN_KAFKA_CONTROLLER_PORT:-9093}"
SKEIN_ES_PORT="${SKEIN_ES_PORT:-9200}"
SKEIN_ES_TRANSPORT_PORT="${SKEIN_ES_TRANSPORT_PORT:-9300}"
# OpenSearch (make test-opensearch) next to Elasticsearch, never instead of it.
SKEIN_OS_PORT="${SKEIN_OS_PORT:-9201}"
SKEIN_OS_TRANSPORT_PORT="${SKEIN_OS_TRANSPORT_PORT:-9301}"

# Pinned so behaviour does not depend on whatever Maven 3.x binds by default (2.8).
SKEIN_MVN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

# --- Messages --------------------------------------------------------------------
_tag() { printf '[skein-infra]%s' "${SKEIN_LOG_TAG:+ $SKEIN_LOG_TAG:}"; }
log()  { printf '%s %s\n' "$(_tag)" "$*" >&2; }
warn() { printf '%s WARNING: %s\n' "$(_tag)" "$*" >&2; }
die()  { printf '%s ERROR: %s\n' "$(_tag)" "$*" >&2; exit 1; }

# fail STEP LOGFILE... : say which step failed, show the tail of the logs, exit 1.
fail() {
  local step="$1"; shift
  printf '%s ERROR: step "%s" failed\n' "$(_tag)" "$step" >&2
  local f
  for f in "$@"; do
    if [[ -s "$f" ]]; then
      printf '%s ---- last 40 lines of %s ----\n' "$(_tag)" "$f" >&2
      tail -n 40 "$f" >&2
      printf '%s ---- end of %s ----\n' "$(_tag)" "$f" >&2
    fi
  done
  exit 1
}

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "required command '$1' not found ($2)"; }

# --- Java discovery ------------------------------------------------------------------
# Prints the feature version (17, 21, 25 ...) of the JDK at $1, or nothing.
jdk_version() {
  local home="$1" v=""
  [[ -x "$home/bin/java" ]] || return 0
  if [[ -f "$home/release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")"
  fi
  if [[ -z "$v" ]]; then
    v="$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  fi
  v="${v#1.}"          # 1.8 -> 8
  printf '%s' "${v%%[.+-]*}"
}

# find_jdk MIN: print a JAVA_HOME whose feature version is >= MIN, or nothing.
# Order: $JAVA_HOME, then the `java` on PATH, then the NEWEST JDK under /usr/lib/jvm.
find_jdk() {
  local min="$1" cand v best="" bestv=0
  for cand in "${JAVA_HOME:-}" \
      "$(command -v java >/dev/null 2>&1 && dirname "$(dirname "$(readlink -f "$(command -v java)")")")"; do
    [[ -n "$cand" ]] || continue
    v="$(jdk_version "$cand")"
    if [[ -n "$v" ]] && (( v >= min )); then printf '%s' "$cand"; return 0; fi
  done
  for cand in /usr/lib/jvm/*; do
    [[ -L "$cand" ]] && continue          # Debian's aliases point at real dirs
    v="$(jdk_version "$cand")"
    if [[ -n "$v" ]] && (( v >= min && v > bestv )); then best="$cand"; bestv="$v"; fi
  done
  [[ -n "$best" ]] && printf '%s' "$best"
  return 0
}

# ensure_cmd CMD APT_PACKAGE: on a fresh Debian box install what is missing
# (as root via apt-get); as non-root, say what to install.
ensure_cmd() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "'$cmd' not found: installing Debian package $pkg"
    if [[ -z "${_SKEIN_APT_UPDATED:-}" ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
      _SKEIN_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null \
      || die "apt-get install $pkg failed"
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing $pkg"
  else
    die "required command '$cmd' not found: install it (Debian: apt-get install -y $pkg)"
  fi
}

# install_jdk17: last resort on a fresh Debian box without any usable JDK (root only).
install_jdk17() {
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1 || return 1
  log "no suitable JDK found: installing Debian package openjdk-17-jdk-headless"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jdk-headless >/dev/null
}

# --- Downloads through Maven ---------------------------------------------------------
# mvn_quiet LOGFILE ARGS... : run Maven in batch mode, log to a file, keep the
# terminal clean. Returns Maven's exit status.
mvn_quiet() {
  local logf="$1"; shift
  ensure_cmd mvn maven
  mvn -B -ntp "$@" >"$logf" 2>&1
}

# extract_zip ZIP DEST : unzip, or python3's zipfile (keeping exec bits), or jar.
extract_zip() {
  local zip="$1" dest="$2"
  mkdir -p "$dest"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" -d "$dest"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$zip" "$dest" <<'PY'
import os, sys, zipfile
zf = zipfile.ZipFile(sys.argv[1])
for info in zf.infolist():
    path = zf.extract(info, sys.argv[2])
    mode = (info.external_attr >> 16) & 0o777
    if mode and not info.is_dir():
        os.chmod(path, mode)
PY
  elif command -v jar >/dev/null 2>&1; then
    (cd "$dest" && jar xf "$zip")
  else
    die "cannot extract $zip: need unzip, python3 or a JDK's jar"
  fi
}

# --- Processes and ports ---------------------------------------------------------------
# port_open PORT : true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$SKEIN_BIND_HOST/$1") >/dev/null 2>&1
}

# pid_alive PIDFILE MATCH : print the pid if the process in PIDFILE is alive and
# its command line contains MATCH (guards against recycled pids).
pid_alive() {
  local pidfile="$1" match="$2" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match" || return 1
  printf '%s' "$pid"
}

# stop_pid NAME PIDFILE MATCH GRACE : SIGTERM, wait GRACE seconds, then SIGKILL.
stop_pid() {
  local name="$1" pidfile="$2" match="$3" grace="$4" pid i
  if ! pid="$(pid_alive "$pidfile" "$match")"; then
    log "$name is not running (nothing to stop)"
    rm -f "$pidfile"
    return 0
  fi
  log "stopping $name (pid $pid, SIGTERM, up to ${grace}s)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name did not exit after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

# http_get URL : print the body of a GET (curl if present, else bash /dev/tcp,
# so a box without curl can still health-check). Fails on connection errors.
http_get() {
  local url="$1"
  if command -v curl >/dev/null 2>&1; then
    curl -sS -m 15 "$url"
    return
  fi
  local rest="${url#http://}" hostport path host port
  hostport="${rest%%/*}"; path="/${rest#*/}"; [[ "$rest" == */* ]] || path="/"
  host="${hostport%%:*}"; port="${hostport##*:}"; [[ "$port" != "$hostport" ]] || port=80
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
  timeout 15 cat <&3 | sed '1,/^\r\{0,1\}$/d'
  exec 3<&-
}

# take_lock FD FILE : exclusive flock held until the script exits, so two
# concurrent `start`s (say, parallel make targets) don't launch two servers or
# download into the cache at the same time. Fixed fds (8: cache, 9: state) so
# the launch commands can close them: a server must not inherit the lock.
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  local fd="$1" f="$2"
  mkdir -p "$(dirname "$f")"
  eval "exec $fd>>\"\$f\""
  if ! flock -n "$fd"; then
    log "another skein-infra command holds $f; waiting"
    flock -w 600 "$fd" || die "timed out waiting for $f"
  fi
}

# now_s : seconds since epoch (for timeouts and timing reports).
now_s() { date +%s; }

# --- Kafka tools (kafka.sh, kafka-cluster.sh, kafka-tls.sh) -------------------------------------------
# Run a Kafka CLI class with a quiet log config and a small heap; the caller sets $KAFKA_LIBS
# and has a need_java that sets $KJAVA.
kafka_tool() {
  local main="$1"; shift
  need_java
  "$KJAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$INFRA_DIR/conf/kafka-tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$main" "$@"
}

# kafka_answers PORT CLIENT_CONFIG: a broker is healthy when 127.0.0.1:PORT accepts AND answers a
# real metadata request (list topics) within 30 s, made with CLIENT_CONFIG (plaintext or TLS).
kafka_answers() {
  local port="$1" client_config="$2"
  port_open "$port" || return 1
  need_java
  timeout 30 "$KJAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
      -Dlog4j2.configurationFile="$INFRA_DIR/conf/kafka-tools-log4j2.properties" \
      -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$SKEIN_BIND_HOST:$port" \
      --command-config "$client_config" --list >/dev/null 2>&1
}

# kraft_format STATE CONFIG LOG WHAT: format a KRaft node's storage with the cluster id kept in
# STATE/cluster.id (made on first use, so every node of a cluster shares it).
kraft_format() {
  local state="$1" config="$2" logf="$3" what="$4" cid
  mkdir -p "$state"
  if [[ -s "$state/cluster.id" ]]; then
    cid="$(cat "$state/cluster.id")"
  else
    cid="$(kafka_tool kafka.tools.StorageTool random-uuid 2>"$logf")" || fail format "$logf"
    printf '%s\n' "$cid" >"$state/cluster.id"
  fi
  log "formatting $what (cluster id $cid)"
  kafka_tool kafka.tools.StorageTool format --ignore-formatted \
      -t "$cid" -c "$config" >>"$logf" 2>&1 \
    || fail format "$logf"
}

# --- Test PKI (kafka-tls.sh, es-tls-proxy.sh) -------------------------------------------
# make_test_pki DIR NAME: in DIR, unless there and valid for another day, with openssl:
#   ca.pem (+ ca.key)        a CA named after NAME
#   server.pem server.key    signed by it, SAN IP 127.0.0.1 + DNS localhost, server and client use
#   client.pem client.key    signed by it, CN skein-client, client use
# Keys are P-256 in PKCS#8 (what Kafka's PEM key store reads); certificates last 30 days.
make_test_pki() {
  local dir="$1" name="$2"
  need_cmd openssl "Debian: apt-get install -y openssl"
  if [[ -s "$dir/client.pem" ]] && openssl x509 -checkend 86400 -noout -in "$dir/server.pem" >/dev/null 2>&1 \
      && openssl x509 -checkend 86400 -noout -in "$dir/client.pem" >/dev/null 2>&1; then
    return 0
  fi
  log "making the test PKI in $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=skein $name test CA" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
  _issue_test_cert "$dir" server localhost "subjectAltName=IP:127.0.0.1,DNS:localhost" "serverAuth,clientAuth"
  _issue_test_cert "$dir" client skein-client "" clientAuth
  chmod 600 "$dir"/*.key
}

_issue_test_cert() {
  local dir="$1" file="$2" cn="$3" san="$4" eku="$5"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$file.key" 2>/dev/null
  openssl req -new -key "$dir/$file.key" -subj "/CN=$cn" -out "$dir/$file.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n%s\n' "$eku" "$san" \
    >"$dir/$file.ext"
  openssl x509 -req -in "$dir/$file.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/$file.ext" -out "$dir/$file.pem" 2>/dev/null \
    || die "openssl could not sign $dir/$file.pem"
  rm -f "$dir/$file.csr" "$dir/$file.ext"
}
