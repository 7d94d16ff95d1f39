/*
 * Fuzz target: signed envelopes. The input is opened as a voucher and under another domain
 * (a signature cannot be forged, so the seeds carry real ones to mutate); its voucher payload
 * is decoded. Then it is sealed as a payload with a fixed key: that must open to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct identity id;
	static int ready;
	uint8_t env[ENVELOPE_MAX], pk[32], seed[IDENTITY_SEED_LEN] = {1};
	const uint8_t *t, *p;
	size_t tl, pl;
	struct voucher v;
	int e, n;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		identity_from_seed(&id, seed);
		ready = 1;
	}
	e = envelope_open(data, size, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl);
	if (e == 0) {
		if (t < data || p < data || t + tl > data + size || p + pl > data + size)
			abort();
		(void)envelope_voucher_decode(p, pl, &v);
	} else if (e != -EBADMSG && e != -EPERM && e != -EPROTONOSUPPORT) {
		abort();
	}
	/* Signed for one purpose, never valid for another. */
	if (envelope_open(data, size, "libp2p-routing-state", pk, &t, &tl, &p, &pl) == 0 && e == 0)
		abort();
	(void)envelope_voucher_decode(data, size, &v);

	n = envelope_seal(&id, "fuzz", data, size > 8 ? 8 : size, data, size, env, sizeof(env));
	if (n > 0 && (envelope_open(env, (size_t)n, "fuzz", pk, &t, &tl, &p, &pl) != 0 ||
	              memcmp(pk, id.pk, 32) || pl != size || (size && memcmp(p, data, size))))
		abort();
	if (n < 0 && n != -EMSGSIZE)
		abort();
	return 0;
}
