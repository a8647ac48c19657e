#!/usr/bin/env bash
# Maintenance helper (not used by up.sh): print the pinned versions and what is
# newest on Maven Central, to decide on a bump of the defaults in lib.sh.
#  - Kafka: newest 4.x of kafka_2.13 whose kafka-tools jar also exists.
#  - Elasticsearch (and OpenSearch): the integ-test-zip maven-metadata.xml only lists 8.x, yet
#    9.x zips are published (without poms), so candidates come from the
#    org.elasticsearch:elasticsearch metadata and each zip is checked (HEAD).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
repo="${SKEIN_MAVEN_REPO:-https://repo.maven.apache.org/maven2}"
need_cmd curl "apt-get install -y curl"

versions() {  # versions GROUP_PATH ARTIFACT REGEX -> matching versions, newest first
  curl -fsS -m 30 "$repo/$1/$2/maven-metadata.xml" \
    | sed -n 's:.*<version>\(.*\)</version>.*:\1:p' | grep -E "$3" | sort -rV
}
exists() { curl -fsI -m 30 -o /dev/null "$1"; }

kafka=""
for v in $(versions org/apache/kafka kafka_2.13 '^4\.[0-9]+\.[0-9]+$'); do
  if exists "$repo/org/apache/kafka/kafka-tools/$v/kafka-tools-$v.jar"; then kafka="$v"; break; fi
  log "kafka $v: kafka_2.13 exists but kafka-tools $v does not; skipping"
done
zip_url() { echo "$repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$1/elasticsearch-$1.zip"; }
es_newest() {  # es_newest MAJOR_REGEX
  local v n=0
  for v in $(versions org/elasticsearch elasticsearch "$1"); do
    if exists "$(zip_url "$v")"; then echo "$v"; return; fi
    (( ++n < 8 )) || return 0   # bounded: don't probe the whole history
  done
}
# OpenSearch likewise: the integ-test-zip metadata stops at 3.6.0 although newer zips exist.
os_zip_url() { echo "$repo/org/opensearch/distribution/integ-test-zip/opensearch/$1/opensearch-$1.zip"; }
os_newest() {  # os_newest MAJOR_REGEX
  local v n=0
  for v in $(versions org/opensearch opensearch "$1"); do
    if exists "$(os_zip_url "$v")"; then echo "$v"; return; fi
    (( ++n < 8 )) || return 0
  done
}
es9="$(es_newest '^9\.[0-9]+\.[0-9]+$')"
es8="$(es_newest '^8\.[0-9]+\.[0-9]+$')"
os3="$(os_newest '^3\.[0-9]+\.[0-9]+$')"
os2="$(os_newest '^2\.19\.[0-9]+$')"

printf 'kafka          pinned %-8s newest usable 4.x: %s\n' "$SKEIN_KAFKA_DEFAULT_VERSION" "${kafka:-?}"
printf 'elasticsearch9 pinned %-8s newest integ-test-zip 9.x: %s\n' "$SKEIN_ES9_DEFAULT_VERSION" "${es9:-?}"
printf 'elasticsearch8 pinned %-8s newest integ-test-zip 8.x: %s\n' "$SKEIN_ES8_DEFAULT_VERSION" "${es8:-?}"
printf 'opensearch3    pinned %-8s newest integ-test-zip 3.x: %s\n' "$SKEIN_OS3_DEFAULT_VERSION" "${os3:-?}"
printf 'opensearch2    pinned %-8s newest integ-test-zip 2.19.x: %s\n' "$SKEIN_OS2_DEFAULT_VERSION" "${os2:-?}"
