# transports.sh: world pieces for the stream-transport scenario (sourced after sim/world.sh).
# shellcheck shell=sh
#
# Adds to a world: egress firewalls on the NAT routers (no UDP at all; or nothing but TCP to
# the proxy host), a proxy host on the core running tinyproxy (HTTP CONNECT, port 3128) and
# microsocks (SOCKS5, port 1080), an nginx terminating TLS on a relay host (a self-signed
# certificate made with openssl here), and the name "relay.wgr.test" known to the proxy host
# alone (/etc/netns/NS/hosts, which `ip netns exec` mounts over /etc/hosts), so a helper that
# reaches the relay by that name proves the name went through the proxy unresolved.
# tw_cleanup undoes what world_cleanup does not know of (the /etc/netns directory); the
# scenario's trap calls both.

TW_PROXY_IP=198.51.100.20
TW_HTTP_PORT=3128
TW_SOCKS_PORT=1080
TW_NAME=relay.wgr.test

# tw_fw ROUTER MODE: the router's egress filter for its LAN (table ip wgrfw, replaced):
#   noudp      every UDP datagram forwarded either way is dropped (counted); TCP passes
#   relayudp   UDP passes to and from the relays' range (203.0.113.0/24) only, so WireGuard
#              cannot go direct but a relay's UDP port answers (the baseline to compare with)
#   proxyonly  the LAN reaches nothing but TCP to the proxy host's two ports; UDP dropped
#   open       no filter
tw_fw()
{
	ip netns exec "$W-$1" nft delete table ip wgrfw 2>/dev/null
	[ "$2" = open ] && return 0
	{
		echo "table ip wgrfw {"
		echo " chain fw { type filter hook forward priority -5;"
		[ "$2" = relayudp ] && echo "  ip daddr 203.0.113.0/24 accept" && echo "  ip saddr 203.0.113.0/24 accept"
		echo "  meta l4proto udp counter drop"
		if [ "$2" = proxyonly ]; then
			echo "  ct state established,related accept"
			echo "  oifname eth0 ip daddr $TW_PROXY_IP tcp dport { $TW_HTTP_PORT, $TW_SOCKS_PORT } accept"
			echo "  oifname eth0 counter drop"
		fi
		echo " }"
		echo "}"
	} | ip netns exec "$W-$1" nft -f - || return 1
	# connections made under the old filter would outlive it
	if command -v conntrack >/dev/null 2>&1; then
		ip netns exec "$W-$1" conntrack -F >/dev/null 2>&1
	fi
	return 0
}

tw_fw_udp_dropped() # ROUTER: UDP datagrams the router's filter dropped so far
{
	ip netns exec "$W-$1" nft list table ip wgrfw 2>/dev/null |
		awk '/l4proto udp counter/ { for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# tw_listening NAME PORT: 0 once something in NAME's namespace listens on TCP PORT.
tw_listening()
{
	world_x "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN
}

# tw_proxies: host "px" at $TW_PROXY_IP with tinyproxy and microsocks when installed (each
# missing one is noted in $WS/px.missing); the relay's name in px's hosts file.
tw_proxies()
{
	world_public px "$TW_PROXY_IP/24" || return 1
	mkdir -p "/etc/netns/$W-px" || return 1
	printf '127.0.0.1 localhost\n%s %s\n' "$(world_ip r1)" "$TW_NAME" >"/etc/netns/$W-px/hosts"
	: >"$WS/px.missing"
	if command -v tinyproxy >/dev/null 2>&1; then
		# CONNECT to the relay's 443 only; -d stays in the foreground, logging to stderr
		cat >"$WS/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port $TW_HTTP_PORT
Listen $TW_PROXY_IP
Timeout 600
MaxClients 64
Allow 198.51.100.0/24
ConnectPort 443
LogLevel Info
EOF
		world_x px tinyproxy -d -c "$WS/tinyproxy.conf" >>"$WS/px.tinyproxy.log" 2>&1 &
		world_pid $!
		world_wait 10 tw_listening px $TW_HTTP_PORT ||
			{ echo "tinyproxy did not start: $(tail -3 "$WS/px.tinyproxy.log")"; return 1; }
	else
		echo tinyproxy >>"$WS/px.missing"
	fi
	if command -v microsocks >/dev/null 2>&1; then
		world_x px microsocks -i "$TW_PROXY_IP" -p $TW_SOCKS_PORT >>"$WS/px.microsocks.log" 2>&1 &
		world_pid $!
		world_wait 10 tw_listening px $TW_SOCKS_PORT ||
			{ echo "microsocks did not start: $(tail -3 "$WS/px.microsocks.log")"; return 1; }
	else
		echo microsocks >>"$WS/px.missing"
	fi
	return 0
}

tw_has() # PROGRAM: 0 when the proxy host runs it (or, for nginx, it is installed)
{
	case $1 in
	nginx) command -v nginx >/dev/null 2>&1 ;;
	*) ! grep -qx "$1" "$WS/px.missing" 2>/dev/null ;;
	esac
}

# tw_nginx NAME UPSTREAM: nginx in relay host NAME's namespace on its public address, port
# 443, TLS with a self-signed certificate made now; /wgrelay goes to ws://UPSTREAM/wgrelay
# (the upgrade passed on), / answers "wgrelay-nginx" (for checks without the relay).
tw_nginx()
{
	d="$WS/nginx-$1"
	mkdir -p "$d/tmp" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$(world_ip "$1")" -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
		{ echo "openssl could not make a certificate"; return 1; }
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 512; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	server {
		listen $(world_ip "$1"):443 ssl;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		location = / { return 200 "wgrelay-nginx\n"; }
		location /wgrelay {
			proxy_pass http://$2;
			proxy_http_version 1.1;
			proxy_set_header Upgrade \$http_upgrade;
			proxy_set_header Connection "upgrade";
			proxy_set_header Host \$host;
			proxy_buffering off;
			proxy_read_timeout 1h;
			proxy_send_timeout 1h;
		}
	}
}
EOF
	world_x "$1" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;' \
		>>"$WS/$1.nginx.log" 2>&1 &
	world_pid $!
	world_wait 10 tw_listening "$1" 443 ||
		{ echo "nginx did not start: $(tail -3 "$d/error.log" "$WS/$1.nginx.log")"; return 1; }
}

# tw_metric_sum NAME PREFIX: the sum of every /metrics line of relay NAME whose name (labels
# included) starts with PREFIX; 0 when none.
tw_metric_sum()
{
	world_x "$1" curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
		awk -v p="$2" 'index($1, p) == 1 { s += $2 } END { printf "%d\n", s }'
}

tw_metric_lines() # NAME PREFIX: the /metrics lines of relay NAME starting with PREFIX
{
	world_x "$1" curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
		awk -v p="$2" 'index($1, p) == 1'
}

# tw_stream_peers NAME PORT: the remote addresses of NAME's established TCP connections on
# local port PORT, one a line.
tw_stream_peers()
{
	world_x "$1" ss -Htn state established "sport = :$2" 2>/dev/null |
		awk '{ a = $NF; sub(/:[0-9]+$/, "", a); print a }'
}

tw_cleanup() # what world_cleanup does not remove
{
	[ -n "$W" ] && rm -rf "/etc/netns/$W-px"
	rmdir /etc/netns 2>/dev/null # only when empty: another world may use it
	return 0
}
