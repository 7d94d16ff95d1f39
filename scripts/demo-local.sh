#!/bin/sh
# The local demo: a real wgrelayd with its embedded defaults on loopback, and two clients that
# meet on it. Used by `make demo` until the network-namespace world (sim/demo.sh) exists.
set -eu
build=${1:-build}
relayd="$build/relayd/wgrelayd"
client="$build/tests/wgrelay-demo-local"
work=$(mktemp -d)
pid=""
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== wgrelay local demo"
echo "-- starting wgrelayd with embedded defaults on 127.0.0.1:51821"
echo "   (--allow-loopback: a real relay never forwards to loopback; this demo has no other host)"
: > "$work/empty.conf"
"$relayd" -c "$work/empty.conf" --key-file "$work/relay.key" --listen 127.0.0.1:51821 \
	--allow-loopback 2> "$work/relay.log" &
pid=$!
i=0
until pub=$("$relayd" --show-public-key --key-file "$work/relay.key" 2>/dev/null); do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$work/relay.log"; exit 1; }
	sleep 0.1
done
echo "   relay public key $pub"
echo "-- two clients meet on the relay"
status=0
"$client" 127.0.0.1:51821 "$pub" || status=$?
# shellcheck disable=SC2015 # || true whichever of the two fails
kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
pid=""
echo "-- what the relay logged (events, then its stats line at shutdown)"
sed 's/^/   /' "$work/relay.log"
[ $status -eq 0 ] && echo "== demo passed" || echo "== demo FAILED"
exit $status
