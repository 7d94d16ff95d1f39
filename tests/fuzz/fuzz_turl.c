/*
 * Fuzz target: transport and proxy URLs. Whatever parses formats to canonical text that parses
 * back to the same struct and formats to the same text; an IP literal host is an address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_url(const char *in)
{
	struct turl u, v;
	struct addr a;
	char out[TURL_STRLEN], again[TURL_STRLEN], ip[ADDR_STRLEN];
	int n;

	if (turl_parse(&u, in) != 0)
		return;
	n = turl_format(&u, out, sizeof(out));
	if (n <= 0 || (size_t)n != strlen(out) || turl_parse(&v, out) != 0 ||
	    memcmp(&u, &v, sizeof(u)) != 0 || turl_format(&v, again, sizeof(again)) != n ||
	    strcmp(out, again) != 0 || strcmp(turl_kind_name(u.kind), "?") == 0)
		abort();
	/* IP literals are kept in the spelling addr.c writes, so they compare as text. */
	if (turl_host_addr(&u, &a) &&
	    (strcmp(addr_format_ip(&a, ip, sizeof(ip)), u.host) != 0 || addr_port(&a) != u.port))
		abort();
}

static void check_proxy(const char *in)
{
	struct turl_proxy p, q;
	char out[1024];
	int n;

	if (turl_proxy_parse(&p, in) != 0)
		return;
	n = turl_proxy_format(&p, out, sizeof(out));
	if (n <= 0 || (size_t)n != strlen(out) || !p.host[0] || !p.port)
		abort();
	/* Without credentials the text is the whole proxy; with them, it reads as neither. */
	if (!p.user[0] && (turl_proxy_parse(&q, out) != 0 || memcmp(&p, &q, sizeof(p)) != 0))
		abort();
	if (p.user[0] && (!p.pass[0] || turl_proxy_parse(&q, out) == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[1024];

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	check_url(in);
	check_proxy(in);
	return 0;
}
