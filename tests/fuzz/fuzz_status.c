/*
 * Fuzz target: `wgrelay status` (status.c) over whatever the cache holds: helper, interface,
 * peer, plan, session and relay records with any text and numbers, merged with live peers
 * whose keys and endpoints sometimes match them. The three outputs (text, JSON, dump) and the
 * merge must take all of it without reading or writing out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name from the bytes, or (one time in two) the one the other records use. */
static void shared_text(struct fz *z, char *dst, size_t cap, const char *common)
{
	if (fz_u8(z) & 1)
		snprintf(dst, cap, "%s", common);
	else
		fz_text(z, dst, cap);
}

static void live_peers(struct fz *z, struct status_live_peer *lp, size_t n)
{
	char ep[ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		memset(&lp[i], 0, sizeof(lp[i]));
		shared_text(z, lp[i].key, sizeof(lp[i].key), "PEER");
		fz_text(z, ep, sizeof(ep));
		if (addr_parse(&lp[i].ep, ep, 51820) == 0)
			addr_format(&lp[i].ep, lp[i].endpoint, sizeof(lp[i].endpoint));
		lp[i].last_handshake = (int64_t)fz_u64(z);
		lp[i].rx_bytes = fz_u64(z);
		lp[i].tx_bytes = fz_u64(z);
		lp[i].keepalive = (uint16_t)fz_u64(z);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct fz z = {data, size};
	struct cache_helper h;
	struct cache_iface ifs[2];
	struct status_live_peer lp[3];
	struct status_dev_info dev = {.state = STATUS_DEV_UP, .backend = "userspace"};
	struct cache_peer peers[4];
	struct cache_plan plans[3];
	struct cache_session sessions[3];
	struct cache_relay relays[4];
	struct status_in in = {.now = 1700000000};
	struct status_peer out;

	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	memset(&h, 0, sizeof(h));
	h.pid = (int64_t)fz_u64(&z);
	h.tick = (int64_t)fz_u64(&z);
	FZ_TEXT(&z, h.pubkey);
	FZ_TEXT(&z, h.public_addr);
	FZ_TEXT(&z, h.geoip);
	in.helper = fz_u8(&z) & 1 ? &h : NULL;
	in.helper_alive = fz_u8(&z) & 1;
	in.geoip_present = fz_u8(&z) & 1;
	shared_text(&z, dev.name, sizeof(dev.name), "wg0");
	dev.state = (enum status_dev)(fz_u8(&z) % 4);
	dev.err = -(int)(fz_u8(&z) % 40);
	FZ_TEXT(&z, dev.pubkey);
	dev.listen_port = (uint16_t)fz_u64(&z);
	dev.n_peers = fz_u8(&z) % 4;
	live_peers(&z, lp, dev.n_peers);
	dev.peers = lp;
	in.n_ifs = fz_u8(&z) % 3;
	for (size_t i = 0; i < in.n_ifs; i++) {
		fz_iface(&z, &ifs[i]);
		shared_text(&z, ifs[i].name, sizeof(ifs[i].name), "wg0");
	}
	in.n_peers = fz_u8(&z) % 5;
	for (size_t i = 0; i < in.n_peers; i++) {
		fz_peer(&z, &peers[i]);
		shared_text(&z, peers[i].iface, sizeof(peers[i].iface), "wg0");
		shared_text(&z, peers[i].peer, sizeof(peers[i].peer), "PEER");
	}
	in.n_plans = fz_u8(&z) % 4;
	for (size_t i = 0; i < in.n_plans; i++) {
		fz_plan(&z, &plans[i]);
		shared_text(&z, plans[i].peer, sizeof(plans[i].peer), "PEER");
	}
	in.n_sessions = fz_u8(&z) % 4;
	for (size_t i = 0; i < in.n_sessions; i++) {
		fz_session(&z, &sessions[i]);
		shared_text(&z, sessions[i].peer, sizeof(sessions[i].peer), "PEER");
	}
	in.n_relays = fz_u8(&z) % 5;
	for (size_t i = 0; i < in.n_relays; i++)
		fz_relay(&z, &relays[i]);
	in.ifs = ifs;
	in.devs = &dev;
	in.n_devs = 1;
	in.peers = peers;
	in.plans = plans;
	in.sessions = sessions;
	in.relays = relays;
	for (size_t i = 0; i < dev.n_peers; i++) {
		status_merge(&in, &dev, &lp[i], &out);
		if (!out.path || strnlen(out.note, sizeof(out.note)) == sizeof(out.note))
			abort();
	}
	status_print_text(null, &in);
	status_print_json(null, &in);
	status_print_dump(null, &in);
	return 0;
}
