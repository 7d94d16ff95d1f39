/*
 * sealed.c: sealed-mode forwarding (PROTOCOL.md §5.4): open a DATA frame with the sender
 * link's key and the session's sid, reseal it for the other member's link. In place, in the
 * control socket's receive batch, which sends it on with the rest of the batch.
 */
#include <string.h>
#include <sys/socket.h>

#include "relay.h"
#include "seal.h"

/* The member's session keys for its current link (a new link brings new data keys). */
static struct seal_session *sealed_keys(const struct session *s, struct member *m)
{
	struct seal_session *k = &m->sealed->keys;

	seal_session_update(k, m->link->gen, m->link->keys.data_send, m->link->keys.data_recv,
	                    s->sid);
	return k;
}

void sealed_forward(struct relay *r, uint8_t *frame, size_t len, const struct addr *src)
{
	const struct limits *lim = &r->cfg.limits;
	uint32_t handle;
	uint64_t counter;
	struct session *s;
	struct member *x, *y;
	size_t flen;
	int n, i;

	frame_sealed_fields(frame, &handle, &counter);
	s = table_get(&r->handles, handle);
	if (!s || s->mode != PROTO_MODE_SEALED) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return;
	}
	i = s->m[0].handle == handle ? 0 : 1;
	x = &s->m[i];
	if (!x->link || !x->sealed) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return;
	}
	/* Before any crypto: a datagram larger than MaxPacket is not forwarded anyway. */
	if (len - PROTO_SEALED_OVERHEAD > lim->max_packet) {
		r->st.drops[DROP_OVERSIZE]++;
		return;
	}
	n = seal_open_data_sk(frame, len, sealed_keys(s, x)->recv, &x->sealed->recv_replay);
	if (n < 0) {
		r->st.drops[n == FRAME_EREPLAY ? DROP_REPLAY : DROP_AUTH]++;
		return;
	}
	/* A frame from a new address is forwarded (it opened), but moves nothing unproven. */
	control_link_seen(r, x->link, src, len);
	s->last_rx_ms = x->link->last_rx_ms = ev_now_ms(r->loop);

	if (s->n < 2 || !(y = &s->m[1 - i])->link) {
		r->st.drops[DROP_NO_PEER]++;
		return;
	}
	/* A stream member is reached over its connection, whatever address it came from. */
	if (policy_forbids(&r->cfg.policy, &y->link->addr) &&
	    !(r->streams && streams_owns(r, y->link->fd))) {
		r->st.drops[DROP_POLICY]++;
		return;
	}
	if (s->limited && lim->circuit_kbps &&
	    !tbucket_take(&s->bandwidth, (uint64_t)n, ev_now_ms(r->loop))) {
		r->st.drops[DROP_BANDWIDTH]++;
		return;
	}
	s->bytes += (uint64_t)n;
	flen = seal_data_sk(frame, (size_t)n, y->handle, y->link->data_send_counter++,
	                    sealed_keys(s, y)->send);
	/* Sent with the rest of the batch, after it (control_read). */
	if (control_queue(r, y->link->fd, frame, flen, &y->link->addr) == 0) {
		r->st.pkts[1]++;
		r->st.bytes[1] += (uint64_t)n;
	}
	if (s->limited && lim->circuit_bytes && s->bytes > lim->circuit_bytes)
		session_close_limit(r, s, "byte limit");
}
