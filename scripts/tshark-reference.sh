#!/usr/bin/env bash
# tshark reference outputs for the captures in fixtures/, written to
# fixtures/tshark/<capture>.* in the format of shared/captures/TSHARK.md:
#
#   .commands.txt  the tshark command lines run (cwd = repository root), with
#                  their stderr and exit code
#   .frames.tsv    one row per packet containing HTTP/2 (occurrence=a lists)
#   .http2.json    full HTTP/2 tree (-J http2), only when under 300 KB
#   .grpc.json     gRPC + protobuf tree (gRPC captures only)
#   .stats.txt     -z conv,tcp -z http2,tree -z expert,note
#   .summary.txt   counts computed from the above (fixtures/gen/tshark_summary.py)
# plus fixtures/tshark/COUNTS.tsv, one row per capture.
#
# Runnable alone: bash scripts/tshark-reference.sh [fixtures/NAME ...]

# Commas inside tshark arguments (tcp.port==P,http2) are intended.
# shellcheck disable=SC2054
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=fixtures/tshark
MAX_JSON=$((300 * 1024))
PY=${PY:-python3}

command -v tshark >/dev/null || {
    echo "tshark missing: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark" >&2
    exit 1
}

# tshark 4.0 resolves `import "google/protobuf/timestamp.proto"` only through
# an ABSOLUTE search path (with a relative one it looks for the file under
# /usr/share/wireshark/protobuf and ~/.config/wireshark/protobuf only and
# reports "does not exist", leaving every message <UNKNOWN>). So the real
# command uses "$ROOT/fixtures/protos"; commands.txt shows it as $ROOT.
PROTO_OPTS=(-o "uat:protobuf_search_paths:\"$ROOT/fixtures/protos\",\"TRUE\"" -o protobuf.pbf_as_hf:TRUE)

# Decode-as options per capture (tshark 4.0 has no HTTP/2-over-TCP
# heuristic). The h2c-upgrade capture must NOT get `-d ...,http2`: the
# HTTP/1.1 dissector hands over to HTTP/2 after the 101.
opts_for() {
    case $1 in
        h2c-nghttp-lo.pcap|curl-h2c-any.pcap|h2c-nanos.pcap|h2c-mid-connection.pcap)
            OPTS=(-d tcp.port==18080,http2) ;;
        h2c-ipv6.pcap)
            OPTS=(-d tcp.port==18081,http2) ;;
        multi-interface.pcapng)
            OPTS=(-d tcp.port==18080,http2 -d tcp.port==18081,http2) ;;
        curl-h2c-upgrade.pcap)
            OPTS=() ;;
        grpc-roundrobin.pcapng)
            OPTS=(-d tcp.port==50051,http2 -d tcp.port==50052,http2
                  -d tcp.port==50053,http2 "${PROTO_OPTS[@]}") ;;
        grpc-one-backend.pcapng)
            OPTS=(-d tcp.port==50051,http2 "${PROTO_OPTS[@]}") ;;
        *)
            echo "tshark-reference: no options known for $1, using none" >&2
            OPTS=() ;;
    esac
}

is_grpc() { [[ $1 == grpc-* ]]; }

# Quote a command line for commands.txt the way a shell would accept it.
# An argument holding the repository's absolute path shows it as $ROOT, in
# double quotes, so the line still works after `ROOT=$(pwd)`.
show_cmd() {
    local a r out=""
    for a in "$@"; do
        r=${a//$ROOT/\$ROOT}
        if [[ $r != "$a" ]]; then
            out+="\"${r//\"/\\\"}\" "
        elif [[ $a =~ ^[A-Za-z0-9_./:=,+-]+$ ]]; then
            out+="$a "
        else
            out+="'$a' "
        fi
    done
    printf '%s' "${out% }"
}

# run CMDFILE OUTFILE SHOWN-NAME tshark ARGS... : run, record in CMDFILE
run() {
    local cmdfile=$1 outfile=$2 shown=$3; shift 3
    local rc=0 err
    err=$(mktemp)
    "$@" >"$outfile" 2>"$err" || rc=$?
    {
        printf '$ %s > %s\n' "$(show_cmd "$@")" "$shown"
        grep -v '^Running as user "root" and group "root"' "$err" |
            sed "s|$ROOT|\$ROOT|g; s/^/  [stderr] /" || true
        printf '  [exit %d]\n' "$rc"
    } >>"$cmdfile"
    rm -f "$err"
    return 0
}

FRAME_FIELDS=(-e frame.number -e tcp.stream -e http2.streamid -e http2.type -e http2.flags
              -e http2.length -e http2.headers.method -e http2.headers.path
              -e http2.headers.status -e grpc.message_length -e _ws.col.Info)
PACKET_FIELDS=(-e frame.number -e frame.interface_id -e frame.protocols -e tcp.stream
               -e tcp.flags.syn -e tcp.len -e tcp.analysis.retransmission
               -e tcp.analysis.fast_retransmission -e tcp.analysis.spurious_retransmission
               -e tcp.analysis.out_of_order -e tcp.analysis.lost_segment
               -e tcp.analysis.ack_lost_segment -e tcp.analysis.duplicate_ack
               -e tcp.segment.count -e _ws.malformed -e _ws.expert.message
               -e frame.cap_len -e frame.len)
TSV=(-T fields -E header=y -E occurrence=a -E aggregator=,)

mkdir -p "$OUT"
if (($#)); then CAPS=("$@"); else
    shopt -s nullglob
    CAPS=(fixtures/*.pcap fixtures/*.pcapng)
    shopt -u nullglob
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

printf 'capture\tpackets\tlink_types\ttcp_conns\ttcp_conns_without_syn\th2_streams\th2_frames_by_type\tgrpc_calls\tgrpc_paths\tgrpc_status\tmalformed_pkts\ttshark_options\n' \
    >"$TMP/COUNTS.tsv"

for cap in "${CAPS[@]}"; do
    name=$(basename "$cap")
    cap=fixtures/$name
    opts_for "$name"
    base=(tshark -n -2 -r "$cap" ${OPTS[@]+"${OPTS[@]}"})
    cmds=$OUT/$name.commands.txt
    # shellcheck disable=SC2016 # a literal $(pwd) for the reader
    printf '# cwd: the repository root; ROOT=$(pwd)\n' >"$cmds"
    echo "tshark-reference: $cap" >&2

    run "$cmds" "$OUT/$name.frames.tsv" "$name.frames.tsv" "${base[@]}" -Y http2 "${TSV[@]}" "${FRAME_FIELDS[@]}"
    run "$cmds" "$TMP/http2.json" "$name.http2.json" "${base[@]}" -o grpc.embedded_under_http2:TRUE \
        -Y http2 -T json --no-duplicate-keys -J http2
    if is_grpc "$name"; then
        # Packets carrying a message over 64 KiB are left out: tshark prints
        # such a message 4 times as hex (~850 KB of JSON for 70 KB).
        run "$cmds" "$OUT/$name.grpc.json" "$name.grpc.json" "${base[@]}" \
            -Y 'grpc && !(grpc.message_length > 65535)' -T json \
            --no-duplicate-keys -J 'frame grpc protobuf json'
    else
        rm -f "$OUT/$name.grpc.json"
    fi
    run "$cmds" "$OUT/$name.stats.txt" "$name.stats.txt" "${base[@]}" -q -z conv,tcp -z http2,tree -z expert,note
    run "$cmds" "$TMP/packets.tsv" "$name.packets.tsv (temporary: input of .summary.txt)" "${base[@]}" "${TSV[@]}" "${PACKET_FIELDS[@]}"

    size=$(stat -c %s "$TMP/http2.json")
    if ((size <= MAX_JSON)); then
        cp "$TMP/http2.json" "$OUT/$name.http2.json"
        json_note=""
    else
        rm -f "$OUT/$name.http2.json"
        json_note="$name.http2.json not kept: $size bytes > $MAX_JSON (regenerate with the command above)"
        printf '# %s\n' "$json_note" >>"$cmds"
    fi
    "$PY" fixtures/gen/tshark_summary.py --capture "$cap" \
        --options "$(show_cmd ${OPTS[@]+"${OPTS[@]}"})" \
        --packets "$TMP/packets.tsv" --frames "$OUT/$name.frames.tsv" \
        --http2-json "$TMP/http2.json" \
        --capinfos "$(capinfos -M "$cap" 2>/dev/null)" --note "$json_note" \
        --summary "$OUT/$name.summary.txt" --counts "$TMP/COUNTS.tsv"
    rm -f "$TMP/http2.json"
done

# Merge: rows for the captures just processed replace their old rows.
if [[ -f $OUT/COUNTS.tsv ]] && (($#)); then
    awk -F'\t' 'NR == FNR { if (FNR > 1) seen[$1] = 1; print; next }
                 FNR > 1 && !($1 in seen)' "$TMP/COUNTS.tsv" "$OUT/COUNTS.tsv" \
        >"$TMP/merged.tsv"
    mv "$TMP/merged.tsv" "$TMP/COUNTS.tsv"
fi
{ head -1 "$TMP/COUNTS.tsv"; tail -n +2 "$TMP/COUNTS.tsv" | sort; } >"$OUT/COUNTS.tsv"
