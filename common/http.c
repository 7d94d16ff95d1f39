/*
 * http.c: bounded HTTP/1.1 heads for the WebSocket upgrade (RFC 6455 §4) and HTTP CONNECT
 * (RFC 9110 §9.3.6), PROTOCOL.md §12.3 and §12.6.
 *
 * One scanner serves all three parsers: it walks complete lines only, checks their syntax as
 * each one completes (so junk, a folded line or the 65th header line is refused without waiting
 * for the rest), and never looks past HTTP_MAX_HEAD bytes. Lines end in CRLF; a bare LF is
 * accepted too (RFC 9112 §2.2 allows it) but a CR anywhere else is a control byte and refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "http.h"
#include "sha1.h"

/* RFC 6455 §1.3: the GUID appended to the key before hashing. */
#define HTTP_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct http_span {
	const uint8_t *p;
	size_t n;
};

struct http_field {
	struct http_span name, value;
};

struct http_head {
	struct http_span start; /* the request or status line, without its line end */
	struct http_field f[HTTP_MAX_HEADERS];
	size_t nf;
};

/* RFC 9110 §5.6.2 tchar. */
static bool http_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool http_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* A control byte (HTAB excepted): never legal in a head line once its end is removed. */
static bool http_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static struct http_span http_trim(struct http_span s)
{
	while (s.n && http_ows(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && http_ows(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool http_eq(struct http_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool http_ieq(struct http_span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t a = s.p[i], b = (uint8_t)lit[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

/* Whether a comma-separated list (RFC 9110 §5.6.1) holds tok, case-insensitively. */
static bool http_list_has(struct http_span s, const char *tok)
{
	size_t i = 0;

	while (i <= s.n) {
		size_t j = i;

		while (j < s.n && s.p[j] != ',')
			j++;
		if (http_ieq(http_trim((struct http_span){s.p + i, j - i}), tok))
			return true;
		i = j + 1;
	}
	return false;
}

/* One header line: "name:" then the value; no space before the colon (RFC 9112 §5.1). */
static int http_field_parse(struct http_span line, struct http_field *f)
{
	size_t i = 0;

	while (i < line.n && http_tchar(line.p[i]))
		i++;
	if (i == 0 || i == line.n || line.p[i] != ':')
		return -EINVAL;
	f->name = (struct http_span){line.p, i};
	f->value = http_trim((struct http_span){line.p + i + 1, line.n - i - 1});
	return 0;
}

/*
 * Scan a head: >0 its length with h filled, 0 incomplete (n < HTTP_MAX_HEAD), -EINVAL bad
 * syntax, -E2BIG more than HTTP_MAX_HEADERS lines, -EMSGSIZE no end within HTTP_MAX_HEAD.
 */
static int http_head_scan(const uint8_t *p, size_t n, struct http_head *h)
{
	struct rbuf b;
	bool first = true;

	rbuf_init(&b, p, n < HTTP_MAX_HEAD ? n : HTTP_MAX_HEAD);
	h->nf = 0;
	for (;;) {
		const uint8_t *nl = rbuf_left(&b) ? memchr(b.p + b.pos, '\n', rbuf_left(&b)) : NULL;
		struct http_span line;

		if (!nl)
			return n >= HTTP_MAX_HEAD ? -EMSGSIZE : 0;
		line.n = (size_t)(nl - (b.p + b.pos));
		if (buf_get_ptr(&b, &line.p, line.n + 1) < 0)
			return -EINVAL; /* cannot happen: nl is inside the cursor */
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		for (size_t i = 0; i < line.n; i++)
			if (http_ctl(line.p[i]))
				return -EINVAL;
		if (first) {
			if (line.n == 0)
				return -EINVAL;
			h->start = line;
			first = false;
			continue;
		}
		if (line.n == 0)
			return (int)b.pos;
		/* obs-fold (RFC 9112 §5.2) or whitespace before the first field: refused. */
		if (http_ows(line.p[0]))
			return -EINVAL;
		if (h->nf == HTTP_MAX_HEADERS)
			return -E2BIG;
		if (http_field_parse(line, &h->f[h->nf]) < 0)
			return -EINVAL;
		h->nf++;
	}
}

/* Split the start line at its first two spaces: exactly three parts, the last may hold spaces. */
static int http_start_split(struct http_span s, struct http_span part[3])
{
	const uint8_t *sp1 = memchr(s.p, ' ', s.n), *sp2;
	size_t rest;

	if (!sp1)
		return -EINVAL;
	part[0] = (struct http_span){s.p, (size_t)(sp1 - s.p)};
	rest = s.n - part[0].n - 1;
	sp2 = memchr(sp1 + 1, ' ', rest);
	if (!sp2) {
		part[1] = (struct http_span){sp1 + 1, rest};
		part[2] = (struct http_span){sp1 + 1 + rest, 0};
		return 2;
	}
	part[1] = (struct http_span){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
	part[2] = (struct http_span){sp2 + 1, s.n - (size_t)(sp2 + 1 - s.p)};
	return 3;
}

/* "HTTP/d.d": 0 with the digits, or -EINVAL. */
static int http_version(struct http_span s, int *major, int *minor)
{
	if (s.n != 8 || memcmp(s.p, "HTTP/", 5) != 0 || s.p[6] != '.')
		return -EINVAL;
	if (s.p[5] < '0' || s.p[5] > '9' || s.p[7] < '0' || s.p[7] > '9')
		return -EINVAL;
	*major = s.p[5] - '0';
	*minor = s.p[7] - '0';
	return 0;
}

static void http_copy(char *dst, struct http_span s)
{
	memcpy(dst, s.p, s.n);
	dst[s.n] = 0;
}

static int http_refuse(int *status, int code, int err)
{
	*status = code;
	return err;
}

int http_ws_parse_request(const uint8_t *p, size_t n, struct http_ws_req *req, int *status)
{
	struct http_head h;
	struct http_span part[3];
	bool upgrade = false, connection = false, version = false, host = false, key = false;
	uint8_t raw[16];
	size_t rawlen;
	int major, minor, len;

	*status = 0;
	len = http_head_scan(p, n, &h);
	if (len == -E2BIG || len == -EMSGSIZE)
		return http_refuse(status, 431, len);
	if (len < 0)
		return http_refuse(status, 400, len);
	if (len == 0)
		return 0;

	if (http_start_split(h.start, part) != 3 || part[0].n == 0)
		return http_refuse(status, 400, -EINVAL);
	for (size_t i = 0; i < part[0].n; i++)
		if (!http_tchar(part[0].p[i]))
			return http_refuse(status, 400, -EINVAL);
	if (http_version(part[2], &major, &minor) < 0)
		return http_refuse(status, 400, -EINVAL);
	if (major != 1)
		return http_refuse(status, 505, -ENOTSUP);
	/* RFC 6455 §4.1: at least HTTP/1.1 (1.0 has no Upgrade). */
	if (minor < 1)
		return http_refuse(status, 400, -EINVAL);
	if (!http_eq(part[0], "GET"))
		return http_refuse(status, 405, -ENOTSUP);
	/* origin-form only (RFC 9112 §3.2.1): visible ASCII starting with '/'. */
	if (part[1].n == 0 || part[1].p[0] != '/')
		return http_refuse(status, 400, -EINVAL);
	for (size_t i = 0; i < part[1].n; i++)
		if (part[1].p[i] <= 0x20 || part[1].p[i] >= 0x7f)
			return http_refuse(status, 400, -EINVAL);
	if (part[1].n >= sizeof(req->path))
		return http_refuse(status, 414, -EINVAL);
	http_copy(req->path, part[1]);

	for (size_t i = 0; i < h.nf; i++) {
		struct http_span nm = h.f[i].name, v = h.f[i].value;

		if (http_ieq(nm, "Host")) {
			/* Two Hosts are how request smuggling starts (RFC 9112 §3.2). */
			if (host || v.n == 0 || v.n >= sizeof(req->host))
				return http_refuse(status, 400, -EINVAL);
			http_copy(req->host, v);
			host = true;
		} else if (http_ieq(nm, "Upgrade")) {
			upgrade = upgrade || http_list_has(v, "websocket");
		} else if (http_ieq(nm, "Connection")) {
			connection = connection || http_list_has(v, "upgrade");
		} else if (http_ieq(nm, "Sec-WebSocket-Version")) {
			version = version || http_eq(v, "13");
		} else if (http_ieq(nm, "Sec-WebSocket-Key")) {
			if (key || v.n != HTTP_WS_KEY_LEN)
				return http_refuse(status, 400, -EINVAL);
			if (sodium_base642bin(raw, sizeof(raw), (const char *)v.p, v.n, NULL,
			                      &rawlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    rawlen != sizeof(raw))
				return http_refuse(status, 400, -EINVAL);
			http_copy(req->key, v);
			key = true;
		}
	}
	if (!host || !upgrade || !connection || !key)
		return http_refuse(status, 400, -EINVAL);
	/* RFC 6455 §4.2.2 step 4: 426 naming the version we speak. */
	if (!version)
		return http_refuse(status, 426, -ENOTSUP);
	return len;
}

void http_ws_accept_key(const char *key, char out[HTTP_WS_ACCEPT_LEN + 1])
{
	struct sha1_ctx c;
	uint8_t d[SHA1_LEN];

	sha1_init(&c);
	sha1_update(&c, key, strlen(key));
	sha1_update(&c, HTTP_WS_GUID, strlen(HTTP_WS_GUID));
	sha1_final(&c, d);
	sodium_bin2base64(out, HTTP_WS_ACCEPT_LEN + 1, d, sizeof(d),
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* Append strings to out through a wbuf; -ENOSPC unless they and a '\0' fit. */
static int http_put(struct wbuf *b, const char *const *parts, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (buf_put_bytes(b, parts[i], strlen(parts[i])) < 0)
			return -ENOSPC;
	if (wbuf_left(b) < 1)
		return -ENOSPC;
	b->p[b->pos] = 0;
	return (int)b->pos;
}

int http_ws_accept_response(char *out, size_t cap, const char *key)
{
	char acc[HTTP_WS_ACCEPT_LEN + 1];
	struct wbuf b;
	const char *parts[] = {"HTTP/1.1 101 Switching Protocols\r\n"
	                       "Upgrade: websocket\r\n"
	                       "Connection: Upgrade\r\n"
	                       "Sec-WebSocket-Accept: ",
	                       acc, "\r\n\r\n"};

	http_ws_accept_key(key, acc);
	wbuf_init(&b, out, cap);
	return http_put(&b, parts, sizeof(parts) / sizeof(parts[0]));
}

static const char *http_reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

int http_error_response(char *out, size_t cap, int status)
{
	char code[8];
	const char *extra = "";
	struct wbuf b;

	if (status < 400 || status > 599)
		return -EINVAL;
	snprintf(code, sizeof(code), "%d ", status);
	/* RFC 9110 §15.5.6 wants Allow on a 405, §15.5.22 Upgrade on a 426; RFC 6455 §4.2.2 the
	 * version we speak. */
	if (status == 405)
		extra = "Allow: GET\r\n";
	else if (status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	const char *parts[] = {
	    "HTTP/1.1 ", code,  http_reason(status),
	    "\r\n",      extra, "Connection: close\r\nContent-Length: 0\r\n\r\n"};

	wbuf_init(&b, out, cap);
	return http_put(&b, parts, sizeof(parts) / sizeof(parts[0]));
}

/* Text we put into a head: no control bytes, no spaces, so nothing can end a line early. */
static bool http_safe(const char *s, bool allow_space)
{
	for (; *s; s++) {
		uint8_t c = (uint8_t)*s;

		if (http_ctl(c) || c == '\t' || (c == ' ' && !allow_space))
			return false;
	}
	return true;
}

/* host, bracketed when it is an IPv6 literal not already bracketed. */
static void http_host_parts(const char *host, const char *parts[3])
{
	bool v6 = strchr(host, ':') && host[0] != '[';

	parts[0] = v6 ? "[" : "";
	parts[1] = host;
	parts[2] = v6 ? "]" : "";
}

int http_ws_request(char *out, size_t cap, const char *host, const char *path,
                    char key_out[HTTP_WS_KEY_LEN + 1])
{
	uint8_t raw[16];
	const char *hp[3];
	struct wbuf b;

	if (!host[0] || !http_safe(host, false) || path[0] != '/' || !http_safe(path, false))
		return -EINVAL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(key_out, HTTP_WS_KEY_LEN + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_ORIGINAL);
	http_host_parts(host, hp);
	const char *parts[] = {
	    "GET ",
	    path,
	    " HTTP/1.1\r\nHost: ",
	    hp[0],
	    hp[1],
	    hp[2],
	    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
	    key_out,
	    "\r\nSec-WebSocket-Version: 13\r\n\r\n"};

	wbuf_init(&b, out, cap);
	return http_put(&b, parts, sizeof(parts) / sizeof(parts[0]));
}

/*
 * A response head's status: >0 head length with *status and h set, 0 incomplete, <0 refused
 * (-EPROTO for bad syntax, -E2BIG / -EMSGSIZE for the limits).
 */
static int http_response_head(const uint8_t *p, size_t n, struct http_head *h, int *status)
{
	struct http_span part[3];
	int major, minor, len;

	*status = 0;
	len = http_head_scan(p, n, h);
	if (len == -EINVAL)
		return -EPROTO;
	if (len <= 0)
		return len;
	/* status-line = HTTP-version SP 3DIGIT SP [reason] (RFC 9112 §4); a missing last SP is
	 * tolerated as many servers drop it with an empty reason. */
	if (http_start_split(h->start, part) < 2 || http_version(part[0], &major, &minor) < 0 ||
	    major != 1 || part[1].n != 3)
		return -EPROTO;
	for (size_t i = 0; i < 3; i++)
		if (part[1].p[i] < '0' || part[1].p[i] > '9')
			return -EPROTO;
	*status = (part[1].p[0] - '0') * 100 + (part[1].p[1] - '0') * 10 + (part[1].p[2] - '0');
	if (*status < 100)
		return -EPROTO;
	return len;
}

int http_ws_parse_response(const uint8_t *p, size_t n, const char *key, int *status)
{
	struct http_head h;
	char want[HTTP_WS_ACCEPT_LEN + 1];
	bool upgrade = false, connection = false, accept = false;
	int len;

	len = http_response_head(p, n, &h, status);
	if (len <= 0)
		return len;
	if (*status != 101)
		return -ECONNREFUSED;
	http_ws_accept_key(key, want);
	for (size_t i = 0; i < h.nf; i++) {
		struct http_span nm = h.f[i].name, v = h.f[i].value;

		if (http_ieq(nm, "Upgrade")) {
			upgrade = upgrade || http_list_has(v, "websocket");
		} else if (http_ieq(nm, "Connection")) {
			connection = connection || http_list_has(v, "upgrade");
		} else if (http_ieq(nm, "Sec-WebSocket-Accept")) {
			if (accept || !http_eq(v, want))
				return -EPROTO;
			accept = true;
		} else if (http_ieq(nm, "Sec-WebSocket-Extensions") ||
		           http_ieq(nm, "Sec-WebSocket-Protocol")) {
			/* RFC 6455 §4.1: we asked for none, so any is a failure. */
			return -EPROTO;
		}
	}
	if (!upgrade || !connection || !accept)
		return -EPROTO;
	return len;
}

int http_connect_request(char *out, size_t cap, const char *host, uint16_t port, const char *user,
                         const char *pass)
{
	char portstr[8], cred[512], b64[sizeof(cred) / 3 * 4 + 5];
	const char *hp[3];
	struct wbuf b;
	size_t ul = user ? strlen(user) : 0, pl = pass ? strlen(pass) : 0;

	if (!host[0] || !http_safe(host, false) || port == 0)
		return -EINVAL;
	/* RFC 7617 §2: the user-id cannot hold ':'; neither part may hold a control byte. */
	if (ul > 255 || pl > 255 || (ul && (strchr(user, ':') || !http_safe(user, true))) ||
	    (pl && !http_safe(pass, true)))
		return -EINVAL;
	snprintf(portstr, sizeof(portstr), ":%u", (unsigned)port);
	http_host_parts(host, hp);
	b64[0] = 0;
	if (ul) {
		memcpy(cred, user, ul);
		cred[ul] = ':';
		if (pl)
			memcpy(cred + ul + 1, pass, pl);
		sodium_bin2base64(b64, sizeof(b64), (const uint8_t *)cred, ul + 1 + pl,
		                  sodium_base64_VARIANT_ORIGINAL);
		sodium_memzero(cred, sizeof(cred));
	}
	const char *parts[] = {"CONNECT ", hp[0],
	                       hp[1],      hp[2],
	                       portstr,    " HTTP/1.1\r\nHost: ",
	                       hp[0],      hp[1],
	                       hp[2],      portstr,
	                       "\r\n",     ul ? "Proxy-Authorization: Basic " : "",
	                       b64,        ul ? "\r\n" : "",
	                       "\r\n"};
	int r;

	wbuf_init(&b, out, cap);
	r = http_put(&b, parts, sizeof(parts) / sizeof(parts[0]));
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int http_connect_parse_response(const uint8_t *p, size_t n, int *status)
{
	struct http_head h;
	int len = http_response_head(p, n, &h, status);

	if (len <= 0)
		return len;
	/* RFC 9110 §9.3.6: any 2xx opens the tunnel; bytes after the head are the relay's. */
	if (*status < 200 || *status > 299)
		return -ECONNREFUSED;
	return len;
}
