#!/bin/sh
# sim/scale.sh BUILD_DIR [OUT_DIR]: run wgrelay-sim's scenarios at the scale of docs/SCALE.md,
# then plot the CSV files with gnuplot into OUT_DIR (PNG and SVG). Same seed, same figures.
#   SCALE=quick  a small run of every scenario in about a minute (a look, not the figures)
#   SEED=N       the seed (1)
#   PLOT_ONLY=1  only plot the CSV files an earlier run left in OUT_DIR
#   TENK=1       also run 10,000 relays for a simulated hour (the wall-time goal; about 9
#                minutes on two cores and 6 GB more, see docs/SCALE.md), after the rest
# Every spread run starts converged (--converged 1, the default): stores preloaded, links up.
# The full run takes about 3 minutes on two cores and up to ~4 GB of memory.
set -eu
BUILD=${1:?usage: sim/scale.sh BUILD_DIR [OUT_DIR]}
OUT=${2:-$BUILD/sim-out}
SEED=${SEED:-1}
SIM=$BUILD/sim/wgrelay-sim
[ -x "$SIM" ] || { echo "scale.sh: $SIM not built" >&2; exit 1; }
mkdir -p "$OUT"

if [ "${SCALE:-full}" = quick ]; then
	BIG="--relays 1000 --hours 0.2 --warmup 2 --cut-len 0"
	PART="--relays 500 --hours 0.5 --cut-at 10 --cut-len 5"
	MEET="--meet-relays 1000 --pairs 5000"
	MEETBIG="--meet-relays 2000 --pairs 500"
	DHT="--dht-relays 500 --dht-clients 50"
else
	# 5,000 relays for the steady spread and bandwidth figures; the hour with churn and the
	# partition at 3,000 relays (what fits the wall-time budget, see docs/SCALE.md).
	BIG="--relays 5000 --hours 0.1 --warmup 1 --cut-len 0"
	PART="--relays 3000 --hours 1 --cut-at 20 --cut-len 10"
	MEET="--meet-relays 1000 --pairs 100000"
	MEETBIG="--meet-relays 10000 --pairs 2000"
	DHT="--dht-relays 10000 --dht-clients 100"
fi

run() { # name args...
	name=$1
	shift
	mkdir -p "$OUT/$name"
	"$SIM" --seed "$SEED" --out "$OUT/$name" "$@" >"$OUT/$name/summary.txt" 2>"$OUT/$name/stderr.txt"
	echo "scale.sh: $name done"
}

# Two lanes on two cores: the large spread alone, everything else in turn; each spread on one
# thread (the figures are the same on any number). Then the 10,000-relay hour on every core.
# PLOT_ONLY=1 plots what an earlier run left in OUT_DIR.
if [ "${PLOT_ONLY:-0}" != 1 ]; then
	# shellcheck disable=SC2086
	run spread-steady $BIG --threads 1 spread &
	lane=$!
	# shellcheck disable=SC2086
	run spread-partition $PART --threads 1 spread
	# shellcheck disable=SC2086
	run meet $MEET meet
	# shellcheck disable=SC2086
	run meet10k $MEETBIG meet
	# shellcheck disable=SC2086
	run dht $DHT dht
	wait $lane
	if [ "${TENK:-0}" = 1 ]; then
		run spread-10k --relays 10000 --hours 1 --cut-len 0 spread
	fi
fi

plot() { # name: gnuplot script on stdin, run for png and svg
	script=$(cat)
	for fmt in png svg; do
		if [ $fmt = png ]; then term="pngcairo size 800,500"; else term="svg size 800,500"; fi
		printf 'set terminal %s\nset output "%s/%s.%s"\nset datafile separator ","\n%s\n' \
			"$term" "$OUT" "$1" $fmt "$script" | gnuplot
	done
}

if command -v gnuplot >/dev/null 2>&1; then
	plot spread_reach <<EOT
set title "Spread of a new descriptor (median over descriptors)"
set xlabel "seconds after publish"; set ylabel "share of relays holding it (%)"
set key bottom right; set grid; set yrange [0:100]
plot "$OUT/spread-steady/spread_reach.csv" every ::1 using 2:1 with linespoints title "5,000 relays, 6 min", \
     "$OUT/spread-partition/spread_reach.csv" every ::1 using 2:1 with linespoints title "3,000 relays, 1 h, churn"
EOT
	for d in spread-steady spread-partition; do
		# Descriptors outside the partition that reached 99 %: their times, as a CDF.
		awk -F, 'NR > 1 && $4 == 0 && $9 >= 0 {print $9}' "$OUT/$d/spread_desc.csv" | sort -g |
			awk '{v[NR] = $1} END {print "t99_s,cdf"; for (i = 1; i <= NR; i++) print v[i] "," i / NR}' \
				>"$OUT/$d/spread_t99_cdf.csv"
	done
	plot spread_t99_cdf <<EOT
set title "Time for a new descriptor to reach 99 % of relays (outside the partition)"
set xlabel "seconds"; set ylabel "share of descriptors"; set grid; set key bottom right
plot "$OUT/spread-steady/spread_t99_cdf.csv" every ::1 using 1:2 with lines title "5,000 relays, 6 min", \
     "$OUT/spread-partition/spread_t99_cdf.csv" every ::1 using 1:2 with lines title "3,000 relays, 1 h, churn"
EOT
	plot spread_bw <<EOT
set title "Gossip bytes per relay per second (frames + IP/UDP counted)"
set xlabel "minute"; set ylabel "B/s per relay"; set grid; set key top left
set yrange [0:*]
plot "$OUT/spread-steady/spread_bw.csv" every ::1 using 1:3 with linespoints title "5,000 relays, 6 min", \
     "$OUT/spread-partition/spread_bw.csv" every ::1 using 1:3 with linespoints title "3,000 relays (partition 20-30 min)", \
     2048 with lines dashtype 2 title "goal 2 KB/s"
EOT
	plot spread_partition <<EOT
set title "Partition: (descriptor, relay) pairs still missing"
set xlabel "seconds since the heal"; set ylabel "missing"; set grid
set logscale y; set yrange [0.8:*]
plot "$OUT/spread-partition/spread_partition.csv" every ::1 using 1:(\$2+1) with lines title "missing + 1", \
     "$OUT/spread-partition/spread_partition.csv" every ::1 using 1:(\$3+1) with lines title "cross-region links + 1"
EOT
	plot meet_stretch <<EOT
set title "Path stretch via the relay met, over the best relay both know"
set xlabel "stretch"; set ylabel "share of pairs that met"; set grid; set key bottom right
set xrange [1:2.5]
plot for [k=1:4] sprintf("$OUT/meet/meet_stretch_k%d.csv", k) every ::1 using 1:2 with lines title sprintf("K=%d", k)
EOT
	plot dht_lookup <<EOT
set title "DHT get_peers latency (5 % loss)"
set xlabel "seconds"; set ylabel "share of lookups"; set grid; set key bottom right
plot "$OUT/dht/dht_lookup.csv" every ::1 using 1:2 with lines title "get_peers"
EOT
fi
cat "$OUT"/*/summary.txt
