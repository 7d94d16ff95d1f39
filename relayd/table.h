/*
 * table.h: open-addressed hash map from a 64-bit key to a pointer, with a keyed hash so
 * outside-chosen keys (indices, sids, ports) cannot force collisions. Grows by doubling.
 */
#ifndef WGR_TABLE_H
#define WGR_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct table_slot {
	uint64_t key;
	void *val; /* NULL: empty; TABLE_TOMB: deleted */
};

struct table {
	struct table_slot *slots;
	size_t cap, n, used; /* used counts tombstones too */
	uint8_t hashkey[16];
};

#define TABLE_TOMB ((void *)1)

int table_init(struct table *t, size_t cap);
void table_free(struct table *t);
void *table_get(const struct table *t, uint64_t key);
/* Insert or replace; 0 or -ENOMEM. */
int table_put(struct table *t, uint64_t key, void *val);
void *table_del(struct table *t, uint64_t key);
/* Iterate: *pos starts at 0; returns the next value or NULL at the end. */
void *table_next(const struct table *t, size_t *pos);
/* A 64-bit key from 16 bytes (a sid, a public key): keyed SipHash of t. */
uint64_t table_key16(const struct table *t, const uint8_t *p, size_t len);

#endif
