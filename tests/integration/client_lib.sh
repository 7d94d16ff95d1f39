# shellcheck shell=bash
# client_lib.sh: sourced (after `set -u`) by the helper's loopback tests, client_dht.sh and
# client_discover.sh. Sets WGRELAY and WGRELAYD, exiting 77 (skip) when they are not built; a
# temporary directory T, removed on exit after every process in PIDS is stopped (by PID); and
# fail, k8 and relayd_start.
BIN=${WGR_BINARY_DIR:?}
WGRELAY=$BIN/relay-client/wgrelay
WGRELAYD=$BIN/relayd/wgrelayd
if [ ! -x "$WGRELAYD" ] || [ ! -x "$WGRELAY" ]; then echo "skip: binaries not built"; exit 77; fi

T=$(mktemp -d /tmp/wgrd-it.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "== $f"; tail -n 30 "$f"; done; exit 1; }
# The first 8 characters of a base64 key as an extended regular expression ('+' is one).
k8() { printf '%s' "${1:0:8}" | sed 's/[+]/\\+/g'; }

# relayd_start N PORT RANGE READY: wgrelayd -c $T/rN.conf on 127.0.0.1:PORT, relaying on the
# ports RANGE, logging to $T/rN.log; waits up to 5 s for READY in its log. Its public key is
# then in $T/rN.pub; the status says whether READY was seen.
relayd_start() {
	"$WGRELAYD" -c "$T/r$1.conf" --key-file "$T/r$1.key" --listen "127.0.0.1:$2" \
		--port-range "$3" --allow-loopback --metrics off -d >"$T/r$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q "$4" "$T/r$1.log" && break; sleep 0.1; done
	"$WGRELAYD" -c "$T/r$1.conf" --key-file "$T/r$1.key" --show-public-key >"$T/r$1.pub" 2>/dev/null
	grep -q "$4" "$T/r$1.log"
}
