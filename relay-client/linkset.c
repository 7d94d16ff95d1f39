/* linkset.c: the relays the helper links to, chosen by the peers' shared rankings. */
#include "linkset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const why_names[] = {
    [LINKSET_OUT] = "out",   [LINKSET_IN_USE] = "in-use",
    [LINKSET_TOP] = "top",   [LINKSET_BOOTSTRAP] = "bootstrap",
    [LINKSET_NEXT] = "next", [LINKSET_KEPT] = "kept",
    [LINKSET_FILL] = "fill",
};

const char *linkset_why_name(enum linkset_why w)
{
	if ((size_t)w >= sizeof(why_names) / sizeof(why_names[0]))
		return why_names[LINKSET_OUT];
	return why_names[w];
}

static unsigned peer_k(const struct linkset_peer *p)
{
	return p->k ? p->k : 1;
}

int linkset_rank(const struct linkset_in *in, const struct linkset_peer *p, size_t *order,
                 size_t len)
{
	size_t n = in->n_relays;
	struct select_cand *c;
	size_t *all;

	if (len > n)
		len = n;
	if (n == 0)
		return 0;
	c = calloc(n, sizeof(*c));
	all = calloc(n, sizeof(*all));
	if (!c || !all) {
		free(c);
		free(all);
		return -ENOMEM;
	}
	/*
	 * Only what both ends of the pair share: locations and the sid. Load and reachability are
	 * unknown for relays not linked, and differ between the two helpers for those that are;
	 * the 4K reach absorbs the reordering they cause in the per-second ranking.
	 */
	for (size_t i = 0; i < n; i++) {
		memcpy(c[i].pubkey, in->relays[i].pub, 32);
		memcpy(c[i].sid, p->sids[i], 16);
		c[i].loc = in->relays[i].loc;
		c[i].load_permille = -1;
		c[i].reachable = true;
	}
	select_rank(in->self, p->loc, c, n, all);
	if (len) /* all may be NULL with no relays */
		memcpy(order, all, len * sizeof(*order));
	free(c);
	free(all);
	return (int)len;
}

struct pick {
	uint8_t *why;
	size_t count, cap;
};

static void take(struct pick *pk, size_t i, enum linkset_why w)
{
	if (pk->why[i] == LINKSET_OUT && pk->count < pk->cap) {
		pk->why[i] = (uint8_t)w;
		pk->count++;
	}
}

/*
 * Ranks [from*k, to*k) of every peer, rank by rank round-robin over the peers, so that a cut
 * by the cap leaves every peer its best ranks rather than the first peers all of theirs.
 * only_linked: step 5, relays linked already.
 */
static void take_ranks(struct pick *pk, const struct linkset_in *in, size_t *const *top,
                       const size_t *len, unsigned from, unsigned to, bool only_linked,
                       enum linkset_why w)
{
	size_t most = 0;

	for (size_t p = 0; p < in->n_peers; p++)
		if (len[p] > most)
			most = len[p];
	for (size_t r = 0; r < most && pk->count < pk->cap; r++)
		for (size_t p = 0; p < in->n_peers; p++) {
			size_t k = peer_k(&in->peers[p]);
			if (r < from * k || r >= to * k || r >= len[p])
				continue;
			size_t i = top[p][r];
			if (!only_linked || in->relays[i].linked)
				take(pk, i, w);
		}
}

/* Step 6: the room left, nearest to us first (a pair at our location; all sids zero). */
static int fill(struct pick *pk, const struct linkset_in *in)
{
	uint8_t(*zero)[16] = calloc(in->n_relays ? in->n_relays : 1, sizeof(*zero));
	size_t *order = calloc(in->n_relays ? in->n_relays : 1, sizeof(*order));
	struct linkset_peer self = {in->self, 1, NULL};
	int rc = -ENOMEM;

	if (zero && order) {
		self.sids = (const uint8_t(*)[16])zero;
		rc = linkset_rank(in, &self, order, in->n_relays);
		for (size_t j = 0; rc >= 0 && j < (size_t)rc; j++)
			take(pk, order[j], LINKSET_FILL);
	}
	free(zero);
	free(order);
	return rc < 0 ? rc : 0;
}

int linkset_choose(const struct linkset_in *in, uint8_t *why, size_t *n_chosen)
{
	struct pick pk = {why, 0, in->cap};
	size_t **top = calloc(in->n_peers ? in->n_peers : 1, sizeof(*top));
	size_t *len = calloc(in->n_peers ? in->n_peers : 1, sizeof(*len));
	int rc = 0;

	memset(why, LINKSET_OUT, in->n_relays);
	*n_chosen = 0;
	if (!top || !len) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t p = 0; p < in->n_peers; p++) {
		size_t want = (size_t)LINKSET_KEEP * peer_k(&in->peers[p]);
		if (want > in->n_relays)
			want = in->n_relays;
		top[p] = calloc(want ? want : 1, sizeof(**top));
		if (!top[p]) {
			rc = -ENOMEM;
			goto out;
		}
		rc = linkset_rank(in, &in->peers[p], top[p], want);
		if (rc < 0)
			goto out;
		len[p] = (size_t)rc;
		rc = 0;
	}
	for (size_t i = 0; i < in->n_relays; i++)
		if (in->relays[i].in_use)
			take(&pk, i, LINKSET_IN_USE);
	take_ranks(&pk, in, top, len, 0, 1, false, LINKSET_TOP);
	for (size_t i = 0; i < in->n_relays; i++)
		if (in->relays[i].bootstrap)
			take(&pk, i, LINKSET_BOOTSTRAP);
	take_ranks(&pk, in, top, len, 1, LINKSET_WIDEN, false, LINKSET_NEXT);
	take_ranks(&pk, in, top, len, LINKSET_WIDEN, LINKSET_KEEP, true, LINKSET_KEPT);
	if (in->fill && pk.count < pk.cap && (rc = fill(&pk, in)) < 0)
		goto out;
	*n_chosen = pk.count;
out:
	for (size_t p = 0; top && p < in->n_peers; p++)
		free(top[p]);
	free(top);
	free(len);
	if (rc < 0)
		memset(why, LINKSET_OUT, in->n_relays);
	return rc;
}
