/*
 * srccount.c: connections counted per source (srccount.h).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "srccount.h"

struct srccount *srccount_get(struct table *t, const struct addr *a)
{
	uint8_t id[9] = {0};
	struct srccount *src;
	uint64_t h;

	if (addr_family(a) == AF_INET) {
		id[0] = 4;
		memcpy(id + 1, &a->in.sin_addr, 4);
	} else {
		id[0] = 6;
		memcpy(id + 1, a->in6.sin6_addr.s6_addr, 8);
	}
	h = table_key16(t, id, sizeof(id));
	if ((src = table_get(t, h)))
		/* The hash is keyed: a collision is chance, and then over the limit, not shared. */
		return memcmp(src->id, id, sizeof(id)) ? NULL : src;
	if (!(src = calloc(1, sizeof(*src))))
		return NULL;
	memcpy(src->id, id, sizeof(id));
	src->hash = h;
	if (table_put(t, h, src) < 0) {
		free(src);
		return NULL;
	}
	return src;
}

void srccount_put(struct table *t, struct srccount *src)
{
	if (src && --src->n == 0) {
		table_del(t, src->hash);
		free(src);
	}
}
