/* urls.c: relays' stream URL lists (see urls.h). */
#include "urls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "descriptor.h"

int urls_format(const struct turl *urls, size_t n, char *out, size_t cap)
{
	size_t used = 0;

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[TURL_STRLEN];
		if (turl_format(&urls[i], one, sizeof(one)) < 0)
			return -ENOSPC;
		int k = snprintf(out + used, cap - used, "%s%s", used ? " " : "", one);
		if (k < 0 || (size_t)k >= cap - used) {
			out[used] = '\0';
			return -ENOSPC;
		}
		used += (size_t)k;
	}
	return (int)used;
}

size_t urls_parse(const char *s, struct turl *out, size_t cap)
{
	size_t n = 0;

	while (s && *s && n < cap) {
		char w[TURL_STRLEN];
		s += strspn(s, " \t");
		size_t k = strcspn(s, " \t");
		if (!k)
			break;
		/* A URL that does not parse (a file edited by hand, a cut list) is left out. */
		if (k < sizeof(w)) {
			memcpy(w, s, k);
			w[k] = '\0';
			if (turl_parse(&out[n], w) == 0 && out[n].kind != TURL_UDP)
				n++;
		}
		s += k;
	}
	return n;
}

/* One descriptor endpoint as a URL; false for UDP and what no URL can say. */
static bool desc_url(const struct desc_endpoint *e, struct turl *u)
{
	memset(u, 0, sizeof(*u));
	switch (e->transport) {
	case DESC_T_TCP:
	case DESC_T_TLS: {
		char a[ADDR_STRLEN], hp[ADDR_STRLEN + 8];
		if (!addr_format(&e->addr, a, sizeof(a)))
			return false;
		snprintf(hp, sizeof(hp), "%s://%s", e->transport == DESC_T_TCP ? "tcp" : "tls", a);
		return turl_parse(u, hp) == 0;
	}
	case DESC_T_WSS:
	case DESC_T_ONION: {
		char s[TURL_STRLEN];
		if (e->transport == DESC_T_WSS)
			snprintf(s, sizeof(s), "wss://%s:%u%s", e->host, e->port, e->path);
		else
			snprintf(s, sizeof(s), "tcp://%s:%u", e->host, e->port);
		return turl_parse(u, s) == 0;
	}
	default:
		return false;
	}
}

size_t urls_from_desc(const struct descriptor *d, char *out, size_t cap)
{
	struct turl u[URLS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < d->n_endpoints && i < DESC_MAX_ENDPOINTS && n < URLS_MAX; i++)
		n += desc_url(&d->endpoints[i], &u[n]);
	/* Cut to what fits: the first ones are the relay's preference. */
	while (urls_format(u, n, out, cap) < 0 && n)
		n--;
	if (!n && cap)
		out[0] = '\0';
	return n;
}

size_t urls_of_relay(const struct cache_relay *r, struct turl *out, size_t cap)
{
	struct turl more[URLS_MAX];
	size_t n, m;

	if (cap > URLS_MAX)
		cap = URLS_MAX;
	n = urls_parse(r->urls, out, cap);
	m = urls_parse(r->desc_urls, more, URLS_MAX);
	for (size_t i = 0; i < m && n < cap; i++) {
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = out[j].kind == more[i].kind && out[j].port == more[i].port &&
			      strcmp(out[j].host, more[i].host) == 0 &&
			      strcmp(out[j].path, more[i].path) == 0;
		if (!dup)
			out[n++] = more[i];
	}
	return n;
}
