/* circbuild.c: a client's circuit (see circbuild.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "circbuild.h"
#include "onion.h"

static void circ_cell(struct circ *c, struct cell *out, uint8_t cmd, uint64_t k)
{
	out->circ_id = c->circ_id;
	out->cmd = cmd;
	out->k = k;
	out->body_len = c->body_len;
}

/* Message m for hop e (1-based), onion-wrapped into out. */
static int circ_msg(struct circ *c, unsigned e, const struct circmsg *m, struct cell *out)
{
	uint8_t msg[CELL_BODY_1500];
	size_t room = onion_room(c->body_len, e);

	if (!room || circmsg_encode(m, msg, room) != 0)
		return -EINVAL;
	circ_cell(c, out, CELL_FWD, ++c->k);
	return onion_wrap(out->body, c->body_len, c->fwd, e, c->k, msg, room) == 0 ? 0 : -EINVAL;
}

/* The handshake with hop built + 1 starts: its message 1 into *msg1. */
static int circ_hs(struct circ *c, uint8_t msg1[CIRCHS_MSG1_LEN])
{
	return circhs_start(&c->hs, c->path[c->built].noise_pub, c->built + 1, c->cls, msg1);
}

int circ_start(struct circ *c, const struct circ_hop *path, unsigned n, unsigned cls,
               uint64_t now_ms, struct cell *out)
{
	uint8_t msg1[CIRCHS_MSG1_LEN];

	memset(c, 0, sizeof(*c));
	if (n < 1 || n > ONION_MAX_HOPS || cls > CIRCHS_CLASS_1280)
		return -EINVAL;
	memcpy(c->path, path, n * sizeof(*path));
	c->n = n;
	c->cls = cls;
	c->body_len = cls == CIRCHS_CLASS_1500 ? CELL_BODY_1500 : CELL_BODY_1280;
	for (unsigned i = 0; i < ONION_MAX_HOPS; i++)
		replay_init(&c->bwd_rp[i]);
	do
		randombytes_buf(&c->circ_id, sizeof(c->circ_id));
	while (!c->circ_id);
	if (circ_hs(c, msg1) < 0)
		return -EINVAL;
	circ_cell(c, out, CELL_CREATE, 0);
	circmsg_put_create(out->body, c->body_len, msg1);
	c->state = CIRC_BUILDING;
	c->step_ms = now_ms;
	return 0;
}

/* Hop built + 1 answered: keys; then EXTEND to the next, or Established. */
static enum circ_event circ_hop_done(struct circ *c, const uint8_t msg2[CIRCHS_MSG2_LEN],
                                     uint64_t now, struct cell *out, bool *has_out)
{
	struct circhs_keys k;
	struct circmsg m = {.type = CIRCMSG_EXTEND};

	if (circhs_finish(&c->hs, msg2, CIRCHS_MSG2_LEN, &k) != 0) {
		c->state = CIRC_FAILING;
		return CIRC_EV_DROPPED;
	}
	c->fwd[c->built] = k.fwd;
	c->bwd[c->built] = k.bwd;
	sodium_memzero(&k, sizeof(k));
	c->built++;
	c->step_ms = now;
	if (c->built == c->n) {
		c->state = CIRC_ESTABLISHED;
		return CIRC_EV_BUILT;
	}
	memcpy(m.identity, c->path[c->built].identity, 32);
	memcpy(m.noise_pub, c->path[c->built].noise_pub, 32);
	if (circ_hs(c, m.hs) < 0 || circ_msg(c, c->built, &m, out) < 0) {
		c->state = CIRC_FAILING;
		return CIRC_EV_DROPPED;
	}
	*has_out = true;
	return CIRC_EV_NONE;
}

enum circ_event circ_input(struct circ *c, struct cell *in, uint64_t now_ms, struct cell *out,
                           bool *has_out, const uint8_t **data, size_t *len)
{
	uint8_t msg2[CIRCHS_MSG2_LEN];
	struct circmsg m;
	int e;

	*has_out = false;
	if (c->state == CIRC_DESTROYED || in->circ_id != c->circ_id || in->body_len != c->body_len)
		return CIRC_EV_DROPPED;
	if (in->cmd == CELL_DESTROY) {
		c->state = CIRC_DESTROYED;
		return CIRC_EV_DESTROYED;
	}
	if (in->cmd == CELL_CREATED) {
		if (c->state != CIRC_BUILDING || c->built != 0 ||
		    circmsg_get_created(in->body, in->body_len, msg2) != 0)
			return CIRC_EV_DROPPED;
		return circ_hop_done(c, msg2, now_ms, out, has_out);
	}
	if (in->cmd != CELL_BWD || !c->built)
		return CIRC_EV_DROPPED;
	e = onion_unwrap(in->body, in->body_len, c->bwd, c->built, in->k);
	/* The hop that sent it and the k it used must agree (§13.2), and k is new for that hop. */
	if (e < 1 || in->k % 8 != (uint64_t)(e - 1) || !replay_accept(&c->bwd_rp[e - 1], in->k) ||
	    circmsg_decode(in->body + 1, onion_room(in->body_len, (unsigned)e), &m) != 0)
		return CIRC_EV_DROPPED;
	switch (m.type) {
	case CIRCMSG_EXTENDED:
		if (c->state != CIRC_BUILDING || (unsigned)e != c->built)
			return CIRC_EV_DROPPED;
		return circ_hop_done(c, m.hs, now_ms, out, has_out);
	case CIRCMSG_SPLICED:
		if (!c->rendezvous || c->spliced || (unsigned)e != c->n)
			return CIRC_EV_DROPPED;
		c->spliced = true;
		return CIRC_EV_SPLICED;
	case CIRCMSG_DATA:
		if (!c->spliced || (unsigned)e != c->n)
			return CIRC_EV_DROPPED;
		*data = m.data;
		*len = m.data_len;
		return CIRC_EV_DATA;
	default:
		return CIRC_EV_DROPPED;
	}
}

int circ_rendezvous(struct circ *c, const uint8_t cookie[CIRCMSG_COOKIE_LEN], uint64_t now_ms,
                    struct cell *out)
{
	struct circmsg m = {.type = CIRCMSG_RENDEZVOUS};

	if (c->state != CIRC_ESTABLISHED || c->rendezvous)
		return -EINVAL;
	memcpy(m.cookie, cookie, CIRCMSG_COOKIE_LEN);
	if (circ_msg(c, c->n, &m, out) < 0)
		return -EINVAL;
	c->rendezvous = true;
	c->step_ms = now_ms;
	return 0;
}

size_t circ_mtu(const struct circ *c)
{
	return circmsg_data_max(onion_room(c->body_len, c->n));
}

int circ_send(struct circ *c, const uint8_t *dgram, size_t len, struct cell *out)
{
	struct circmsg m = {.type = CIRCMSG_DATA, .data = dgram, .data_len = len};

	if (c->state != CIRC_ESTABLISHED || !c->spliced)
		return -EINVAL;
	if (!len || len > circ_mtu(c))
		return -EMSGSIZE;
	return circ_msg(c, c->n, &m, out);
}

int circ_pad(struct circ *c, struct cell *out)
{
	struct circmsg m = {.type = CIRCMSG_PADDING};

	if (c->state != CIRC_ESTABLISHED)
		return -EINVAL;
	return circ_msg(c, c->n, &m, out);
}

bool circ_tick(struct circ *c, uint64_t now_ms, uint64_t timeout_ms)
{
	bool waiting = c->state == CIRC_BUILDING || (c->rendezvous && !c->spliced);

	if (waiting && now_ms - c->step_ms >= timeout_ms)
		c->state = CIRC_FAILING;
	return c->state == CIRC_FAILING;
}

void circ_destroy(struct circ *c, struct cell *out)
{
	circ_cell(c, out, CELL_DESTROY, 0);
	circmsg_put_destroy(out->body, c->body_len, 0);
	sodium_memzero(c, sizeof(*c));
	c->state = CIRC_DESTROYED;
}
