/* config.c: wgrelayd.conf (see config.h and wgrelayd.conf(5)). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootline.h"
#include "conf.h"
#include "config.h"
#include "descriptor.h"
#include "file.h"
#include "key.h"
#include "proto.h"

static const char *const config_keys[] = {
    "Relay.Listen",
    "Relay.PortRange",
    "Relay.Modes",
    "Relay.KeyFile",
    "Relay.IdentityFile",
    "Relay.User",
    "Relay.Metrics",
    "Relay.AllowPrivate",
    "Relay.AllowLoopback",
    "Relay.StatsInterval",
    "Relay.Workers",
    "Relay.Coalesce",
    "Relay.BusyPoll",
    "Relay.Xdp",
    "Relay.XdpInterface",
    "Relay.SessionSockets",
    "Relay.Circuits",
    "Auth.Mode",
    "Auth.AllowedKeys",
    "Auth.Secret",
    "Auth.TokenMaxLifetime",
    "Limits.MaxReservations",
    "Limits.MaxReservationsPerClient",
    "Limits.MaxCircuits",
    "Limits.MaxCircuitsPerClient",
    "Limits.CircuitDuration",
    "Limits.CircuitBytes",
    "Limits.CircuitBandwidth",
    "Limits.SourceRate",
    "Limits.SourceBurst",
    "Limits.IdleTimeout",
    "Limits.LimitAuthenticated",
    "Limits.MaxLinks",
    "Limits.MaxLinksPerSource",
    "Limits.MaxReservationsPerSource",
    "Limits.MaxCircuitsPerSource",
    "Limits.MaxPacket",
    "Limits.MaxCircuitHops",
    "Limits.MaxCircuitHopsPerLink",
    "Limits.MaxCircuitHopsPerSource",
    "Network.Network",
    "Network.Peer",
    "Network.Trusted",
    "Network.MinLinks",
    "Network.MaxLinks",
    "Network.HeartbeatInterval",
    "Network.LinkTimeout",
    "Network.ReconnectInterval",
    "Network.MaxRetries",
    "Network.Advertise",
    "Network.Country",
    "Network.Location",
    "Network.Family",
    "Network.Bandwidth",
    "Network.DescriptorLifetime",
    "Network.StoreSize",
    "Network.AntiEntropyInterval",
    "Network.Dht",
    "Network.DhtListen",
    "Network.DhtBootstrap",
    "Network.DhtAnnounce",
    "Network.Proxy",
    "Transport.Listen",
    "Transport.WebSocketPath",
    "Transport.TlsCertificate",
    "Transport.TlsKey",
    "Transport.MaxConnections",
    "Transport.MaxConnectionsPerSource",
    "Transport.HandshakeTimeout",
    "Transport.QueueBytes",
    "Transport.Advertise",
    "Libp2p.Listen",
    "Libp2p.MaxReservations",
    "Libp2p.MaxReservationsPerPeer",
    "Libp2p.MaxReservationsPerSource",
    "Libp2p.MaxCircuits",
    "Libp2p.MaxCircuitsPerPeer",
    "Libp2p.CircuitDuration",
    "Libp2p.CircuitBytes",
    "Libp2p.ReservationTTL",
    "Libp2p.MaxConnections",
    "Libp2p.MaxConnectionsPerSource",
    "Libp2p.HandshakeTimeout",
    "Libp2p.MaxStreams",
    "Libp2p.IdleTimeout",
    NULL,
};

void config_defaults(struct relayd_config *c)
{
	memset(c, 0, sizeof(*c));
	addr_parse(&c->listen[0], "0.0.0.0:51821", 0);
	addr_parse(&c->listen[1], "[::]:51821", 0);
	c->n_listen = 2;
	c->port_lo = 50000;
	c->port_hi = 59999;
	c->mode_direct = c->mode_sealed = true;
	c->auth = AUTH_OPEN;
	c->token_max_lifetime_s = 86400;
	/* Seed 004's open-mode defaults. */
	c->limits.max_reservations = 1024;
	c->limits.max_reservations_per_client = 3;
	c->limits.max_circuits = 512;
	c->limits.max_circuits_per_client = 5;
	c->limits.circuit_duration_s = 3600;
	c->limits.circuit_bytes = 100ULL * 1024 * 1024;
	c->limits.source_rate = 20;
	c->limits.source_burst = 40;
	c->limits.idle_timeout_s = 180;
	/* OPERATING.md "Limits" gives the reasoning for these. */
	c->limits.max_links = 4096;
	c->limits.max_links_per_source = 64;
	c->limits.max_reservations_per_source = 32;
	c->limits.max_circuits_per_source = 16;
	/*
	 * The largest datagram WireGuard sends over a 1500-byte IPv4 path: 1500 - 20 (IPv4) - 8
	 * (UDP) = 1472 bytes of UDP payload, i.e. an inner MTU of 1472 - 32 (WireGuard's header
	 * and tag) = 1440. Over IPv6 the same path carries 1452. Jumbo-frame users raise it.
	 */
	c->limits.max_packet = 1472;
	c->limits.max_circuit_hops = 4096;
	c->limits.max_circuit_hops_per_link = 64;
	c->limits.max_circuit_hops_per_source = 256;
	snprintf(c->key_file, sizeof(c->key_file), "%s", CONFIG_DEFAULT_KEY);
	snprintf(c->metrics, sizeof(c->metrics), "127.0.0.1:9821");
	c->stats_interval_s = 60;
	c->workers = -1;
	c->coalesce = true;
	/* The relay network: off unless a Peer or Advertise line (or Network = on) says so. */
	c->net.network = -1;
	c->net.min_links = 3;
	c->net.max_links = 8;
	c->net.heartbeat_s = 60;
	c->net.link_timeout_s = 180;
	c->net.reconnect_s = 30;
	c->net.max_retries = 3;
	c->net.lifetime_s = 12 * 3600;
	c->net.store_size = 100000;
	c->net.anti_entropy_s = 30;
	c->net.dht_announce = true;
	/* Stream listeners: none unless [Transport] Listen names one (OPERATING.md). */
	snprintf(c->transport.ws_path, sizeof(c->transport.ws_path), "/wgrelay");
	c->transport.max_connections = 1024;
	c->transport.max_per_source = 16;
	c->transport.handshake_timeout_s = 10;
	c->transport.queue_bytes = 64 * 1024;
	/*
	 * libp2p Circuit Relay v2: off unless [Libp2p] Listen names an address. Seed 004's
	 * limits; CircuitBytes is 100 MB as that seed writes it (decimal), where [Limits] has
	 * 100 MiB; a source gets room for several peers behind one NAT address.
	 */
	c->libp2p.max_reservations = 1024;
	c->libp2p.max_reservations_per_peer = 3;
	c->libp2p.max_reservations_per_source = 16;
	c->libp2p.max_circuits = 512;
	c->libp2p.max_circuits_per_peer = 5;
	c->libp2p.circuit_duration_s = 3600;
	c->libp2p.circuit_bytes = 100000000;
	c->libp2p.reservation_ttl_s = 3600;
	c->libp2p.max_connections = 2048;
	c->libp2p.max_connections_per_source = 64;
	c->libp2p.handshake_timeout_s = 10;
	c->libp2p.max_streams = 64;
	c->libp2p.idle_timeout_s = 120;
}

const char *config_auth_name(enum auth_mode m)
{
	return m == AUTH_KEYS ? "keys" : m == AUTH_TOKEN ? "token" : "open";
}

int config_parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char a[16], b[16];
	const char *dash = strchr(s, '-');
	uint64_t x, y;

	if (!dash || (size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return -EINVAL;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = '\0';
	strcpy(b, dash + 1);
	if (conf_parse_u64(a, 1024, 65535, &x) < 0 || conf_parse_u64(b, 1024, 65535, &y) < 0)
		return -ERANGE;
	if (x > y)
		return -ERANGE;
	*lo = (uint16_t)x;
	*hi = (uint16_t)y;
	return 0;
}

int config_identity_path(const struct relayd_config *c, char *out, size_t cap)
{
	const char *slash;
	int n;

	if (*c->identity_file)
		n = snprintf(out, cap, "%s", c->identity_file);
	else if (!(slash = strrchr(c->key_file, '/')))
		n = snprintf(out, cap, "identity"); /* a key file named relative to here */
	else if (slash == c->key_file)
		n = snprintf(out, cap, "/identity");
	else
		n = snprintf(out, cap, "%.*s/identity", (int)(slash - c->key_file), c->key_file);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* One "DEGREES" number of a location, at most 6 decimals, within -max..max: microdegrees. */
static int config_degrees(const char *s, size_t n, double max, int32_t *out)
{
	char buf[32], *end;
	double v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* Plain decimal only: strtod would also take hex, "inf" and "nan". */
	if (strspn(buf, "+-0123456789.") != n)
		return -EINVAL;
	v = strtod(buf, &end);
	if (*end || end == buf)
		return -EINVAL;
	if (v < -max || v > max)
		return -ERANGE;
	*out = (int32_t)(v >= 0 ? v * 1e6 + 0.5 : v * 1e6 - 0.5); /* rounded, without libm */
	return 0;
}

int config_parse_location(const char *s, int32_t *lat_e6, int32_t *lon_e6)
{
	const char *comma = strchr(s, ',');
	size_t a, b;
	int32_t lat, lon;
	int r;

	if (!comma)
		return -EINVAL;
	a = (size_t)(comma - s);
	while (a && (s[a - 1] == ' ' || s[a - 1] == '\t'))
		a--;
	comma++;
	comma += strspn(comma, " \t");
	b = strlen(comma);
	while (b && (comma[b - 1] == ' ' || comma[b - 1] == '\t'))
		b--;
	if ((r = config_degrees(s, a, 90, &lat)) < 0 ||
	    (r = config_degrees(comma, b, 180, &lon)) < 0)
		return r;
	*lat_e6 = lat;
	*lon_e6 = lon;
	return 0;
}

static int config_err(char *err, size_t errlen, const struct conf *f, const struct conf_entry *e,
                      const char *what)
{
	snprintf(err, errlen, "%s:%u: %s '%s' for %s", f->name, e->line, what, e->value, e->key);
	return -EINVAL;
}

static int config_strcpy(char *dst, size_t cap, const struct conf *f, const struct conf_entry *e,
                         char *err, size_t errlen)
{
	if (strlen(e->value) >= cap)
		return config_err(err, errlen, f, e, "value too long");
	strcpy(dst, e->value);
	return 0;
}

/* Modes = words from direct and sealed, blanks or commas between; any other word is an error. */
static int config_modes(struct relayd_config *c, const struct conf *f, const struct conf_entry *e,
                        char *err, size_t errlen)
{
	bool direct = false, sealed = false;
	const char *p = e->value;

	for (;;) {
		size_t n;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		n = strcspn(p, " \t,");
		if (n == 6 && !strncasecmp(p, "direct", 6)) {
			direct = true;
		} else if (n == 6 && !strncasecmp(p, "sealed", 6)) {
			sealed = true;
		} else {
			snprintf(err, errlen,
			         "%s:%u: unknown mode '%.*s' for Modes (direct, sealed)", f->name,
			         e->line, (int)n, p);
			return -EINVAL;
		}
		p += n;
	}
	if (!direct && !sealed)
		return config_err(err, errlen, f, e, "no mode (direct, sealed)");
	c->mode_direct = direct;
	c->mode_sealed = sealed;
	return 0;
}

int config_parse_xdp(const char *s, enum xdp_mode *m)
{
	char low[8];
	size_t i;

	for (i = 0; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	if (s[i])
		return -EINVAL;
	low[i] = '\0';
	return xdp_mode_parse(low, m);
}

int config_parse_session_sockets(const char *s, bool *shared)
{
	if (!strcasecmp(s, "each"))
		*shared = false;
	else if (!strcasecmp(s, "shared"))
		*shared = true;
	else
		return -EINVAL;
	return 0;
}

/*
 * A name the kernel takes for an interface (its dev_valid_name): 1 to 15 bytes, not "." or
 * "..", no '/', ':' or blank; printable ASCII and no '%' (a name template, never a device's).
 */
static bool config_ifname_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= CONFIG_IFNAME_LEN || !strcmp(v, ".") || !strcmp(v, ".."))
		return false;
	for (const char *p = v; *p; p++)
		if (*p <= 0x20 || *p > 0x7e || *p == '/' || *p == ':' || *p == '%')
			return false;
	return true;
}

/* Xdp and XdpInterface (read at start only; fastpath.c). Interface lines replace the default
 * (none: every interface that is up and not loopback), like Listen. */
static int config_xdp(struct relayd_config *c, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = NULL;

	if ((e = conf_last(f, "Relay", "Xdp")) && config_parse_xdp(e->value, &c->xdp) < 0)
		return config_err(err, errlen, f, e, "unknown mode (off, auto, native, generic)");
	e = NULL;
	if (conf_last(f, "Relay", "XdpInterface"))
		c->n_xdp_if = 0;
	while ((e = conf_next(f, "Relay", "XdpInterface", e))) {
		if (c->n_xdp_if == CONFIG_MAX_XDP_IF)
			return config_err(err, errlen, f, e, "too many interfaces at");
		if (!config_ifname_ok(e->value))
			return config_err(err, errlen, f, e, "bad interface name");
		for (int i = 0; i < c->n_xdp_if; i++)
			if (!strcmp(c->xdp_if[i], e->value))
				return config_err(err, errlen, f, e, "interface named twice");
		strcpy(c->xdp_if[c->n_xdp_if++], e->value);
	}
	return 0;
}

static int config_relay(struct relayd_config *c, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = NULL;
	int r;

	if (conf_last(f, "Relay", "Listen")) {
		c->n_listen = 0;
		while ((e = conf_next(f, "Relay", "Listen", e))) {
			if (c->n_listen == CONFIG_MAX_LISTEN)
				return config_err(err, errlen, f, e, "too many addresses at");
			if (addr_parse(&c->listen[c->n_listen++], e->value, 51821) < 0)
				return config_err(err, errlen, f, e, "bad address");
		}
	}
	if ((e = conf_last(f, "Relay", "PortRange")) &&
	    config_parse_range(e->value, &c->port_lo, &c->port_hi) < 0)
		return config_err(err, errlen, f, e, "bad range (LO-HI within 1024-65535)");
	if ((e = conf_last(f, "Relay", "Modes")) && (r = config_modes(c, f, e, err, errlen)) < 0)
		return r;
	if ((e = conf_last(f, "Relay", "KeyFile")) &&
	    (r = config_strcpy(c->key_file, sizeof(c->key_file), f, e, err, errlen)) < 0)
		return r;
	if ((e = conf_last(f, "Relay", "IdentityFile")) &&
	    (r = config_strcpy(c->identity_file, sizeof(c->identity_file), f, e, err, errlen)) < 0)
		return r;
	if ((e = conf_last(f, "Relay", "User")) &&
	    (r = config_strcpy(c->user, sizeof(c->user), f, e, err, errlen)) < 0)
		return r;
	if ((e = conf_last(f, "Relay", "Metrics"))) {
		struct addr a;

		if (strcmp(e->value, "off") && addr_parse(&a, e->value, 0) < 0)
			return config_err(err, errlen, f, e, "bad address (ADDR:PORT or off)");
		if ((r = config_strcpy(c->metrics, sizeof(c->metrics), f, e, err, errlen)) < 0)
			return r;
	}
	if ((r = conf_get_bool(f, "Relay", "AllowPrivate", &c->policy.allow_private, err, errlen)) <
	        0 &&
	    r != -ENOENT)
		return r;
	if ((r = conf_get_bool(f, "Relay", "AllowLoopback", &c->policy.allow_loopback, err,
	                       errlen)) < 0 &&
	    r != -ENOENT)
		return r;
	if ((e = conf_last(f, "Relay", "Workers"))) {
		uint64_t v;

		if (!strcasecmp(e->value, "auto"))
			c->workers = -1;
		else if (conf_parse_u64(e->value, 0, CONFIG_MAX_WORKERS, &v) < 0)
			return config_err(err, errlen, f, e, "bad number (0-64 or auto)");
		else
			c->workers = (int)v;
	}
	if ((r = conf_get_bool(f, "Relay", "Coalesce", &c->coalesce, err, errlen)) < 0 &&
	    r != -ENOENT)
		return r;
	{
		uint64_t us = c->busy_poll_us;

		if ((r = conf_get_u64(f, "Relay", "BusyPoll", 0, 1000, &us, err, errlen)) < 0 &&
		    r != -ENOENT)
			return r;
		c->busy_poll_us = (unsigned)us;
	}
	if ((r = conf_get_duration(f, "Relay", "StatsInterval", 1, 86400, &c->stats_interval_s, err,
	                           errlen)) < 0 &&
	    r != -ENOENT)
		return r;
	if ((r = conf_get_bool(f, "Relay", "Circuits", &c->circuits, err, errlen)) < 0 &&
	    r != -ENOENT)
		return r;
	if ((e = conf_last(f, "Relay", "SessionSockets")) &&
	    config_parse_session_sockets(e->value, &c->shared_ports) < 0)
		return config_err(err, errlen, f, e, "unknown value (each, shared)");
	return config_xdp(c, f, err, errlen);
}

static int config_auth(struct relayd_config *c, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = NULL;
	int r;

	if ((e = conf_last(f, "Auth", "Mode"))) {
		if (!strcasecmp(e->value, "open"))
			c->auth = AUTH_OPEN;
		else if (!strcasecmp(e->value, "keys"))
			c->auth = AUTH_KEYS;
		else if (!strcasecmp(e->value, "token"))
			c->auth = AUTH_TOKEN;
		else
			return config_err(err, errlen, f, e, "unknown mode (open, keys, token)");
	}
	if ((e = conf_last(f, "Auth", "AllowedKeys")) &&
	    (r = config_strcpy(c->allowed_keys_file, sizeof(c->allowed_keys_file), f, e, err,
	                       errlen)) < 0)
		return r;
	e = NULL;
	if (conf_last(f, "Auth", "Secret"))
		c->n_secrets = 0;
	while ((e = conf_next(f, "Auth", "Secret", e))) {
		if (c->n_secrets == CONFIG_MAX_SECRETS)
			return config_err(err, errlen, f, e, "too many secrets at");
		if (strlen(e->value) < 16)
			return config_err(err, errlen, f, e, "secret shorter than 16 characters");
		if ((r = config_strcpy(c->secrets[c->n_secrets++], sizeof(c->secrets[0]), f, e, err,
		                       errlen)) < 0)
			return r;
	}
	if ((r = conf_get_duration(f, "Auth", "TokenMaxLifetime", 1, 365 * 86400,
	                           &c->token_max_lifetime_s, err, errlen)) < 0 &&
	    r != -ENOENT)
		return r;
	return 0;
}

static int config_limits(struct limits *l, const struct conf *f, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
		int kind; /* 0 number, 1 size, 2 duration */
	} nums[] = {
	    {"MaxReservations", offsetof(struct limits, max_reservations), 0},
	    {"MaxReservationsPerClient", offsetof(struct limits, max_reservations_per_client), 0},
	    {"MaxCircuits", offsetof(struct limits, max_circuits), 0},
	    {"MaxCircuitsPerClient", offsetof(struct limits, max_circuits_per_client), 0},
	    {"CircuitDuration", offsetof(struct limits, circuit_duration_s), 2},
	    {"CircuitBytes", offsetof(struct limits, circuit_bytes), 1},
	    {"CircuitBandwidth", offsetof(struct limits, circuit_kbps), 0},
	    {"SourceRate", offsetof(struct limits, source_rate), 0},
	    {"SourceBurst", offsetof(struct limits, source_burst), 0},
	    {"IdleTimeout", offsetof(struct limits, idle_timeout_s), 2},
	    {"MaxLinks", offsetof(struct limits, max_links), 0},
	    {"MaxLinksPerSource", offsetof(struct limits, max_links_per_source), 0},
	    {"MaxReservationsPerSource", offsetof(struct limits, max_reservations_per_source), 0},
	    {"MaxCircuitsPerSource", offsetof(struct limits, max_circuits_per_source), 0},
	    {"MaxCircuitHops", offsetof(struct limits, max_circuit_hops), 0},
	    {"MaxCircuitHopsPerLink", offsetof(struct limits, max_circuit_hops_per_link), 0},
	    {"MaxCircuitHopsPerSource", offsetof(struct limits, max_circuit_hops_per_source), 0},
	};
	int r;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t *v = (uint64_t *)((char *)l + nums[i].off);

		if (nums[i].kind == 0)
			r = conf_get_u64(f, "Limits", nums[i].key, 0, 1000000000, v, err, errlen);
		else if (nums[i].kind == 1)
			r = conf_get_size(f, "Limits", nums[i].key, 0, UINT64_MAX, v, err, errlen);
		else
			r = conf_get_duration(f, "Limits", nums[i].key, 0, 365 * 86400, v, err,
			                      errlen);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	/* At least a minimal WireGuard message (32), at most what UDP carries over IPv6 jumbo. */
	r = conf_get_size(f, "Limits", "MaxPacket", 32, 65527, &l->max_packet, err, errlen);
	if (r < 0 && r != -ENOENT)
		return r;
	r = conf_get_bool(f, "Limits", "LimitAuthenticated", &l->limit_authenticated, err, errlen);
	return r == -ENOENT ? 0 : r;
}

/* Peer and Trusted lines: a section's lines replace the defaults (none), like Listen. */
static int config_net_lists(struct net_config *n, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = NULL;

	if (conf_last(f, "Network", "Peer"))
		n->n_peers = 0;
	while ((e = conf_next(f, "Network", "Peer", e))) {
		struct net_peer_cfg *p = &n->peers[n->n_peers];

		if (n->n_peers == CONFIG_MAX_PEERS)
			return config_err(err, errlen, f, e, "too many peers at");
		size_t nu = 0;

		if (bootline_parse_urls(e->value, PROTO_DEFAULT_PORT, &p->addr, p->key, p->urls,
		                        CONFIG_MAX_PEER_URLS, &nu, NULL) < 0)
			return config_err(
			    err, errlen, f, e,
			    "bad peer (HOST:PORT KEY [tcp|tls|ws|wss://HOST:PORT ...])");
		p->n_urls = (uint8_t)nu;
		n->n_peers++;
	}
	/* A proxy reached by name would need DNS before the first link: an address it is. */
	if ((e = conf_last(f, "Network", "Proxy"))) {
		struct turl h = {.kind = TURL_TCP};

		if (turl_proxy_parse(&n->proxy, e->value) < 0)
			return config_err(
			    err, errlen, f, e,
			    "bad proxy (socks5://[USER:PASS@]IP:PORT or http://IP:PORT)");
		memcpy(h.host, n->proxy.host, sizeof(h.host));
		if (!turl_host_addr(&h, NULL))
			return config_err(err, errlen, f, e, "proxy not an IP address");
	}
	e = NULL;
	if (conf_last(f, "Network", "Trusted"))
		n->n_trusted = 0;
	while ((e = conf_next(f, "Network", "Trusted", e))) {
		if (n->n_trusted == CONFIG_MAX_TRUSTED)
			return config_err(err, errlen, f, e, "too many trusted keys at");
		if (key_from_base64(n->trusted[n->n_trusted], e->value) < 0)
			return config_err(err, errlen, f, e, "bad key (base64 identity key)");
		n->n_trusted++;
	}
	return 0;
}

/* What a descriptor says about the relay: where, who runs it, how fast. */
static int config_net_claims(struct net_config *n, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e;
	int r;

	if ((e = conf_last(f, "Network", "Advertise"))) {
		struct addr a;

		if (addr_parse(&a, e->value, 0) < 0)
			return config_err(err, errlen, f, e, "bad address (IP:PORT)");
		if (addr_classify(&a) & (ADDR_UNSPECIFIED | ADDR_MULTICAST | ADDR_BROADCAST))
			return config_err(err, errlen, f, e, "not a specific address");
		n->advertise = a;
	}
	if ((e = conf_last(f, "Network", "Country"))) {
		const char *v = e->value;

		if (strlen(v) != 2 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z') ||
		    !((v[1] | 0x20) >= 'a' && (v[1] | 0x20) <= 'z'))
			return config_err(err, errlen, f, e, "bad country (two letters, ISO 3166)");
		n->country[0] = (char)(v[0] & ~0x20);
		n->country[1] = (char)(v[1] & ~0x20);
		n->country[2] = '\0';
	}
	if ((e = conf_last(f, "Network", "Location"))) {
		if (config_parse_location(e->value, &n->lat_e6, &n->lon_e6) < 0)
			return config_err(err, errlen, f, e,
			                  "bad location (LAT,LON in degrees, -90..90,-180..180)");
		n->has_location = true;
	}
	if ((e = conf_last(f, "Network", "Family"))) {
		for (const char *p = e->value; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				return config_err(err, errlen, f, e, "not printable ASCII");
		if ((r = config_strcpy(n->family, sizeof(n->family), f, e, err, errlen)) < 0)
			return r;
	}
	r = conf_get_u64(f, "Network", "Bandwidth", 0, UINT32_MAX, &n->bandwidth_kbps, err, errlen);
	return r == -ENOENT ? 0 : r;
}

/*
 * DescriptorLifetime: a bare number is hours (1..168, as it always was); with a unit (90s, 5m,
 * 12h, 2d) any duration from CONFIG_MIN_LIFETIME_S to a week (§9's most), so that a test
 * world can see descriptors of dead relays expire within minutes.
 */
static int config_net_lifetime(struct net_config *n, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = conf_last(f, "Network", "DescriptorLifetime");
	const char *v;
	uint64_t x;

	if (!e)
		return 0;
	v = e->value;
	while (*v >= '0' && *v <= '9')
		v++;
	if (v != e->value && !*v) {
		if (conf_parse_u64(e->value, 1, DESC_MAX_LIFETIME_S / 3600, &x) < 0)
			return config_err(err, errlen, f, e, "not 1..168 hours (or 60s..7d)");
		x *= 3600;
	} else if (conf_parse_duration(e->value, CONFIG_MIN_LIFETIME_S, DESC_MAX_LIFETIME_S, &x) <
	           0) {
		return config_err(err, errlen, f, e, "not a lifetime from 60s to 7d (bare: hours)");
	}
	n->lifetime_s = x;
	return 0;
}

static int config_network(struct net_config *n, const struct conf *f, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
		uint64_t min, max;
		bool duration;
	} nums[] = {
	    {"MinLinks", offsetof(struct net_config, min_links), 0, 256, false},
	    {"MaxLinks", offsetof(struct net_config, max_links), 1, 256, false},
	    {"HeartbeatInterval", offsetof(struct net_config, heartbeat_s), 1, 3600, true},
	    {"LinkTimeout", offsetof(struct net_config, link_timeout_s), 2, 86400, true},
	    {"ReconnectInterval", offsetof(struct net_config, reconnect_s), 1, 86400, true},
	    {"MaxRetries", offsetof(struct net_config, max_retries), 0, 1000, false},
	    {"StoreSize", offsetof(struct net_config, store_size), 16, 10000000, false},
	    {"AntiEntropyInterval", offsetof(struct net_config, anti_entropy_s), 1, 3600, true},
	};
	const struct conf_entry *e;
	bool on;
	int r;

	if ((r = config_net_lists(n, f, err, errlen)) < 0 ||
	    (r = config_net_claims(n, f, err, errlen)) < 0 ||
	    (r = config_net_lifetime(n, f, err, errlen)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t *v = (uint64_t *)((char *)n + nums[i].off);

		r = nums[i].duration ? conf_get_duration(f, "Network", nums[i].key, nums[i].min,
		                                         nums[i].max, v, err, errlen)
		                     : conf_get_u64(f, "Network", nums[i].key, nums[i].min,
		                                    nums[i].max, v, err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	if (n->min_links > n->max_links) {
		e = conf_last(f, "Network", "MinLinks");
		if (!e)
			e = conf_last(f, "Network", "MaxLinks");
		snprintf(err, errlen, "%s:%u: MinLinks %llu above MaxLinks %llu '%s' for %s",
		         f->name, e->line, (unsigned long long)n->min_links,
		         (unsigned long long)n->max_links, e->value, e->key);
		return -EINVAL;
	}
	if (n->link_timeout_s <= n->heartbeat_s) {
		e = conf_last(f, "Network", "LinkTimeout");
		if (!e)
			e = conf_last(f, "Network", "HeartbeatInterval");
		snprintf(err, errlen,
		         "%s:%u: LinkTimeout %llus not above HeartbeatInterval %llus '%s' for %s",
		         f->name, e->line, (unsigned long long)n->link_timeout_s,
		         (unsigned long long)n->heartbeat_s, e->value, e->key);
		return -EINVAL;
	}
	if ((r = conf_get_bool(f, "Network", "Network", &on, err, errlen)) == 0)
		n->network = on;
	else if (r != -ENOENT)
		return r;
	return 0;
}

/*
 * A DhtBootstrap value: HOST:PORT, HOST an IPv4 address or a DNS name (resolved at start). The
 * DHT node speaks IPv4 only (PROTOCOL.md §11.3), so an IPv6 literal is refused here.
 */
static bool config_dht_host(const char *v)
{
	const char *colon = strrchr(v, ':');
	bool numeric = true;
	uint64_t port;
	struct addr a;

	if (!colon || colon == v || strchr(v, ':') != colon || colon - v > 253 ||
	    conf_parse_u64(colon + 1, 1, 65535, &port) < 0)
		return false;
	for (const char *p = v; p < colon; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
		numeric &= (*p >= '0' && *p <= '9') || *p == '.';
	}
	/* Digits and dots are an address, never a name: "10.1.2" must not reach the resolver. */
	return !numeric || addr_parse(&a, v, 0) == 0;
}

int config_dht_listen(const struct relayd_config *c, struct addr *out)
{
	struct addr a = c->net.dht_listen;

	if (!a.len) {
		for (int i = 0; i < c->n_listen && !a.len; i++)
			if (addr_family(&c->listen[i]) == AF_INET)
				a = c->listen[i];
		if (!a.len)
			return -EADDRNOTAVAIL;
		if (addr_port(&a) == 65535)
			return -ERANGE;
		addr_set_port(&a, (uint16_t)(addr_port(&a) + 1));
	}
	for (int i = 0; i < c->n_listen; i++) {
		const struct addr *l = &c->listen[i];
		bool wild =
		    (addr_classify(l) & ADDR_UNSPECIFIED) || (addr_classify(&a) & ADDR_UNSPECIFIED);

		/* A wildcard of either family may cover the other (a dual-stack [::]). */
		if (addr_port(l) == addr_port(&a) && (wild || addr_equal_ip(l, &a)))
			return -EADDRINUSE;
	}
	*out = a;
	return 0;
}

/* [Network] Dht, DhtListen, DhtBootstrap, DhtAnnounce (after Listen is known). */
static int config_dht(struct relayd_config *c, const struct conf *f, char *err, size_t errlen)
{
	struct net_config *n = &c->net;
	const struct conf_entry *e = NULL;
	struct addr a;
	int r;

	if ((r = conf_get_bool(f, "Network", "Dht", &n->dht, err, errlen)) < 0 && r != -ENOENT)
		return r;
	r = conf_get_bool(f, "Network", "DhtAnnounce", &n->dht_announce, err, errlen);
	if (r < 0 && r != -ENOENT)
		return r;
	if (conf_last(f, "Network", "DhtBootstrap"))
		n->n_dht_boot = 0;
	while ((e = conf_next(f, "Network", "DhtBootstrap", e))) {
		if (n->n_dht_boot == CONFIG_MAX_DHT_BOOT)
			return config_err(err, errlen, f, e, "too many DHT bootstrap nodes at");
		if (!config_dht_host(e->value))
			return config_err(err, errlen, f, e,
			                  "bad DHT node (HOST:PORT, an IPv4 address or a name)");
		r = config_strcpy(n->dht_boot[n->n_dht_boot], CONFIG_DHT_HOST, f, e, err, errlen);
		if (r < 0)
			return r;
		n->n_dht_boot++;
	}
	if (!(e = conf_last(f, "Network", "DhtListen")))
		return 0;
	if (addr_parse(&a, e->value, 0) < 0 || addr_family(&a) != AF_INET)
		return config_err(err, errlen, f, e,
		                  "bad DHT address (IPv4:PORT; the DHT is IPv4)");
	if (addr_classify(&a) & (ADDR_MULTICAST | ADDR_BROADCAST))
		return config_err(err, errlen, f, e, "not a unicast address");
	n->dht_listen = a;
	if (config_dht_listen(c, &a) == -EADDRINUSE)
		return config_err(err, errlen, f, e,
		                  "the port of a Listen address (the DHT has its own)");
	return 0;
}

int config_load(struct relayd_config *c, const char *path, bool must_exist, char *err,
                size_t errlen)
{
	struct conf *f;
	int r = conf_load(&f, path, err, errlen);

	if (r == -ENOENT && !must_exist)
		return 0;
	if (r < 0)
		return r;
	if ((r = conf_check_keys(f, config_keys, err, errlen)) < 0 ||
	    (r = config_relay(c, f, err, errlen)) < 0 || (r = config_auth(c, f, err, errlen)) < 0 ||
	    (r = config_limits(&c->limits, f, err, errlen)) < 0 ||
	    (r = config_network(&c->net, f, err, errlen)) < 0 ||
	    (r = config_dht(c, f, err, errlen)) < 0 ||
	    (r = config_transport(&c->transport, f, err, errlen)) < 0 ||
	    (r = config_libp2p(&c->libp2p, f, err, errlen)) < 0)
		goto out;
	c->net.on =
	    c->net.network == 1 ||
	    (c->net.network < 0 && (c->net.n_peers > 0 || c->net.advertise.len || c->net.dht));
	if (c->auth == AUTH_KEYS && !*c->allowed_keys_file) {
		snprintf(err, errlen, "%s: Mode = keys needs AllowedKeys = FILE in [Auth]", path);
		r = -EINVAL;
	} else if (c->auth == AUTH_TOKEN && c->n_secrets == 0) {
		snprintf(err, errlen, "%s: Mode = token needs at least one Secret in [Auth]", path);
		r = -EINVAL;
	}
out:
	conf_free(f);
	return r;
}

int config_load_allowlist(const char *path, uint8_t (**keys)[KEY_LEN], size_t *n, char *err,
                          size_t errlen)
{
	uint8_t(*v)[KEY_LEN] = NULL;
	char *text = NULL, line[FILE_MAX_LINE + 1];
	struct file_lines it;
	const char *p;
	size_t len = 0, l, cnt = 0, cap = 0;
	int r;

	*keys = NULL;
	*n = 0;
	r = file_read_all(path, 0, CONFIG_MAX_ALLOWLIST, &text, &len, err, errlen);
	if (r < 0)
		return r;
	file_lines_init(&it, text, len);
	/* Whole lines: the tail of an over-long comment must never pass for a key of its own. */
	while (file_lines_next(&it, &p, &l)) {
		char *s, *e;

		if (l > FILE_MAX_LINE) {
			snprintf(err, errlen, "%s:%u: line too long (over %d characters)", path,
			         it.lineno, FILE_MAX_LINE);
			r = -EINVAL;
			goto out;
		}
		if (memchr(p, '\0', l)) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", path, it.lineno);
			r = -EINVAL;
			goto out;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		if ((e = strchr(line, '#')))
			*e = '\0';
		for (s = line; *s == ' ' || *s == '\t';)
			s++;
		for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r');)
			*--e = '\0';
		if (!*s)
			continue;
		if (cnt == cap) {
			void *k = realloc(v, (cap = cap ? cap * 2 : 16) * KEY_LEN);

			if (!k) {
				snprintf(err, errlen, "%s: out of memory", path);
				r = -ENOMEM;
				goto out;
			}
			v = k;
		}
		if (key_from_base64(v[cnt], s) < 0) {
			snprintf(err, errlen, "%s:%u: bad public key '%s'", path, it.lineno, s);
			r = -EINVAL;
			goto out;
		}
		cnt++;
	}
	*keys = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	free(text);
	return r;
}
