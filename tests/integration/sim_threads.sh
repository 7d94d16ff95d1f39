#!/bin/bash
# sim_threads.sh: the simulator gives one result whatever the threads. The spread scenario
# (churn, loss, a partition that heals, DHT look-ups, refreshes) runs with 1 and with 3 threads
# (3: more threads than most CI machines have cores, and relays split unevenly); every figure
# file must be byte for byte the same, and must hold figures.
# Usage: sim_threads.sh WGRELAY_SIM
set -u
SIM=${1:?usage: sim_threads.sh WGRELAY_SIM}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for n in 1 3; do
	mkdir -p "$T/t$n"
	"$SIM" --seed 3 --relays 300 --hours 0.25 --refresh-h 0.2 --warmup 1 --cut-at 4 \
		--cut-len 3 --threads "$n" --out "$T/t$n" spread >"$T/t$n/summary.txt" 2>&1 ||
		fail "wgrelay-sim --threads $n: $(tail -3 "$T/t$n/summary.txt")"
	grep -Eq "^spread +threads +$n\.000" "$T/t$n/summary.txt" || fail "--threads $n not used"
done
for f in spread_desc.csv spread_bw.csv spread_reach.csv spread_partition.csv; do
	[ "$(wc -l <"$T/t1/$f")" -gt 2 ] || fail "$f holds no figures"
	cmp "$T/t1/$f" "$T/t3/$f" || fail "$f differs between 1 and 3 threads"
done
echo "ok: 1 and 3 threads, same figures ($(($(wc -l <"$T/t1/spread_desc.csv") - 1)) descriptors tracked)"
