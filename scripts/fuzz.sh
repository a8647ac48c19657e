#!/usr/bin/env bash
# Fuzzing (`make fuzz`, `make fuzz-smoke`): libFuzzer targets of fuzz/ (one per decoder fed from
# outside; fuzz/README.md lists them), built with coverage instrumentation on stable Rust.
#
#   scripts/fuzz.sh build                 build every target
#   scripts/fuzz.sh run SECONDS [TARGET…] build, then fuzz each target for SECONDS (all by default)
#   scripts/fuzz.sh list                  the target names
#
# No tool to install: the instrumentation is rustc's own (`-Cpasses=sancov-module`, the flags
# cargo-fuzz passes minus its nightly-only sanitizer), and libfuzzer-sys builds libFuzzer with the
# system C++ compiler. Crates come from crates.io through cargo's cache, pinned by fuzz/Cargo.lock.
#
# Inputs: the committed seeds in fuzz/corpus/<target>/ are read only; what a run finds goes to
# target/fuzz/corpus/<target>/ (kept between runs, never in git). A crash, panic, overflow, failed
# assertion, timeout or out-of-memory stops the target; the input is saved under
# target/fuzz/artifacts/<target>/, its path printed, and the script exits 1 after the others ran.
#
# Knobs (environment): FUZZ_JOBS (targets fuzzed at once; default 2, or 1 on a one-core machine),
# FUZZ_TIMEOUT (seconds one input may take before it counts as a finding; default 10),
# FUZZ_RSS_MB (memory limit; default 2048).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

TARGET_DIR="$REPO/target/fuzz"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (they run on the host
# without libFuzzer's runtime to link against).
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
BIN_DIR="$TARGET_DIR/$TRIPLE/release"
MANIFEST="$REPO/fuzz/Cargo.toml"
JOBS="${FUZZ_JOBS:-$(( $(nproc) >= 2 ? 2 : 1 ))}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS_MB="${FUZZ_RSS_MB:-2048}"

log() { echo "[skein-fuzz] $*" >&2; }

targets() {
    sed -n 's/^name = "\(.*\)"$/\1/p' "$MANIFEST" | grep -v '^skein-fuzz$'
}

build() {
    # Coverage for libFuzzer (edges, comparison operands) on every crate; `--cfg fuzzing` is what
    # libfuzzer-sys keys on. The release profile of fuzz/Cargo.toml keeps overflow checks and
    # debug assertions on.
    local flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
    flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
    flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cforce-frame-pointers=yes"
    local started=$SECONDS
    RUSTFLAGS="$flags" CARGO_TARGET_DIR="$TARGET_DIR" cargo build --manifest-path "$MANIFEST" --release --locked --bins \
        --target "$TRIPLE"
    log "built $(targets | wc -l) targets in $((SECONDS - started)) s"
}

# Fuzz one target; prints its summary line (tab-separated) on stdout.
fuzz_one() {
    local target="$1" seconds="$2"
    local seeds="$REPO/fuzz/corpus/$target" corpus="$TARGET_DIR/corpus/$target"
    local artifacts="$TARGET_DIR/artifacts/$target" output="$TARGET_DIR/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$output")" "$seeds"
    local status=0
    "$BIN_DIR/$target" -max_total_time="$seconds" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds" >"$output" 2>&1 || status=$?
    local execs elapsed inputs result
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$output" | tail -1)"
    elapsed="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$output" | tail -1)"
    inputs="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$output" | tail -1)"
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        local found
        found="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$output" | tail -1)"
        result="FOUND ${found:-a failure (exit $status), no input saved: see $output}"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-?}" "${elapsed:-$seconds}" "${inputs:-?}" "$result"
}

run() {
    local seconds="$1"
    shift
    local chosen=("$@")
    [[ ${#chosen[@]} -gt 0 ]] || mapfile -t chosen < <(targets)
    build
    SUMMARY="$(mktemp)"
    trap 'rm -f "$SUMMARY"' EXIT
    log "fuzzing ${#chosen[@]} targets for $seconds s each, $JOBS at a time"
    local started=$SECONDS target
    for target in "${chosen[@]}"; do
        [[ -x "$BIN_DIR/$target" ]] || { log "no target '$target' (scripts/fuzz.sh list)"; exit 2; }
        while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n || true; done
        fuzz_one "$target" "$seconds" >>"$SUMMARY" &
    done
    wait
    local failed=0 total=0
    printf '%-22s %12s %8s %8s  %s\n' target executions seconds corpus result
    while IFS=$'\t' read -r target execs elapsed inputs result; do
        printf '%-22s %12s %8s %8s  %s\n' "$target" "$execs" "$elapsed" "$inputs" "$result"
        [[ $execs =~ ^[0-9]+$ ]] && total=$((total + execs))
        if [[ $result != ok ]]; then
            failed=1
            log "$target: $result"
            log "$target: reproduce with $BIN_DIR/$target <input>; last lines of $TARGET_DIR/logs/$target.log:"
            tail -n 25 "$TARGET_DIR/logs/$target.log" | sed 's/^/    /' >&2
        fi
    done < <(sort "$SUMMARY")
    log "$total executions in $((SECONDS - started)) s"
    return $failed
}

case "${1:-}" in
    build) build ;;
    run)
        [[ ${2:-} =~ ^[0-9]+$ ]] || { log "usage: scripts/fuzz.sh run SECONDS [TARGET...]"; exit 2; }
        run "${@:2}"
        ;;
    list) targets ;;
    *) log "usage: scripts/fuzz.sh build | run SECONDS [TARGET...] | list"; exit 2 ;;
esac
