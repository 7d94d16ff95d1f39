/*
 * crypto.c: wgr-bench-crypto, the per-packet cost of what sealed mode adds: one
 * XChaCha20-Poly1305 open and one seal of a frame carrying --size bytes (the sealed-mode
 * ceiling in bench/run is reference cost + open + seal, all measured in the same run).
 * Prints one JSON object on stdout.
 */
#include "util.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", 1, 0, 's'}, {"iters", 1, 0, 'n'}, {0, 0, 0, 0}};
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
	unsigned char *pt, *ct;
	unsigned long long clen, plen;
	size_t size = 1420, iters = 200000, i;
	uint64_t t0, t1, t2;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			size = (size_t)util_arg_num("--size", optarg);
		else if (c == 'n')
			iters = (size_t)util_arg_num("--iters", optarg);
		else
			return 2;
	}
	if (sodium_init() < 0 || size > 65000 || iters < 1)
		return 1;
	pt = calloc(1, size + 16);
	ct = calloc(1, size + 16);
	if (!pt || !ct)
		return 1;
	randombytes_buf(key, sizeof(key));
	t0 = util_now_ns();
	for (i = 0; i < iters; i++) {
		memcpy(nonce, &i, sizeof(i));
		crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, pt, size, NULL, 0, NULL,
		                                           nonce, key);
	}
	t1 = util_now_ns();
	for (i = 0; i < iters; i++) {
		/* Re-open the last frame each time: the cost does not depend on the nonce. */
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, ct, clen, NULL, 0,
		                                               nonce, key) < 0)
			return 1;
	}
	t2 = util_now_ns();
	printf("{\"tool\":\"crypto\",\"size\":%zu,\"seal_ns\":%.0f,\"open_ns\":%.0f}\n", size,
	       (double)(t1 - t0) / (double)iters, (double)(t2 - t1) / (double)iters);
	sodium_memzero(key, sizeof(key));
	free(pt);
	free(ct);
	return 0;
}
