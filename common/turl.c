/* turl.c: transport and proxy URLs (see turl.h, PROTOCOL.md §12.5). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "turl.h"

#define TURL_MAX_NAME  253 /* RFC 1035 §2.3.4, in text without the root's dot */
#define TURL_MAX_LABEL 63  /* RFC 1035 §2.3.4 */
#define TURL_MAX_CRED  255 /* RFC 1929: ULEN and PLEN are one byte, 1..255 */
#define TURL_WS_PATH   "/wgrelay"
#define TURL_WS_PORT   80
#define TURL_WSS_PORT  443

struct turl_scheme {
	const char *name;
	uint8_t kind;
};

static const struct turl_scheme turl_schemes[] = {
    {"udp", TURL_UDP}, {"tcp", TURL_TCP}, {"tls", TURL_TLS}, {"ws", TURL_WS}, {"wss", TURL_WSS},
};

/* socks5h (names resolved by the proxy) is what socks5 does here anyway: names go unresolved. */
static const struct turl_scheme turl_proxy_schemes[] = {
    {"socks5", TURL_PROXY_SOCKS5},
    {"socks5h", TURL_PROXY_SOCKS5},
    {"http", TURL_PROXY_HTTP},
};

/* The kind of "scheme://" at the start of s (case-insensitive), *rest after it; 0 unknown. */
static uint8_t turl_scheme(const char *s, const struct turl_scheme *t, size_t n, const char **rest)
{
	const char *sep = strstr(s, "://");

	if (!sep)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(t[i].name);

		if ((size_t)(sep - s) == len && strncasecmp(s, t[i].name, len) == 0) {
			*rest = sep + 3;
			return t[i].kind;
		}
	}
	return 0;
}

static bool turl_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Printable ASCII but space: what a config word, a bootstrap line or a request line can carry. */
static bool turl_is_graph(char c)
{
	return c > ' ' && c <= '~';
}

static bool turl_is_label_char(char c)
{
	return turl_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/*
 * A DNS name: dot-separated labels of letters, digits and '-', not starting or ending with
 * '-'. The last label must not be all digits (RFC 3696 §2): else "1.2.3" would be a name that
 * resolvers read as an IPv4 address.
 */
static bool turl_is_name(const char *p, size_t n)
{
	size_t label = 0;
	bool digits = true;

	if (n == 0 || n > TURL_MAX_NAME)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			if (i == n && digits)
				return false;
			label = 0;
			digits = true;
			continue;
		}
		if (!turl_is_label_char(p[i]) || (label == 0 && p[i] == '-') ||
		    ++label > TURL_MAX_LABEL)
			return false;
		if (!turl_is_digit(p[i]))
			digits = false;
	}
	return true;
}

/*
 * Check the host p..n (an IPv6 literal without its brackets when v6) and store its canonical
 * spelling: IP literals as inet_ntop writes them, names as given (case kept).
 */
static int turl_host(char out[TURL_MAX_HOST + 1], const char *p, size_t n, bool v6)
{
	char ip[INET6_ADDRSTRLEN];
	uint8_t bin[16];
	bool dotted = true;

	for (size_t i = 0; i < n; i++)
		if (!turl_is_digit(p[i]) && p[i] != '.')
			dotted = false;
	if (v6 || dotted) {
		int af = v6 ? AF_INET6 : AF_INET;

		/* inet_pton refuses scope ids ("%eth0"): link-local peers are never relays. */
		if (n == 0 || n >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, p, n);
		ip[n] = '\0';
		if (inet_pton(af, ip, bin) != 1 || !inet_ntop(af, bin, out, TURL_MAX_HOST + 1))
			return -EINVAL;
		return 0;
	}
	if (!turl_is_name(p, n))
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Decimal port, 1..65535: -EINVAL when not digits, -ERANGE when out of range. */
static int turl_port(const char *p, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!turl_is_digit(p[i]))
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned long)(p[i] - '0');
		if (v > 65535)
			return -ERANGE;
	}
	if (v == 0)
		return -ERANGE; /* port 0 names no listener */
	*port = (uint16_t)v;
	return 0;
}

/* "host[:port]" in p..n; *port stays 0 when absent (allowed only when !need_port). */
static int turl_hostport(char host[TURL_MAX_HOST + 1], uint16_t *port, const char *p, size_t n,
                         bool need_port)
{
	const char *h = p, *end = p + n, *colon;
	size_t hn;
	int r;

	*port = 0;
	if (n > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', n);

		if (!close)
			return -EINVAL;
		h = p + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
		if (colon < end && *colon != ':')
			return -EINVAL;
		r = turl_host(host, h, hn, true);
	} else {
		colon = memchr(p, ':', n);
		hn = colon ? (size_t)(colon - p) : n;
		r = turl_host(host, h, hn, false);
	}
	if (r < 0)
		return r;
	if (colon && colon < end)
		return turl_port(colon + 1, (size_t)(end - colon - 1), port);
	return need_port ? -EINVAL : 0;
}

int turl_parse(struct turl *u, const char *s)
{
	const char *rest = NULL, *slash;
	size_t n;
	int r;

	memset(u, 0, sizeof(*u));
	if (!s)
		return -EINVAL;
	u->kind =
	    turl_scheme(s, turl_schemes, sizeof(turl_schemes) / sizeof(turl_schemes[0]), &rest);
	if (!u->kind)
		return -EINVAL;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	r = turl_hostport(u->host, &u->port, rest, n, u->kind != TURL_WS && u->kind != TURL_WSS);
	if (r < 0)
		goto fail;
	if (u->port == 0)
		u->port = u->kind == TURL_WS ? TURL_WS_PORT : TURL_WSS_PORT;
	r = -EINVAL;
	if (!slash) {
		if (u->kind == TURL_WS || u->kind == TURL_WSS)
			memcpy(u->path, TURL_WS_PATH, sizeof(TURL_WS_PATH));
		return 0;
	}
	/* Only WebSocket has a path (its upgrade request names one). */
	if (u->kind != TURL_WS && u->kind != TURL_WSS)
		goto fail;
	n = strlen(slash);
	if (n >= sizeof(u->path))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!turl_is_graph(slash[i]))
			goto fail;
	memcpy(u->path, slash, n + 1);
	return 0;
fail:
	memset(u, 0, sizeof(*u));
	return r;
}

/* host as it goes into a URL: an IPv6 literal in brackets. */
static const char *turl_bracket(const char *host, const char **close)
{
	bool v6 = strchr(host, ':') != NULL;

	*close = v6 ? "]" : "";
	return v6 ? "[" : "";
}

static int turl_written(int r, size_t cap)
{
	if (r < 0)
		return -EINVAL;
	return (size_t)r >= cap ? -ENOSPC : r;
}

int turl_format(const struct turl *u, char *out, size_t cap)
{
	const char *close, *open = turl_bracket(u->host, &close);
	char port[8] = "";
	const char *path = "";
	uint16_t defport = 0;

	if (u->kind < TURL_UDP || u->kind > TURL_WSS)
		return -EINVAL;
	if (u->kind == TURL_WS || u->kind == TURL_WSS) {
		defport = u->kind == TURL_WS ? TURL_WS_PORT : TURL_WSS_PORT;
		if (strcmp(u->path, TURL_WS_PATH) != 0)
			path = u->path;
	}
	if (u->port != defport)
		snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
	return turl_written(snprintf(out, cap, "%s://%s%s%s%s%s", turl_kind_name(u->kind), open,
	                             u->host, close, port, path),
	                    cap);
}

/* "user:pass" in p..n: the user has no ':', the password is the rest (it may hold ':', '@'). */
static int turl_proxy_cred(struct turl_proxy *px, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t un, pn;

	if (!colon)
		return -EINVAL;
	un = (size_t)(colon - p);
	pn = n - un - 1;
	if (un == 0 || un > TURL_MAX_CRED || pn == 0 || pn > TURL_MAX_CRED)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!turl_is_graph(p[i]))
			return -EINVAL;
	memcpy(px->user, p, un);
	px->user[un] = '\0';
	memcpy(px->pass, colon + 1, pn);
	px->pass[pn] = '\0';
	return 0;
}

int turl_proxy_parse(struct turl_proxy *px, const char *s)
{
	const char *rest = NULL, *at, *slash;
	size_t n;
	int r = -EINVAL;

	memset(px, 0, sizeof(*px));
	if (!s)
		return -EINVAL;
	px->kind = turl_scheme(s, turl_proxy_schemes,
	                       sizeof(turl_proxy_schemes) / sizeof(turl_proxy_schemes[0]), &rest);
	if (!px->kind)
		return -EINVAL;
	/* The host part has no '@', so the last one ends the credentials, whatever they hold. */
	at = strrchr(rest, '@');
	if (at) {
		r = turl_proxy_cred(px, rest, (size_t)(at - rest));
		if (r < 0)
			goto fail;
		rest = at + 1;
	}
	/* A proxy has no path; a bare "/" is what many tools print after the port. */
	slash = strchr(rest, '/');
	if (slash && slash[1] != '\0') {
		r = -EINVAL;
		goto fail;
	}
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	r = turl_hostport(px->host, &px->port, rest, n, true);
	if (r == 0)
		return 0;
fail:
	memset(px, 0, sizeof(*px));
	return r;
}

int turl_proxy_format(const struct turl_proxy *px, char *out, size_t cap)
{
	const char *close, *open = turl_bracket(px->host, &close);
	const char *scheme;

	if (px->kind == TURL_PROXY_SOCKS5)
		scheme = "socks5";
	else if (px->kind == TURL_PROXY_HTTP)
		scheme = "http";
	else
		return -EINVAL;
	/* The password is left out: this text goes to logs and status output. */
	return turl_written(snprintf(out, cap, "%s://%s%s%s%s%s:%u", scheme, px->user,
	                             px->user[0] ? "@" : "", open, px->host, close,
	                             (unsigned)px->port),
	                    cap);
}

const char *turl_kind_name(uint8_t kind)
{
	for (size_t i = 0; i < sizeof(turl_schemes) / sizeof(turl_schemes[0]); i++)
		if (turl_schemes[i].kind == kind)
			return turl_schemes[i].name;
	return "?";
}

bool turl_host_addr(const struct turl *u, struct addr *a)
{
	char text[ADDR_STRLEN];
	const char *close, *open = turl_bracket(u->host, &close);
	struct addr tmp;
	int r;

	/* A name never parses as an address; one too long for the buffer is a name too. */
	if (strnlen(u->host, sizeof(u->host)) >= INET6_ADDRSTRLEN)
		return false;
	/* The port goes in after: it says nothing about the host (and may still be 0). */
	r = snprintf(text, sizeof(text), "%s%s%s", open, u->host, close);
	if (r < 0 || (size_t)r >= sizeof(text) || addr_parse(&tmp, text, 1) < 0)
		return false;
	addr_set_port(&tmp, u->port);
	if (a)
		*a = tmp;
	return true;
}
