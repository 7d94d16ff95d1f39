/* discover.c: DISCOVER requests, DESC and DISCOVERED replies, paging and verdicts (sans-I/O). */
#include "discover.h"

#include <errno.h>
#include <string.h>

#include "frame.h"

static const uint8_t zero32[32];

int discover_encode(const struct discover_filter *f, const uint8_t *after, uint8_t max,
                    uint8_t *out, size_t cap)
{
	struct ctrl_discover d = {.flags = PROTO_DISCOVER_NOT_FULL, .max = max};

	if (f->near) {
		d.flags |= PROTO_DISCOVER_NEAR;
		d.lat_e6 = f->lat_e6;
		d.lon_e6 = f->lon_e6;
		if (d.lat_e6 < -90000000 || d.lat_e6 > 90000000 || d.lon_e6 < -180000000 ||
		    d.lon_e6 > 180000000)
			return -EINVAL;
	}
	if (f->modes) {
		d.flags |= PROTO_DISCOVER_MODES;
		d.modes = f->modes;
	}
	if (after)
		memcpy(d.after, after, 32);
	return ctrl_encode_discover(&d, out, cap);
}

int discover_parse(const uint8_t *p, size_t len, struct discover_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 1)
		return FRAME_ESHORT;
	r->type = p[0];
	if (r->type == CTRL_DESC)
		return ctrl_decode_desc_msg(CTRL_DESC, p, len, &r->desc, &r->desc_len);
	if (r->type == CTRL_DISCOVERED)
		return ctrl_decode_discovered(p, len, r->next, &r->count);
	return FRAME_ETYPE;
}

static const char *const verdict_names[DISCOVER_V_MAX] = {
    [DISCOVER_NEW] = "new",
    [DISCOVER_UPDATED] = "updated",
    [DISCOVER_UNCHANGED] = "unchanged",
    [DISCOVER_R_INVALID] = "invalid",
    [DISCOVER_R_EXPIRED] = "expired",
    [DISCOVER_R_FUTURE] = "future",
    [DISCOVER_R_BOOTSTRAP] = "bootstrap-key",
    [DISCOVER_R_CONFLICT] = "key-conflict",
    [DISCOVER_R_SCOPE] = "scope",
    [DISCOVER_R_FULL] = "full",
};

const char *discover_verdict_name(enum discover_verdict v)
{
	return (unsigned)v < DISCOVER_V_MAX ? verdict_names[v] : "?";
}

/*
 * May a relay at via name ep as a relay's endpoint? Never an address nobody can be reached at;
 * loopback only from loopback, private only from loopback or private, and the other ranges no
 * one routes on the Internet (reserved, documentation, benchmarking) only from a relay that is
 * not on the Internet either (a lab or test network): a relay on the Internet must not steer
 * helpers' probes and handshakes into their own hosts or networks.
 */
static bool scope_ok(const struct addr *ep, const struct addr *via)
{
	const unsigned unrouted = ADDR_RESERVED | ADDR_DOCUMENTATION | ADDR_BENCHMARKING;
	unsigned c = addr_classify(ep), v = via ? addr_classify(via) : 0;

	if (c & (ADDR_UNSPECIFIED | ADDR_MULTICAST | ADDR_BROADCAST | ADDR_LINKLOCAL))
		return false;
	if (c & ADDR_LOOPBACK)
		return v & ADDR_LOOPBACK;
	if (c & ADDR_PRIVATE)
		return v & (ADDR_LOOPBACK | ADDR_PRIVATE);
	if (c & unrouted)
		return v & (ADDR_LOOPBACK | ADDR_PRIVATE | unrouted);
	return true;
}

enum discover_verdict discover_judge(const struct descriptor *d, uint64_t now,
                                     const struct addr *via, const uint8_t via_key[32],
                                     const struct discover_known *k, size_t cap)
{
	int t = desc_check_time(d, now);
	bool proven = via_key && memcmp(d->noise, via_key, 32) == 0;

	if (t == -DESC_E_EXPIRED)
		return DISCOVER_R_EXPIRED;
	if (t < 0)
		return DISCOVER_R_FUTURE;
	/* desc_decode saw to it that the first endpoint is the UDP control port. */
	if (d->n_endpoints < 1 || d->endpoints[0].transport != DESC_T_UDP ||
	    !scope_ok(&d->endpoints[0].addr, via))
		return DISCOVER_R_SCOPE;
	if (k->bootstrap_diff)
		return DISCOVER_R_BOOTSTRAP;
	/*
	 * A descriptor can name any Noise key (only the identity signs it), so the first identity
	 * seen with a key keeps it, unless the key is the one the sending relay's link proved.
	 */
	if (k->key_held && k->key_other_id && !proven)
		return DISCOVER_R_CONFLICT;
	if (k->have && d->seq <= k->seq)
		return DISCOVER_UNCHANGED;
	if (k->have || k->key_trusted)
		return DISCOVER_UPDATED;
	if (k->stored >= cap && !(k->soonest && k->soonest < d->expires_at))
		return DISCOVER_R_FULL;
	return DISCOVER_NEW;
}

unsigned discover_refusals(const struct discover_stats *s)
{
	unsigned n = 0;

	for (int v = DISCOVER_R_INVALID; v < DISCOVER_V_MAX; v++)
		n += s->verdicts[v];
	return n;
}

void discover_count(struct discover_stats *s, enum discover_verdict v, int desc_err)
{
	if ((unsigned)v >= DISCOVER_V_MAX)
		return;
	s->verdicts[v]++;
	if (v == DISCOVER_R_INVALID && desc_err > 0 && desc_err < DESC_E_MAX)
		s->invalid[desc_err]++;
}

void discover_start(struct discover_run *r, const struct discover_filter *f)
{
	memset(r, 0, sizeof(*r));
	r->filter = *f;
	r->phase = DISCOVER_AGAIN;
}

bool discover_busy(const struct discover_run *r)
{
	return r->phase != DISCOVER_IDLE;
}

int discover_poll(struct discover_run *r, bool link_up, int64_t now_ms, uint8_t *out, size_t cap)
{
	if (r->phase == DISCOVER_IDLE)
		return 0;
	if (!link_up) {
		r->phase = DISCOVER_IDLE;
		return 0;
	}
	if (r->phase == DISCOVER_WAITING) {
		if (now_ms - r->sent_ms < DISCOVER_PAGE_TIMEOUT_MS)
			return 0;
		if (r->tries >= DISCOVER_PAGE_TRIES) {
			r->stats.timed_out = true;
			r->phase = DISCOVER_IDLE;
			return 0;
		}
	}
	int n = discover_encode(&r->filter, r->after, PROTO_DISCOVER_MAX, out, cap);
	if (n < 0)
		return n;
	/* A new page starts its count of DESC; one asked again counts what comes anew. */
	r->descs = 0;
	r->tries++;
	r->sent_ms = now_ms;
	r->phase = DISCOVER_WAITING;
	return n;
}

/* A page ended with the relay's cursor next: ask for the next one, or end the run. */
static enum discover_event page_done(struct discover_run *r, const struct discover_reply *rep)
{
	if (rep->count > r->descs) {
		r->stats.lost += rep->count - r->descs;
		/* DESC frames were lost on the way: the same page once more, while tries last. */
		if (r->tries < DISCOVER_PAGE_TRIES) {
			r->phase = DISCOVER_AGAIN;
			return DISCOVER_EV_PAGE;
		}
	}
	r->stats.pages++;
	if (memcmp(rep->next, zero32, 32) == 0) {
		r->stats.complete = true;
		r->phase = DISCOVER_IDLE;
		return DISCOVER_EV_DONE;
	}
	if (++r->pages >= DISCOVER_MAX_PAGES) {
		r->phase = DISCOVER_IDLE;
		return DISCOVER_EV_DONE;
	}
	memcpy(r->after, rep->next, 32);
	r->tries = 0;
	r->phase = DISCOVER_AGAIN;
	return DISCOVER_EV_PAGE;
}

enum discover_event discover_input(struct discover_run *r, const uint8_t *msg, size_t len,
                                   struct discover_reply *rep)
{
	if (discover_parse(msg, len, rep) < 0 || r->phase != DISCOVER_WAITING)
		goto drop;
	if (rep->type == CTRL_DESC) {
		if (r->descs >= PROTO_DISCOVER_MAX)
			goto drop; /* more than a page holds: the relay floods */
		r->descs++;
		return DISCOVER_EV_DESC;
	}
	/*
	 * The cursor only moves forward in byte order (an identity, or distance ‖ identity in the
	 * near order): a DISCOVERED that does not is an answer to a page asked before, or a relay
	 * that would keep us paging for ever.
	 */
	if (memcmp(rep->next, zero32, 32) != 0 && memcmp(rep->next, r->after, 32) <= 0)
		goto drop;
	return page_done(r, rep);
drop:
	r->stats.dropped++;
	return DISCOVER_EV_DROP;
}
