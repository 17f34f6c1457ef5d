#!/usr/bin/env bash
# How `h2scope open` behaves on a large capture: time to its first calls, key latency while
# the rest loads, total load time and peak RSS.
#
#   bash scripts/bench-open.sh [CAPTURE...]    default: the 1 GB gRPC and h2c captures of
#                                              scripts/bench.sh (generated if missing)
#
# Each capture is read once first (page cache), then opened in a detached tmux session of
# 160x48 (`--proto-path fixtures/protos` for gRPC). The pane is polled with
# `tmux capture-pane` (each poll takes 2-5 ms of the second core: that is the resolution,
# and what the measurement costs the program measured):
#   - first calls: from starting the session to the first call row on screen;
#   - key latency: PRESSES presses of `j` and `k` in turn, 100 ms apart, while the file is
#     still loading; each is timed from `send-keys` until the selected row (drawn in reverse
#     video) is one row lower or higher. Presses sent after loading ended are not counted;
#   - load time: until the header says "✓ read";
#   - peak RSS: VmHWM of the h2scope process just before `q`.
# Targets (the performance issue): first calls < 1 s, key latency < 50 ms.
#
# Environment: H2SCOPE_BIN (default: cargo build --release, target/release/h2scope),
# BENCH_DIR (default /tmp/h2scope-bench, shared with scripts/bench.sh), PRESSES (20).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_DIR=${BENCH_DIR:-/tmp/h2scope-bench}
PRESSES=${PRESSES:-20}
command -v tmux >/dev/null || { echo "bench-open: tmux missing (apt-get install -y tmux)" >&2; exit 1; }
if [[ -z ${H2SCOPE_BIN:-} ]]; then
    cargo build --release --quiet
    H2SCOPE_BIN=$ROOT/target/release/h2scope
fi

captures=("$@")
if [[ ${#captures[@]} -eq 0 ]]; then
    # scripts/bench.sh generates (and caches) its captures; a run on 1G with no h2scope or
    # tshark work would still time them, so ask it for the files only when missing.
    for kind in grpc h2c; do
        f=$BENCH_DIR/$kind-1G.pcap
        if [[ ! -f $f ]]; then
            echo "bench-open: generating $f with scripts/bench/gen-capture" >&2
            cargo build --release --quiet --manifest-path scripts/bench/gen-capture/Cargo.toml \
                --target-dir target/bench-gen
            template=fixtures/grpc-roundrobin.pcapng
            [[ $kind == h2c ]] && template=fixtures/h2c-nghttp-lo.pcap
            mkdir -p "$BENCH_DIR"
            target/bench-gen/release/gen-capture "$template" 1G "$f" >&2
        fi
        captures+=("$f")
    done
fi

SOCK=$(mktemp -u /tmp/h2scope-bench-open.XXXXXX)
cleanup() { tmux -S "$SOCK" kill-server 2>/dev/null || true; rm -f "$SOCK"; }
trap cleanup EXIT

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
pane() { tmux -S "$SOCK" capture-pane -p -t ui "$@"; }
# The screen row of the selected call (reverse video), or -1.
selected_row() {
    pane -e | awk '/\033\[[0-9;]*7m/ && /[+][0-9]+[.][0-9]+/ { print NR; found = 1; exit } END { if (!found) print -1 }'
}

printf '| capture | first calls ms | key latency median / max ms (presses while loading) | load s | peak RSS MB | verdict |\n'
printf '|---|---|---|---|---|---|\n'
for f in "${captures[@]}"; do
    cat "$f" >/dev/null
    args=()
    [[ $(basename "$f") == grpc* ]] && args=(--proto-path "$ROOT/fixtures/protos")
    t0=$(now_ms)
    tmux -S "$SOCK" -f /dev/null new-session -d -s ui -x 160 -y 48 \
        "exec $H2SCOPE_BIN open ${args[*]} $f"
    pid=$(tmux -S "$SOCK" list-panes -t ui -F '#{pane_pid}')
    first=-1
    while ((first < 0)); do
        if pane | grep -qE '│ *[+][0-9]+[.][0-9]+ '; then first=$(($(now_ms) - t0)); fi
        (($(now_ms) - t0 > 60000)) && { echo "bench-open: no call row within 60 s" >&2; break; }
    done
    lat=()
    done_at=-1
    for ((i = 0; i < PRESSES; i++)); do
        if pane | head -n 1 | grep -q '✓ read'; then done_at=$(($(now_ms) - t0)); break; fi
        before=$(selected_row)
        key=j want=$((before + 1))
        if ((i % 2 == 1)); then key=k want=$((before - 1)); fi
        ts=$(now_ms)
        tmux -S "$SOCK" send-keys -t ui "$key"
        while true; do
            row=$(selected_row)
            ((row == want)) && { lat+=($(($(now_ms) - ts))); break; }
            (($(now_ms) - ts > 5000)) && { lat+=(5000); break; }
            sleep 0.002
        done
        sleep 0.1
    done
    while ((done_at < 0)); do
        if pane | head -n 1 | grep -q '✓ read'; then done_at=$(($(now_ms) - t0)); fi
        (($(now_ms) - t0 > 600000)) && break
        sleep 0.05
    done
    rss=$(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    tmux -S "$SOCK" send-keys -t ui q
    sleep 0.3
    tmux -S "$SOCK" kill-server 2>/dev/null || true
    median=- max=- verdict=""
    if ((${#lat[@]} > 0)); then
        median=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        max=$(printf '%s\n' "${lat[@]}" | sort -n | tail -n 1)
    fi
    if ((first >= 0 && first < 1000)); then verdict="first calls met"; else verdict="first calls NOT MET"; fi
    if [[ $max == - ]]; then
        verdict="$verdict; no presses while loading"
    elif ((max < 50)); then
        verdict="$verdict; keys met"
    else
        verdict="$verdict; keys NOT MET"
    fi
    printf '| %s | %s | %s / %s (%d) | %s | %s | %s |\n' "$(basename "$f")" "$first" "$median" "$max" \
        "${#lat[@]}" "$(awk -v ms="$done_at" 'BEGIN { printf "%.1f", ms / 1000 }')" "$rss" "$verdict"
done
