/*
 * quota.c: what each client key and each source holds (links, reservations, circuits), so
 * the per-client and per-source limits of OPERATING.md hold. A source is an IPv4 address or
 * an IPv6 /64 (what one subscriber gets). Entries live in one table keyed by a keyed hash of
 * their id; an entry is freed when nothing is charged to it, and not before: a key whose link
 * expired keeps its count while its memberships live on.
 */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sodium.h>

#include "relay.h"

/*
 * The entry for (kind, id), created when missing. The table's hash is keyed, so nobody can aim
 * two ids at one slot; should two ever meet, the second gets NULL, which callers treat as "over
 * the limit" rather than share a count.
 */
static struct quota *quota_get(struct relay *r, uint8_t kind, const uint8_t id[32])
{
	uint8_t buf[33];
	uint64_t h;
	struct quota *q;

	buf[0] = kind;
	memcpy(buf + 1, id, 32);
	h = table_key16(&r->quotas, buf, sizeof(buf));
	if ((q = table_get(&r->quotas, h)))
		return q->kind == kind && !memcmp(q->id, id, 32) ? q : NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->kind = kind;
	memcpy(q->id, id, 32);
	q->hash = h;
	if (table_put(&r->quotas, h, q) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

struct quota *quota_key(struct relay *r, const uint8_t pub[32])
{
	return quota_get(r, QUOTA_KEY, pub);
}

struct quota *quota_source(struct relay *r, const struct addr *a)
{
	uint8_t id[32] = {0};
	struct addr ip = *a;

	addr_unmap(&ip);
	if (addr_family(&ip) == AF_INET) {
		id[0] = 4;
		memcpy(id + 1, &ip.in.sin_addr, 4);
	} else {
		id[0] = 6;
		memcpy(id + 1, ip.in6.sin6_addr.s6_addr, 8);
	}
	return quota_get(r, QUOTA_SOURCE, id);
}

void quota_release(struct relay *r, struct quota *q)
{
	if (!q || q->links || q->reservations || q->circuits)
		return;
	table_del(&r->quotas, q->hash);
	free(q);
}
