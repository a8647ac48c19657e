#!/usr/bin/env bash
# Stop the local Kafka and Elasticsearch (graceful, then forced). Idempotent.
# Data is kept; use reset.sh to wipe it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

"$here/kafka.sh" stop & kpid=$!
"$here/elasticsearch.sh" stop & epid=$!
rc=0
wait "$kpid" || rc=1
wait "$epid" || rc=1
exit "$rc"
