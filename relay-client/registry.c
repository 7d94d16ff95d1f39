/* registry.c: the relays of the cache, their addresses, locations, statuses and fwmark. */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ev.h"
#include "frame.h"
#include "geoip.h"
#include "key.h"
#include "link.h"
#include "log.h"
#include "probe.h"
#include "proto.h"
#include "urls.h"
#include "wg.h"

static const char *const status_words[] = {
    [REGISTRY_UNKNOWN] = "unknown",
    [REGISTRY_OK] = "ok",
    [REGISTRY_FULL] = "full",
    [REGISTRY_DENIED] = "denied",
    [REGISTRY_UNREACHABLE] = "unreachable",
    [REGISTRY_UNRESOLVED] = "unresolved",
};

const char *registry_status_name(enum registry_status st)
{
	if ((size_t)st >= sizeof(status_words) / sizeof(status_words[0]))
		return status_words[REGISTRY_UNKNOWN];
	return status_words[st];
}

enum registry_status registry_status_parse(const char *word)
{
	for (size_t i = 0; word && i < sizeof(status_words) / sizeof(status_words[0]); i++)
		if (strcmp(word, status_words[i]) == 0)
			return (enum registry_status)i;
	return REGISTRY_UNKNOWN;
}

static void set_status(struct cache_relay *r, enum registry_status st)
{
	snprintf(r->status, sizeof(r->status), "%s", registry_status_name(st));
}

enum registry_status registry_link_status(const struct link *l)
{
	if (l->last_error == PROTO_ERR_AUTH_DENIED || l->last_error == PROTO_ERR_AUTH_REQUIRED)
		return REGISTRY_DENIED;
	if (l->rtt_ms >= 0 && (l->pong_flags & PONG_F_FULL))
		return REGISTRY_FULL;
	if (l->rtt_ms >= 0 || l->state == LINK_UP)
		return REGISTRY_OK;
	return REGISTRY_UNREACHABLE;
}

void registry_link_merge(struct cache_relay *r, const struct link *l, int64_t now)
{
	enum registry_status st = registry_link_status(l);

	set_status(r, st);
	r->rtt_ms = l->rtt_ms;
	/* A load is only as fresh as the PONG that brought it. */
	r->load_permille = l->rtt_ms >= 0 ? l->load_permille : -1;
	r->flags = l->pong_flags;
	if (st == REGISTRY_OK || st == REGISTRY_FULL)
		r->last_seen = now;
}

void registry_probe_merge(struct cache_relay *r, const struct probe_target *t, bool resolved,
                          int64_t now)
{
	r->rtt_ms = t->rtt_ms;
	if (!t->answered) {
		r->load_permille = -1; /* no answer, no load */
		set_status(r, resolved ? REGISTRY_UNREACHABLE : REGISTRY_UNRESOLVED);
		return;
	}
	r->load_permille = t->pong.load_permille;
	r->flags = t->pong.flags;
	r->last_seen = now;
	if (registry_status_parse(r->status) != REGISTRY_DENIED)
		set_status(r, (t->pong.flags & PONG_F_FULL) ? REGISTRY_FULL : REGISTRY_OK);
}

const char *registry_shown_status(const struct cache_relay *r)
{
	enum registry_status st = registry_status_parse(r->status);

	if (st == REGISTRY_DENIED)
		return "refused";
	if ((st == REGISTRY_OK || st == REGISTRY_FULL) && (r->flags & PONG_F_AUTH_TOKEN) &&
	    !r->token[0])
		return "refused";
	return registry_status_name(st);
}

int registry_load(struct cache *c, struct registry_entry **out, size_t *n)
{
	struct cache_relay *r;
	struct registry_entry *e;
	size_t k, m = 0;
	int64_t now = time(NULL);
	int rc = cache_relay_list(c, &r, &k);

	if (rc < 0)
		return rc;
	e = calloc(k ? k : 1, sizeof(*e));
	if (!e) {
		free(r);
		return -ENOMEM;
	}
	/* Lines first (the helper links to the first relays), each group in endpoint order. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < k; i++) {
			bool disc = cache_source_discovered(r[i].source);
			if (disc != (pass == 1))
				continue;
			/* A descriptor alone vouches for a discovered relay: only while current. */
			if (disc && (!r[i].has_desc || r[i].expires <= now))
				continue;
			e[m].info = r[i];
			e[m++].lookup = true;
		}
	free(r);
	*out = e;
	*n = m;
	return 0;
}

enum discover_verdict registry_take_desc(struct cache *c, const char *source, const uint8_t *desc,
                                         size_t len, const struct addr *via,
                                         const uint8_t via_key[32], uint64_t now,
                                         struct discover_stats *st)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000);
	struct descriptor d;
	struct discover_known k;
	struct cache_desc cd = {.blob = desc, .len = len};
	enum discover_verdict v;
	int rc = desc_decode(desc, len, &d);

	if (rc < 0) {
		discover_count(st, DISCOVER_R_INVALID, -rc);
		return DISCOVER_R_INVALID;
	}
	snprintf(cd.source, sizeof(cd.source), "%s", source);
	key_to_base64(cd.identity, d.identity);
	key_to_base64(cd.pubkey, d.noise);
	if (d.endpoints[0].transport == DESC_T_UDP) /* always, once decoded; judged below */
		addr_format(&d.endpoints[0].addr, cd.endpoint, sizeof(cd.endpoint));
	if (cache_desc_known(c, cd.identity, cd.pubkey, cd.endpoint, &k) < 0)
		return DISCOVER_V_MAX; /* not judged: the cache failed (logged) */
	v = discover_judge(&d, now, via, via_key, &k, CACHE_MAX_DISCOVERED);
	if (v == DISCOVER_R_BOOTSTRAP)
		log_warnx_rl(
		    &rl,
		    "relay %.8s... at %s: descriptor refused: its key %.8s... differs from "
		    "the one a bootstrap line names for that endpoint",
		    cd.identity, cd.endpoint, cd.pubkey);
	if (v == DISCOVER_NEW || v == DISCOVER_UPDATED) {
		cd.seq = d.seq;
		cd.issued = (int64_t)d.issued_at;
		cd.expires = (int64_t)d.expires_at;
		urls_from_desc(&d, cd.urls, sizeof(cd.urls));
		if (cache_desc_store(c, &cd, CACHE_MAX_DISCOVERED) < 0)
			return DISCOVER_V_MAX;
	}
	log_debug("%s: relay %s (%.8s...) from %s: descriptor %s, seq %llu", source, cd.endpoint,
	          cd.pubkey, addr_format(via, (char[ADDR_STRLEN]){0}, ADDR_STRLEN),
	          discover_verdict_name(v), (unsigned long long)d.seq);
	discover_count(st, v, 0);
	return v;
}

/* One pass over the entries still without an address; true when a lookup still runs. */
static bool resolve_pass(struct registry_entry *e, size_t n)
{
	bool more = false;

	for (size_t i = 0; i < n; i++) {
		if (!e[i].pending)
			continue;
		int rc = cli_resolve(e[i].info.endpoint, &e[i].addr, &e[i].why);
		/* -EAGAIN: too many lookups at once; this one is asked again on the next pass. */
		e[i].pending = rc == -EINPROGRESS || rc == -EAGAIN;
		if (e[i].pending) {
			e[i].why = "no answer in time";
			more = true;
		}
	}
	return more;
}

void registry_resolve(struct registry_entry *e, size_t n, int wait_ms)
{
	uint64_t deadline = ev_clock_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);

	for (size_t i = 0; i < n; i++) {
		e[i].why = NULL;
		e[i].pending = false;
		if (addr_parse(&e[i].addr, e[i].info.endpoint, PROTO_DEFAULT_PORT) == 0)
			continue;
		e[i].addr.len = 0;
		e[i].why = "not looked up";
		e[i].pending = e[i].lookup;
	}
	for (;;) {
		uint64_t now;

		if (!resolve_pass(e, n) || (now = ev_clock_ms()) >= deadline)
			return;
		cli_resolve_wait((int)(deadline - now));
	}
}

bool registry_locate(struct registry_entry *e, struct geoip *g)
{
	struct geoip_loc l;

	if (!e->addr.len || geoip_lookup(g, &e->addr, &l) < 0)
		return false;
	e->info.has_loc = true;
	e->info.lat = l.lat;
	e->info.lon = l.lon;
	snprintf(e->info.city, sizeof(e->info.city), "%s", l.city);
	snprintf(e->info.country, sizeof(e->info.country), "%s", l.country);
	return true;
}

/* Append name to the ", "-separated list in buf (len bytes), cut when it does not fit. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

uint32_t registry_fwmark(const struct registry_mark *m, size_t n, size_t *chosen, char *others,
                         size_t len)
{
	size_t best = SIZE_MAX;

	if (len)
		others[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (m[i].fwmark && (best == SIZE_MAX || strcmp(m[i].name, m[best].name) < 0))
			best = i;
	*chosen = best;
	if (best == SIZE_MAX)
		return 0;
	/* The others in name order too, so the warning reads the same every time. */
	const char *last = "";
	for (;;) {
		size_t next = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (m[i].fwmark && m[i].fwmark != m[best].fwmark &&
			    strcmp(m[i].name, last) > 0 &&
			    (next == SIZE_MAX || strcmp(m[i].name, m[next].name) < 0))
				next = i;
		if (next == SIZE_MAX || !len)
			break;
		list_add(others, len, m[next].name);
		last = m[next].name;
	}
	return m[best].fwmark;
}

/* The fwmark of the device name, 0 when it has none or cannot be read. */
static uint32_t device_fwmark(const char *name)
{
	struct wg_device *dev;
	uint32_t mark = 0;

	if (wg_get_device(name, &dev) < 0)
		return 0;
	if (dev->flags & WG_DEVICE_HAS_FWMARK)
		mark = dev->fwmark;
	wg_free_device(dev);
	return mark;
}

uint32_t registry_device_fwmark(struct cache *c)
{
	struct registry_mark m[64];
	struct cache_iface *ifs = NULL;
	char **names = NULL, others[8];
	size_t n = 0, k = 0, chosen;

	if (cache_iface_list(c, &ifs, &k) == 0)
		for (size_t i = 0; i < k && n < sizeof(m) / sizeof(m[0]); i++)
			if (ifs[i].enabled)
				m[n++] =
				    (struct registry_mark){ifs[i].name, device_fwmark(ifs[i].name)};
	if (n == 0 && wg_list_devices(&names, &k) == 0)
		for (size_t i = 0; i < k && n < sizeof(m) / sizeof(m[0]); i++)
			m[n++] = (struct registry_mark){names[i], device_fwmark(names[i])};
	uint32_t mark = registry_fwmark(m, n, &chosen, others, sizeof(others));
	if (names)
		wg_free_names(names);
	free(ifs);
	return mark;
}
