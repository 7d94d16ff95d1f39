/*
 * steer_sealed.c: sealed mode's part of the helper's decisions: the peers' local ports, their
 * routing to the relay in use, following the far side from relay to relay, and --mtu auto.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "steer.h"
#include "steer_priv.h"
#include "wg.h"

void steer_sealed_port_drop(struct steer_ctx *s, struct steer_peer *p)
{
	const struct sealed_port *sp = p->port;

	if (!sp)
		return;
	if (sp->from_wg || sp->to_wg || sp->drop_source || sp->drop_route || sp->drop_send ||
	    sp->drop_size)
		log_info("peer %.8s: sealed port %u carried %llu datagrams to the relays and %llu "
		         "to WireGuard; dropped %llu from other sources, %llu without a route, "
		         "%llu on send, %llu too large",
		         p->pub_b64, addr_port(&sp->local), (unsigned long long)sp->from_wg,
		         (unsigned long long)sp->to_wg, (unsigned long long)sp->drop_source,
		         (unsigned long long)sp->drop_route, (unsigned long long)sp->drop_send,
		         (unsigned long long)sp->drop_size);
	for (size_t r = 0; r < s->n_relays; r++) {
		struct link_bind *b = steer_bind_of(s, p, (int)r);
		if (b && b->user == p->port)
			b->user = NULL;
	}
	sealed_port_free(p->port);
	p->port = NULL;
}

void steer_sealed_port_ensure(struct steer_iface *ifc, struct steer_peer *p)
{
	static bool warned;
	int rc;

	if (!p->port && (rc = sealed_port_new(&p->port)) < 0 && !warned) {
		log_warnx("%s: peer %.8s: no local port for sealed mode: %s", ifc->name, p->pub_b64,
		          strerror(-rc));
		warned = true;
	}
	if (p->port)
		sealed_port_set_wg(p->port, ifc->listen_port);
}

void steer_sealed_mtu_restore(struct steer_ctx *s, struct steer_iface *ifc)
{
	unsigned cur = 0;

	if (ifc->mtu_saved && ifc->mtu_set != ifc->mtu_saved) {
		if (wg_get_mtu(ifc->name, &cur) == 0 && cur != ifc->mtu_set)
			log_info("%s: MTU is %u now, not the %u set for sealed mode; leaving it",
			         ifc->name, cur, ifc->mtu_set);
		else if (wg_set_mtu(ifc->name, ifc->mtu_saved) == 0)
			log_info("%s: MTU back to %u (no peer relayed sealed)", ifc->name,
			         ifc->mtu_saved);
		cache_mtu_put(s->cache, ifc->name, 0, 0);
	}
	ifc->mtu_saved = ifc->mtu_set = 0;
}

/*
 * --mtu auto: sealed frames add PROTO_SEALED_OVERHEAD bytes to each WireGuard datagram
 * (PROTOCOL.md §8), so while a peer is relayed sealed the interface MTU is that much lower,
 * but never below STEER_SEALED_MTU (what fits a 1500-byte path whatever the outer family;
 * IPv6 inside needs 1280). The old value is recorded so that a restart after a crash can
 * still put it back (steer_adopt).
 */
static void mtu_auto(struct steer_ctx *s, struct steer_iface *ifc, bool sealed_relayed)
{
	unsigned cur, want;
	int rc;

	if (!sealed_relayed || ifc->cfg.mtu >= 0) {
		if (ifc->mtu_saved)
			steer_sealed_mtu_restore(s, ifc);
		return;
	}
	if (ifc->mtu_saved || wg_get_mtu(ifc->name, &cur) < 0)
		return;
	ifc->mtu_saved = ifc->mtu_set = cur;
	want = cur - PROTO_SEALED_OVERHEAD;
	if (want < STEER_SEALED_MTU)
		want = cur < STEER_SEALED_MTU ? cur : STEER_SEALED_MTU;
	if (want == cur)
		return;
	rc = wg_set_mtu(ifc->name, want);
	if (rc < 0) {
		log_warnx("%s: set MTU %u for sealed mode: %s", ifc->name, want, strerror(-rc));
		return;
	}
	ifc->mtu_set = want;
	cache_mtu_put(s->cache, ifc->name, cur, want);
	log_info("%s: MTU %u -> %u while peers are relayed sealed (%d bytes per packet)", ifc->name,
	         cur, want, PROTO_SEALED_OVERHEAD);
}

/*
 * A direct-mode interface's peer keeps its local port only while it needs it: bound sealed on
 * some relay (steer_mode.h), relayed sealed, or WireGuard still pointed at the port.
 */
static bool port_needed(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p)
{
	if (steer_mode(ifc) == PROTO_MODE_SEALED)
		return true;
	if ((p->pp.state != PATH_DIRECT && p->pp.sealed) || addr_equal(&p->wg_ep, &p->port->local))
		return true;
	for (size_t r = 0; r < s->n_relays; r++) {
		const struct link_bind *b = steer_bind_of(s, p, (int)r);
		if (b && b->mode == PROTO_MODE_SEALED)
			return true;
	}
	return false;
}

void steer_sealed(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	bool any = false;

	(void)now;
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->port)
			continue;
		if (!port_needed(s, ifc, p)) {
			steer_sealed_port_drop(s, p);
			continue;
		}
		sealed_port_set_wg(p->port, ifc->listen_port);
		any |= p->pp.state != PATH_DIRECT && p->pp.sealed;
	}
	mtu_auto(s, ifc, any);
}

size_t steer_ports(const struct steer_iface *ifc, struct sealed_port **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < ifc->n_peers && n < cap; i++)
		if (ifc->peers[i].port)
			out[n++] = ifc->peers[i].port;
	return n;
}

void steer_sealed_mtu_recover(struct steer_ctx *s, struct steer_iface *ifc)
{
	unsigned mtu, lowered, cur;

	/* A lowered MTU of a crashed run is ours to put back once no peer is relayed sealed. */
	if (ifc->mtu_saved || cache_mtu_get(s->cache, ifc->name, &mtu, &lowered) < 0)
		return;
	if (wg_get_mtu(ifc->name, &cur) == 0 && cur == lowered) {
		ifc->mtu_saved = mtu;
		ifc->mtu_set = lowered;
	} else {
		cache_mtu_put(s->cache, ifc->name, 0, 0);
	}
}
