#!/usr/bin/env bash
# Report whether the local Kafka and Elasticsearch are running and healthy.
# Exit 0 only if both are healthy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

rc=0
"$here/kafka.sh" status || rc=1
"$here/elasticsearch.sh" status || rc=1
exit "$rc"
