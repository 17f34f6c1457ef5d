#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 30) and fails if any of them
# finds a crash, a hang (-timeout) or runs out of memory (-rss_limit_mb).
#
#   bash scripts/fuzz.sh [SECONDS]
#
# Works from a fresh clone on stable Rust: cargo-fuzz is installed if missing, and its
# nightly-only flags are allowed with RUSTC_BOOTSTRAP=1. Seeds: the small hand-made ones in
# fuzz/seeds/, plus seeds cut from the captures in fixtures/ and in the external corpus
# ($H2SCOPE_EXTERNAL_CAPTURES, else ../shared/captures when present) by fuzz/seedgen,
# written to fuzz/corpus/<target>/ (not committed). Crashing inputs land in
# fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
# (from fuzz/). Environment: FUZZ_TARGETS="a b" runs only those; FUZZ_RSS_MB (1024) and
# FUZZ_TIMEOUT (10 s per input) set the limits.
set -euo pipefail

seconds="${1:-30}"
rss="${FUZZ_RSS_MB:-1024}"
timeout="${FUZZ_TIMEOUT:-10}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

cd "$root/fuzz"
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"

# Seeds from real captures, regenerated each run (cheap: a few seconds).
external="${H2SCOPE_EXTERNAL_CAPTURES:-$root/../shared/captures}"
sources=("$root/fixtures")
if [ -d "$external" ]; then
    sources+=("$external")
else
    echo "fuzz.sh: no external captures at $external; seeding from fixtures/ only"
fi
cargo build --quiet --release --locked --manifest-path seedgen/Cargo.toml
seedgen/target/release/h2scope-seedgen corpus "${sources[@]}"

cargo fuzz build
failed=()
summary=()
for t in $targets; do
    mkdir -p "corpus/$t"
    dirs=("corpus/$t")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    log="$(mktemp)"
    echo "fuzz.sh: $t for ${seconds}s"
    if cargo fuzz run "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss" -timeout="$timeout" \
        -print_final_stats=1 >"$log" 2>&1; then
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
        summary+=("$t: ok, $runs runs in ${seconds}s")
    else
        tail -n 60 "$log"
        summary+=("$t: FAILED (artifacts in fuzz/artifacts/$t/)")
        failed+=("$t")
    fi
    rm -f "$log"
done

printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: failures in: ${failed[*]}" >&2
    exit 1
fi
