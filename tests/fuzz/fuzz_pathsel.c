/*
 * Fuzz target: path selection (relay-client/pathsel.c) over relays whose descriptors came from
 * outside. The input is a header (hops, strategy, requirements, a generator seed, the
 * rendezvous) and records: u16 length, a descriptor (desc_decode; a record that does not decode
 * is skipped), then 4 bytes that vary it (its /16, country, family, load and the circuits bit),
 * so that few seeds reach every rule. Guards are refreshed and a path chosen. Checked: an
 * answer is 0, -EINVAL or -ENOENT; a path ends at the rendezvous, holds the hops asked for (3
 * for Anonymous raised), every index in range, no relay twice, every hop before the rendezvous
 * with the circuits bit; the guards are distinct relays in view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathsel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_LEN    8
#define MAX_RELAYS 64

static uint32_t rnd(void *ctx, uint32_t bound)
{
	uint64_t *s = ctx;

	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33) % bound;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pathsel_relay rs[MAX_RELAYS];
	struct pathsel_req req;
	struct pathsel_guards g;
	struct pathsel_path p;
	struct descriptor d;
	uint64_t seed, now = 1700000000;
	size_t n = 0, at = HDR_LEN;
	int rc;

	if (size < HDR_LEN)
		return 0;
	memset(&req, 0, sizeof(req));
	req.hops = data[0] % (ONION_MAX_HOPS + 2); /* 0 and one too many: -EINVAL */
	req.strategy = (enum pathsel_strategy)(data[1] % 4);
	req.min_uptime_s = data[2] & 1 ? 3600 : 0;
	req.min_bandwidth_kbps = data[2] & 2 ? 1000 : 0;
	req.strict_guards = data[2] & 4;
	if (data[2] & 8)
		memcpy(req.exclude[req.n_exclude++], "DE", 3);
	if (data[2] & 16)
		memcpy(req.allow[req.n_allow++], "FR", 3);
	req.self = (struct select_point){.known = data[2] & 32, .lat = 48.8, .lon = 2.3};
	seed = (uint64_t)data[3] << 16 | (uint64_t)data[4] << 8 | data[5];
	while (n < MAX_RELAYS && at + 2 <= size) {
		size_t len = (size_t)data[at] << 8 | data[at + 1];
		char ip[32];

		at += 2;
		if (len > size - at)
			break;
		if (desc_decode(data + at, len, &d) == 0 && at + len + 4 <= size) {
			const uint8_t *v = data + at + len;

			pathsel_from_desc(&rs[n], &d);
			snprintf(ip, sizeof(ip), "10.%u.0.1:51821", v[0] % 8);
			if (v[0] & 0x80)
				addr_parse(&rs[n].control, ip, 0);
			rs[n].country[0] = v[1] % 4 ? (char)('A' + v[1] % 4) : '\0';
			rs[n].country[1] = rs[n].country[0] ? 'X' : '\0';
			rs[n].family[0] = v[2] % 3 ? (char)('a' + v[2] % 3) : '\0';
			rs[n].family[1] = '\0';
			rs[n].load_permille = (uint16_t)(v[3] * 4);
			if (v[3] & 1)
				rs[n].modes |= DESC_MODE_CIRCUITS;
			rs[n].identity[0] ^=
			    (uint8_t)n; /* the same descriptor again: another relay */
			n++;
		}
		at += len + 4;
	}
	memset(&g, 0, sizeof(g));
	rc = pathsel_guards_refresh(&g, rs, n, &req, now, rnd, &seed);
	if (rc < 0 && rc != -EINVAL)
		abort();
	if (g.n > PATHSEL_GUARDS)
		abort();
	for (unsigned i = 0; i < g.n; i++)
		for (unsigned j = i + 1; j < g.n; j++)
			if (!memcmp(g.g[i].identity, g.g[j].identity, 32))
				abort();
	if (!n)
		return 0;
	size_t rv = data[6] % (n + 1); /* n: out of range */
	rc = pathsel_choose(rs, n, rv, &req, data[7] & 1 ? &g : NULL, rnd, &seed, &p);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ENOENT)
			abort();
		return 0;
	}
	if (!p.n || p.n > ONION_MAX_HOPS || p.hop[p.n - 1] != rv ||
	    (p.n != req.hops && !(p.flags & PATHSEL_F_RAISED)))
		abort();
	for (unsigned i = 0; i < p.n; i++) {
		if (p.hop[i] >= n)
			abort();
		if (i + 1 < p.n && !(rs[p.hop[i]].modes & DESC_MODE_CIRCUITS))
			abort();
		for (unsigned j = i + 1; j < p.n; j++)
			if (p.hop[i] == p.hop[j])
				abort();
	}
	return 0;
}
