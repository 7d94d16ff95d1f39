/*
 * sealed.c: sealed-mode forwarding (PROTOCOL.md §5.4): open a DATA frame with the sender
 * link's key and the session's sid, reseal it for the other member's link. In place, in the
 * control socket's receive batch, which sends it on with the rest of the batch. On a worker
 * (ctlworker.c) the same steps run in three parts, the crypto outside the relay lock.
 */
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

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

/*
 * The member of s whose handle is handle, with its index in *i; NULL when the handle is not
 * a sealed member's with a link.
 */
static struct member *sealed_sender(struct session *s, uint32_t handle, int *i)
{
	struct member *x;

	if (!s || s->mode != PROTO_MODE_SEALED)
		return NULL;
	*i = s->m[0].handle == handle ? 0 : 1;
	x = &s->m[*i];
	return x->link && x->sealed ? x : NULL;
}

enum sealed_plan_result sealed_plan(struct relay *r, struct sealed_job *j, bool worker)
{
	struct session *s;
	struct member *x, *y;
	int i;

	frame_sealed_fields(j->frame, &j->handle, &j->counter);
	s = table_get(&r->handles, j->handle);
	if (!(x = sealed_sender(s, j->handle, &i))) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return SEALED_DROP;
	}
	/* Before any crypto: a datagram larger than MaxPacket is not forwarded anyway. */
	if (j->len - PROTO_SEALED_OVERHEAD > r->cfg.limits.max_packet) {
		r->st.drops[DROP_OVERSIZE]++;
		return SEALED_DROP;
	}
	/*
	 * A link's first frame (it proves the link, which may take over another) and a frame
	 * from a new address (a challenge) are the control thread's business, as is a frame for
	 * a member behind a stream connection (the control loop writes those).
	 */
	if (worker && (!x->link->proven || !addr_equal(&x->link->addr, &j->src)))
		return SEALED_CONTROL;
	/* A replay costs no crypto; the window only moves once the frame has opened. */
	if (!replay_check(&x->sealed->recv_replay, j->counter)) {
		r->st.drops[DROP_REPLAY]++;
		return SEALED_DROP;
	}
	memcpy(j->rkey, sealed_keys(s, x)->recv, 32);
	j->x_gen = x->link->gen;
	j->y_gen = 0;
	if (s->n < 2 || !(y = &s->m[1 - i])->link)
		return SEALED_CRYPT; /* opened for what it proves, then dropped (no peer) */
	if (worker && r->streams && streams_owns(r, y->link->fd))
		return SEALED_CONTROL;
	memcpy(j->skey, sealed_keys(s, y)->send, 32);
	j->y_gen = y->link->gen;
	j->y_handle = y->handle;
	/* Reserved now: a frame dropped later leaves a gap, never a nonce used twice. */
	j->y_counter = y->link->data_send_counter++;
	j->y_fd = y->link->fd;
	j->dst = y->link->addr;
	return SEALED_CRYPT;
}

void sealed_crypt(struct sealed_job *j)
{
	j->n = seal_open_data_sk(j->frame, j->len, j->rkey, NULL);
	if (j->n >= 0 && j->y_gen)
		j->flen = seal_data_sk(j->frame, (size_t)j->n, j->y_handle, j->y_counter, j->skey);
	sodium_memzero(j->rkey, sizeof(j->rkey));
	sodium_memzero(j->skey, sizeof(j->skey));
}

bool sealed_commit(struct relay *r, struct sealed_job *j, uint64_t now_ms)
{
	const struct limits *lim = &r->cfg.limits;
	struct session *s;
	struct member *x, *y;
	int i;

	if (j->n < 0) {
		r->st.drops[j->n == FRAME_EREPLAY ? DROP_REPLAY : DROP_AUTH]++;
		return false;
	}
	/* The session or the sender's link may have gone while the frame was opened. */
	s = table_get(&r->handles, j->handle);
	if (!(x = sealed_sender(s, j->handle, &i)) || x->link->gen != j->x_gen) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return false;
	}
	if (!replay_accept(&x->sealed->recv_replay, j->counter)) {
		r->st.drops[DROP_REPLAY]++;
		return false;
	}
	/* A frame from a new address is forwarded (it opened), but moves nothing unproven. */
	control_link_seen(r, x->link, &j->src, j->len);
	s->last_rx_ms = x->link->last_rx_ms = now_ms;

	if (!j->y_gen || s->n < 2 || !(y = &s->m[1 - i])->link || y->link->gen != j->y_gen) {
		r->st.drops[DROP_NO_PEER]++;
		return false;
	}
	/* A stream member is reached over its connection, whatever address it came from. */
	if (policy_forbids(&r->cfg.policy, &j->dst) && !(r->streams && streams_owns(r, j->y_fd))) {
		r->st.drops[DROP_POLICY]++;
		return false;
	}
	if (s->limited && lim->circuit_kbps &&
	    !tbucket_take(&s->bandwidth, (uint64_t)j->n, now_ms)) {
		r->st.drops[DROP_BANDWIDTH]++;
		return false;
	}
	s->bytes += (uint64_t)j->n;
	r->st.pkts[1]++;
	r->st.bytes[1] += (uint64_t)j->n;
	if (s->limited && lim->circuit_bytes && s->bytes > lim->circuit_bytes)
		session_close_limit(r, s, "byte limit");
	return true;
}

void sealed_forward(struct relay *r, uint8_t *frame, size_t len, const struct addr *src)
{
	struct sealed_job j = {.frame = frame, .len = len, .src = *src};

	if (sealed_plan(r, &j, false) != SEALED_CRYPT)
		return;
	sealed_crypt(&j);
	if (!sealed_commit(r, &j, ev_now_ms(r->loop)))
		return;
	/* Sent with the rest of the batch, after it (control_read). */
	if (control_queue(r, j.y_fd, frame, j.flen, &j.dst) < 0) {
		r->st.pkts[1]--;
		r->st.bytes[1] -= (uint64_t)j.n;
	}
}
