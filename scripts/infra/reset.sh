#!/usr/bin/env bash
# Stop both servers and delete all their state (topics, indices, logs, cluster
# ids). Downloads in ~/.cache/skein are kept, so the next up.sh starts fresh
# without touching the network.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

"$here/down.sh"

state="$SKEIN_STATE_DIR"
# The chaos suite's servers (make chaos) keep their state below it too: stop them first.
if [[ -d "$state/kafka-cluster" ]]; then "$here/kafka-cluster.sh" stop; fi
if [[ -d "$state/chaos/elasticsearch" ]]; then
  SKEIN_STATE_DIR="$state/chaos" SKEIN_ES_PORT=19200 SKEIN_ES_TRANSPORT_PORT=19300 "$here/elasticsearch.sh" stop
fi
case "$(readlink -m "$state")" in
  /|"$(readlink -m "$HOME")"|"$REPO"|"") die "refusing to delete state dir '$state'" ;;
esac
if [[ -e "$state" ]]; then
  # As root the ES and OpenSearch files may live elsewhere (see elasticsearch.sh) behind a symlink.
  for es in "$state/elasticsearch" "$state/chaos/elasticsearch" "$state/opensearch"; do
    if [[ -L "$es" ]]; then rm -rf "$(readlink -f "$es")"; fi
  done
  rm -rf "$state"
  log "deleted $state"
else
  log "nothing to delete ($state does not exist)"
fi
