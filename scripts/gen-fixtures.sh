#!/usr/bin/env bash
# Regenerate h2scope's fixture captures (fixtures/*.pcap, *.pcapng) from REAL
# HTTP/2 and gRPC implementations talking over loopback, then the tshark
# reference outputs (scripts/tshark-reference.sh).
#
#   bash scripts/gen-fixtures.sh            # everything
#   bash scripts/gen-fixtures.sh h2c grpc   # only some groups (h2c | grpc)
#
# Peers: nghttpd / nghttpx / nghttp / h2load (nghttp2), curl, Python grpcio.
# Needs root (packet capture, apt-get). Installs missing tools itself.
# All traffic stays on 127.0.0.1 / ::1; every client run is bounded in
# requests and wrapped in `timeout`; every server is stopped on exit.
# The traffic is real, so re-running changes ports, timestamps and sequence
# numbers, but not what each capture contains.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIX=$ROOT/fixtures
GEN=$FIX/gen
cd "$ROOT"

GROUPS_WANTED=${*:-"h2c grpc"}
want() { [[ " $GROUPS_WANTED " == *" $1 "* ]]; }

# Ports (all loopback). nghttpd A: push + trailers + echo; nghttpd B: padding
# + echo; nghttpx: h2c-upgrade front end in front of B; grpcio backends.
PORT_A=18080
PORT_B=18081
PORT_X=18090
GRPC_PORTS=(50051 50052 50053)

log() { printf '[gen-fixtures] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (packet capture and apt-get need it)"

# ------------------------------------------------------------------ tools
APT_UPDATED=0
apt_install() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_tools() {
    local missing=() pair cmd pkg
    for pair in tshark:tshark editcap:wireshark-common capinfos:wireshark-common \
                dumpcap:wireshark-common tcpdump:tcpdump nghttp:nghttp2-client \
                h2load:nghttp2-client nghttpd:nghttp2-server nghttpx:nghttp2-proxy \
                curl:curl python3:python3 ss:iproute2; do
        cmd=${pair%%:*}; pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        # shellcheck disable=SC2046
        apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
    fi
    curl --version | grep -qw HTTP2 || die "this curl has no HTTP2 feature"

    PY=python3
    if ! "$PY" -c 'import grpc, grpc_tools' 2>/dev/null; then
        log "installing grpcio, grpcio-tools (pip)"
        if ! "$PY" -m pip install -q grpcio grpcio-tools 2>/dev/null; then
            # Debian's own python3 refuses system-wide pip installs (PEP 668):
            # use a venv under target/ (git-ignored).
            apt_install python3-venv python3-pip
            local venv=$ROOT/target/gen-fixtures-venv
            [[ -x $venv/bin/python3 ]] || python3 -m venv "$venv"
            "$venv/bin/python3" -m pip install -q grpcio grpcio-tools
            PY=$venv/bin/python3
        fi
    fi
    "$PY" -c 'import grpc, grpc_tools' || die "grpcio / grpcio-tools unusable"
}

# ------------------------------------------------------------------ processes
WORK=$(mktemp -d /tmp/h2scope-fixtures.XXXXXX)
PIDS=()          # everything we started in the background
CAP_PID=""

cleanup() {
    local rc=$?
    local pid
    for pid in ${CAP_PID:+$CAP_PID} "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in ${CAP_PID:+$CAP_PID} "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

wait_port() { # port [host]
    local port=$1 host=${2:-127.0.0.1} i
    for i in $(seq 1 100); do
        if ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.1
    done
    die "nothing listening on $host:$port after 10 s"
}

# start_bg LOGNAME CMD... : run CMD (already bounded by `timeout`) in the
# background, remember its pid.
start_bg() {
    local name=$1; shift
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
}

# Capture helpers. The capture process is started directly (not in a
# subshell) so that $! is its own pid, and is given a hard time limit.
start_tcpdump() { # OUT.pcap TCPDUMP-ARGS...
    local out=$1; shift
    CAP_LOG=$WORK/$(basename "$out").cap.log
    timeout 300 tcpdump -Z root -n "$@" -w "$out" 2>"$CAP_LOG" &
    CAP_PID=$!
    wait_capture_ready "listening on"
}

start_dumpcap() { # OUT.pcapng DUMPCAP-ARGS...
    local out=$1; shift
    CAP_LOG=$WORK/$(basename "$out").cap.log
    timeout 300 dumpcap -q "$@" -w "$out" 2>"$CAP_LOG" &
    CAP_PID=$!
    wait_capture_ready "Capturing on"
}

wait_capture_ready() {
    local i
    for i in $(seq 1 100); do
        grep -q "$1" "$CAP_LOG" 2>/dev/null && { sleep 1; return 0; }
        kill -0 "$CAP_PID" 2>/dev/null || { cat "$CAP_LOG" >&2; die "capture died"; }
        sleep 0.1
    done
    die "capture not ready after 10 s"
}

stop_capture() {
    sleep 1                        # let the last packets (FIN/ACK) arrive
    kill -TERM "$CAP_PID"          # timeout(1) passes it on; both flush
    wait "$CAP_PID" || true
    CAP_PID=""
    sed 's/^/    /' "$CAP_LOG" >&2
}

install_capture() { # SRC DEST-NAME : copy into fixtures/, world-readable
    install -m 0644 "$1" "$FIX/$2"
    log "wrote fixtures/$2 ($(stat -c %s "$FIX/$2") bytes)"
}

# ------------------------------------------------------------------ content
make_htdocs() {
    local d=$WORK/htdocs
    mkdir -p "$d"
    cat >"$d/index.html" <<'EOF'
<!doctype html>
<html><head><title>h2scope fixture</title>
<link rel="stylesheet" href="/style.css"></head>
<body><h1>h2scope fixture</h1><p>Served over cleartext HTTP/2.</p></body></html>
EOF
    printf 'body { font-family: sans-serif; color: #333; }\nh1 { color: #06c; }\n' >"$d/style.css"
    : >"$d/empty.txt"
    "$PY" - "$d" <<'EOF'
import json, random, sys
d = sys.argv[1]
rng = random.Random(20260101)
items = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"], "price": i * 1.25}
         for i in range(8)]
with open(f"{d}/data.json", "w") as f:
    json.dump({"items": items}, f, indent=1)
# 100 KiB of incompressible bytes: many 16 KiB DATA frames, several TCP
# segments, and flow control (WINDOW_UPDATE) with the default 64 KiB window.
with open(f"{d}/big.bin", "wb") as f:
    f.write(bytes(rng.getrandbits(8) for _ in range(100 * 1024)))
# A request body for POSTs (nghttpd --echo-upload sends it back).
with open(f"{d}/../post.json", "w") as f:
    json.dump({"upload": [{"n": i, "text": "posted by the fixture generator"}
                          for i in range(40)]}, f)
EOF
}

# ------------------------------------------------------------------ HTTP/2
start_http_servers() {
    local p
    for p in $PORT_A $PORT_B $PORT_X; do
        port_busy "$p" && die "port $p already in use"
    done
    # A: server push of /style.css with /index.html, a trailer on every
    # response, POST bodies echoed back.
    start_bg nghttpd-a timeout 600 nghttpd --no-tls -d "$WORK/htdocs" \
        -p /index.html=/style.css --trailer 'x-h2scope-trailer: nghttpd-a' \
        --echo-upload "$PORT_A"
    # B: pads HEADERS and DATA frames (PADDED flag), echoes POST bodies.
    start_bg nghttpd-b timeout 600 nghttpd --no-tls -d "$WORK/htdocs" \
        -b 32 --echo-upload "$PORT_B"
    # nghttpx: cleartext front end that accepts HTTP/1.1 `Upgrade: h2c`
    # (nghttpd does not), proxying to B over h2c prior knowledge.
    start_bg nghttpx timeout 600 nghttpx --conf=/dev/null --workers=1 \
        -f"127.0.0.1,$PORT_X;no-tls" -b"127.0.0.1,$PORT_B;;proto=h2" \
        --errorlog-file="$WORK/nghttpx.err" --accesslog-file="$WORK/nghttpx.acc"
    wait_port $PORT_A; wait_port $PORT_B; wait_port $PORT_X
}

gen_h2c() {
    local a=http://127.0.0.1:$PORT_A b=http://127.0.0.1:$PORT_B
    local out n

    log "1. h2c-nghttp-lo.pcap: nghttp -> nghttpd, tcpdump -i lo"
    out=$WORK/h2c-nghttp-lo.pcap
    start_tcpdump "$out" -i lo "tcp port $PORT_A"
    # Connection 1: several GETs on one connection (push, trailers, 404,
    # empty body, 100 KiB body spanning many frames and segments).
    timeout 30 nghttp -n "$a/index.html" "$a/data.json" "$a/big.bin" \
        "$a/empty.txt" "$a/missing.txt"
    # Connection 2: two POSTs with a body (-d applies to every URI, -m 2).
    timeout 30 nghttp -n -m 2 -d "$WORK/post.json" -H 'x-fixture: nghttp-post' \
        "$a/upload"
    stop_capture
    install_capture "$out" h2c-nghttp-lo.pcap

    log "2. curl-h2c-any.pcap: curl --http2-prior-knowledge -> nghttpd, tcpdump -i any"
    out=$WORK/curl-h2c-any.pcap
    start_tcpdump "$out" -i any "tcp port $PORT_A"
    # curl 7.88.1 cannot reuse a prior-knowledge connection (curl/curl#10634,
    # fixed in 8.0), so one request per curl run = one connection each.
    timeout 30 curl -sS --http2-prior-knowledge -o /dev/null "$a/index.html"
    # A 24000-character header field (~19 KB after Huffman coding): the header
    # block exceeds 16384 bytes, so curl (libnghttp2) sends HEADERS +
    # CONTINUATION.
    local big
    big=$("$PY" -c 'import random,string; r=random.Random(3); print("".join(r.choice(string.ascii_letters+string.digits) for _ in range(24000)))')
    timeout 30 curl -sS --http2-prior-knowledge -o /dev/null \
        -H "x-large-header: $big" "$a/style.css"
    timeout 30 curl -sS --http2-prior-knowledge -o /dev/null \
        -H 'content-type: application/json' --data-binary @"$WORK/post.json" "$a/upload"
    stop_capture
    install_capture "$out" curl-h2c-any.pcap

    log "3. curl-h2c-upgrade.pcap: curl --http2 (Upgrade: h2c) -> nghttpx, tcpdump -i lo"
    out=$WORK/curl-h2c-upgrade.pcap
    start_tcpdump "$out" -i lo "tcp port $PORT_X"
    # Connection 1: GET with Upgrade (answered as stream 1 after the 101),
    # then a second GET as stream 3 on the upgraded connection.
    timeout 30 curl -sS --http2 -o /dev/null -o /dev/null \
        "http://127.0.0.1:$PORT_X/index.html" "http://127.0.0.1:$PORT_X/data.json"
    # Connection 2: POST with a body and Upgrade (the HTTP/1.1 body is part
    # of the upgraded request, the response comes on HTTP/2 stream 1).
    timeout 30 curl -sS --http2 -o /dev/null -H 'content-type: application/json' \
        --data-binary @"$WORK/post.json" "http://127.0.0.1:$PORT_X/upload"
    stop_capture
    install_capture "$out" curl-h2c-upgrade.pcap

    log "4. h2c-ipv6.pcap: nghttp -> nghttpd (padding) over [::1], tcpdump -i lo"
    out=$WORK/h2c-ipv6.pcap
    start_tcpdump "$out" -i lo "ip6 and tcp port $PORT_B"
    timeout 30 nghttp -n -m 2 "http://[::1]:$PORT_B/index.html" \
        "http://[::1]:$PORT_B/data.json" "http://[::1]:$PORT_B/missing.txt"
    stop_capture
    install_capture "$out" h2c-ipv6.pcap

    log "5. h2c-nanos.pcap: h2load (2 connections, 4 concurrent streams each), nanosecond pcap"
    out=$WORK/h2c-nanos.pcap
    start_tcpdump "$out" -i lo --time-stamp-precision=nano "tcp port $PORT_A"
    timeout 30 h2load -n 8 -c 2 -m 4 "$a/data.json" "$a/style.css" "$a/empty.txt" \
        "$a/index.html" >"$WORK/h2load-nanos.log"
    stop_capture
    install_capture "$out" h2c-nanos.pcap

    log "6. multi-interface.pcapng: dumpcap on lo (Ethernet), any (SLL), any (SLL2)"
    out=$WORK/multi-interface.pcapng
    # Per-interface capture filters so that no packet is seen twice.
    start_dumpcap "$out" -i lo -f "tcp port $PORT_A" \
        -i any -f "ip and tcp port $PORT_B" \
        -i any -y LINUX_SLL2 -f "ip6 and tcp port $PORT_B"
    # Three clients at once, so the interfaces' packets interleave in time.
    timeout 30 nghttp -n "$a/index.html" "$a/data.json" &
    local c1=$!
    timeout 30 curl -sS --http2-prior-knowledge -o /dev/null "$b/data.json" &
    local c2=$!
    timeout 30 nghttp -n "http://[::1]:$PORT_B/style.css" "http://[::1]:$PORT_B/index.html"
    wait $c1 $c2
    stop_capture
    install_capture "$out" multi-interface.pcapng

    log "8. h2c-mid-connection.pcap: h2load 12 requests at 4/s on one connection, cut"
    out=$WORK/h2c-full-connection.pcap
    start_tcpdump "$out" -i lo "tcp port $PORT_A"
    timeout 30 h2load -n 12 -c 1 -m 1 --rps 4 "$a/index.html" "$a/data.json" \
        "$a/style.css" "$a/empty.txt" "$a/missing.txt" "$a/data.json?page=2" \
        >"$WORK/h2load-mid.log"
    stop_capture
    # Cut just before the packet that carries the 3rd request (stream 5):
    # no handshake, no preface, no SETTINGS, HPACK dynamic table unknown.
    n=$(tshark -n -r "$out" -d tcp.port==$PORT_A,http2 \
            -Y "http2.type == 1 && http2.streamid == 5 && tcp.dstport == $PORT_A" \
            -T fields -e frame.number | head -1)
    [[ -n $n ]] || die "stream 5 not found in the full h2load capture"
    local total
    total=$(capinfos -c -M "$out" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
    editcap -F pcap -r "$out" "$WORK/h2c-mid-connection.pcap" "$n-$total"
    log "   cut: kept packets $n-$total of $total"
    install_capture "$WORK/h2c-mid-connection.pcap" h2c-mid-connection.pcap
}

# ------------------------------------------------------------------ gRPC
gen_grpc() {
    local stubs=$WORK/stubs p i
    mkdir -p "$stubs"
    # Stubs for the generator (temp) and the descriptor set (committed).
    "$PY" -m grpc_tools.protoc -I "$FIX/protos" --python_out="$stubs" \
        --grpc_python_out="$stubs" "$FIX/protos/demo.proto"
    "$PY" -m grpc_tools.protoc -I "$FIX/protos" --include_imports \
        --descriptor_set_out="$FIX/protos/demo.desc" "$FIX/protos/demo.proto"
    log "wrote fixtures/protos/demo.desc"

    for p in "${GRPC_PORTS[@]}"; do
        port_busy "$p" && die "port $p already in use"
    done
    i=0
    for p in "${GRPC_PORTS[@]}"; do
        i=$((i + 1))
        start_bg "grpc-$p" env PYTHONPATH="$stubs" timeout 300 "$PY" \
            "$GEN/grpc_demo.py" serve --port "$p" --backend "backend-$i" --max-seconds 240
    done
    for p in "${GRPC_PORTS[@]}"; do wait_port "$p"; done

    log "7a. grpc-roundrobin.pcapng: grpcio client, round_robin over 3 grpcio servers"
    local out=$WORK/grpc-roundrobin.pcapng
    start_dumpcap "$out" -i lo -f "tcp portrange ${GRPC_PORTS[0]}-${GRPC_PORTS[2]}"
    PYTHONPATH="$stubs" timeout 120 "$PY" "$GEN/grpc_demo.py" client --mode roundrobin \
        --ports "$(IFS=,; echo "${GRPC_PORTS[*]}")" --out "$WORK/grpc-roundrobin.expected.json"
    stop_capture
    install_capture "$out" grpc-roundrobin.pcapng
    install_capture "$WORK/grpc-roundrobin.expected.json" grpc-roundrobin.expected.json

    log "7b. grpc-one-backend.pcapng: one channel, one backend, one connection"
    out=$WORK/grpc-one-backend.pcapng
    start_dumpcap "$out" -i lo -f "tcp port ${GRPC_PORTS[0]}"
    PYTHONPATH="$stubs" timeout 120 "$PY" "$GEN/grpc_demo.py" client --mode one \
        --ports "${GRPC_PORTS[0]}" --out "$WORK/grpc-one-backend.expected.json"
    stop_capture
    install_capture "$out" grpc-one-backend.pcapng
    install_capture "$WORK/grpc-one-backend.expected.json" grpc-one-backend.expected.json
}

# ------------------------------------------------------------------ main
ensure_tools
mkdir -p "$FIX"
{
    echo "# Peer versions used by scripts/gen-fixtures.sh (last run)"
    echo "tshark:     $(tshark --version | head -1)"
    echo "tcpdump:    $(tcpdump --version 2>&1 | head -1); $(tcpdump --version 2>&1 | sed -n 2p)"
    echo "nghttp:     $(nghttp --version)"
    echo "nghttpd:    $(nghttpd --version)"
    echo "nghttpx:    $(nghttpx --version)"
    echo "h2load:     $(h2load --version | head -1)"
    echo "curl:       $(curl --version | head -1)"
    echo "python:     $("$PY" --version 2>&1)"
    echo "grpcio:     $("$PY" -c 'import grpc; print(grpc.__version__)')"
    echo "protobuf:   $("$PY" -c 'import google.protobuf as p; print(p.__version__)')"
    echo "kernel:     $(uname -sr)"
} >"$WORK/versions.txt"

if want h2c; then
    make_htdocs
    start_http_servers
    gen_h2c
fi
if want grpc; then
    gen_grpc
fi
install_capture "$WORK/versions.txt" VERSIONS.txt

log "tshark reference outputs"
bash "$ROOT/scripts/tshark-reference.sh"
log "done"
