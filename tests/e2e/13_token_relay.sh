#!/bin/sh
# Scenario 13: a relay in token mode (PROTOCOL.md §5.2). Helper a mints its tokens from the
# shared secret (--token-secret/--token-name), helper b gets them from a command
# (--token-command) that computes EXPIRY:NAME:MAC with openssl. Both peers are behind
# symmetric NATs, so they can only meet through the relay: they end up relayed and ping.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
for t in openssl base64; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
secret=A-SECRET-OF-16+-CHARS
printf '[Limits]\nCircuitBytes = 0\nCircuitDuration = 0\n[Auth]\nMode = token\nSecret = %s\n' \
	"$secret" >"$WS/relayd.conf"
# b's token command: valid 10 minutes, its MAC computed independently of wgrelay; every run
# leaves a line in token.calls.
cat >"$WS/token.sh" <<T
#!/bin/sh
u="\$((\$(date +%s) + 600)):bob"
echo run >>"$WS/token.calls"
printf '%s:%s\n' "\$u" "\$(printf %s "\$u" | openssl dgst -sha256 -hmac '$secret' -binary | base64)"
T
chmod 755 "$WS/token.sh"
"$WS/token.sh" | grep -Eq '^[0-9]+:bob:[A-Za-z0-9+/]{43}=$' || {
	echo "FAIL: token.sh prints $("$WS/token.sh")"
	exit 1
}
: >"$WS/token.calls"
WORLD_RELAY_AUTH=token
export WORLD_BOOTSTRAP_OPTS_a="--token-secret $secret --token-name alice"
export WORLD_BOOTSTRAP_OPTS_b="--token-command $WS/token.sh"
world_pair symmetric symmetric 1 || exit 1
echo "world $W: a, b behind symmetric NATs, one relay r1 in token mode"
world_traffic 120
if world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null; then
	echo "  a-b relayed via $(world_relayed_via a b), pings pass"
else
	bad "never relayed"
fi
echo "check: b's token command ran"
[ -s "$WS/token.calls" ] && echo "  ran $(wc -l <"$WS/token.calls") time(s)" || bad "never ran"
echo "check: no BIND refused, no token failure"
for h in a b; do
	if grep -Eq "auth-(denied|required)|refused this helper|no token" "$WS/$h.watch.log"; then
		bad "$h: $(grep -Em1 "auth-(denied|required)|refused this helper|no token" \
			"$WS/$h.watch.log")"
	fi
done
echo "check: list-relays shows the credentials, not the secret"
wgrelay_in a list-relays --no-probe >"$WS/a.list" 2>&1
grep -q "token credential of .*: secret set" "$WS/a.list" || bad "a: $(cat "$WS/a.list")"
grep -q "$secret" "$WS/a.list" && bad "a: list-relays prints the secret"
wgrelay_in b list-relays --no-probe >"$WS/b.list" 2>&1
grep -q "token credential of .*: command" "$WS/b.list" || bad "b: $(cat "$WS/b.list")"
echo "check: the database holding the secret is 0600"
m=$(stat -c %a "$WS/a.d/wgrelay.db")
[ "$m" = 600 ] || bad "a's database has mode $m"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
