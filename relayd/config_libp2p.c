/*
 * config_libp2p.c: the [Libp2p] section of wgrelayd.conf (wgrelayd.conf(5) "LIBP2P"): where
 * the libp2p Circuit Relay v2 listener accepts TCP connections, and its limits (reservations,
 * circuits, connections). Parsing only; relayd/libp2p*.c opens the socket and enforces them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "config.h"

static int clp_err(char *err, size_t errlen, const struct conf *f, const struct conf_entry *e,
                   const char *what)
{
	snprintf(err, errlen, "%s:%u: %s '%s' for %s", f->name, e->line, what, e->value, e->key);
	return -EINVAL;
}

int config_libp2p_listen(struct addr *a, const char *s)
{
	struct addr v;

	if (!strcmp(s, "off")) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (addr_parse(&v, s, 0) < 0)
		return -EINVAL;
	if (addr_classify(&v) & (ADDR_MULTICAST | ADDR_BROADCAST))
		return -EADDRNOTAVAIL;
	*a = v;
	return 0;
}

/* Listen: one TCP address, the last line winning like any single-valued key; "off": none. */
static int clp_listen(struct libp2p_config *l, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = conf_last(f, "Libp2p", "Listen");
	int r;

	if (!e)
		return 0;
	if ((r = config_libp2p_listen(&l->listen, e->value)) == -EADDRNOTAVAIL)
		return clp_err(err, errlen, f, e, "not a unicast address");
	if (r < 0)
		return clp_err(err, errlen, f, e, "bad address (ADDR:PORT or off)");
	return 0;
}

int config_libp2p(struct libp2p_config *l, const struct conf *f, char *err, size_t errlen)
{
	enum { NUM, SIZE, DURATION };
	/*
	 * Counts stay within what the reservation table keeps in 32 bits; 0 refuses every request
	 * of its kind. CircuitDuration travels as a uint32 of seconds in a Limit (circuit-v2.md);
	 * 0 there means no limit and none is sent. ReservationTTL starts at 10 s for test worlds:
	 * js-libp2p renews 5 min before expiry but never sooner than 30 s after reserving, so an
	 * operator wants minutes, not seconds.
	 */
	static const struct {
		const char *key;
		size_t off;
		uint64_t min, max;
		int kind;
	} nums[] = {
	    {"MaxReservations", offsetof(struct libp2p_config, max_reservations), 0, 1000000, NUM},
	    {"MaxReservationsPerPeer", offsetof(struct libp2p_config, max_reservations_per_peer), 0,
	     1000, NUM},
	    {"MaxReservationsPerSource",
	     offsetof(struct libp2p_config, max_reservations_per_source), 0, 1000000, NUM},
	    {"MaxCircuits", offsetof(struct libp2p_config, max_circuits), 0, 1000000, NUM},
	    {"MaxCircuitsPerPeer", offsetof(struct libp2p_config, max_circuits_per_peer), 0,
	     1000000, NUM},
	    {"CircuitDuration", offsetof(struct libp2p_config, circuit_duration_s), 0, 365 * 86400,
	     DURATION},
	    {"CircuitBytes", offsetof(struct libp2p_config, circuit_bytes), 0, UINT64_MAX, SIZE},
	    {"ReservationTTL", offsetof(struct libp2p_config, reservation_ttl_s), 10, 7 * 86400,
	     DURATION},
	    {"MaxConnections", offsetof(struct libp2p_config, max_connections), 1, 1000000, NUM},
	    {"MaxConnectionsPerSource", offsetof(struct libp2p_config, max_connections_per_source),
	     1, 1000000, NUM},
	    {"HandshakeTimeout", offsetof(struct libp2p_config, handshake_timeout_s), 1, 300,
	     DURATION},
	    /* A connection needs a few streams of its own (identify, hop, ping) besides circuits. */
	    {"MaxStreams", offsetof(struct libp2p_config, max_streams), 4, 4096, NUM},
	    {"IdleTimeout", offsetof(struct libp2p_config, idle_timeout_s), 0, 86400, DURATION},
	};
	int r;

	if ((r = clp_listen(l, f, err, errlen)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t *v = (uint64_t *)((char *)l + nums[i].off);

		if (nums[i].kind == NUM)
			r = conf_get_u64(f, "Libp2p", nums[i].key, nums[i].min, nums[i].max, v, err,
			                 errlen);
		else if (nums[i].kind == SIZE)
			r = conf_get_size(f, "Libp2p", nums[i].key, nums[i].min, nums[i].max, v,
			                  err, errlen);
		else
			r = conf_get_duration(f, "Libp2p", nums[i].key, nums[i].min, nums[i].max, v,
			                      err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}
