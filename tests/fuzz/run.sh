#!/bin/sh
# make fuzz: run every libFuzzer target for SECONDS each on a copy of its seed corpus.
set -eu
build=$1
secs=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$build"/tests/fuzz_*; do
	case "$bin" in *_replay) continue ;; esac
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	mkdir -p "$work/$name" "$src/findings/$name"
	cp -r "$src/corpus/$name/." "$work/$name/" 2>/dev/null || true
	echo "== $name ($secs s)"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$src/findings/$name/" "$work/$name" 2>"$work/$name.log"; then
		echo "$name: FOUND A CRASH (see tests/fuzz/findings/$name/)"
		status=1
	fi
	grep -E 'stat::number_of_executed_units|stat::new_units_added' "$work/$name.log" || true
done
exit $status
