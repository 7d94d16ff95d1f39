/* registry.c: the relays of the cache, their addresses, locations, statuses and fwmark. */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ev.h"
#include "frame.h"
#include "geoip.h"
#include "link.h"
#include "probe.h"
#include "proto.h"
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
	size_t k;
	int rc = cache_relay_list(c, &r, &k);

	if (rc < 0)
		return rc;
	e = calloc(k ? k : 1, sizeof(*e));
	if (!e) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		e[i].info = r[i];
		e[i].lookup = true;
	}
	free(r);
	*out = e;
	*n = k;
	return 0;
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
