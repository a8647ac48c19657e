#!/usr/bin/env bash
# Start the local Kafka + Elasticsearch for skein and wait until both are healthy.
# Idempotent: servers that are already healthy are left alone.
# Downloads (first run only) go to ~/.cache/skein; state lives in $SKEIN_STATE_DIR
# (default <repo>/.skein). Exit status is non-zero if either server failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
t0="$(now_s)"

# Downloads one after the other: two Maven processes filling a cold ~/.m2 at
# the same time can trip over each other (both fetch the same plugin jars).
"$here/kafka.sh" fetch
"$here/elasticsearch.sh" fetch

# Starting is mostly waiting on JVMs: do both at once.
"$here/kafka.sh" start & kpid=$!
"$here/elasticsearch.sh" start & epid=$!
krc=0; erc=0
wait "$kpid" || krc=$?
wait "$epid" || erc=$?

if (( krc != 0 || erc != 0 )); then
  (( krc == 0 )) || log "Kafka failed to start (see above)"
  (( erc == 0 )) || log "Elasticsearch failed to start (see above)"
  exit 1
fi
log "up: Kafka on $SKEIN_BIND_HOST:$SKEIN_KAFKA_PORT, Elasticsearch on http://$SKEIN_BIND_HOST:$SKEIN_ES_PORT ($(( $(now_s) - t0 ))s)"
