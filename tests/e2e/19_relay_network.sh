#!/bin/sh
# Scenario 19: the relay network end to end. 30 relays on the core, each with a [Network]
# section naming 1 or 2 others (a random spanning tree and a few more edges; the seed is
# printed, WGR_SEED=N repeats it) and a short DescriptorLifetime:
#   1. every store holds all 30 descriptors (read on each relay's /metrics);
#   2. a 31st relay joins with one Peer line: its descriptor reaches all 31 stores;
#   3. a and b behind symmetric NATs, whose helpers know one (different) relay each: after
#      `wgrelay list-relays --refresh` each lists all 31, and the pair meets on the relay that
#      is GeoIP-best for it (computed here from the geo table as relay-client/select.c ranks);
#   4. wgr-netpoke, a would-be relay, sends one relay a forged, an expired and a noise-key-
#      mismatched HELLO, each counted under its own refusal reason there and reaching no other
#      relay, then a valid one (stored and spread to every relay: the positive control) and
#      one with an older seq for the same identity (counted stale);
#   5. the private DHT (every relay runs a node, r1's the bootstrap): r32 with no Peer line
#      finds the network through it alone, and a helper that knows no relay, only a DHT node,
#      lists every relay after `list-relays --refresh`;
#   6. a relay is killed (kill -9): its descriptor leaves every store by its expiry.
# The figures are printed as "figure: NAME SECONDS" lines (sim/measure.sh network).
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl not installed (relay metrics)"; exit 77; }
NETPOKE=$WGR_BINARY_DIR/sim/wgr-netpoke
[ -x "$NETPOKE" ] || { echo "FAIL: $NETPOKE not built"; exit 1; }
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
figure() { echo "figure: $1 $2"; }
t_world=$(date +%s.%N)
NR=30    # relays at the start; relay NR+1 joins in step 2
LIFE=120 # DescriptorLifetime in seconds: a dead relay's descriptor is gone this long after
seed=${WGR_SEED:-$(($(date +%s) % 100000))}
echo "world $W: $NR relays, then one more; seed $seed (WGR_SEED=$seed repeats this world)"

# The bootstrap graph and the roles, from the seed: peers_I is what relay I's Peer lines name.
# Relay I > 1 names a random lower one (a spanning tree), relay 1 a random other, six relays
# a second random one, relay NR+1 one random relay. best: the GeoIP-best relay for the pair
# (Frankfurt below); boota, bootb: the one relay each helper knows; tgt: the relay wgr-netpoke
# talks to, nb: the relay tgt's first Peer line names; victim: the relay killed in step 5.
best=0 boota=0 bootb=0 tgt=0 nb=0 victim=0 # set by the eval below
eval "$(awk -v seed="$seed" -v n=$NR 'function pick(lo, hi) { return lo + int(rand() * (hi - lo + 1)) }
function add(i, j) { if (i == j || index(" " p[i] " ", " " j " ")) return 0; p[i] = p[i] (p[i] == "" ? "" : " ") j; np[i]++; return 1 }
BEGIN {
	srand(seed)
	for (i = 2; i <= n; i++) add(i, pick(1, i - 1))
	add(1, pick(2, n))
	for (k = 0; k < 6; k++) { i = pick(1, n); if (np[i] < 2) add(i, pick(1, n)) }
	add(n + 1, pick(1, n))
	for (i = 1; i <= n + 1; i++) printf "peers_%d=\"%s\"\n", i, p[i]
	best = pick(1, n + 1)
	do boota = pick(1, n + 1); while (boota == best)
	do bootb = pick(1, n + 1); while (bootb == best || bootb == boota)
	do tgt = pick(1, n); while (tgt == best)
	split(p[tgt], q, " "); nb = q[1]
	do victim = pick(1, n); while (victim == best || victim == boota || victim == bootb || victim == tgt || victim == nb)
	printf "best=%d\nboota=%d\nbootb=%d\ntgt=%d\nnb=%d\nvictim=%d\n", best, boota, bootb, tgt, nb, victim
}')"
rip() { echo "203.0.113.$((9 + $1))"; } # relay I's address: r1 .10 ... r31 .40

# The geo table: a Paris, b Berlin, the best relay Frankfurt (on the way), every other relay
# at least 2000 km out of the way (a detour of two 1000 km buckets: relay-client/select.c's
# score of 4 points, more than its hysteresis of 2, so no other relay can keep the pair).
{
	echo "198.51.100.10/32 48.86 2.35 Paris FR"
	echo "198.51.100.11/32 52.52 13.40 Berlin DE"
	i=1
	for c in "40.42 -3.70 Madrid ES" "38.72 -9.14 Lisbon PT" "41.90 12.50 Rome IT" \
		"37.98 23.73 Athens GR" "59.33 18.07 Stockholm SE" "60.17 24.94 Helsinki FI" \
		"59.91 10.75 Oslo NO" "64.15 -21.94 Reykjavik IS" "41.01 28.98 Istanbul TR" \
		"50.45 30.52 Kyiv UA" "55.76 37.62 Moscow RU" "30.04 31.24 Cairo EG" \
		"36.81 10.18 Tunis TN" "33.57 -7.59 Casablanca MA" "6.52 3.38 Lagos NG" \
		"-1.29 36.82 Nairobi KE" "-26.20 28.05 Johannesburg ZA" "25.20 55.27 Dubai AE" \
		"19.08 72.88 Mumbai IN" "1.35 103.82 Singapore SG" "35.68 139.69 Tokyo JP" \
		"37.57 126.98 Seoul KR" "-33.87 151.21 Sydney AU" "-36.85 174.76 Auckland NZ" \
		"40.71 -74.01 New_York US" "41.88 -87.63 Chicago US" "34.05 -118.24 Los_Angeles US" \
		"43.65 -79.38 Toronto CA" "19.43 -99.13 Mexico_City MX" "-23.55 -46.63 Sao_Paulo BR"; do
		[ $i = "$best" ] && { echo "$(rip $i)/32 50.11 8.68 Frankfurt DE"; i=$((i + 1)); }
		echo "$(rip $i)/32 $c"
		i=$((i + 1))
	done
	[ $i = "$best" ] && echo "$(rip $i)/32 50.11 8.68 Frankfurt DE"
} >"$WS/geo.txt"
world_geoip "$WS/geo.txt" || exit 1
# The expected meeting relay, as select.c ranks: |A-R| + |R-B| great-circle (6371 km), in
# 1000 km buckets; the table must make one relay better than any other by two buckets.
# shellcheck disable=SC2016 # awk's $ fields
expect=$(awk 'function d(a1, o1, a2, o2,   r, h) { r = 3.141592653589793 / 180
	h = sin((a2 - a1) * r / 2) ^ 2 + cos(a1 * r) * cos(a2 * r) * sin((o2 - o1) * r / 2) ^ 2
	if (h > 1) h = 1
	return 2 * 6371 * atan2(sqrt(h), sqrt(1 - h)) }
$1 == "198.51.100.10/32" { alat = $2; alon = $3 } $1 == "198.51.100.11/32" { blat = $2; blon = $3 }
$1 ~ /^203\.0\.113\./ { n++; ip[n] = $1; la[n] = $2; lo[n] = $3; city[n] = $4 }
END { b1 = b2 = 1e9
	for (i = 1; i <= n; i++) { k = int((d(alat, alon, la[i], lo[i]) + d(la[i], lo[i], blat, blon)) / 1000)
		if (k < b1) { b2 = b1; b1 = k; w = i } else if (k < b2) b2 = k }
	sub("/32", "", ip[w]); print ip[w], city[w], b1, b2 }' "$WS/geo.txt")
# shellcheck disable=SC2086 # four words
set -- $expect
best_ip=$1
echo "  expected meeting relay: $best_ip ($2; bucket $3, the next best $4)"
[ "$best_ip" = "$(rip "$best")" ] && [ $(($4 - $3)) -ge 2 ] || { bad "geo table ambiguous: $expect"; exit 1; }

# Keys first, so that every Peer line can name its relay's key before that relay starts.
i=1
while [ $i -le $((NR + 1)) ]; do
	world_relay_key r$i || exit 1
	i=$((i + 1))
done
relay_conf() # I: write relay I's config file, print its path
{
	_pl=
	eval "_pl=\$peers_$1"
	{
		printf '[Relay]\nIdentityFile = %s\nWorkers = 0\n' "$WS/r$1.identity"
		printf '[Limits]\nCircuitBytes = 0\nCircuitDuration = 0\n'
		printf '[Network]\nAdvertise = %s:51821\n' "$(rip "$1")"
		# Every relay runs a node of the private DHT (step 5), r1's the one all start from.
		printf 'Dht = on\n'
		[ "$1" = 1 ] || printf 'DhtBootstrap = %s:51822\n' "$(rip 1)"
		for _j in $_pl; do
			printf 'Peer = %s:51821 %s\n' "$(rip "$_j")" "$(cat "$WS/r$_j.rpub")"
		done
		# Short, so that the whole world runs in minutes: a lifetime of 2 minutes
		# (republished every 30 s), anti-entropy every 5 s, heartbeats every 10 s.
		printf 'DescriptorLifetime = %ss\nAntiEntropyInterval = 5s\n' $LIFE
		printf 'HeartbeatInterval = 10s\nLinkTimeout = 30s\nReconnectInterval = 5s\n'
	} >"$WS/r$1.conf"
	echo "$WS/r$1.conf"
}
store() { world_metric "$1" wgrelayd_network_store_descriptors; }
refused() { world_metric "$1" "wgrelayd_network_refused_total{reason=\"$2\"}"; }
# all_stores N RELAY...: 0 when every named relay's store holds exactly N descriptors
all_stores()
{
	_want=$1
	shift
	for _r in "$@"; do [ "$(store "$_r")" = "$_want" ] || return 1; done
}
show_stores() # RELAY...: each relay's store count and relay links, on one line
{
	_s=
	for _r in "$@"; do
		_s="$_s $_r:$(store "$_r")/$(world_metric "$_r" wgrelayd_network_links)"
	done
	echo "  store/links:$_s"
}
relays() # FIRST LAST [SKIP]: relay names rFIRST..rLAST, without rSKIP
{
	_i=$1
	while [ "$_i" -le "$2" ]; do
		[ "$_i" = "${3:-0}" ] || printf 'r%d ' "$_i"
		_i=$((_i + 1))
	done
}

line=
i=1
while [ $i -le $NR ]; do
	pl=
	eval "pl=\$peers_$i"
	line="$line $i->$(echo "$pl" | tr ' ' ,)"
	i=$((i + 1))
done
echo "== 1. $NR relays; Peer lines (relay->relays):$line"
t0=$(date +%s.%N)
i=1
while [ $i -le $NR ]; do
	world_relay_net r$i "$(rip $i)" "$(relay_conf $i)" || exit 1
	i=$((i + 1))
done
echo "  $NR relays started in $(since "$t0") s"
# shellcheck disable=SC2046 # relays prints one name a word
if world_wait 90 all_stores $NR $(relays 1 $NR); then
	s=$(since "$t0")
	echo "  every store holds all $NR descriptors $s s after the first relay started"
	figure converge_s "$s"
else
	# shellcheck disable=SC2046
	show_stores $(relays 1 $NR)
	bad "the stores did not converge on $NR within 90 s"
	world_dumplogs | tail -n 120
	exit 1
fi

n1=$((NR + 1))
j=
eval "j=\$peers_$n1"
echo "== 2. r$n1 joins with one Peer line (r$j)"
t0=$(date +%s.%N)
world_relay_net r$n1 "$(rip $n1)" "$(relay_conf $n1)" || exit 1
# shellcheck disable=SC2046
if world_wait 60 all_stores $n1 $(relays 1 $n1); then
	s=$(since "$t0")
	echo "  r$n1's descriptor is in all $n1 stores (and they all in its) after $s s"
	figure join_s "$s"
else
	# shellcheck disable=SC2046
	show_stores $(relays 1 $n1)
	bad "r$n1 did not reach every store within 60 s"
fi

echo "== 3. a (Paris) and b (Berlin) behind symmetric NATs; a knows only r$boota, b only r$bootb"
world_natted a ra 198.51.100.10 1 symmetric && world_natted b rb 198.51.100.11 2 symmetric || exit 1
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
listed_ok() # HOST FILE: FILE (list-relays --json) lists all relays, every one but one found
{
	_all=$(grep -c '"endpoint": "203\.0\.113\.' "$2")
	_rel=$(grep -c '"source": "relay"' "$2")
	echo "  $1 lists $_all relays, $_rel of them discovered (source relay)"
	[ "$_all" = $n1 ] && [ "$_rel" = $NR ]
}
for h in a b; do
	k=
	eval "k=\$boot$h"
	mkdir -p "$WS/$h.d"
	: >>"$WS/$h.d/wgrelay.conf"
	wgrelay_in $h add-bootstrap-relay "$(rip "$k"):51821" "$(cat "$WS/r$k.rpub")" >/dev/null || exit 1
	t0=$(date +%s.%N)
	wgrelay_in $h list-relays --refresh --no-probe --json >"$WS/$h.list" 2>"$WS/$h.refresh"
	s=$(since "$t0")
	sed 's/^/  /' "$WS/$h.refresh"
	if listed_ok $h "$WS/$h.list"; then
		figure refresh_s "$s"
	else
		bad "$h does not list all $n1 relays after list-relays --refresh"
	fi
done
# shellcheck disable=SC2317 # run by world_wait
relayed_best() { [ "$(world_relayed_via a b)" = "$best_ip" ] && world_ping a b 1 1; }
t0=$(date +%s.%N)
for h in a b; do
	wgrelay_in $h configure-relay --enable "$W$h" >/dev/null || exit 1
	world_watch $h
done
world_traffic 100
if world_wait 90 relayed_best; then
	s=$(since "$t0")
	echo "  a->b relayed through $best_ip after $s s; b->a through $(world_relayed_via b a)"
	figure meet_s "$s"
	[ "$(world_relayed_via b a)" = "$best_ip" ] || bad "b sends to a through $(world_endpoint b a), not $best_ip"
else
	bad "the pair did not meet on $best_ip within 90 s (a->b $(world_endpoint a b), b->a $(world_endpoint b a))"
	tail -n 30 "$WS/a.watch.log" "$WS/b.watch.log"
fi

echo "== 4. wgr-netpoke against r$tgt (neighbour r$nb)"
world_public np 198.51.100.60/24 || exit 1
poke() # ARGS...: wgr-netpoke from host np at relay tgt; its output in $WS/poke.out
{
	world_x np "$NETPOKE" --timeout 3000 "$@" "$(rip "$tgt"):51821" "$(cat "$WS/r$tgt.rpub")" \
		>"$WS/poke.out" 2>&1
	_rc=$?
	sed 's/^/  netpoke: /' "$WS/poke.out"
	return $_rc
}
reasons="bad-signature expired noise-key-mismatch stale"
for r in $reasons; do
	v=$(echo "$r" | tr - _)
	eval "t_$v=$(refused "r$tgt" "$r")"
	eval "n_$v=$(refused "r$nb" "$r")"
done
for f in forged:bad-signature expired:expired noise-mismatch:noise-key-mismatch; do
	opt=${f%%:*}
	r=${f#*:}
	v=$(echo "$r" | tr - _)
	poke "--$opt"
	grep -q "answer: ERROR bad-hello: $r" "$WS/poke.out" || bad "--$opt: no ERROR(bad-hello, $r)"
	eval "was=\$t_$v"
	now=$(refused "r$tgt" "$r")
	if [ -n "$was" ] && [ -n "$now" ] && [ "$now" -gt "$was" ]; then
		echo "  r$tgt refused{reason=\"$r\"} $was -> $now"
	else
		bad "--$opt: r$tgt's refused{reason=\"$r\"} did not grow ($was -> $now)"
	fi
done
echo "  positive control: a valid HELLO, stored and spread"
t0=$(date +%s.%N)
poke --identity "$WS/np.identity"
grep -q "answer: HELLO" "$WS/poke.out" || bad "a valid HELLO was not answered with HELLO"
# shellcheck disable=SC2046
if world_wait 30 all_stores $((n1 + 1)) $(relays 1 $n1); then
	s=$(since "$t0")
	echo "  the valid descriptor is in all $n1 stores after $s s"
	figure poke_spread_s "$s"
else
	# shellcheck disable=SC2046
	show_stores $(relays 1 $n1)
	bad "the valid descriptor did not reach every store within 30 s"
fi
was=$(refused "r$tgt" stale)
poke --identity "$WS/np.identity" --older
grep -q "answer: HELLO" "$WS/poke.out" || bad "--older: the HELLO (signed, current) was not answered"
now=$(refused "r$tgt" stale)
if [ -n "$was" ] && [ -n "$now" ] && [ "$now" -gt "$was" ]; then
	echo "  r$tgt refused{reason=\"stale\"} $was -> $now"
else
	bad "--older: r$tgt's refused{reason=\"stale\"} did not grow ($was -> $now)"
fi
# Nothing refused went further: the neighbour saw none of it, and no store holds more than the
# relays and the valid one (a forwarded forgery would be one more identity).
for r in bad-signature expired noise-key-mismatch; do
	eval "was=\$n_$(echo $r | tr - _)"
	now=$(refused "r$nb" "$r")
	[ -n "$now" ] && [ "$now" = "$was" ] || bad "r$nb's refused{reason=\"$r\"} moved ($was -> $now)"
done
sleep 2
# shellcheck disable=SC2046
all_stores $((n1 + 1)) $(relays 1 $n1) || { show_stores $(relays 1 $n1); bad "a store holds other than $((n1 + 1))"; }
echo "  r$nb: bad-signature, expired, noise-key-mismatch unchanged; every store at $((n1 + 1))"

n2=$((n1 + 1))
echo "== 5. the private DHT: r$n2 starts with no Peer line, a helper knows no relay at all"
t0=$(date +%s.%N)
world_relay_net r$n2 "$(rip $n2)" "$(relay_conf $n2)" || exit 1
grep -q '^Peer' "$WS/r$n2.conf" && { bad "r$n2 has a Peer line"; exit 1; }
# Its store fills from what the DHT gives (get_peers, then DESC_REQ), and its descriptor
# reaches every other store through the links it then makes: all hold the $n2 relays and
# netpoke's one.
# shellcheck disable=SC2046
if world_wait 90 all_stores $((n2 + 1)) $(relays 1 $n2); then
	s=$(since "$t0")
	echo "  r$n2 found the network through the DHT alone: every store at $((n2 + 1)) after $s s"
	echo "  r$n2: $(world_metric r$n2 wgrelayd_dht_relays_found_total) relays found via the DHT"
	figure dht_join_s "$s"
else
	# shellcheck disable=SC2046
	show_stores $(relays 1 $n2)
	bad "r$n2 (DHT only) did not join every store within 90 s"
fi
world_public c 198.51.100.12/24 || exit 1
mkdir -p "$WS/c.d"
: >>"$WS/c.d/wgrelay.conf"
printf '[Relay]\nDht = on\n' >>"$WS/c.d/wgrelay.conf"
wgrelay_in c add-dht-bootstrap "$(rip 1):51822" >/dev/null || { bad "add-dht-bootstrap refused"; exit 1; }
# Up to three refreshes: a run that no DHT node answered (seen in about one world in three,
# cause not found yet: see the closing note of the relay-network work) is retried as a user
# would; each attempt is printed.
t0=$(date +%s.%N)
for try in 1 2 3; do
	wgrelay_in c list-relays --refresh --no-probe --json >"$WS/c.list" 2>"$WS/c.refresh"
	sed "s/^/  try $try: /" "$WS/c.refresh"
	grep -q "no DHT node answered" "$WS/c.refresh" || break
done
s=$(since "$t0")
c_all=$(grep -c '"endpoint": "203\.0\.113\.' "$WS/c.list")
c_dht=$(grep -c '"source": "dht"' "$WS/c.list")
echo "  c lists $c_all relays, $c_dht found in the DHT, after $s s"
# Every relay: through the DHT, and those the DHT missed through them (DISCOVER).
if [ "$c_all" = $n2 ] && [ "$c_dht" -ge 1 ]; then
	figure dht_client_s "$s"
else
	bad "c, knowing no relay, lists $c_all of $n2 relays ($c_dht from the DHT)"
fi

echo "== 6. kill -9 r$victim ($(rip "$victim")): its descriptor leaves every store within ${LIFE}s + 30 s"
t0=$(date +%s.%N)
world_kill "r$victim.relaydpid"
# shellcheck disable=SC2046
if world_wait $((LIFE + 30)) all_stores $n2 $(relays 1 $n2 "$victim"); then
	s=$(since "$t0")
	echo "  gone from all $n1 live stores after $s s (lifetime $LIFE s)"
	figure expire_s "$s"
else
	# shellcheck disable=SC2046
	show_stores $(relays 1 $n2 "$victim")
	bad "r$victim's descriptor still held somewhere $((LIFE + 30)) s after its death"
fi
# Also as a client sees it: a DISCOVER through a's helper no longer brings it.
wgrelay_in a list-relays --refresh --no-probe --json >"$WS/a.list2" 2>"$WS/a.refresh2"
sed 's/^/  /' "$WS/a.refresh2"
if grep -q "\"endpoint\": \"$(rip "$victim"):" "$WS/a.list2"; then
	bad "a still lists r$victim after the refresh"
elif ! grep -q "\"endpoint\": \"$best_ip:" "$WS/a.list2"; then
	bad "a's refresh lists nothing useful (no $best_ip): it proves nothing"
else
	echo "  a's list-relays --refresh no longer has r$victim"
fi
figure total_s "$(since "$t_world")"
[ $fail = 0 ] && echo PASS || world_dumplogs | tail -n 200
exit $fail
