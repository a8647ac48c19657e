#!/usr/bin/env bash
# Local Apache Kafka 4.x for skein: one KRaft node that is broker and controller,
# on 127.0.0.1:9092 (clients) and 127.0.0.1:9093 (controller).
#
#   scripts/infra/kafka.sh fetch            download jars into ~/.cache/skein (once)
#   scripts/infra/kafka.sh start            fetch, format storage (once), start, wait healthy
#   scripts/infra/kafka.sh stop             SIGTERM, wait, SIGKILL if needed
#   scripts/infra/kafka.sh status           running/healthy? exit 0 only if healthy
#   scripts/infra/kafka.sh restart
#   scripts/infra/kafka.sh tool CLASS ARGS  run a Kafka CLI class from the same classpath, e.g.
#       scripts/infra/kafka.sh tool org.apache.kafka.tools.TopicCommand \
#           --bootstrap-server 127.0.0.1:9092 --create --topic t --partitions 1
#   scripts/infra/kafka.sh classpath        print the classpath (libs/*)
#
# No Kafka tarball or shell wrappers are involved: the jars come from Maven
# Central (org.apache.kafka:kafka_2.13 + kafka-tools + a log4j2 backend) and
# the JVM is launched directly with `java -cp 'libs/*'`.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SKEIN_LOG_TAG="kafka"

KAFKA_VERSION="${SKEIN_KAFKA_VERSION:-$SKEIN_KAFKA_DEFAULT_VERSION}"
LOG4J_VERSION="2.25.4"   # the log4j2 line Kafka 4.3 itself is built against
SLF4J_VERSION="2.0.17"   # Kafka's poms say slf4j 1.7; log4j-slf4j2-impl needs the 2.x API (binary compatible)

KAFKA_HOME="$SKEIN_CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KSTATE="$SKEIN_STATE_DIR/kafka"
KDATA="$KSTATE/data"
KLOGS="$KSTATE/logs"
KCONF="$KSTATE/config"
KPID="$KSTATE/kafka.pid"
KOUT="$KLOGS/kafka.out"             # the JVM's stdout/stderr
KSERVERLOG="$KLOGS/server.log"      # log4j2 file appender (conf/kafka-log4j2.properties)
# Marker on the broker's command line so we never signal an unrelated process.
KMATCH="-Dskein.kafka.state=$KSTATE"

# Sets KJAVA. Kafka 4.x brokers need Java >= 17; JAVA_HOME / PATH java first.
KJAVA=""
need_java() {
  [[ -z "$KJAVA" ]] || return 0
  local jh="${SKEIN_KAFKA_JAVA_HOME:-}"
  [[ -n "$jh" ]] || jh="$(find_jdk 17)"
  if [[ -z "$jh" ]] && install_jdk17; then jh="$(find_jdk 17)"; fi
  [[ -n "$jh" && -x "$jh/bin/java" ]] \
    || die "no JDK >= 17 found (JAVA_HOME, PATH, /usr/lib/jvm); apt-get install -y openjdk-17-jdk-headless"
  KJAVA="$jh/bin/java"
}

# ---------------------------------------------------------------- fetch ----
cmd_fetch() {
  if [[ -f "$KAFKA_HOME/.complete" ]]; then
    [[ "${1:-}" == quiet ]] || log "Kafka $KAFKA_VERSION jars cached in $KAFKA_LIBS"
    return 0
  fi
  take_lock 8 "$SKEIN_CACHE_DIR/.kafka-$KAFKA_VERSION.lock"
  if [[ -f "$KAFKA_HOME/.complete" ]]; then return 0; fi   # another process just did it
  local t0 tmp; t0="$(now_s)"
  log "downloading Kafka $KAFKA_VERSION jars from Maven Central (mvn dependency:copy-dependencies)"
  mkdir -p "$SKEIN_CACHE_DIR"
  tmp="$(mktemp -d "$SKEIN_CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")"
  # Throwaway pom: its only job is to describe the runtime classpath.
  #  - kafka_2.13 holds kafka.Kafka (server) and kafka.tools.StorageTool (format);
  #  - kafka-tools holds TopicCommand / ConsoleProducer / ConsoleConsumer, used for
  #    the health check and by tests. Its connect-runtime dependency (Jetty, Jersey,
  #    ~20 MB) is only for Connect tooling, so it is excluded;
  #  - Kafka 4 logs through log4j2: log4j-core + the slf4j2 bridge.
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.skein.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  if ! mvn_quiet "$tmp/mvn.log" -f "$tmp/pom.xml" \
      "$SKEIN_MVN_DEPENDENCY_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$tmp/libs"; then
    cp "$tmp/mvn.log" "$SKEIN_CACHE_DIR/kafka-$KAFKA_VERSION-download.log"
    rm -rf "$tmp"
    fail download "$SKEIN_CACHE_DIR/kafka-$KAFKA_VERSION-download.log"
  fi
  [[ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || fail download "$tmp/mvn.log"
  # The two slf4j 1.x bindings must not sneak in next to log4j-slf4j2-impl.
  rm -f "$tmp/libs"/slf4j-reload4j-*.jar "$tmp/libs"/log4j-slf4j-impl-*.jar
  rm -rf "$KAFKA_HOME"
  mv "$tmp" "$KAFKA_HOME"          # atomic: a half download never looks complete
  touch "$KAFKA_HOME/.complete"
  log "Kafka $KAFKA_VERSION: $(find "$KAFKA_LIBS" -name "*.jar" | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1), in $(( $(now_s) - t0 ))s"
}


# ------------------------------------------------------------- config ----
write_config() {
  mkdir -p "$KDATA" "$KLOGS" "$KCONF"
  # Rewritten on every start so edits here take effect; data is never touched.
  cat >"$KCONF/server.properties" <<EOF
# Generated by scripts/infra/kafka.sh on every start - edit the script, not this file.
# Single KRaft node acting as broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$SKEIN_BIND_HOST:$SKEIN_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT,CONTROLLER://$SKEIN_BIND_HOST:$SKEIN_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KDATA
num.partitions=1
auto.create.topics.enable=false
# One broker: every internal topic must make do with one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Consumers join immediately instead of waiting 3 s for more members (tests).
group.initial.rebalance.delay.ms=0
EOF
  # Client settings for health checks: fail fast instead of retrying for a minute.
  cat >"$KCONF/tools-client.properties" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

# -------------------------------------------------------------- format ----
format_storage() {
  # Already formatted: keep data and cluster id.
  [[ -f "$KDATA/meta.properties" ]] && return 0
  kraft_format "$KSTATE" "$KCONF/server.properties" "$KLOGS/format.log" "KRaft storage in $KDATA"
}

# -------------------------------------------------------------- health ----
# Healthy = port accepting AND a real metadata request (list topics) answered.
kafka_healthy() { kafka_answers "$SKEIN_KAFKA_PORT" "$KCONF/tools-client.properties"; }

wait_healthy() {
  local pid="$1" t0="$2" deadline=$(( $2 + SKEIN_INFRA_TIMEOUT ))
  while (( $(now_s) < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the Kafka JVM (pid $pid) exited during startup"
      rm -f "$KPID"
      fail start "$KOUT" "$KSERVERLOG"
    fi
    if kafka_healthy; then
      log "Kafka $KAFKA_VERSION healthy on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT (pid $pid, $(( $(now_s) - t0 ))s)"
      return 0
    fi
    sleep 1
  done
  log "Kafka not healthy after ${SKEIN_INFRA_TIMEOUT}s (pid $pid still running; stop it with kafka.sh stop)"
  fail health "$KOUT" "$KSERVERLOG"
}

# --------------------------------------------------------------- start ----
cmd_start() {
  local t0 pid; t0="$(now_s)"
  cmd_fetch quiet
  mkdir -p "$KLOGS" "$KCONF"
  if pid="$(pid_alive "$KPID" "$KMATCH")"; then
    if kafka_healthy; then
      log "already running and healthy (pid $pid) on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT"
      return 0
    fi
    log "already running (pid $pid) but not healthy yet; waiting"
    wait_healthy "$pid" "$t0"
    return 0
  fi
  local port
  for port in "$SKEIN_KAFKA_PORT" "$SKEIN_KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      log "port $SKEIN_BIND_HOST:$port is already in use by a process these scripts did not start"
      log "(see: ss -ltnp 'sport = :$port')"
      fail start
    fi
  done
  write_config
  format_storage

  need_java
  log "starting Kafka $KAFKA_VERSION ($KJAVA, state in $KSTATE)"
  # -Xmx512m: small heap, this is a dev/test broker. setsid + nohup: detach from
  # the caller's terminal/session so the broker outlives this script. The inner
  # bash writes its own pid and then execs java, so the pid file is exact.
  {
    printf '\n==== %s start (Kafka %s) ====\n' "$(date -Is)" "$KAFKA_VERSION"
  } >>"$KOUT"
  rm -f "$KPID"                     # a stale pid (e.g. after kill -9) must not be mistaken for the new one
  local -a extra_opts=()
  read -r -a extra_opts <<<"${SKEIN_KAFKA_JAVA_OPTS:-}"   # extra JVM flags, space-separated
  # shellcheck disable=SC2016
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KPID" \
    "$KJAVA" -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "$KMATCH" \
    -Dkafka.logs.dir="$KLOGS" \
    -Dlog4j2.configurationFile="$INFRA_DIR/conf/kafka-log4j2.properties" \
    "${extra_opts[@]}" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KCONF/server.properties" \
    </dev/null >>"$KOUT" 2>&1 8>&- 9>&- &
  # Wait (briefly) for the pid file written by the child.
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$KPID" ]] && break; sleep 0.1; done
  pid="$(cat "$KPID" 2>/dev/null || true)"
  [[ -n "$pid" ]] || fail start "$KOUT"
  printf '%s\n' "$KAFKA_VERSION" >"$KSTATE/kafka.version"   # for status
  wait_healthy "$pid" "$t0"
}

cmd_stop() {
  # Controlled shutdown of a single KRaft node takes a few seconds.
  stop_pid "Kafka" "$KPID" "$KMATCH" 30
}

cmd_status() {
  local pid rc=1
  # Check with the jars of the version that was started, if it differs from the env's.
  if [[ -s "$KSTATE/kafka.version" ]]; then
    KAFKA_VERSION="$(cat "$KSTATE/kafka.version")"
    KAFKA_HOME="$SKEIN_CACHE_DIR/kafka-$KAFKA_VERSION"; KAFKA_LIBS="$KAFKA_HOME/libs"
  fi
  if pid="$(pid_alive "$KPID" "$KMATCH")"; then
    if [[ -f "$KAFKA_HOME/.complete" ]] && kafka_healthy; then
      log "running (pid $pid), healthy on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT (Kafka $KAFKA_VERSION)"
      rc=0
    else
      log "running (pid $pid), NOT healthy (no metadata answer on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT)"
    fi
  elif port_open "$SKEIN_KAFKA_PORT"; then
    log "not started by these scripts, but something listens on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT"
  else
    log "not running"
  fi
  return "$rc"
}

case "${1:-}" in
  start|stop|restart) take_lock 9 "$SKEIN_STATE_DIR/.kafka.lock" ;;
esac
case "${1:-}" in
  fetch)     cmd_fetch ;;
  start)     cmd_start ;;
  stop)      cmd_stop ;;
  restart)   cmd_stop; cmd_start ;;
  status)    cmd_status ;;
  tool)      shift; [[ $# -ge 1 ]] || die "usage: $0 tool MAIN_CLASS [ARGS...]"
             cmd_fetch quiet; kafka_tool "$@" ;;
  classpath) printf '%s\n' "$KAFKA_LIBS/*" ;;
  *) echo "usage: $0 fetch|start|stop|restart|status|tool CLASS [ARGS]|classpath" >&2; exit 2 ;;
esac
