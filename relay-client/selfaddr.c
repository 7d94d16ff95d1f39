/* selfaddr.c: our public address by the relays' majority (see selfaddr.h). */
#include "selfaddr.h"

static struct addr plain(const struct addr *a)
{
	struct addr x = *a;
	addr_unmap(&x);
	return x;
}

struct selfaddr_vote selfaddr_decide(const struct addr *obs, size_t n, const struct addr *cur)
{
	struct selfaddr_vote v = {0};
	size_t best = 0, best_votes = 0, cur_votes = 0;
	struct addr c = {0};

	if (cur && cur->len)
		c = plain(cur);
	for (size_t i = 0; i < n; i++)
		v.total += obs[i].len != 0;
	/* Quadratic, but n is the number of relay links (STEER_MAX_RELAYS at most). */
	for (size_t i = 0; i < n; i++) {
		if (!obs[i].len)
			continue;
		struct addr a = plain(&obs[i]);
		size_t votes = 0;
		for (size_t j = 0; j < n; j++)
			if (obs[j].len) {
				struct addr b = plain(&obs[j]);
				votes += addr_equal_ip(&a, &b);
			}
		if (votes > best_votes) {
			best_votes = votes;
			best = i;
		}
		if (c.len && addr_equal_ip(&a, &c))
			cur_votes = votes;
	}
	if (best_votes * 2 > v.total) {
		v.known = true;
		v.addr = plain(&obs[best]);
		v.votes = best_votes;
		if (c.len && addr_equal_ip(&v.addr, &c))
			v.addr = c; /* the same IP at another port is no change */
	} else if (c.len && (v.total == 0 || cur_votes == best_votes)) {
		v.known = true;
		v.addr = c;
		v.votes = cur_votes;
	}
	return v;
}
