#!/usr/bin/env bash
# Screenshots of the real terminal UI on the bundled fixtures, as PNGs in screenshots/:
# the binary runs in tmux, `tmux capture-pane -e` keeps its colours, and
# scripts/ansi2png.py draws the cells. Installs tmux, Pillow and DejaVu fonts when missing
# (Debian, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v tmux >/dev/null || missing+=(tmux)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ]] || missing+=(fonts-dejavu-core)
if ((${#missing[@]})); then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --quiet
bin=$PWD/target/release/h2scope
work=$(mktemp -d)
trap 'tmux -S "$work/sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p screenshots

# shot NAME CAPTURE COLUMNS ROWS KEY...  (keys as tmux send-keys names them)
shot() {
    local name=$1 capture=$2 cols=$3 rows=$4
    shift 4
    tmux -S "$work/sock" -f /dev/null new-session -d -s shot -x "$cols" -y "$rows" \
        "$bin open --backend-header x-backend --proto-path fixtures/protos fixtures/$capture; sleep 30"
    for _ in $(seq 100); do
        tmux -S "$work/sock" capture-pane -p -t shot | grep -q '✓ read' && break
        sleep 0.1
    done
    for key in "$@"; do
        tmux -S "$work/sock" send-keys -t shot "$key"
        sleep 0.1
    done
    sleep 0.5
    tmux -S "$work/sock" capture-pane -e -p -t shot >"$work/$name.ansi"
    tmux -S "$work/sock" kill-server
    /usr/bin/python3 scripts/ansi2png.py "$work/$name.ansi" "screenshots/$name.png" "$cols" "$rows"
    echo "screenshots/$name.png"
}

down12=(j j j j j j j j j j j j)
shot backends-roundrobin grpc-roundrobin.pcapng 120 34
shot backends-one-backend grpc-one-backend.pcapng 120 26
shot call-timeline grpc-roundrobin.pcapng 120 40 "${down12[@]}" Enter Tab l l l l l l 3
shot message grpc-roundrobin.pcapng 120 40 "${down12[@]}" Enter 2 j Enter
