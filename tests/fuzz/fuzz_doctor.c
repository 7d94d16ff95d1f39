/*
 * Fuzz target: `wgrelay doctor`'s judgements of what the cache and the system say (doctor.c):
 * a relay record of any content with any PING outcome, any interface mode and MTUs, any
 * wg-quick answer: each gives a level and a line that fits, and printing it is safe.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(FILE *null, const struct doctor_line *o, enum doctor_level l)
{
	if (l != o->level || l > DOCTOR_FAIL ||
	    strnlen(o->text, sizeof(o->text)) == sizeof(o->text))
		abort();
	doctor_print(null, o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct fz z = {data, size};
	struct cache_relay r;
	struct doctor_line o;
	char pub[CACHE_TEXT], iface[CACHE_TEXT], mode[16], dir[CACHE_TEXT];

	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	fz_relay(&z, &r);
	FZ_TEXT(&z, pub);
	bool answered = fz_u8(&z) & 1, known = fz_u8(&z) & 1;
	int rtt = (int)fz_u64(&z);
	uint16_t flags = (uint16_t)fz_u64(&z);
	uint8_t want = fz_u8(&z);
	check(null, &o,
	      doctor_relay(&o, &r, answered, rtt, flags, known ? pub : NULL, want & 1, want & 2));
	FZ_TEXT(&z, iface);
	FZ_TEXT(&z, mode);
	int32_t cfg = (int32_t)fz_u64(&z);
	unsigned cur = (unsigned)fz_u64(&z), saved = (unsigned)fz_u64(&z);
	check(null, &o, doctor_mtu(&o, iface, mode, cfg, cur, saved, fz_u8(&z) & 1));
	FZ_TEXT(&z, dir);
	int rc = (int)(int8_t)fz_u8(&z);
	check(null, &o, doctor_saveconfig(&o, iface, rc, dir));
	return 0;
}
