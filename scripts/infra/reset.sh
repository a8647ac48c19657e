#!/usr/bin/env bash
# Stop both servers and delete all their state (topics, indices, logs, cluster
# ids). Downloads in ~/.cache/skein are kept, so the next up.sh starts fresh
# without touching the network.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

"$here/down.sh"

state="$SKEIN_STATE_DIR"
case "$(readlink -m "$state")" in
  /|"$(readlink -m "$HOME")"|"$REPO"|"") die "refusing to delete state dir '$state'" ;;
esac
if [[ -e "$state" ]]; then
  # As root the ES files may live elsewhere (see elasticsearch.sh) behind a symlink.
  if [[ -L "$state/elasticsearch" ]]; then
    rm -rf "$(readlink -f "$state/elasticsearch")"
  fi
  rm -rf "$state"
  log "deleted $state"
else
  log "nothing to delete ($state does not exist)"
fi
