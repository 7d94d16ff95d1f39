/* link.c: one control link from the helper to a relay. */
#include "link.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cell.h"
#include "frame.h"
#include "handshake.h"
#include "linkio.h"
#include "log.h"
#include "proto.h"
#include "seal.h"
#include "sock.h"
#include "tconn.h"
#include "token.h"

struct link_priv {
	struct hs_client hs;
	struct link_keys keys;
	uint64_t key_gen;              /* bumped with every new set of keys; 0: none yet */
	size_t rx_hint;                /* the binding the last DATA frame was for */
	struct log_ratelimit error_rl; /* ERROR lines: the relay must not fill our log */
	int64_t chal_answered_ms;      /* last CHALLENGE answered, 0 none */
	struct linkio *io;             /* batched UDP I/O */
	bool data_pending;             /* on_data ran since the last on_data_end */
	bool tx_open;                  /* link_tx_begin: DATA frames queue in io */
	size_t tx_failed;              /* queued frames that did not go since link_tx_begin */
	int64_t tx_now_ms;             /* the clock of the last frame queued */
	bool was_down;           /* marked down since it was last up: its next handshake is news */
	int64_t urgent_until_ms; /* link_ping_now: retry a missed PING every second until */
	int64_t io_now_ms;       /* the clock of the tconn_io call under way (stream_frame) */
	uint64_t probe_nonce;    /* the UDP probe's PING while on a stream, 0 none */
	/* CELL frames (PROTOCOL.md §13.1): keys of the link keys numbered cell_gen, counter, window */
	uint64_t cell_gen;
	uint8_t cell_send[32], cell_recv[32];
	uint64_t cell_counter;
	struct replay cell_rp;
};

/* Sealed data frames need room in the socket buffers for bursts of full-size datagrams. */
#define LINK_SOCKBUF (2 << 20)

#define HS_RETRY_MS   5000
#define PING_MS       5000
#define PING_RETRY_MS 1000
/*
 * 10 s without a PONG or a CTRL frame (a PING every second after the first miss: five or
 * six unanswered): the relay is gone, and peers whose traffic through it stopped too fail over.
 */
#define LINK_DEAD_MS (2 * PING_MS)
/* After link_ping_now, a missed PING is retried every second for this long. */
#define LINK_URGENT_MS 5000

int link_new(struct link **out, const uint8_t relay_pub[32], const struct addr *relay,
             const uint8_t client_priv[32], uint32_t fwmark)
{
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->priv = sodium_malloc(sizeof(*l->priv));
	if (!l->priv) {
		free(l);
		return -ENOMEM;
	}
	memset(l->priv, 0, sizeof(*l->priv));
	l->priv->error_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000);
	if (linkio_new(&l->priv->io) < 0) {
		sodium_free(l->priv);
		free(l);
		return -ENOMEM;
	}
	memcpy(l->relay_pub, relay_pub, 32);
	l->relay = *relay;
	addr_unmap(&l->relay);
	l->rtt_ms = -1;
	l->fd = socket(addr_family(&l->relay), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		int e = -errno;
		linkio_free(l->priv->io);
		sodium_free(l->priv);
		free(l);
		return e;
	}
	sock_buffers(l->fd, LINK_SOCKBUF);
	/* Full-tunnel setups: our control traffic must bypass the tunnel like WireGuard's. */
	if (fwmark && link_set_fwmark(l, fwmark) < 0)
		log_warn("link: SO_MARK %u", fwmark);
	if (connect(l->fd, &l->relay.sa, l->relay.len) < 0) {
		int e = -errno;
		close(l->fd);
		linkio_free(l->priv->io);
		sodium_free(l->priv);
		free(l);
		return e;
	}
	hs_client_init(&l->priv->hs, client_priv, relay_pub);
	*out = l;
	return 0;
}

/*
 * One frame out on the carrier: a datagram on UDP, a record on a stream (DATA droppable when
 * the stream's queue is half full: WireGuard retransmits, control frames must not be lost).
 */
static int carry(struct link *l, const uint8_t *p, size_t len, bool droppable)
{
	if (l->tc) {
		if (l->stream_failed || tconn_state(l->tc) != TCONN_OPEN)
			return -ENOTCONN;
		return tconn_send(l->tc, p, len, droppable);
	}
	return send(l->fd, p, len, 0) < 0 ? -errno : 0;
}

static void send_raw(struct link *l, const uint8_t *p, size_t len, int64_t now_ms)
{
	int rc = carry(l, p, len, false);
	if (rc < 0)
		log_debug("link: send: %s", strerror(-rc));
	else
		l->last_tx_ms = now_ms;
}

/* Seal one encoded control message (pt, n bytes) on the link's keys and send it. */
static int seal_ctrl(struct link *l, const uint8_t *pt, size_t n, int64_t now_ms)
{
	uint8_t fr[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	struct link_keys *k = &l->priv->keys;

	if (l->state != LINK_UP)
		return -ENOTCONN;
	if (n > PROTO_MAX_CTRL_PLAIN)
		return -EMSGSIZE;
	int f = frame_seal_ctrl(fr, sizeof(fr), k->remote_index, k->ctrl_send_counter++,
	                        k->ctrl_send, pt, n);
	if (f < 0)
		return f;
	send_raw(l, fr, (size_t)f, now_ms);
	return 0;
}

static int send_ctrl(struct link *l, const struct ctrl_msg *m, int64_t now_ms)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	int n = ctrl_encode(m, pt, sizeof(pt));
	if (n < 0)
		return n;
	n = seal_ctrl(l, pt, (size_t)n, now_ms);
	sodium_memzero(pt, sizeof(pt));
	return n;
}

/* The cell keys of the current link keys (made at their first use; a new counter and window). */
static void cell_keys(struct link_priv *p)
{
	if (p->cell_gen == p->key_gen)
		return;
	cell_derive_key(p->cell_send, p->keys.data_send);
	cell_derive_key(p->cell_recv, p->keys.data_recv);
	p->cell_counter = 0;
	replay_init(&p->cell_rp);
	p->cell_gen = p->key_gen;
}

int link_send_cell(struct link *l, const struct cell *c, int64_t now_ms)
{
	uint8_t fr[CELL_FRAME_LEN(CELL_BODY_1500)];
	int f;

	if (l->state != LINK_UP)
		return -ENOTCONN;
	cell_keys(l->priv);
	f = cell_seal(fr, sizeof(fr), l->priv->keys.remote_index, l->priv->cell_counter++,
	              l->priv->cell_send, c);
	if (f < 0)
		return -EINVAL;
	send_raw(l, fr, (size_t)f, now_ms);
	l->cells_tx++;
	return 0;
}

/* A CELL frame: opened for on_cell, or -ENOTCONN / a frame_err (dropped and counted). */
static int cell_input(struct link *l, uint8_t *buf, size_t n, int64_t now_ms)
{
	struct cell c;
	int r;

	if (l->state != LINK_UP || !l->priv->key_gen)
		return -ENOTCONN;
	cell_keys(l->priv);
	if ((r = cell_open(buf, n, l->priv->cell_recv, &l->priv->cell_rp, &c)) < 0)
		return r;
	l->last_rx_ms = now_ms;
	l->cells_rx++;
	if (l->on_cell) {
		l->on_cell(l, &c, now_ms);
		l->priv->data_pending = true; /* what it queued leaves at on_data_end, batched */
	}
	return 0;
}

int link_send_ctrl(struct link *l, const uint8_t *msg, size_t len, int64_t now_ms)
{
	return len ? seal_ctrl(l, msg, len, now_ms) : -EMSGSIZE;
}

static void bind_clear(struct link_bind *b)
{
	free(b->sealed);
	memset(b, 0, sizeof(*b));
}

static void link_destroy(struct link *l, bool unbind)
{
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		if (unbind && l->binds[i].in_use && l->binds[i].handle)
			link_unbind(l, l->binds[i].sid, l->last_tx_ms);
		else
			bind_clear(&l->binds[i]);
	close(l->fd);
	if (l->tc)
		tconn_flush(l->tc); /* the UNBINDs, deferred like every frame on a stream */
	tconn_free(l->tc);
	token_free(l->token);
	link_keys_clear(&l->priv->keys);
	linkio_free(l->priv->io);
	sodium_free(l->priv);
	free(l);
}

void link_free(struct link *l)
{
	if (l)
		link_destroy(l, true);
}

void link_close(struct link *l)
{
	if (l)
		link_destroy(l, false);
}

int link_set_fwmark(struct link *l, uint32_t fwmark)
{
	if (l->fwmark == fwmark)
		return 0;
	if (setsockopt(l->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	l->fwmark = fwmark;
	return 0;
}

/*
 * DATA counters (PROTOCOL.md §5.4) start at the wall clock in nanoseconds. A sid bound again
 * on the same link keys (after UNBIND, or in the other mode) must not reuse a nonce, and a
 * helper restarted after a crash finds its membership still on the relay, replay window and
 * all: starting above every counter used before covers both, as long as no helper sent more
 * than one frame per nanosecond (and the clock did not step back meanwhile).
 */
uint64_t link_counter_start(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct link_bind *link_find(struct link *l, const uint8_t sid[16])
{
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		if (l->binds[i].in_use && memcmp(l->binds[i].sid, sid, 16) == 0)
			return &l->binds[i];
	return NULL;
}

struct link_bind *link_bind(struct link *l, const uint8_t sid[16], uint8_t mode, int64_t now_ms)
{
	struct link_bind *b = link_find(l, sid);
	if (b && b->mode == mode)
		return b;
	/* The relay refuses a BIND in another mode while our membership lives: UNBIND first. */
	if (b)
		link_unbind(l, sid, now_ms);
	for (size_t i = 0; i < LINK_MAX_BINDS; i++) {
		if (!l->binds[i].in_use) {
			b = &l->binds[i];
			memset(b, 0, sizeof(*b));
			if (mode == PROTO_MODE_SEALED) {
				b->sealed = calloc(1, sizeof(*b->sealed));
				if (!b->sealed)
					return NULL;
				replay_init(&b->sealed->rx_replay);
				b->tx_counter = link_counter_start();
			}
			memcpy(b->sid, sid, 16);
			b->mode = mode;
			b->in_use = true;
			return b;
		}
	}
	return NULL;
}

void link_rebind(struct link *l, const uint8_t sid[16])
{
	struct link_bind *b = l ? link_find(l, sid) : NULL;

	if (b) {
		b->sent = false;
		b->error = 0;
	}
}

void link_unbind(struct link *l, const uint8_t sid[16], int64_t now_ms)
{
	struct link_bind *b = link_find(l, sid);
	if (!b)
		return;
	if (b->handle && l->state == LINK_UP) {
		struct ctrl_msg m = {.type = CTRL_UNBIND, .handle = b->handle};
		send_ctrl(l, &m, now_ms);
	}
	bind_clear(b);
}

static void start_handshake(struct link *l, int64_t now_ms)
{
	uint8_t init[PROTO_HS_INIT_LEN];
	hs_client_build_init(&l->priv->hs, init, (uint64_t)now_ms);
	send_raw(l, init, sizeof(init), now_ms);
	l->hs_sent_ms = now_ms;
	if (l->state == LINK_DOWN)
		l->state = LINK_HANDSHAKE;
}

/* Forget the relay's state: rebind everything once a new handshake succeeds. */
static void mark_down(struct link *l)
{
	l->priv->was_down = true;
	l->state = LINK_DOWN;
	l->hs_sent_ms = 0;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		l->binds[i].sent = false, l->binds[i].state = 0, l->binds[i].port = 0;
}

static void link_mark_down(struct link *l, const char *why)
{
	log_info("link %s: %s, reconnecting", addr_format(&l->relay, (char[64]){0}, 64), why);
	mark_down(l);
}

static void send_ping(struct link *l, int64_t now_ms)
{
	uint8_t ping[PROTO_PING_LEN];

	if (l->ping_nonce && l->pings_missed < UINT8_MAX)
		l->pings_missed++; /* the last one is still unanswered */
	randombytes_buf(&l->ping_nonce, sizeof(l->ping_nonce));
	frame_encode_ping(ping, l->ping_nonce);
	send_raw(l, ping, sizeof(ping), now_ms);
	l->ping_sent_ms = now_ms;
}

void link_ping_now(struct link *l, int64_t now_ms)
{
	l->priv->urgent_until_ms = now_ms + LINK_URGENT_MS;
	if (now_ms - l->ping_sent_ms >= PING_RETRY_MS)
		send_ping(l, now_ms);
}

void link_tick(struct link *l, int64_t now_ms)
{
	/* A stream still connecting carries nothing; its opening starts the handshake. */
	if (l->tc && (l->stream_failed || tconn_state(l->tc) != TCONN_OPEN))
		return;
	/*
	 * After a PING goes unanswered, ping every second until something comes back: a lossy
	 * link (10 % each way loses a PING round trip one time in five) must not lose three in a
	 * row and be taken for a dead relay, while a dead one is still declared after 10 s.
	 */
	bool missed = l->state == LINK_UP && l->ping_nonce &&
	              now_ms - l->ping_sent_ms >= PING_RETRY_MS &&
	              (now_ms - l->last_rx_ms >= PING_MS || now_ms < l->priv->urgent_until_ms);
	if (now_ms - l->ping_sent_ms >= PING_MS || missed)
		send_ping(l, now_ms);
	if (l->state == LINK_UP && now_ms - l->last_rx_ms > LINK_DEAD_MS)
		link_mark_down(l, "silent");
	if (l->state != LINK_UP) {
		if (now_ms - l->hs_sent_ms >= (l->hs_retry_ms > 0 ? l->hs_retry_ms : HS_RETRY_MS))
			start_handshake(l, now_ms);
		return;
	}
	/* Rekey before the relay would, keeping the old keys until the response arrives. */
	if (now_ms - l->up_since_ms >= PROTO_REKEY_AFTER_MS &&
	    now_ms - l->hs_sent_ms >= HS_RETRY_MS)
		start_handshake(l, now_ms);
	const struct token_cred *cred = NULL;
	bool fetched = false;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++) {
		struct link_bind *b = &l->binds[i];
		if (!b->in_use || b->sent)
			continue;
		/* Once per tick, only when there is something to bind: a command may run. */
		if (l->token && !fetched) {
			cred = token_get(l->token, (uint64_t)time(NULL));
			fetched = true;
		}
		/*
		 * No credential: a relay in token mode (or one not heard from yet) would only
		 * refuse, so the BIND waits; another mode ignores user and password.
		 */
		if (l->token && !cred && (l->rtt_ms < 0 || (l->pong_flags & PONG_F_AUTH_TOKEN)))
			break;
		struct ctrl_msg m = {.type = CTRL_BIND, .mode = b->mode};
		memcpy(m.sid, b->sid, 16);
		if (cred) {
			memcpy(m.user, cred->user, sizeof(m.user));
			memcpy(m.password, cred->password, sizeof(m.password));
		}
		int rc = send_ctrl(l, &m, now_ms);
		sodium_memzero(m.password, sizeof(m.password));
		if (rc == 0)
			b->sent = true;
	}
	if (now_ms - l->last_tx_ms >= PROTO_KEEPALIVE_MS) {
		struct ctrl_msg m = {.type = CTRL_KEEPALIVE};
		send_ctrl(l, &m, now_ms);
	}
}

static void handle_ctrl(struct link *l, const struct ctrl_msg *m, int64_t now_ms)
{
	struct link_bind *b;
	switch (m->type) {
	case CTRL_CHALLENGE: {
		/*
		 * The relay saw us at a new address (our NAT moved us): echo from here. A relay
		 * sends at most one a second; more is not answered (each answer is 96 bytes).
		 */
		struct ctrl_msg resp = {.type = CTRL_RESPONSE};
		if (l->priv->chal_answered_ms && now_ms - l->priv->chal_answered_ms < 1000) {
			l->dropped++;
			break;
		}
		l->priv->chal_answered_ms = now_ms;
		memcpy(resp.token, m->token, sizeof(resp.token));
		send_ctrl(l, &resp, now_ms);
		break;
	}
	case CTRL_BOUND:
		b = link_find(l, m->sid);
		if (!b)
			return;
		if (m->mode != b->mode) {
			/* Not what we asked for: never carry traffic in a mode we did not choose. */
			b->error = PROTO_ERR_MODE_MISMATCH;
			b->state = 0;
			l->dropped++;
			return;
		}
		/* A new membership: the relay counts its DATA frames to us from 0 again. */
		if (b->handle != m->handle && b->sealed)
			replay_init(&b->sealed->rx_replay);
		b->handle = m->handle;
		b->state = m->state;
		b->port = m->port;
		b->error = 0;
		log_debug("link %s: bound %02x%02x... %s, handle %08x, %s",
		          addr_format(&l->relay, (char[64]){0}, 64), m->sid[0], m->sid[1],
		          m->mode == PROTO_MODE_SEALED ? "sealed" : "direct", m->handle,
		          m->state == PROTO_PAIRED ? "paired" : "waiting");
		break;
	case CTRL_PEER_ACTIVE:
		b = link_find(l, m->sid);
		if (b)
			b->peer_active = true;
		break;
	case CTRL_ERROR:
		l->last_error = m->code;
		if (m->code == PROTO_ERR_SHUTDOWN) {
			link_mark_down(l, "relay shutting down");
			break;
		}
		/* Our credential was refused: fetch a new one for the next BIND (not in a loop). */
		if (l->token &&
		    (m->code == PROTO_ERR_AUTH_DENIED || m->code == PROTO_ERR_AUTH_REQUIRED))
			token_denied(l->token, (uint64_t)time(NULL));
		b = link_find(l, m->sid);
		if (b) {
			b->error = m->code;
			b->state = 0;
			/*
			 * The relay ended the circuit (its duration or byte allowance is used
			 * up): bind again at once, so both sides re-form it on a fresh port.
			 */
			if (m->code == PROTO_ERR_CIRCUIT_LIMIT_REACHED)
				b->sent = false;
		}
		/* The relay chooses how often and what it says: one line per link per 10 s. */
		log_info_rl(&l->priv->error_rl, "link %s: error %u %s (%s)",
		            addr_format(&l->relay, (char[64]){0}, 64), m->code,
		            proto_error_name(m->code), m->text);
		break;
	default:
		break;
	}
}

/* The binding of handle: most frames are for the same one as the frame before. */
static struct link_bind *find_handle(struct link *l, uint32_t handle)
{
	struct link_bind *b = &l->binds[l->priv->rx_hint];

	if (!handle)
		return NULL;
	if (b->in_use && b->handle == handle)
		return b;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		if (l->binds[i].in_use && l->binds[i].handle == handle) {
			l->priv->rx_hint = i;
			return &l->binds[i];
		}
	return NULL;
}

/* A sealed binding's session keys for the link's current keys (derived once per key set). */
static struct seal_session *sealed_keys(struct link *l, struct link_bind *b)
{
	seal_session_update(&b->sealed->keys, l->priv->key_gen, l->priv->keys.data_send,
	                    l->priv->keys.data_recv, b->sid);
	return &b->sealed->keys;
}

/* A DATA frame (frame_check passed): open it for its binding and hand the datagram on. */
static int data_input(struct link *l, uint8_t *frame, size_t len, int64_t now_ms)
{
	struct link_bind *b;
	uint32_t handle;
	uint64_t counter;
	int n;

	if (!l->priv->key_gen)
		return -ENOTCONN;
	frame_sealed_fields(frame, &handle, &counter);
	b = find_handle(l, handle);
	if (!b || b->mode != PROTO_MODE_SEALED || !b->sealed)
		return -ENOENT;
	n = seal_open_data_sk(frame, len, sealed_keys(l, b)->recv, &b->sealed->rx_replay);
	if (n < 0)
		return n;
	l->last_rx_ms = now_ms; /* only the relay can seal for our link: it is alive */
	b->rx_frames++;
	if (!l->on_data || !b->user)
		return -ENOENT;
	l->on_data(l, b, frame + PROTO_SEALED_HDR_LEN, (size_t)n, now_ms);
	l->priv->data_pending = true;
	return 0;
}

/* The queued frames out (linkio_send), the failures kept for link_tx_flush. */
static void tx_send(struct link *l)
{
	bool sent;

	l->priv->tx_failed += linkio_send(l->priv->io, l->fd, &l->relay, &sent);
	if (sent)
		l->last_tx_ms = l->priv->tx_now_ms;
}

void link_tx_begin(struct link *l)
{
	l->priv->tx_open = true;
}

size_t link_tx_flush(struct link *l)
{
	struct link_priv *p = l->priv;
	size_t failed;

	if (!p->tx_open)
		return 0;
	tx_send(l);
	failed = p->tx_failed;
	p->tx_failed = 0;
	p->tx_open = false;
	return failed;
}

int link_send_data(struct link *l, struct link_bind *b, uint8_t *frame, size_t len, int64_t now_ms)
{
	/* A waiting session has nobody to forward to; the relay would only count a drop. */
	if (!l->priv->key_gen || !b->in_use || b->mode != PROTO_MODE_SEALED || !b->handle ||
	    b->error || b->state == PROTO_WAITING)
		return -ENOTCONN;
	if (len == 0 || len > PROTO_MAX_FRAME - PROTO_SEALED_OVERHEAD)
		return -EMSGSIZE;
	size_t f = seal_data_sk(frame, len, b->handle, b->tx_counter++, sealed_keys(l, b)->send);
	if (l->priv->tx_open && !l->tc) {
		if (linkio_queued(l->priv->io) == LINK_BATCH)
			tx_send(l);
		linkio_queue(l->priv->io, frame, f, b);
		l->priv->tx_now_ms = now_ms;
		return 0;
	}
	int rc = carry(l, frame, f, true);
	if (rc < 0)
		return rc;
	l->last_tx_ms = now_ms;
	b->tx_frames++;
	return 0;
}

/* One frame from the relay (a datagram, or a stream's record): handled, or dropped and counted. */
static void link_input(struct link *l, uint8_t *buf, ssize_t n, int64_t now_ms)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	struct frame_pong pong;
	struct ctrl_msg m;

	switch (frame_check(buf, (size_t)n)) {
	case PROTO_PONG:
		if (frame_decode_pong(buf, (size_t)n, &pong) == 0 && pong.nonce == l->ping_nonce) {
			l->rtt_ms = (int)(now_ms - l->ping_sent_ms);
			if (l->rtt_ms < 1)
				l->rtt_ms = 1;
			l->load_permille = pong.load_permille;
			l->last_rx_ms = now_ms; /* the relay is alive */
			l->pong_flags = pong.flags;
			l->pong_observed = pong.observed; /* unauthenticated */
			l->ping_nonce = 0;
			l->pings_missed = 0;
			return;
		}
		break;
	case PROTO_HS_RESP:
		if (hs_client_consume_resp(&l->priv->hs, buf, (size_t)n, &l->priv->keys,
		                           &l->observed) == 0) {
			if (l->state != LINK_UP && l->priv->was_down)
				log_info("link %s: reconnected",
				         addr_format(&l->relay, (char[64]){0}, 64));
			else if (l->state != LINK_UP)
				log_debug("link %s: up", addr_format(&l->relay, (char[64]){0}, 64));
			l->priv->was_down = false;
			l->state = LINK_UP;
			l->priv->key_gen++;
			l->up_since_ms = l->last_rx_ms = now_ms;
			l->last_error = 0;
			/* New keys: the relay needs our bindings again (rebind replaces). */
			for (size_t i = 0; i < LINK_MAX_BINDS; i++)
				l->binds[i].sent = false;
			/*
				 * The relay adopts a new link only once a frame opens on it
				 * (PROTOCOL.md §4.4): with nothing to bind, a KEEPALIVE now.
				 */
			l->last_tx_ms = now_ms - PROTO_KEEPALIVE_MS;
			link_tick(l, now_ms);
			return;
		}
		break;
	case PROTO_COOKIE:
		if (hs_client_consume_cookie(&l->priv->hs, buf, (size_t)n, (uint64_t)now_ms) == 0) {
			l->hs_sent_ms = 0; /* retry with mac2 on the next tick */
			return;
		}
		break;
	case PROTO_CTRL: {
		if (l->state != LINK_UP)
			break;
		int r = frame_open_ctrl(buf, (size_t)n, l->priv->keys.ctrl_recv,
		                        &l->priv->keys.ctrl_replay, pt, sizeof(pt));
		/* Discovery's replies go to the caller's parser (discover.h) as they are. */
		if (r > 0 && (pt[0] == CTRL_DESC || pt[0] == CTRL_DISCOVERED)) {
			l->last_rx_ms = now_ms;
			if (!l->on_ctrl)
				break;
			l->on_ctrl(l, pt, (size_t)r, now_ms);
			return;
		}
		if (r > 0 && ctrl_decode(pt, (size_t)r, &m) == 0) {
			l->last_rx_ms = now_ms;
			handle_ctrl(l, &m, now_ms);
			sodium_memzero(pt, sizeof(pt));
			return;
		}
		break;
	}
	case PROTO_DATA: {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000);
		int r = data_input(l, buf, (size_t)n, now_ms);
		if (r == 0)
			return;
		l->data_dropped++;
		if (log_getverbose())
			log_info_rl(&rl, "link %s: DATA frame dropped: %s",
			            addr_format(&l->relay, (char[64]){0}, 64),
			            r == -ENOENT     ? "no sealed binding or port for its handle"
			            : r == -ENOTCONN ? "no link keys yet"
			            : r < -1000      ? frame_strerror(r)
			                             : strerror(-r));
		break;
	}
	case PROTO_CELL:
		if (cell_input(l, buf, (size_t)n, now_ms) == 0)
			return;
		l->cells_dropped++;
		break;
	default:
		break;
	}
	l->dropped++;
}

/* Datagrams handed to on_data since the last call leave now (their buffers are still ours). */
static void data_end(struct link *l, int64_t now_ms)
{
	if (!l->priv->data_pending)
		return;
	l->priv->data_pending = false;
	if (l->on_data_end)
		l->on_data_end(l, now_ms);
}

void link_readable(struct link *l, int64_t now_ms)
{
	struct frame_pong pong;
	int got = linkio_recv(l->priv->io, l->fd);

	for (int k = 0; k < got; k++) {
		size_t len;
		uint8_t *buf = linkio_rx(l->priv->io, k, &len);
		ssize_t n = (ssize_t)len;
		if (!l->tc) {
			link_input(l, buf, n, now_ms);
			continue;
		}
		/* On a stream, UDP only tells whether it works again: the probe's PONG. */
		if (frame_check(buf, (size_t)n) == PROTO_PONG &&
		    frame_decode_pong(buf, (size_t)n, &pong) == 0 && l->priv->probe_nonce &&
		    pong.nonce == l->priv->probe_nonce) {
			l->priv->probe_nonce = 0;
			l->udp_answered = true;
			continue;
		}
		l->dropped++;
	}
	data_end(l, now_ms);
}

/* A stream's record is ours only during the call: its datagram leaves before it returns. */
static void stream_frame(void *arg, struct tconn *c, uint8_t *frame, size_t len)
{
	struct link *l = arg;

	(void)c;
	link_input(l, frame, (ssize_t)len, l->priv->io_now_ms);
	data_end(l, l->priv->io_now_ms);
}

int link_stream_start(struct link *l, const struct tconn_client *cl, const struct addr *to,
                      int64_t now_ms)
{
	struct tconn *c;

	tconn_free(l->tc);
	l->tc = NULL;
	l->stream_failed = false;
	l->udp_answered = false;
	l->priv->probe_nonce = 0;
	mark_down(l);
	int rc = tconn_connect(&c, cl, to, (uint64_t)now_ms);
	if (rc < 0)
		return rc;
	/* A wake-up's datagrams leave together: link_stream_flush before the loop sleeps. */
	tconn_defer(c, true);
	l->tc = c;
	/* A PING sent on UDP is not answered here: start the stream's count afresh. */
	l->ping_nonce = 0;
	l->pings_missed = 0;
	return 0;
}

void link_stream_stop(struct link *l, int64_t now_ms)
{
	(void)now_ms;
	if (!l->tc)
		return;
	tconn_free(l->tc);
	l->tc = NULL;
	l->stream_failed = false;
	l->udp_answered = false;
	l->priv->probe_nonce = 0;
	l->ping_nonce = 0;
	l->pings_missed = 0;
	mark_down(l);
}

int link_stream_fd(const struct link *l)
{
	return l->tc ? tconn_fd(l->tc) : -1;
}

unsigned link_stream_events(const struct link *l)
{
	return l->tc && !l->stream_failed ? tconn_events(l->tc) : 0;
}

/* The stream finished (in its own I/O or in a write): the link is down until the carrier moves. */
static void stream_finished(struct link *l)
{
	log_debug("link %s: stream finished: %s", addr_format(&l->relay, (char[64]){0}, 64),
	          tconn_error(l->tc));
	l->stream_failed = true;
	mark_down(l);
}

void link_stream_flush(struct link *l)
{
	if (l->tc && !l->stream_failed && tconn_flush(l->tc) < 0)
		stream_finished(l);
}

void link_stream_io(struct link *l, unsigned events, int64_t now_ms)
{
	if (!l->tc || l->stream_failed)
		return;
	bool was_open = tconn_state(l->tc) == TCONN_OPEN;
	l->priv->io_now_ms = now_ms;
	int rc = tconn_io(l->tc, events, (uint64_t)now_ms, stream_frame, l);
	if (rc < 0) {
		stream_finished(l);
		return;
	}
	/* Open now: the handshake goes at once instead of at the next tick. */
	if (!was_open && tconn_state(l->tc) == TCONN_OPEN) {
		l->hs_sent_ms = 0;
		link_tick(l, now_ms);
	}
}

void link_udp_probe(struct link *l, int64_t now_ms)
{
	uint8_t ping[PROTO_PING_LEN];

	(void)now_ms;
	randombytes_buf(&l->priv->probe_nonce, sizeof(l->priv->probe_nonce));
	if (!l->priv->probe_nonce)
		l->priv->probe_nonce = 1;
	frame_encode_ping(ping, l->priv->probe_nonce);
	if (send(l->fd, ping, sizeof(ping), 0) < 0)
		log_debug("link: UDP probe: %s", strerror(errno));
}
