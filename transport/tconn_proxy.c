/*
 * tconn_proxy.c: a client connection's way through a SOCKS5 (RFC 1928, 1929) or HTTP CONNECT
 * (RFC 9110 §9.3.6) proxy before its own layers start (PROTOCOL.md §12.5). The proxy's reply
 * collects in the connection's head buffer; the bytes after it are already the relay's.
 */
#include <errno.h>
#include <string.h>

#include "tconn_int.h"

static int tconn_proxy_done(struct tconn *c, size_t used, const uint8_t *rest, size_t nrest)
{
	uint8_t left[HTTP_MAX_HEAD];
	size_t nl = c->head_len - used;

	memcpy(left, c->head + used, nl);
	c->head_len = 0;
	tconn_start_upper(c);
	if (!c->fin && nl > 0)
		tconn_in_raw(c, left, nl);
	if (!c->fin && nrest > 0)
		tconn_in_raw(c, rest, nrest);
	return c->fin;
}

/* SOCKS5_MORE, SOCKS5_DONE with *done the reply's length in head, or the failure. */
static int tconn_proxy_socks5(struct tconn *c, size_t *done)
{
	uint8_t out[600];
	size_t used, outlen;
	int r = -EPROTO, i;

	for (i = 0; i < 8; i++) {
		used = outlen = 0;
		r = socks5_input(&c->socks, c->head, c->head_len, &used, out, sizeof(out), &outlen);
		if (r < 0)
			break;
		if (outlen > 0 && tconn_out_raw(c, out, outlen) < 0)
			return c->fin;
		if (r == SOCKS5_DONE) {
			*done = used;
			return SOCKS5_DONE;
		}
		memmove(c->head, c->head + used, c->head_len - used);
		c->head_len -= used;
		if (used == 0)
			return 0;
	}
	if (r == -EACCES)
		return tconn_fail(c, r, "proxy: authentication refused");
	if (r == -ECONNREFUSED)
		return tconn_fail(c, r, "proxy: %s", socks5_rep_name(c->socks.rep));
	return tconn_fail(c, -EPROTO, "proxy: bad SOCKS5 reply");
}

int tconn_proxy_in(struct tconn *c, const uint8_t *p, size_t n)
{
	size_t k = tconn_head_add(c, p, n), used = 0;
	int r, status = 0;

	if (c->cl.proxy.kind == TURL_PROXY_SOCKS5) {
		r = tconn_proxy_socks5(c, &used);
		if (r < 0)
			return r;
		if (r == SOCKS5_DONE)
			return tconn_proxy_done(c, used, p + k, n - k);
	} else {
		r = http_connect_parse_response(c->head, c->head_len, &status);
		if (r > 0)
			return tconn_proxy_done(c, (size_t)r, p + k, n - k);
		if (r < 0 && status)
			return tconn_fail(c, -ECONNREFUSED, "proxy: CONNECT refused: %d", status);
		if (r < 0)
			return tconn_fail(c, -EPROTO, "proxy: bad CONNECT reply");
	}
	if (c->head_len == sizeof(c->head))
		return tconn_fail(c, -EPROTO, "proxy: reply too long");
	return 0;
}

void tconn_proxy_start(struct tconn *c)
{
	const struct turl_proxy *px = &c->cl.proxy;
	uint8_t out[HTTP_MAX_HEAD];
	int n;

	tconn_set_state(c, TCONN_PROXY);
	c->head_len = 0;
	/* §12.5: the relay's name goes unresolved, so a .onion name reaches Tor. */
	if (px->kind == TURL_PROXY_SOCKS5)
		n = socks5_start(&c->socks, c->cl.url.host, c->cl.url.port, px->user, px->pass, out,
		                 sizeof(out));
	else
		n = http_connect_request((char *)out, sizeof(out), c->cl.url.host, c->cl.url.port,
		                         px->user, px->pass);
	if (n < 0) {
		tconn_fail(c, n, "proxy: bad request");
		return;
	}
	tconn_out_raw(c, out, (size_t)n);
}
