/*
 * mkseeds_descriptor DIR: writes the seed corpus of fuzz_descriptor under DIR/fuzz_descriptor:
 * descriptors signed by a fixed identity (Ed25519 is deterministic, so the files are the same
 * on every run), from the smallest to one of exactly DESC_MAX_LEN bytes, plus truncated ones
 * and one whose signature does not verify.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "descriptor.h"
#include "identity.h"

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz_descriptor/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		perror(path);
	if (f)
		fclose(f);
}

static void endpoint(struct desc_endpoint *e, uint8_t t, const char *a, const char *host,
                     const char *path)
{
	memset(e, 0, sizeof(*e));
	e->transport = t;
	if (a)
		addr_parse(&e->addr, a, 0);
	snprintf(e->host, sizeof(e->host), "%s", host);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->port = a ? 0 : 443;
}

int main(int argc, char **argv)
{
	uint8_t seed[32], b[DESC_MAX_LEN];
	struct identity id;
	struct descriptor d = {0};
	int n;

	if (argc != 2 || sodium_init() < 0)
		return 2;
	memset(seed, 1, sizeof(seed));
	identity_from_seed(&id, seed);
	memcpy(d.identity, id.pk, 32);
	memset(d.noise, 0x42, 32);
	d.seq = 1;
	d.issued_at = 1700000000;
	d.expires_at = d.issued_at + 86400;
	d.modes = DESC_MODE_DIRECT;
	d.n_endpoints = 1;
	endpoint(&d.endpoints[0], DESC_T_UDP, "198.51.100.7:51821", "", "");
	n = desc_sign(&d, id.sk, b, sizeof(b));
	put(argv[1], "minimal", b, (size_t)n);
	put(argv[1], "minimal_truncated", b, (size_t)n - DESC_SIG_LEN);
	d.modes |= DESC_MODE_SEALED;
	d.auth = DESC_AUTH_TOKEN;
	d.max_circuits = 1000;
	d.load_permille = 250;
	strcpy(d.version, "wgrelayd 1.2.3");
	strcpy(d.country, "DE");
	d.has_location = true;
	d.lat_e6 = 52520008;
	d.lon_e6 = -13404954;
	strcpy(d.family, "example-ops");
	d.n_endpoints = 8;
	endpoint(&d.endpoints[1], DESC_T_TCP, "[2001:db8::7]:443", "", "");
	endpoint(&d.endpoints[2], DESC_T_TLS, "203.0.113.9:8443", "", "");
	endpoint(&d.endpoints[3], DESC_T_WSS, NULL, "relay.example.org", "/wgrelay");
	endpoint(&d.endpoints[4], DESC_T_ONION, NULL,
	         "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion", "");
	endpoint(&d.endpoints[5], DESC_T_UDP, "[2001:db8::8]:51821", "", "");
	endpoint(&d.endpoints[6], DESC_T_WSS, NULL, "[2001:db8::a]", "/");
	endpoint(&d.endpoints[7], DESC_T_TCP, "198.51.100.8:443", "", "");
	n = desc_sign(&d, id.sk, b, sizeof(b));
	put(argv[1], "full", b, (size_t)n);
	put(argv[1], "full_truncated", b, (size_t)n / 2);
	b[n - 1] ^= 1;
	put(argv[1], "full_bad_signature", b, (size_t)n);
	/* Longest strings, the last WSS path trimmed until all of it fits DESC_MAX_LEN. */
	memset(d.version, '"', DESC_MAX_STR - 1);
	memset(d.family, '\\', DESC_MAX_STR - 1);
	for (int i = 1; i < DESC_MAX_ENDPOINTS; i++) {
		endpoint(&d.endpoints[i], DESC_T_WSS, NULL, "", "/");
		memset(d.endpoints[i].host, 'h', DESC_MAX_STR - 1);
		memset(d.endpoints[i].path + 1, '"', DESC_MAX_STR - 2);
	}
	for (int i = 1; (n = desc_sign(&d, id.sk, b, sizeof(b))) == -DESC_E_LONG && i < 400; i++) {
		char *s = i % 2 ? d.endpoints[1 + i % 7].path : d.endpoints[1 + i % 7].host;

		s[strlen(s) - 1] = '\0';
	}
	if (n != DESC_MAX_LEN)
		return 1;
	put(argv[1], "max_size", b, (size_t)n);
	identity_wipe(&id);
	return 0;
}
