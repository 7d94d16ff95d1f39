/*
 * tconn_out.c: a stream connection's output (PROTOCOL.md §12): each frame as one record, down
 * through WebSocket framing and TLS into one fixed queue, all of a frame or none of it, and
 * from the queue onto the socket.
 *
 * A caller that sends many frames at once (a receive batch of a relay, the datagrams of a
 * wake-up of the helper) defers them (tconn_defer): tconn_send then only queues, and one
 * tconn_flush writes them with one system call instead of one each. Over TLS the deferred
 * records are staged and sealed together, up to 16 KiB in one TLS record; over WebSocket they
 * wait as frames in ws.c and pass TLS in its chunks. Deferral never drops what writing at once
 * would have kept: before a frame is refused for want of room, what waits is written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tconn_int.h"
#include "tls.h"
#include "ws.h"

#define TCONN_WRITES_PER_IO 64

int tconn_out_raw(struct tconn *c, const void *p, size_t n)
{
	if (stream_q_push(&c->q, p, n) < 0)
		return tconn_fail(c, -ENOBUFS, "output queue full");
	return 0;
}

void tconn_out_cipher(struct tconn *c)
{
	uint8_t buf[TCONN_CHUNK];
	size_t n, room;

	while (c->tls && tls_pending_cipher(c->tls) > 0) {
		room = stream_q_room(&c->q);
		n = tls_pending_cipher(c->tls);
		n = n < room ? n : room;
		n = n < sizeof(buf) ? n : sizeof(buf);
		if (n == 0)
			break;
		n = tls_take_cipher(c->tls, buf, n);
		if (n == 0 || stream_q_push(&c->q, buf, n) < 0)
			break;
	}
}

int tconn_out_plain(struct tconn *c, const void *p, size_t n)
{
	int r;

	if (!c->tls)
		return tconn_out_raw(c, p, n);
	if (stream_q_room(&c->q) < tls_pending_cipher(c->tls) + n + TCONN_TLS_SLACK)
		return tconn_fail(c, -ENOBUFS, "output queue full");
	r = tls_write(c->tls, p, n);
	if (r < 0)
		return tconn_fail(c, r, "TLS error: %s", tls_error(c->tls));
	tconn_out_cipher(c);
	return 0;
}

/* WebSocket frames waiting in ws.c, through TLS when there is TLS, as room allows. */
static void tconn_out_ws(struct tconn *c)
{
	uint8_t buf[WS_OUT_CAP];
	size_t n, room, owed;

	while (c->ws && ws_pending(c->ws) > 0) {
		room = stream_q_room(&c->q);
		owed = c->tls ? tls_pending_cipher(c->tls) + TCONN_TLS_SLACK : 0;
		if (room <= owed)
			break;
		room -= owed;
		n = ws_pending(c->ws);
		n = n < room ? n : room;
		n = ws_take(c->ws, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (n == 0)
			break;
		if (c->tls) {
			if (tls_write(c->tls, buf, n) < 0) {
				tconn_fail(c, -EPROTO, "TLS error: %s", tls_error(c->tls));
				break;
			}
			tconn_out_cipher(c);
		} else if (stream_q_push(&c->q, buf, n) < 0) {
			break; /* cannot happen: n <= room */
		}
	}
}

/* The staged records into TLS, sealed as one record. */
static void tconn_out_stage(struct tconn *c)
{
	if (!c->stage_len || c->fin)
		return;
	if (tls_write(c->tls, c->stage, c->stage_len) < 0) {
		tconn_fail(c, -EPROTO, "TLS error: %s", tls_error(c->tls));
		return;
	}
	c->stage_len = 0;
	tconn_out_cipher(c);
}

void tconn_out_layers(struct tconn *c)
{
	tconn_out_stage(c);
	tconn_out_ws(c);
	tconn_out_cipher(c);
}

void tconn_out_write(struct tconn *c)
{
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov};
	size_t n;
	ssize_t w;
	int i;

	for (i = 0; i < TCONN_WRITES_PER_IO; i++) {
		iov[0].iov_base = (void *)(uintptr_t)stream_q_peek(&c->q, &n);
		iov[0].iov_len = n;
		if (n == 0)
			return;
		/* A queue that wrapped goes on at the start of its buffer: both runs at once. */
		iov[1].iov_base = c->q.buf;
		iov[1].iov_len = c->q.len - n;
		mh.msg_iovlen = iov[1].iov_len ? 2 : 1;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tconn_fail_errno(c, -errno, "send: ");
			return;
		}
		stream_q_pop(&c->q, (size_t)w);
		c->st.tx_bytes += (uint64_t)w;
	}
}

size_t tconn_out_pending(const struct tconn *c)
{
	return c->q.len + c->stage_len + (c->ws ? ws_pending(c->ws) : 0) +
	       (c->tls ? tls_pending_cipher(c->tls) : 0);
}

void tconn_out_free(struct tconn *c)
{
	free(c->stage);
	c->stage = NULL;
	c->stage_len = 0;
}

/*
 * Whether a record of n bytes may join the output now (§12): a droppable one (DATA) not while
 * over half of the queue waits, so handshakes and keepalives still pass a busy link; any one
 * only with room for it, its framing and everything still waiting above the queue.
 */
static bool tconn_out_fits(const struct tconn *c, size_t n, bool droppable)
{
	size_t pending = tconn_out_pending(c), need = n + (pending - c->q.len);

	if (droppable && pending > c->q.cap / 2)
		return false;
	if (c->ws)
		need += WS_MAX_HDR;
	if (c->tls)
		need += TCONN_TLS_SLACK;
	if (c->stage_len)
		need += TCONN_TLS_SLACK; /* the staged records may go as a record of their own */
	return stream_q_room(&c->q) >= need;
}

/* Stage a record (deferred, TLS without WebSocket); false when there is no staging buffer. */
static bool tconn_out_staged(struct tconn *c, const uint8_t *rec, size_t n)
{
	if (!c->stage && !(c->stage = malloc(TCONN_CHUNK)))
		return false;
	if (c->stage_len + n > TCONN_CHUNK)
		tconn_out_stage(c);
	memcpy(c->stage + c->stage_len, rec, n);
	c->stage_len += n;
	return true;
}

int tconn_send(struct tconn *c, const uint8_t *frame, size_t len, bool droppable)
{
	uint8_t rec[STREAM_HDR_LEN + STREAM_MAX_RECORD];
	size_t n = STREAM_HDR_LEN + len;
	int r;

	if (c->fin || c->state != TCONN_OPEN)
		return -ENOTCONN;
	if (stream_put_hdr(rec, len) < 0)
		return -EMSGSIZE;
	/* Deferred output makes way before a frame is refused, as if it had been written. */
	if (c->defer && !tconn_out_fits(c, n, droppable) && tconn_out_pending(c) > 0) {
		tconn_out_layers(c);
		tconn_out_write(c);
		if (c->fin)
			return -ENOTCONN;
	}
	if (!tconn_out_fits(c, n, droppable))
		goto drop;
	memcpy(rec + STREAM_HDR_LEN, frame, len);
	if (c->ws) {
		r = ws_send(c->ws, rec, n);
		if (r == -ENOBUFS && c->defer) { /* its frames wait in ws.c: on into the queue */
			tconn_out_layers(c);
			r = ws_send(c->ws, rec, n);
		}
		if (r == -ENOBUFS)
			goto drop;
		if (r < 0)
			return r;
		if (!c->defer)
			tconn_out_layers(c);
	} else if (c->tls && !(c->defer && tconn_out_staged(c, rec, n))) {
		if (tls_write(c->tls, rec, n) < 0) {
			tconn_fail(c, -EPROTO, "TLS error: %s", tls_error(c->tls));
			return -ENOTCONN;
		}
		tconn_out_cipher(c);
	} else if (!c->tls) {
		stream_q_push(&c->q, rec, n); /* fits: checked above */
	}
	if (c->fin) /* TLS failed while moving the records waiting before it */
		return -ENOTCONN;
	c->st.tx_records++;
	if (!c->defer)
		tconn_out_write(c);
	return 0;
drop:
	c->st.tx_dropped++;
	return -ENOBUFS;
}

void tconn_defer(struct tconn *c, bool on)
{
	c->defer = on;
	if (!on)
		tconn_flush(c);
}

int tconn_flush(struct tconn *c)
{
	if (c->fin)
		return c->fin;
	tconn_out_layers(c);
	tconn_out_write(c);
	return c->fin;
}
