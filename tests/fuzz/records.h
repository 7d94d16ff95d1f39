/*
 * records.h: fuzz targets' reader of cache records out of the fuzzer's bytes. The database is a
 * file others can write (a restored backup, a hand edit, relays learned from outside), so every
 * text field may hold any bytes up to its size, and every number any value.
 */
#ifndef WGR_FUZZ_RECORDS_H
#define WGR_FUZZ_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *z)
{
	uint8_t v = 0;
	if (z->n) {
		v = *z->p++;
		z->n--;
	}
	return v;
}

static inline uint64_t fz_u64(struct fz *z)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | fz_u8(z);
	return v;
}

/* A text field: a length byte, then that many bytes (cut to cap - 1), NUL-terminated. */
static inline void fz_text(struct fz *z, char *dst, size_t cap)
{
	size_t len = fz_u8(z), i;
	for (i = 0; i < len; i++) {
		uint8_t c = fz_u8(z);
		if (i < cap - 1)
			dst[i] = (char)(c ? c : 'x'); /* the database hands back C strings */
	}
	dst[i < cap - 1 ? i : cap - 1] = '\0';
}

#define FZ_TEXT(z, field) fz_text(z, field, sizeof(field))

static inline void fz_relay(struct fz *z, struct cache_relay *r)
{
	memset(r, 0, sizeof(*r));
	FZ_TEXT(z, r->pubkey);
	FZ_TEXT(z, r->endpoint);
	FZ_TEXT(z, r->source);
	FZ_TEXT(z, r->status);
	r->rtt_ms = (int32_t)fz_u64(z);
	r->load_permille = (int32_t)fz_u64(z);
	r->flags = (uint32_t)fz_u64(z);
	r->has_loc = fz_u8(z) & 1;
	r->lat = (double)(int8_t)fz_u8(z);
	r->lon = (double)(int16_t)fz_u64(z);
	FZ_TEXT(z, r->city);
	FZ_TEXT(z, r->country);
	r->last_seen = (int64_t)fz_u64(z);
	FZ_TEXT(z, r->token);
}

static inline void fz_peer(struct fz *z, struct cache_peer *p)
{
	memset(p, 0, sizeof(*p));
	FZ_TEXT(z, p->iface);
	FZ_TEXT(z, p->peer);
	FZ_TEXT(z, p->path);
	FZ_TEXT(z, p->mode);
	FZ_TEXT(z, p->relay_pubkey);
	FZ_TEXT(z, p->relay_endpoint);
	FZ_TEXT(z, p->endpoint);
	p->since = (int64_t)fz_u64(z);
	p->updated = (int64_t)fz_u64(z);
	FZ_TEXT(z, p->why);
}

static inline void fz_plan(struct fz *z, struct cache_plan *p)
{
	memset(p, 0, sizeof(*p));
	FZ_TEXT(z, p->iface);
	FZ_TEXT(z, p->peer);
	FZ_TEXT(z, p->next);
	p->next_at = (int64_t)fz_u64(z);
	p->geo_known = fz_u8(z) & 1;
	p->updated = (int64_t)fz_u64(z);
	p->n_relays = fz_u8(z) % (CACHE_PLAN_RELAYS + 1);
	for (size_t i = 0; i < p->n_relays; i++) {
		struct cache_plan_relay *r = &p->relays[i];
		FZ_TEXT(z, r->pubkey);
		FZ_TEXT(z, r->endpoint);
		r->distance_km = (int32_t)fz_u64(z);
		r->rtt_ms = (int32_t)fz_u64(z);
		r->load_permille = (int32_t)fz_u64(z);
		r->score = (int32_t)fz_u64(z);
		r->usable = fz_u8(z) & 1;
	}
}

static inline void fz_session(struct fz *z, struct cache_session *s)
{
	memset(s, 0, sizeof(*s));
	FZ_TEXT(z, s->iface);
	FZ_TEXT(z, s->peer);
	FZ_TEXT(z, s->relay_pubkey);
	FZ_TEXT(z, s->relay_endpoint);
	FZ_TEXT(z, s->session_endpoint);
	FZ_TEXT(z, s->original_endpoint);
	s->original_keepalive = (int32_t)fz_u64(z);
	s->since = (int64_t)fz_u64(z);
	FZ_TEXT(z, s->mode);
}

static inline void fz_iface(struct fz *z, struct cache_iface *f)
{
	memset(f, 0, sizeof(*f));
	FZ_TEXT(z, f->name);
	f->enabled = fz_u8(z) & 1;
	f->threshold_windows = (uint32_t)fz_u64(z);
	FZ_TEXT(z, f->mode);
	f->mtu = (int32_t)fz_u64(z);
	f->prebind = (uint32_t)fz_u64(z);
}

#endif
