#!/usr/bin/env bash
# Stop the local Kafka and Elasticsearch, and OpenSearch and the TLS test servers if they ran
# (graceful, then forced).
# Idempotent.
# Data is kept; use reset.sh to wipe it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

"$here/kafka.sh" stop & kpid=$!
"$here/elasticsearch.sh" stop & epid=$!
# OpenSearch (make test-opensearch) only when it was ever started here.
opid=""
if [[ -e "$SKEIN_STATE_DIR/opensearch" ]]; then "$here/opensearch.sh" stop & opid=$!; fi
# The outbound-TLS test servers (kafka-tls.sh, es-tls-proxy.sh) only when they were started here.
tpids=()
for server in kafka-tls es-tls-proxy; do
  if [[ -e "$SKEIN_STATE_DIR/$server" ]]; then "$here/$server.sh" stop & tpids+=($!); fi
done
rc=0
for pid in "${tpids[@]}"; do wait "$pid" || rc=1; done
wait "$kpid" || rc=1
wait "$epid" || rc=1
[[ -z "$opid" ]] || wait "$opid" || rc=1
exit "$rc"
