/*
 * socks5.c: the client side of SOCKS5 CONNECT (RFC 1928) with username/password (RFC 1929),
 * PROTOCOL.md §12.6. Each step waits for its whole message (nothing is consumed before), so
 * the caller may feed the proxy's bytes in any pieces; steps that complete in one call append
 * their answers to out, so a proxy that pipelines is served too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "socks5.h"

#define SOCKS5_VER       5
#define SOCKS5_AUTH_VER  1 /* RFC 1929 §2 */
#define SOCKS5_M_NONE    0x00
#define SOCKS5_M_USER    0x02
#define SOCKS5_M_REFUSED 0xff
#define SOCKS5_CMD_CONN  1
#define SOCKS5_ATYP_V4   1
#define SOCKS5_ATYP_NAME 3
#define SOCKS5_ATYP_V6   4

enum { SOCKS5_S_METHOD = 1, SOCKS5_S_AUTH, SOCKS5_S_REPLY, SOCKS5_S_DONE, SOCKS5_S_FAILED };

/* An IPv6 literal may come bracketed as in a URL; the proxy wants the bare address. */
static int socks5_v6(const char *host, uint8_t a[16])
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = 0;
		host = tmp;
	}
	return inet_pton(AF_INET6, host, a);
}

int socks5_start(struct socks5 *s, const char *host, uint16_t port, const char *user,
                 const char *pass, uint8_t *out, size_t cap)
{
	size_t hl = strlen(host), ul = user ? strlen(user) : 0, pl = pass ? strlen(pass) : 0;
	struct wbuf b;

	memset(s, 0, sizeof(*s));
	/* RFC 1928 §5 carries a name in one length byte, RFC 1929 §2 user and password too. */
	if (hl == 0 || hl > 255 || port == 0 || ul > 255 || pl > 255)
		return -EINVAL;
	wbuf_init(&b, out, cap);
	if (buf_put_u8(&b, SOCKS5_VER) < 0 || buf_put_u8(&b, ul ? 2 : 1) < 0 ||
	    buf_put_u8(&b, SOCKS5_M_NONE) < 0 || (ul && buf_put_u8(&b, SOCKS5_M_USER) < 0))
		return -ENOSPC;
	memcpy(s->host, host, hl + 1);
	s->port = port;
	if (ul)
		memcpy(s->user, user, ul + 1);
	if (pl)
		memcpy(s->pass, pass, pl + 1);
	s->state = SOCKS5_S_METHOD;
	return (int)b.pos;
}

/* RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT. */
static int socks5_put_connect(const struct socks5 *s, struct wbuf *b)
{
	uint8_t a[16];
	uint8_t hl = (uint8_t)strlen(s->host); /* at most 255: checked by socks5_start */
	bool ok = buf_put_u8(b, SOCKS5_VER) == 0 && buf_put_u8(b, SOCKS5_CMD_CONN) == 0 &&
	          buf_put_u8(b, 0) == 0;

	if (inet_pton(AF_INET, s->host, a) == 1)
		ok = ok && buf_put_u8(b, SOCKS5_ATYP_V4) == 0 && buf_put_bytes(b, a, 4) == 0;
	else if (socks5_v6(s->host, a) == 1)
		ok = ok && buf_put_u8(b, SOCKS5_ATYP_V6) == 0 && buf_put_bytes(b, a, 16) == 0;
	else
		ok = ok && buf_put_u8(b, SOCKS5_ATYP_NAME) == 0 && buf_put_u8(b, hl) == 0 &&
		     buf_put_bytes(b, s->host, hl) == 0;
	ok = ok && buf_put_u16(b, s->port) == 0;
	return ok ? 0 : -ENOSPC;
}

/* RFC 1929 §2: VER ULEN UNAME PLEN PASSWD. */
static int socks5_put_auth(const struct socks5 *s, struct wbuf *b)
{
	uint8_t ul = (uint8_t)strlen(s->user), pl = (uint8_t)strlen(s->pass);
	bool ok = buf_put_u8(b, SOCKS5_AUTH_VER) == 0 && buf_put_u8(b, ul) == 0 &&
	          buf_put_bytes(b, s->user, ul) == 0 && buf_put_u8(b, pl) == 0 &&
	          buf_put_bytes(b, s->pass, pl) == 0;

	return ok ? 0 : -ENOSPC;
}

/* One step on the bytes at r: SOCKS5_MORE (nothing consumed), 1 a step done, or -errno. */
static int socks5_step(struct socks5 *s, struct rbuf *r, struct wbuf *w)
{
	uint8_t ver, code, rsv, atyp, alen;
	size_t wpos = w->pos;
	int e;

	switch (s->state) {
	case SOCKS5_S_METHOD:
		if (buf_get_u8(r, &ver) < 0 || buf_get_u8(r, &code) < 0)
			return SOCKS5_MORE;
		if (ver != SOCKS5_VER)
			return -EPROTO;
		if (code == SOCKS5_M_REFUSED)
			return -EACCES;
		if (code == SOCKS5_M_USER && s->user[0]) {
			e = socks5_put_auth(s, w);
			s->state = SOCKS5_S_AUTH;
		} else if (code == SOCKS5_M_NONE) {
			e = socks5_put_connect(s, w);
			s->state = SOCKS5_S_REPLY;
		} else {
			return -EPROTO; /* a method we did not offer */
		}
		break;
	case SOCKS5_S_AUTH:
		if (buf_get_u8(r, &ver) < 0 || buf_get_u8(r, &code) < 0)
			return SOCKS5_MORE;
		if (ver != SOCKS5_AUTH_VER)
			return -EPROTO;
		if (code != 0)
			return -EACCES;
		e = socks5_put_connect(s, w);
		s->state = SOCKS5_S_REPLY;
		break;
	case SOCKS5_S_REPLY:
		/* RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT; a refusal is final at once. */
		if (buf_get_u8(r, &ver) < 0 || buf_get_u8(r, &code) < 0)
			return SOCKS5_MORE;
		if (ver != SOCKS5_VER)
			return -EPROTO;
		if (code != 0) {
			s->rep = code;
			return -ECONNREFUSED;
		}
		if (buf_get_u8(r, &rsv) < 0 || buf_get_u8(r, &atyp) < 0)
			return SOCKS5_MORE;
		if (atyp == SOCKS5_ATYP_V4)
			alen = 4;
		else if (atyp == SOCKS5_ATYP_V6)
			alen = 16;
		else if (atyp != SOCKS5_ATYP_NAME)
			return -EPROTO;
		else if (buf_get_u8(r, &alen) < 0)
			return SOCKS5_MORE;
		if (buf_skip(r, (size_t)alen + 2) < 0)
			return SOCKS5_MORE;
		s->state = SOCKS5_S_DONE;
		return 1;
	default:
		return -EPROTO;
	}
	if (e < 0) {
		w->pos = wpos;
		return e;
	}
	return 1;
}

int socks5_input(struct socks5 *s, const uint8_t *p, size_t n, size_t *used, uint8_t *out,
                 size_t cap, size_t *outlen)
{
	struct rbuf r;
	struct wbuf w;
	uint8_t state;
	int e;

	*used = 0;
	*outlen = 0;
	if (s->state == SOCKS5_S_DONE)
		return SOCKS5_DONE;
	rbuf_init(&r, p, n);
	wbuf_init(&w, out, cap);
	while (s->state != SOCKS5_S_DONE) {
		size_t pos = r.pos;

		state = s->state;
		e = socks5_step(s, &r, &w);
		if (e == SOCKS5_MORE) {
			r.pos = pos;
			break;
		}
		if (e < 0) {
			/* -ENOSPC leaves the step to be retried with room; anything else is final. */
			if (e == -ENOSPC) {
				s->state = state;
				r.pos = pos;
			} else {
				s->state = SOCKS5_S_FAILED;
			}
			*used = r.pos;
			*outlen = w.pos;
			return e;
		}
		if (state == SOCKS5_S_METHOD)
			sodium_memzero(s->pass, sizeof(s->pass)); /* sent, or never to be */
	}
	*used = r.pos;
	*outlen = w.pos;
	return s->state == SOCKS5_S_DONE ? SOCKS5_DONE : SOCKS5_MORE;
}

const char *socks5_rep_name(uint8_t rep)
{
	static const char *const names[] = {
	    "succeeded",
	    "general SOCKS server failure",
	    "connection not allowed by ruleset",
	    "network unreachable",
	    "host unreachable",
	    "connection refused",
	    "TTL expired",
	    "command not supported",
	    "address type not supported",
	};

	if (rep < sizeof(names) / sizeof(names[0]))
		return names[rep];
	return "unknown reply";
}
