#!/bin/bash
# Packaging checks, one per argument: destdir, deb, units, man, completion, unprivileged,
# dashboard.
# Needs WGR_SOURCE_DIR and WGR_BINARY_DIR (set by ctest). Exit 77 = the tool is missing.
# shellcheck disable=SC2015 # "check && ok || bad": ok never fails, so it is if-then-else
set -u
src=${WGR_SOURCE_DIR:?} bin=${WGR_BINARY_DIR:?}
fails=0 checks=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wgr-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

ok() { checks=$((checks + 1)); }
bad() {
	checks=$((checks + 1)) fails=$((fails + 1))
	echo "FAIL: $*" >&2
}
need() { command -v "$1" >/dev/null || { echo "SKIP: $1 not installed"; exit 77; }; }

# The files every install must contain, relative to the prefix /usr.
files=(
	bin/wgrelayd bin/wgrelay
	lib/systemd/system/wgrelayd.service lib/systemd/system/wgrelay.service
	lib/sysusers.d/wgrelay.conf lib/tmpfiles.d/wgrelay.conf
	share/bash-completion/completions/wgrelay share/bash-completion/completions/wgrelayd
	share/man/man8/wgrelay.8.gz share/man/man8/wgrelayd.8.gz
	share/man/man5/wgrelay.conf.5.gz share/man/man5/wgrelayd.conf.5.gz
	share/doc/wgrelay/copyright share/doc/wgrelay/changelog.gz
	share/doc/wgrelay/DEPLOYING.md share/doc/wgrelay/OPERATING.md
	share/doc/wgrelay/examples/wgrelayd.conf share/doc/wgrelay/examples/wgrelay.conf
	share/doc/wgrelay/examples/wg0-postup.conf share/doc/wgrelay/examples/grafana/wgrelayd.json
)

# Man pages and the changelog: gzip -9n of the sources (no name, no time stamp: byte 3, the
# flags, has no FNAME bit, bytes 4-7, the mtime, are zero), so builds are reproducible.
check_gz() { # root-with-prefix
	local r=$1 f orig hdr
	for f in man/man8/wgrelay.8 man/man8/wgrelayd.8 man/man5/wgrelay.conf.5 \
		man/man5/wgrelayd.conf.5 doc/wgrelay/changelog; do
		case $f in
		man/*) orig=$src/docs/man/${f##*/} ;;
		*) orig=$src/packaging/debian/changelog ;;
		esac
		[ -f "$r/share/$f.gz" ] || continue # reported as missing already
		cmp -s <(gzip -dc "$r/share/$f.gz") "$orig" && ok || bad "$f.gz is not $orig compressed"
		hdr=$(od -An -tx1 -N8 "$r/share/$f.gz" | tr -d ' \n')
		[[ $hdr == 1f8b08[0-f][0-7]00000000 && $((0x${hdr:6:2} & 8)) == 0 ]] && ok ||
			bad "$f.gz: not gzip -n (header $hdr)"
	done
}

check_tree() { # root-with-prefix
	local r=$1 f
	for f in "${files[@]}"; do
		if [ -e "$r/$f" ]; then ok; else bad "missing $f"; fi
	done
	for f in bin/wgrelayd bin/wgrelay; do
		[ -x "$r/$f" ] && ok || bad "$f not executable"
	done
	grep -q "^ExecStart=/usr/bin/wgrelayd " "$r/lib/systemd/system/wgrelayd.service" && ok ||
		bad "wgrelayd.service ExecStart does not name /usr/bin/wgrelayd"
	grep -q "^ExecStart=/usr/bin/wgrelay watch" "$r/lib/systemd/system/wgrelay.service" && ok ||
		bad "wgrelay.service ExecStart does not run /usr/bin/wgrelay watch"
	"$r/bin/wgrelayd" --help >/dev/null 2>&1 && ok || bad "installed wgrelayd --help failed"
	"$r/bin/wgrelay" --help >/dev/null 2>&1 && ok || bad "installed wgrelay --help failed"
	# Both print the project's version (CMakeLists.txt's project(... VERSION ...)).
	local v
	v=$(sed -nE 's/^project\(wgrelay VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
	[ "$("$r/bin/wgrelayd" --version 2>&1)" = "wgrelayd $v" ] && ok ||
		bad "wgrelayd --version is not 'wgrelayd $v'"
	[ "$("$r/bin/wgrelay" --version 2>&1)" = "wgrelay $v" ] && ok ||
		bad "wgrelay --version is not 'wgrelay $v'"
	check_gz "$r"
}


case ${1:?} in
destdir)
	need cmake
	DESTDIR="$scratch/root" cmake --install "$bin" --prefix /usr >"$scratch/log" 2>&1 ||
		{ cat "$scratch/log" >&2; bad "cmake --install failed"; }
	check_tree "$scratch/root/usr"
	[ "$(readlink "$scratch/root/usr/share/bash-completion/completions/wgrelayd")" = wgrelay ] &&
		ok || bad "wgrelayd completion is not a symlink to wgrelay"
	# Nothing may land outside /usr (no /etc files: configs are examples only).
	extra=$(cd "$scratch/root" && find . -mindepth 1 -maxdepth 1 ! -name usr)
	[ -z "$extra" ] && ok || bad "files outside /usr: $extra"
	;;
deb)
	need cpack
	need dpkg-deb
	cpack --config "$bin/CPackConfig.cmake" -G DEB -B "$scratch/pkg" >"$scratch/log" 2>&1 ||
		{ cat "$scratch/log" >&2; bad "cpack failed"; }
	# shellcheck disable=SC2012 # cpack's file names are plain
	deb=$(ls "$scratch"/pkg/*.deb 2>/dev/null | head -n1)
	if [ -z "$deb" ]; then
		bad "no .deb produced"
	else
		ok
		dpkg-deb -x "$deb" "$scratch/root" && ok || bad "dpkg-deb -x failed"
		check_tree "$scratch/root/usr"
		info=$(dpkg-deb -I "$deb")
		dep=$(dpkg-deb -f "$deb" Depends)
		for p in libc6 libsodium23 libmnl0 libmaxminddb0 libsqlite3-0; do
			[[ ",$dep," == *", $p "* || ",$dep," == *",$p "* ]] && ok ||
				bad "Depends lacks $p: $dep"
		done
		[ "$(dpkg-deb -f "$deb" Recommends)" = wireguard-tools ] && ok ||
			bad "Recommends is not wireguard-tools"
		[ "$(dpkg-deb -f "$deb" Package)" = wgrelay ] && ok || bad "package name"
		# Stripped: no symbol table, no DWARF (the debug symbols are not packaged).
		for f in wgrelayd wgrelay; do
			if readelf -S "$scratch/root/usr/bin/$f" 2>/dev/null | grep -qE '\.(symtab|debug_)'; then
				bad "usr/bin/$f is not stripped"
			else ok; fi
		done
		# The changelog's newest entry is this version; the copyright file is DEP-5.
		ver=$(dpkg-deb -f "$deb" Version)
		top=$(gzip -dc "$scratch/root/usr/share/doc/wgrelay/changelog.gz" 2>/dev/null | head -n1)
		[[ $top == "wgrelay ($ver) "* ]] && ok || bad "changelog starts '$top', not version $ver"
		head -n1 "$scratch/root/usr/share/doc/wgrelay/copyright" 2>/dev/null |
			grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
			ok || bad "copyright is not in the machine-readable format"
		# lintian: every E: is a failure; W: and the rest are shown.
		if command -v lintian >/dev/null; then
			lintian "$deb" >"$scratch/lintian" 2>&1
			sed 's/^/lintian: /' "$scratch/lintian"
			errs=$(grep '^E: ' "$scratch/lintian")
			[ -z "$errs" ] && ok || bad "lintian errors: $errs"
		else
			echo "deb: lintian not installed (make deps), lintian check skipped"
		fi
		for s in postinst prerm postrm; do
			grep -q " $s" <<<"$info" && ok || bad "control lacks $s"
		done
		mkdir -p "$scratch/ctl" && dpkg-deb -e "$deb" "$scratch/ctl"
		for s in postinst prerm postrm; do
			sh -n "$scratch/ctl/$s" && ok || bad "$s: shell syntax"
		done
		# The sysusers.d file creates the service user (what postinst runs), in the scratch root.
		if command -v systemd-sysusers >/dev/null; then
			mkdir -p "$scratch/root/etc"
			systemd-sysusers --root="$scratch/root" wgrelay.conf >/dev/null 2>&1
			grep -q '^wgrelay:.*:/var/lib/wgrelay:' "$scratch/root/etc/passwd" 2>/dev/null &&
				ok || bad "sysusers did not create the wgrelay user"
			if command -v systemd-tmpfiles >/dev/null; then
				systemd-tmpfiles --root="$scratch/root" --create wgrelay.conf >/dev/null 2>&1
				uid=$(awk -F: '$1 == "wgrelay" {print $3}' "$scratch/root/etc/passwd")
				got=$(stat -c '%a %u' "$scratch/root/var/lib/wgrelay" 2>/dev/null)
				[ -n "$uid" ] && [ "$got" = "750 $uid" ] && ok ||
					bad "tmpfiles: /var/lib/wgrelay is '$got', want '750 $uid'"
			fi
		fi
		# dpkg accepts the package against this system's dependencies (no change made).
		if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
			dpkg --dry-run -i "$deb" >"$scratch/dry" 2>&1 && ok ||
				bad "dpkg --dry-run -i: $(cat "$scratch/dry")"
		fi
		# Every shared library the binaries link comes from a package in Depends.
		# A sanitizer build links the ASan runtime and what it needs (libstdc++, libgcc_s):
		# not a release binary, so its libraries are not held to the package's Depends.
		if ldd "$scratch/root/usr/bin/wgrelayd" | grep -q 'lib[a-z]*san'; then
			echo "deb: sanitizer build, linked-library check skipped"
		elif command -v dpkg >/dev/null; then
			libs=$(ldd "$scratch/root/usr/bin/wgrelayd" "$scratch/root/usr/bin/wgrelay" |
				awk '/=> \//{print $3}' | xargs -r readlink -f | sort -u)
			nlib=0
			# One dpkg -S for all (it is slow); /lib vs /usr/lib spellings both tried.
			# shellcheck disable=SC2086,SC2046,SC2001 # one argument per path; sed for each line's ^
			owners=$(dpkg -S $libs $(sed 's|^/usr/lib/|/lib/|' <<<"$libs") 2>/dev/null)
			for lib in $libs; do
				pkg=$(grep -F ": ${lib}" <<<"$owners" | head -n1 | cut -d: -f1)
				[ -n "$pkg" ] || pkg=$(grep -F ": ${lib#/usr}" <<<"$owners" | head -n1 | cut -d: -f1)
				[ -n "$pkg" ] || continue
				nlib=$((nlib + 1))
				[[ ",$dep," == *"$pkg "* ]] && ok || bad "$lib from $pkg, not in Depends"
			done
			[ "$nlib" -ge 5 ] && ok || bad "only $nlib linked libraries traced to packages"
		fi
	fi
	;;
units)
	need systemd-analyze
	DESTDIR="$scratch/root" cmake --install "$bin" --prefix /usr >"$scratch/log" 2>&1 ||
		{ cat "$scratch/log" >&2; bad "cmake --install failed"; }
	u=$scratch/root/usr/lib/systemd/system
	# verify resolves ExecStart; point the units at the installed binaries of this tree.
	mkdir -p "$scratch/units"
	for f in wgrelayd.service wgrelay.service; do
		sed "s|^ExecStart=/usr/bin/|ExecStart=$scratch/root/usr/bin/|" "$u/$f" >"$scratch/units/$f"
	done
	out=$(cd "$scratch/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
		./wgrelayd.service ./wgrelay.service 2>&1)
	# Only messages about our two units count: verify also loads the host's units.
	ours=$(grep -E 'wgrelayd?\.service' <<<"$out")
	[ -z "$ours" ] && ok || bad "systemd-analyze verify: $ours"
	for k in Type=notify User=wgrelay StateDirectory=wgrelay ProtectSystem=strict \
		NoNewPrivileges=yes PrivateTmp=yes SystemCallFilter=@system-service; do
		grep -qx "$k" "$u/wgrelayd.service" && ok || bad "wgrelayd.service lacks $k"
		grep -qx "$k" "$u/wgrelay.service" && ok || bad "wgrelay.service lacks $k"
	done
	grep -qx "CapabilityBoundingSet=" "$u/wgrelayd.service" && ok ||
		bad "wgrelayd.service keeps capabilities"
	grep -qx "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "$u/wgrelayd.service" && ok ||
		bad "wgrelayd.service address families"
	grep -q "^AmbientCapabilities=.*CAP_NET_ADMIN" "$u/wgrelay.service" && ok ||
		bad "wgrelay.service lacks CAP_NET_ADMIN"
	# systemd-analyze security scores the hardening (lower is better; 10 = none).
	for f in wgrelayd.service wgrelay.service; do
		lvl=$(systemd-analyze security --offline=yes --root=/ "$scratch/units/$f" 2>/dev/null |
			grep -oE 'exposure level for [^:]*: [0-9.]+' | awk '{print $NF}')
		echo "$f exposure: ${lvl:-n/a}"
	done
	;;
man)
	need groff
	for p in wgrelay.8 wgrelayd.8 wgrelay.conf.5 wgrelayd.conf.5; do
		f=$src/docs/man/$p
		[ -s "$f" ] || { bad "$p missing"; continue; }
		w=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 "$f" 2>&1 >/dev/null)
		[ -z "$w" ] && ok || bad "groff $p: $w"
		if command -v mandoc >/dev/null; then
			w=$(mandoc -Tlint -W warning "$f" 2>&1)
			[ -z "$w" ] && ok || bad "mandoc $p: $w"
		fi
	done
	# Every command and option the binaries print in --help appears in their page.
	for b in wgrelayd wgrelay; do
		if [ "$b" = wgrelayd ]; then exe=${WGR_WGRELAYD:-$bin/relayd/wgrelayd}; else
			exe=${WGR_WGRELAY:-$bin/relay-client/wgrelay}; fi
		[ -x "$exe" ] || { bad "$b not built ($exe)"; continue; }
		help=$("$exe" --help 2>&1)
		if [ "$b" = wgrelay ]; then
			# shellcheck disable=SC2013 # command names are words
			for c in $(awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}' <<<"$help"); do
				help+=$'\n'"$c "$("$exe" "$c" --help 2>&1)
			done
		fi
		page=$(groff -man -Tascii -P-cbou "$src/docs/man/$b.8" 2>/dev/null)
		for o in $(grep -oE -- '(^|[ [])--?[a-z][a-z-]*' <<<"$help" | tr -d ' [' | sort -u); do
			grep -qF -- "$o" <<<"$page" && ok || bad "$b.8 does not document $o"
		done
	done
	# Every metric wgrelayd serves, and every drop reason, appears in wgrelayd(8).
	page=$(groff -man -Tascii -P-cbou "$src/docs/man/wgrelayd.8" 2>/dev/null)
	if [ -f "$src/relayd/metrics.c" ]; then
		# shellcheck disable=SC2013 # metric names are words
		for m in $(grep -oE 'wgrelayd_[a-z_]+' "$src/relayd/metrics.c" | sort -u); do
			grep -qF "$m" <<<"$page" && ok || bad "wgrelayd.8 lacks metric $m"
		done
		for d in $(sed -n '/names\[DROP_MAX\]/,/};/p' "$src/relayd/stats.c" | grep -oE '= "[a-z_]+"' | tr -d '= "'); do
			grep -qwF "$d" <<<"$page" && ok || bad "wgrelayd.8 lacks drop reason $d"
		done
	fi
	# Every config key the helper accepts appears in wgrelay.conf(5).
	page=$(groff -man -Tascii -P-cbou "$src/docs/man/wgrelay.conf.5" 2>/dev/null)
	keys=$(sed -n '/allowed\[\] *=/,/NULL/p' "$src/relay-client/cli.c" | grep -oE '"[A-Z][A-Za-z]*\.[A-Za-z]+"' | tr -d '"')
	[ -n "$keys" ] && ok || bad "no helper config keys found in relay-client/cli.c"
	for k in $keys; do
		grep -qE "^ *${k#*.}( |$)" <<<"$page" && ok || bad "wgrelay.conf.5 lacks $k"
	done
	# Every config key wgrelayd accepts appears in wgrelayd.conf(5).
	page=$(groff -man -Tascii -P-cbou "$src/docs/man/wgrelayd.conf.5" 2>/dev/null)
	for k in $(grep -oE '^\s*"[A-Z][A-Za-z]*\.[A-Za-z]+"' "$src/relayd/config.c" | tr -d ' \t"'); do
		grep -qE "^ *${k#*.}( |$)" <<<"$page" && ok || bad "wgrelayd.conf.5 lacks $k"
	done
	;;
unprivileged)
	# What wgrelayd.service relies on: the relay binds its ports and runs with no capability
	# and no root, its state in a directory the user owns, and stops cleanly on SIGTERM.
	need setpriv
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to switch to nobody"; exit 77; }
	exe=${WGR_WGRELAYD:-$bin/relayd/wgrelayd}
	state=$scratch/state
	mkdir -p "$state" && chown 65534:65534 "$state" && chmod 0750 "$state"
	conf=$scratch/wgrelayd.conf
	printf '[Relay]\nStatsInterval = 1h\n' >"$conf" && chmod 0644 "$conf"
	chmod 0711 "$scratch"
	port=$((20000 + RANDOM % 10000))
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		--no-new-privs "$exe" -c "$conf" --foreground --listen "127.0.0.1:$port" \
		--port-range 40000-40099 --key-file "$state/wgrelayd.key" --metrics off \
		2>"$scratch/relayd.log" &
	pid=$!
	trap 'kill "$pid" 2>/dev/null; rm -rf "$scratch"' EXIT
	for _ in $(seq 50); do
		grep -q 'auth open' "$scratch/relayd.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'auth open' "$scratch/relayd.log" && ok || bad "not running: $(cat "$scratch/relayd.log")"
	[ "$(stat -c '%u %a' "$state/wgrelayd.key" 2>/dev/null)" = "65534 600" ] && ok ||
		bad "key file not created 0600 by the service user"
	ss -Hlun "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port" && ok ||
		bad "port $port not bound"
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then bad "still running 5 s after SIGTERM"; else
		wait "$pid"
		rc=$?
		[ "$rc" = 0 ] && ok || bad "exit status $rc after SIGTERM"
	fi
	# The public key read back by the same user matches the one the daemon logged.
	pub=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$exe" -c "$conf" \
		--key-file "$state/wgrelayd.key" --show-public-key 2>/dev/null)
	[ -n "$pub" ] && grep -qF "$pub" "$scratch/relayd.log" && ok ||
		bad "--show-public-key '$pub' not the logged key"
	;;
completion)
	f=$src/packaging/completion/wgrelay
	bash -n "$f" && ok || bad "completion syntax"
	out=$(bash -c "source '$f' && complete -p wgrelay wgrelayd" 2>&1)
	grep -q -- '-F _wgrelay wgrelay' <<<"$out" && ok || bad "wgrelay completion not registered: $out"
	grep -q -- '-F _wgrelayd wgrelayd' <<<"$out" && ok || bad "wgrelayd completion: $out"
	# Complete a partial command and an option value, as bash would.
	got=$(bash -c "source '$f'; COMP_WORDS=(wgrelay list); COMP_CWORD=1; _wgrelay;
		echo \"\${COMPREPLY[*]}\"")
	[ "$got" = list-relays ] && ok || bad "'wgrelay list<TAB>' gave '$got'"
	got=$(bash -c "source '$f'; COMP_WORDS=(wgrelay configure-relay --mode s); COMP_CWORD=3;
		_wgrelay; echo \"\${COMPREPLY[*]}\"")
	[ "$got" = sealed ] && ok || bad "'--mode s<TAB>' gave '$got'"
	got=$(bash -c "source '$f'; COMP_WORDS=(wgrelayd --auth t); COMP_CWORD=2; _wgrelayd;
		echo \"\${COMPREPLY[*]}\"")
	[ "$got" = token ] && ok || bad "'wgrelayd --auth t<TAB>' gave '$got'"
	# --state-dir offers directories only.
	mkdir -p "$scratch/sd/state1" && : >"$scratch/sd/state2"
	got=$(bash -c "source '$f'; COMP_WORDS=(wgrelayd --state-dir '$scratch/sd/st'); COMP_CWORD=2;
		_wgrelayd; echo \"\${COMPREPLY[*]}\"")
	[ "$got" = "$scratch/sd/state1" ] && ok || bad "'--state-dir DIR/st<TAB>' gave '$got'"
	# Interface arguments: WireGuard interfaces only. A made-up /sys/class/net and
	# /run/wireguard, and no wg on PATH (or one that fails, as without the rights to look).
	net=$scratch/net run=$scratch/run
	mkdir -p "$net/wg0" "$net/eth0" "$net/lo" "$net/wgbr" "$run" "$scratch/nowg"
	printf 'DEVTYPE=wireguard\nINTERFACE=wg0\nIFINDEX=5\n' >"$net/wg0/uevent"
	printf 'INTERFACE=eth0\nIFINDEX=2\n' >"$net/eth0/uevent"
	printf 'INTERFACE=lo\nIFINDEX=1\n' >"$net/lo/uevent"
	printf 'DEVTYPE=bridge\nINTERFACE=wgbr\n' >"$net/wgbr/uevent"
	python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" \
		"$run/wgu1.sock" 2>/dev/null || true
	printf '#!/bin/sh\nexit 1\n' >"$scratch/nowg/wg" && chmod +x "$scratch/nowg/wg"
	want="wg0"
	[ -S "$run/wgu1.sock" ] && want="wg0 wgu1"
	comp_if() { # words... : what bash offers for the last word
		PATH="$scratch/nowg:$PATH" _wgrelay_net=$net _wgrelay_run=$run bash -c \
			"source '$f'; COMP_WORDS=($*); COMP_CWORD=$(($# - 1)); _wgrelay;
			printf '%s\n' \"\${COMPREPLY[@]}\" | grep -v '^-' | sort | xargs"
	}
	got=$(comp_if wgrelay configure-relay --enable "''")
	[ "$got" = "$want" ] && ok || bad "'configure-relay --enable <TAB>' gave '$got', want '$want'"
	got=$(comp_if wgrelay status w)
	[ "$got" = "$want" ] && ok || bad "'status w<TAB>' gave '$got', want '$want'"
	got=$(comp_if wgrelay watch e)
	[ -z "$got" ] && ok || bad "'watch e<TAB>' offered '$got' (not WireGuard)"
	# With wg available, what `wg show interfaces` lists.
	printf '#!/bin/sh\n[ "$*" = "show interfaces" ] && echo "wga wgb"\n' >"$scratch/nowg/wg"
	got=$(comp_if wgrelay watch "''")
	[ "$got" = "wga wgb" ] && ok || bad "'watch <TAB>' with wg gave '$got'"
	# Every option wgrelayd --help prints, and wgrelay's global ones, are offered.
	exe=${WGR_WGRELAYD:-$bin/relayd/wgrelayd}
	if [ -x "$exe" ]; then
		offered=$(bash -c "source '$f'; COMP_WORDS=(wgrelayd -); COMP_CWORD=1; _wgrelayd;
			echo \" \${COMPREPLY[*]} \"")
		for o in $("$exe" --help 2>&1 | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z0-9-]*' | tr -d ' ,' | sort -u); do
			[[ $offered == *" $o "* ]] && ok || bad "wgrelayd completion lacks $o"
		done
	fi
	exe=${WGR_WGRELAY:-$bin/relay-client/wgrelay}
	if [ -x "$exe" ]; then
		offered=$(bash -c "source '$f'; COMP_WORDS=(wgrelay -); COMP_CWORD=1; _wgrelay;
			echo \" \${COMPREPLY[*]} \"")
		for o in $("$exe" --help 2>&1 | sed -n '/^Global options/,$p' |
			grep -oE -- '^ +--?[a-zA-Z][a-z0-9-]*' | tr -d ' ' | sort -u) --version; do
			[[ $offered == *" $o "* ]] && ok || bad "wgrelay completion lacks $o"
		done
	fi
	;;
dashboard)
	# packaging/grafana/wgrelayd.json: valid JSON, every query on the ${DS_PROMETHEUS}
	# variable, and every metric it names one that relayd/metrics.c serves.
	need python3
	f=$src/packaging/grafana/wgrelayd.json
	python3 -m json.tool "$f" >/dev/null && ok || bad "$f: not valid JSON"
	known=$(grep -oE 'wgrelayd_[a-z_]+' "$src/relayd/metrics.c" | sort -u)
	[ -n "$known" ] && ok || bad "no metric names found in relayd/metrics.c"
	used=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        print(t["expr"])
' "$f" 2>/dev/null)
	[ -n "$used" ] && ok || bad "no panel queries in $f"
	# shellcheck disable=SC2013 # metric names are words
	for m in $(grep -oE 'wgrelayd_[a-z_]+' <<<"$used" | sort -u); do
		grep -qx "$m" <<<"$known" && ok || bad "dashboard names $m, which metrics.c does not serve"
	done
	for m in wgrelayd_packets_forwarded_total wgrelayd_bytes_forwarded_total wgrelayd_drops_total \
		wgrelayd_handshakes_total wgrelayd_cookies_sent_total wgrelayd_sessions wgrelayd_links \
		wgrelayd_reservations wgrelayd_circuits wgrelayd_metrics_connections_dropped_total; do
		grep -qw "$m" <<<"$used" && ok || bad "dashboard has no panel for $m"
	done
	bad_ds=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for o in [p] + p.get("targets", []):
        ds = o.get("datasource")
        if ds is not None and ds.get("uid") != "$" + "{DS_PROMETHEUS}":
            print(p["title"])
' "$f" 2>&1)
	[ -z "$bad_ds" ] && ok || bad "panels not on \${DS_PROMETHEUS}: $bad_ds"
	grep -q '"name": "DS_PROMETHEUS"' "$f" && ok || bad "no DS_PROMETHEUS variable"
	;;
*)
	echo "usage: $0 destdir|deb|units|man|completion|unprivileged|dashboard" >&2
	exit 2
	;;
esac
echo "$1: $((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
