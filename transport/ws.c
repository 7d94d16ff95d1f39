/*
 * ws.c: RFC 6455 framing with wslay's event API, over memory: the recv callback reads the
 * bytes handed to ws_feed, the send callback writes into a fixed output buffer.
 */
#include "ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <wslay/wslay.h>

struct ws {
	wslay_event_context_ptr ctx;
	const uint8_t *in; /* what ws_feed was given, not yet read by wslay */
	size_t in_len;
	ws_msg_fn cb;
	void *cb_arg;
	int fin; /* 0 while open, else the -errno ws_feed returns */
	char err[64];
	size_t out_len;
	uint8_t out[WS_OUT_CAP];
};

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
	struct ws *w = user;
	size_t n = len < w->in_len ? len : w->in_len;

	(void)flags;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(buf, w->in, n);
	w->in += n;
	w->in_len -= n;
	return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
	struct ws *w = user;
	size_t room = sizeof(w->out) - w->out_len;
	size_t n = len < room ? len : room;

	(void)flags;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(w->out + w->out_len, data, n);
	w->out_len += n;
	return (ssize_t)n;
}

/* RFC 6455 §5.3: a fresh unpredictable mask for every client frame. */
static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	(void)ctx;
	(void)user;
	randombytes_buf(buf, len);
	return 0;
}

static void ws_finish(struct ws *w, int err, const char *why)
{
	if (w->fin)
		return;
	w->fin = err;
	snprintf(w->err, sizeof(w->err), "%s", why);
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
                      void *user)
{
	struct ws *w = user;
	char why[64];

	if (w->fin)
		return;
	switch (m->opcode) {
	case WSLAY_BINARY_FRAME:
		if (w->cb)
			w->cb(w->cb_arg, m->msg, m->msg_length);
		break;
	case WSLAY_TEXT_FRAME:
		/* §12.3: binary only; a text message means the peer is not one of ours. */
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
		wslay_event_shutdown_read(ctx);
		ws_finish(w, -EPROTO, "WebSocket text message");
		break;
	case WSLAY_CONNECTION_CLOSE:
		snprintf(why, sizeof(why), "closed by peer (WebSocket %u)", m->status_code);
		ws_finish(w, -ECONNRESET, why);
		break;
	default: /* ping (wslay queued the pong) and pong */
		break;
	}
}

int ws_new(struct ws **out, bool client, size_t max_msg)
{
	struct wslay_event_callbacks cbs = {
	    .recv_callback = ws_recv_cb,
	    .send_callback = ws_send_cb,
	    .genmask_callback = ws_genmask_cb,
	    .on_msg_recv_callback = ws_msg_cb,
	};
	struct ws *w = calloc(1, sizeof(*w));
	int r;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	r = client ? wslay_event_context_client_init(&w->ctx, &cbs, w)
	           : wslay_event_context_server_init(&w->ctx, &cbs, w);
	if (r != 0) {
		free(w);
		return -ENOMEM;
	}
	/* Checked against each frame's announced length before anything is buffered. */
	wslay_event_config_set_max_recv_msg_length(w->ctx, max_msg);
	*out = w;
	return 0;
}

void ws_free(struct ws *w)
{
	if (!w)
		return;
	wslay_event_context_free(w->ctx);
	free(w);
}

/* Move queued frames (ours, pongs, a close) into the output buffer as room allows. */
static void ws_pump(struct ws *w)
{
	if (wslay_event_send(w->ctx) < 0)
		ws_finish(w, -EPROTO, "WebSocket send failed");
}

int ws_feed(struct ws *w, const uint8_t *p, size_t n, ws_msg_fn cb, void *arg)
{
	uint16_t code;
	int r;

	if (w->fin)
		return w->fin;
	w->in = p;
	w->in_len = n;
	w->cb = cb;
	w->cb_arg = arg;
	r = wslay_event_recv(w->ctx);
	w->in = NULL;
	w->in_len = 0;
	w->cb = NULL;
	ws_pump(w);
	if (!w->fin && (r < 0 || !wslay_event_get_read_enabled(w->ctx))) {
		/*
		 * wslay refused the input and queued a close: 1009 for a message over the
		 * limit, 1002 for a broken frame, no code for a malformed header (a length
		 * with its top bit set among them).
		 */
		code = wslay_event_get_status_code_sent(w->ctx);
		if (code == WSLAY_CODE_MESSAGE_TOO_BIG)
			ws_finish(w, -EPROTO, "WebSocket message too long");
		else
			ws_finish(w, -EPROTO, "WebSocket protocol error");
	}
	return w->fin;
}

int ws_send(struct ws *w, const uint8_t *p, size_t n)
{
	struct wslay_event_msg msg = {.opcode = WSLAY_BINARY_FRAME, .msg = p, .msg_length = n};
	int r;

	if (w->fin)
		return -ENOTCONN;
	if (wslay_event_get_queued_msg_count(w->ctx) > 0 ||
	    sizeof(w->out) - w->out_len < n + WS_MAX_HDR)
		return -ENOBUFS;
	r = wslay_event_queue_msg(w->ctx, &msg);
	if (r == WSLAY_ERR_NOMEM)
		return -ENOMEM;
	if (r != 0)
		return -ENOTCONN;
	ws_pump(w);
	return 0;
}

size_t ws_pending(const struct ws *w)
{
	return w->out_len;
}

size_t ws_take(struct ws *w, uint8_t *out, size_t cap)
{
	size_t n = cap < w->out_len ? cap : w->out_len;

	memcpy(out, w->out, n);
	memmove(w->out, w->out + n, w->out_len - n);
	w->out_len -= n;
	if (wslay_event_get_queued_msg_count(w->ctx) > 0)
		ws_pump(w);
	return n;
}

bool ws_backlog(const struct ws *w)
{
	return wslay_event_get_queued_msg_count(w->ctx) > 0 || w->out_len > sizeof(w->out) / 2;
}

const char *ws_error(const struct ws *w)
{
	return w->err;
}
