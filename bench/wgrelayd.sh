# bench/wgrelayd.sh: the wgrelayd part of bench/run (sourced, not run). Until wgrelayd and the
# bench client that binds sessions exist in BUILD_DIR, the wgrelayd systems are skipped and the
# reason is written to OUT/wgrelayd.status for the report.

WGRELAYD=$BUILD/relayd/wgrelayd
WGR_STATUS=""

wgrelayd_build() {
	if [ ! -x "$WGRELAYD" ]; then
		WGR_STATUS="wgrelayd not built ($WGRELAYD missing)"
	fi
	return 0
}

wgrelayd_start() {
	[ -n "$WGR_STATUS" ] && echo "$WGR_STATUS" >"$OUT/wgrelayd.status"
	return 0
}

wgrelayd_systems() {
	[ -z "$WGR_STATUS" ] && echo "direct sealed"
	return 0
}

wgrelayd_pid() {
	echo "${WGR_PID:-0}"
}

wgrelayd_gen_args() {
	echo "--mode wg --dst 127.0.0.1:1"
}

wgrelayd_scale() {
	return 0
}

wgrelayd_stop() {
	return 0
}
